"""What ``auto`` and ``render`` write, as a new user runs them: music-only programmes, video containers
and their codecs, no ``-o``, reverb and delay tails, the -6 dB premaster. Every case runs the CLI as a
subprocess and measures the files it wrote (libebur128 through pyebur128, soundfile, PyAV)."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyebur128
import pytest
import soundfile as sf

from mixdown.media.write import read_audio

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast"
SR = 48000


def run(*args):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def ebur128(x: np.ndarray, sr: int = SR) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of ``x`` (frames, channels) by libebur128."""
    x = x[:, None] if x.ndim == 1 else x
    st = pyebur128.R128State(
        x.shape[1], sr, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    )
    st.add_frames(np.ascontiguousarray(x, dtype=np.float64).reshape(-1), x.shape[0])
    tp = max(pyebur128.get_true_peak(st, c) for c in range(x.shape[1]))
    return pyebur128.get_loudness_global(st), 20 * np.log10(tp)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("media")
    music, _ = read_audio(POD / "media" / "music.ogg", sample_rate=SR)
    sf.write(tmp / "song.wav", (0.5 * music[:, : 20 * SR]).T, SR, subtype="FLOAT")
    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    sf.write(tmp / "talk.wav", host[0, : 6 * SR], SR, subtype="FLOAT")
    typing, _ = read_audio(POD / "media" / "typing.flac", sample_rate=SR)
    sf.write(tmp / "typing.wav", typing.T, SR, subtype="FLOAT")
    return tmp


@pytest.fixture(scope="module")
def song(media, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("song")
    r = run("auto", "--music", media / "song.wav", "--target", "spotify", "-o", tmp / "out.wav", "--json")
    assert r.returncode == 0, r.stderr
    return tmp, json.loads(r.stdout)


def test_a_music_only_programme_is_normalised(song):
    tmp, summary = song
    y, sr = sf.read(tmp / "out.wav", always_2d=True)
    lufs, tp = ebur128(y, sr)
    assert abs(lufs - (-14.0)) <= 0.2 and tp <= -1.0 + 0.05
    decisions = summary["decisions"]
    assert any(d["kind"] == "speech" and "no dialogue" in d["reason"] for d in decisions)
    assert not any(d["kind"] in ("duck", "leveling", "balance") for d in decisions)


def test_premaster_of_auto_is_the_mix_before_its_loudness_stage(media, song, tmp_path):
    _, first = song
    r = run("auto", "--music", media / "song.wav", "--target", "spotify", "-o", tmp_path / "mix.wav",
            "--premaster", tmp_path / "pre.wav", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["loudness_gain_db"] == first["loudness_gain_db"]  # the premaster changes nothing else
    info = sf.info(tmp_path / "pre.wav")
    assert info.subtype == "PCM_24" and info.samplerate == SR
    pre, _ = sf.read(tmp_path / "pre.wav", always_2d=True)
    _, tp = ebur128(pre)
    assert tp == pytest.approx(-6.0, abs=0.05)
    assert 20 * np.log10(np.abs(pre).max()) <= -6.0 + 1e-6
    # no limiting: where auto's limiter is idle the mix is the premaster times one gain
    mix, _ = sf.read(tmp_path / "mix.wav", always_2d=True)
    g = 10 ** ((summary["loudness_gain_db"] - summary["premaster_file"]["gain_db"]) / 20)
    from scipy.ndimage import maximum_filter1d

    quiet = maximum_filter1d(np.abs(pre * g).max(axis=1), size=SR // 2) < 10 ** (-6 / 20)
    assert quiet.mean() > 0.05
    assert np.abs(mix[quiet] - pre[quiet] * g).max() < 1e-4


def test_an_effects_only_programme_without_o_says_what_it_measured(media, tmp_path):
    r = run("auto", "--sfx", media / "typing.wav", "--target", "ebu-r128", "--save-session", tmp_path / "s.yaml")
    assert r.returncode == 0, r.stderr
    assert "None" not in r.stdout and "not written" in r.stdout
    assert f"decided session: {tmp_path / 's.yaml'}" in r.stdout
    r = run("render", tmp_path / "s.yaml", "-o", tmp_path / "fx.wav")
    assert r.returncode == 0, r.stderr
    lufs, tp = ebur128(sf.read(tmp_path / "fx.wav", always_2d=True)[0])
    assert abs(lufs - (-23.0)) <= 0.2 and tp <= -1.0 + 0.05


def _vp8_video(path: Path, seconds: float = 6.0) -> None:
    c = av.open(str(path), "w")
    v = c.add_stream("libvpx", rate=25)
    v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    for i in range(int(seconds * 25)):
        img = np.zeros((48, 64, 3), np.uint8)
        img[:, (i * 3) % 64] = 255
        fr = av.VideoFrame.from_ndarray(img, format="rgb24")
        fr.pts, fr.time_base = i, Fraction(1, 25)
        for p in v.encode(fr):
            c.mux(p)
    for p in v.encode(None):
        c.mux(p)
    c.close()


def _audio_codec(path: Path) -> str:
    with av.open(str(path)) as c:
        return c.streams.audio[0].codec_context.name


def test_video_outputs_take_the_codec_their_container_needs(media, tmp_path):
    _vp8_video(tmp_path / "cut.webm")
    base = ["auto", "--dialogue", media / "talk.wav", "--video", tmp_path / "cut.webm", "--target", "youtube"]
    r = run(*base, "-o", tmp_path / "out.webm")
    assert r.returncode == 0, r.stderr
    assert _audio_codec(tmp_path / "out.webm") == "opus"
    r = run(*base, "-o", tmp_path / "out.mkv")
    assert r.returncode == 0, r.stderr
    assert _audio_codec(tmp_path / "out.mkv") == "pcm_s24le"
    # --codec is checked against the container before anything is mixed; the error names the option
    r = run(*base, "-o", tmp_path / "bad.webm", "--codec", "aac")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("mixdown: error: --codec aac")
    assert "opus" in lines[0] and not (tmp_path / "bad.webm").exists()
    r = run(*base, "-o", tmp_path / "x.wav", "--codec", "opus")
    assert r.returncode == 2 and "--codec" in r.stderr


def _tail_session(tmp: Path, duration: str = "") -> Path:
    burst = np.zeros(SR // 2, np.float32)
    burst[: SR // 100] = 0.5 * np.hanning(SR // 100)
    sf.write(tmp / "click.wav", burst, SR, subtype="FLOAT")
    s = tmp / f"tail{len(duration)}.yaml"
    s.write_text(f"""\
mixdown: 2
layout: mono
{duration}
tracks:
  - name: FX
    clips: [{{source: click.wav, start: 1.0}}]
    chain: [{{type: delay, time_ms: 300, feedback: 0.5, mix: 0.5}}]
    output: echo
buses:
  - name: echo
    chain: [{{type: delay, time_ms: 200, feedback: 0.25, mix: 0.5}}]
""")
    return s


def test_delay_tails_extend_the_programme(tmp_path):
    r = run("render", _tail_session(tmp_path), "-o", tmp_path / "out.wav", "--format", "wav32f")
    assert r.returncode == 0, r.stderr
    y, _ = sf.read(tmp_path / "out.wav")
    # echoes of a delay with feedback f die under -60 dB after n repeats, f**n <= 1e-3: the track's
    # 300 ms delay repeats 10 times after its first echo, the bus's 200 ms one 5 times
    clip_end = 1.5
    want = clip_end + 0.3 * (1 + 10) + 0.2 * (1 + 5)
    assert len(y) == round(want * SR)
    # the last echoes are in the file, and what the file cuts is under -60 dB of the first echo
    first = np.abs(y[round(1.3 * SR): round(1.32 * SR)]).max()
    assert np.abs(y[round((clip_end + 2.5) * SR):]).max() > 1e-4 * first
    assert np.abs(y[-round(0.01 * SR):]).max() < 1e-3 * first


def test_a_duration_that_cuts_a_tail_is_said(tmp_path):
    r = run("render", _tail_session(tmp_path, 'duration: 2.0'), "-o", tmp_path / "out.wav")
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "out.wav").frames == 2 * SR
    warn = [ln for ln in r.stderr.splitlines() if ln.startswith("mixdown: warning:")]
    assert len(warn) == 1 and "tail" in warn[0] and "'echo'" in warn[0]  # the bus whose tail ends last


def test_premaster_deliverable_is_24_bit_at_minus_6_dbtp_without_limiting(media, tmp_path):
    (tmp_path / "s.yaml").write_text(f"""\
mixdown: 2
sample_rate: 44100
tracks:
  - {{name: Song, role: music, gain_db: 9, clips: [{{source: {media / 'song.wav'}}}]}}
master:
  chain: [{{type: limiter, id: auto-limiter, ceiling_db: -1.0}}]
deliverables:
  - {{kind: premaster, path: out/premaster.wav}}
  - {{kind: mix, path: out/mix.wav}}
""")
    r = run("deliver", tmp_path / "s.yaml", "--json")
    assert r.returncode == 0, r.stderr
    info = sf.info(tmp_path / "out" / "premaster.wav")
    assert info.subtype == "PCM_24" and info.samplerate == 44100
    pre, sr = sf.read(tmp_path / "out" / "premaster.wav", always_2d=True)
    _, tp = ebur128(pre, sr)
    assert tp == pytest.approx(-6.0, abs=0.05)
    # no limiting: it is the mix before auto's limiter times one gain (9 dB of hand gain over the source
    # reach +3 dBFS, which the mix's limiter holds at -1)
    src, _ = read_audio(media / "song.wav", sample_rate=44100)
    g = np.sum(pre[:, 0] * src[0]) / np.sum(src[0] ** 2)
    assert np.abs(pre.T - g * src).max() < 3 * 2 ** -23
    mix, _ = sf.read(tmp_path / "out" / "mix.wav", always_2d=True)
    assert np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-6 < np.abs(src).max() * 10 ** (9 / 20)
    out = json.loads(r.stdout)["outputs"][0]
    assert out["kind"] == "premaster" and out["measured"]["true_peak_dbtp"] == pytest.approx(tp, abs=0.05)
    (tmp_path / "bad.yaml").write_text((tmp_path / "s.yaml").read_text().replace(
        "{kind: premaster, path: out/premaster.wav}", "{kind: premaster, path: out/p.wav, target: youtube}"))
    r = run("deliver", tmp_path / "bad.yaml")
    assert r.returncode == 2 and "bad.yaml:8" in r.stderr and "premaster" in r.stderr
