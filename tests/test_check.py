"""``mixdown check``: pass, fail and unreadable input, per requirement, against
independent truth (pyebur128, analytic channel weights)."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pyebur128
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from mixdown.analysis.loudness import measure_array
from mixdown.cli.check import check_command
from mixdown.deliver.check import (
    CLIP_RUN,
    _ClipCounter,
    check_file,
    format_result,
    measure_media,
)
from mixdown.deliver.encode import encode_array
from mixdown.errors import MediaError
from mixdown.media.write import read_audio
from mixdown.targets import get_target

SR = 48000
EBU = get_target("ebu-r128")


def programme(channels: int = 2, seconds: float = 6.0, seed: int = 3) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    sos = butter(4, [100, 8000], btype="band", fs=SR, output="sos")
    x = sosfilt(sos, rng.standard_normal((channels, n)), axis=1) * (0.7 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    return (x / np.abs(x).max() * 0.25).astype(np.float32)


def at_lufs(x: np.ndarray, lufs: float) -> np.ndarray:
    m = measure_array(x, SR).integrated_lufs
    return (x * np.float32(10 ** ((lufs - m) / 20))).astype(np.float32)


def ebur128_integrated(path) -> float:
    y, sr = read_audio(path)
    meter = pyebur128.R128State(y.shape[0], sr, pyebur128.MeasurementMode.MODE_I)
    meter.add_frames(np.ascontiguousarray(y.T, dtype=np.float64).reshape(-1), y.shape[1])
    return pyebur128.get_loudness_global(meter)


def test_a_compliant_file_passes_every_requirement(tmp_path):
    p = tmp_path / "ok.wav"
    sf.write(p, at_lufs(programme(), -23.0).T, SR, subtype="PCM_24")
    res = check_file(p, EBU)
    assert res.passed, format_result(res)
    names = [r.name for r in res.requirements]
    assert names == ["integrated_loudness", "true_peak", "clipping", "dc_offset", "phase_correlation",
                     "mono_fold_down", "dropouts", "head_silence", "tail_silence", "silence"]
    assert res.measurement.loudness.integrated_lufs == pytest.approx(ebur128_integrated(p), abs=0.01)
    assert res.requirements[0].measured == pytest.approx(-23.0, abs=0.01)


@pytest.mark.parametrize("lufs,ok", [(-23.19, True), (-22.81, True), (-23.3, False), (-22.6, False)])
def test_loudness_tolerance_is_strict(tmp_path, lufs, ok):
    p = tmp_path / "x.wav"
    sf.write(p, at_lufs(programme(), lufs).T, SR, subtype="FLOAT")
    res = check_file(p, EBU)
    assert res.requirements[0].passed is ok
    assert res.passed is ok
    if not ok:
        assert "LU off" in res.requirements[0].detail


def test_true_peak_over_the_ceiling_fails_even_at_the_right_loudness(tmp_path):
    x = at_lufs(programme(), -23.0)
    x[:, SR] = 0.97  # one sample peak at -0.26 dBFS: under full scale, over -1 dBTP
    p = tmp_path / "peak.wav"
    sf.write(p, x.T, SR, subtype="PCM_24")
    res = check_file(p, EBU)
    assert [r.name for r in res.failures] == ["true_peak"]
    assert res.failures[0].measured > -1.0
    assert not res.passed


def test_clipping_is_found_and_counted(tmp_path):
    x = at_lufs(programme(), -23.0)
    x[0, 1000:1005] = 1.5  # five samples flattened at full scale by the 16-bit file
    x[1, 2000:2002] = -1.5  # two in a row: a peak, not a clipped run
    p = tmp_path / "clip.wav"
    sf.write(p, np.clip(x, -1, 32767 / 32768).T, SR, subtype="PCM_16")
    m = measure_media(p)
    assert (m.clipped_runs, m.clipped_samples) == (1, 5)
    res = check_file(p, EBU)
    assert "clipping" in [r.name for r in res.failures]


def test_clip_counter_is_block_size_invariant():
    rng = np.random.default_rng(0)
    x = np.zeros((2, 20000), np.float32)
    for _ in range(60):
        c, a, k = rng.integers(0, 2), rng.integers(0, 19990), rng.integers(1, 8)
        x[c, a:a + k] = rng.choice([-1.0, 1.0])
    # truth by brute force
    runs = samples = 0
    for c in range(2):
        k = 0
        for v in list(np.abs(x[c]) >= 1.0) + [False]:
            if v:
                k += 1
            else:
                if k >= CLIP_RUN:
                    runs += 1
                    samples += k
                k = 0
    for bs in (1, 7, 480, 4096, 10000, 20000):
        cc = _ClipCounter(2)
        for a in range(0, x.shape[1], bs):
            cc.process(x[:, a:a + bs])
        cc.finish()
        assert (cc.runs, cc.samples) == (runs, samples), bs


def test_silence_at_head_and_tail(tmp_path):
    x = at_lufs(programme(seconds=4.0), -23.0)
    y = np.concatenate([np.zeros((2, 6 * SR), np.float32), x, np.zeros((2, SR), np.float32)], axis=1)
    p = tmp_path / "late.wav"
    sf.write(p, y.T, SR, subtype="FLOAT")
    m = measure_media(p)
    # the programme's first sample above -60 dBFS is within a few samples of its start
    assert m.head_silence_s == pytest.approx(6.0, abs=0.01)
    assert m.tail_silence_s == pytest.approx(1.0, abs=0.01)
    res = check_file(p, replace(EBU, tolerance_lu=1.0))
    assert [r.name for r in res.failures] == ["head_silence"]
    assert check_file(p, replace(EBU, tolerance_lu=1.0), max_silence_s=None).passed


def test_silent_file_fails_loudness(tmp_path):
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros((SR * 2, 2), np.float32), SR)
    res = check_file(p, EBU, max_silence_s=None)
    assert not res.passed
    assert res.failures[0].name == "integrated_loudness" and "undefined" in res.failures[0].detail


def test_non_finite_samples_fail(tmp_path):
    x = at_lufs(programme(), -23.0)
    x[0, 500] = np.nan
    p = tmp_path / "nan.wav"
    sf.write(p, x.T, SR, subtype="FLOAT")
    res = check_file(p, EBU)
    assert "valid_samples" in [r.name for r in res.failures]


def test_surround_weights_of_bs1770(tmp_path):
    """5.1 is measured with its layout: surrounds +1.5 dB (G = 1.41), LFE not at all."""
    mono = programme(1)[0]
    out = {}
    for name, ch in (("C", 2), ("Ls", 4), ("LFE", 3)):
        x = np.zeros((6, mono.size), np.float32)
        x[ch] = mono
        p = tmp_path / f"{name}.wav"
        encode_array(p, x, SR, format="wav24")
        out[name] = measure_media(p)
    assert out["C"].layout == "5.1"
    assert out["Ls"].loudness.integrated_lufs - out["C"].loudness.integrated_lufs == pytest.approx(
        10 * np.log10(1.41), abs=1e-3)
    assert out["LFE"].loudness.integrated_lufs is None


def test_loudness_range_where_the_spec_limits_it(tmp_path):
    x = programme(seconds=20.0)
    x[:, 10 * SR:] *= np.float32(10 ** (-15 / 20))  # a second half 15 dB quieter (inside LRA's -20 LU gate)
    p = tmp_path / "wide.wav"
    sf.write(p, at_lufs(x, -23.0).T, SR, subtype="FLOAT")
    tight = replace(EBU, max_lra_lu=10.0, tolerance_lu=1.0)
    res = check_file(p, tight, max_silence_s=None)
    assert [r.name for r in res.failures] == ["loudness_range"]
    assert res.failures[0].measured > 14  # the 15 dB step, less the 10th-95th percentile trim
    q = tmp_path / "steady.wav"
    sf.write(q, at_lufs(programme(seconds=20.0), -23.0).T, SR, subtype="FLOAT")
    assert check_file(q, tight, max_silence_s=None).passed


def _video(path, audio: np.ndarray) -> None:
    c = av.open(str(path), "w")
    v = c.add_stream("mpeg4", rate=25)
    v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    a = c.add_stream("aac", rate=SR, layout="stereo")
    n_frames = int(audio.shape[1] / SR * 25)
    pos = 0
    for i in range(n_frames):
        img = np.full((48, 64, 3), i % 255, np.uint8)
        fr = av.VideoFrame.from_ndarray(img, format="rgb24")
        fr.pts = i
        for p in v.encode(fr):
            c.mux(p)
        step = SR // 25
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, pos:pos + step]), format="fltp", layout="stereo")
        af.sample_rate, af.pts, af.time_base = SR, pos, Fraction(1, SR)
        pos += step
        for p in a.encode(af):
            c.mux(p)
    for s in (v, a):
        for p in s.encode(None):
            c.mux(p)
    c.close()


def test_checks_the_audio_of_a_video(tmp_path):
    p = tmp_path / "clip.mp4"
    _video(p, at_lufs(programme(), -23.0))
    # AAC at PyAV's default 128 kb/s loses a few tenths of a LU of this noise: judged at +-1 LU
    res = check_file(p, replace(EBU, tolerance_lu=1.0))
    assert res.measurement.has_video and res.measurement.codec == "aac"
    assert res.passed, format_result(res)
    assert res.measurement.loudness.integrated_lufs == pytest.approx(ebur128_integrated(p), abs=0.01)


def test_dialogue_gated_spec_measures_the_speech(tmp_path, monkeypatch):
    from mixdown.analysis.vad import speech_regions

    monkeypatch.setenv("MIXDOWN_CACHE_DIR", str(tmp_path / "cache"))
    speech, _ = read_audio("tests/data/speech_host_16k.flac", sample_rate=SR)
    music, _ = read_audio("tests/data/music_16k.flac", sample_rate=SR)
    n = min(speech.shape[1], music.shape[1])
    mix = np.concatenate([speech[:, :n]] * 2) + np.concatenate([music[:, :n]] * 2) * np.float32(0.1)
    regions = speech_regions(mix, SR, min_relative_db=None)
    from mixdown.analysis.loudness import LoudnessMeter

    meter = LoudnessMeter(SR, 2)
    meter.process(mix)
    dlg = meter.integrated_over(regions)
    netflix = get_target("netflix")
    good = (mix * np.float32(10 ** ((-27.0 - dlg) / 20))).astype(np.float32)
    p = tmp_path / "dlg.wav"
    sf.write(p, good.T, SR, subtype="FLOAT")
    res = check_file(p, netflix, max_silence_s=None)
    assert res.requirements[0].name == "dialogue_loudness"
    assert res.requirements[0].measured == pytest.approx(-27.0, abs=0.05)
    assert res.passed
    # the same file 3 dB louder misses the +-2 LU window; the programme loudness does not matter
    q = tmp_path / "loud.wav"
    sf.write(q, (good * np.float32(10 ** (3 / 20))).T, SR, subtype="FLOAT")
    assert [r.name for r in check_file(q, netflix, max_silence_s=None).failures] == ["dialogue_loudness"]
    # no speech at all: dialogue-gated loudness is undefined, which fails
    r = tmp_path / "music.wav"
    sf.write(r, music.T, SR, subtype="FLOAT")
    res = check_file(r, netflix, max_silence_s=None)
    assert res.failures[0].name == "dialogue_loudness" and res.failures[0].measured is None


def test_unreadable_inputs_raise(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(MediaError):
        check_file(bad, EBU)
    with pytest.raises(MediaError, match="not found"):
        check_file(tmp_path / "missing.wav", EBU)


# ----------------------------------------------------------------------------- the command

app = typer.Typer()
app.command()(check_command)


@pytest.fixture()
def files(tmp_path):
    ok = tmp_path / "ok.wav"
    sf.write(ok, at_lufs(programme(), -23.0).T, SR, subtype="PCM_24")
    loud = tmp_path / "loud.wav"
    sf.write(loud, at_lufs(programme(), -18.0).T, SR, subtype="PCM_24")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\0" * 1000)
    return ok, loud, junk


def test_command_exit_codes(files):
    ok, loud, junk = files
    runner = CliRunner()
    r = runner.invoke(app, [str(ok), "--target", "ebu-r128"])
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output
    r = runner.invoke(app, [str(ok), str(loud), "--target", "ebu-r128"])
    assert r.exit_code == 3
    assert "FAIL" in r.output
    r = runner.invoke(app, [str(ok), str(junk), "--target", "ebu-r128"])
    assert r.exit_code == 2
    r = runner.invoke(app, [str(ok), "--target", "no-such-spec"])
    assert r.exit_code == 2
    # a custom spec: the loud file is right for -18 LUFS
    r = runner.invoke(app, [str(loud), "--lufs", "-18", "--true-peak", "-1", "--tolerance", "0.5"])
    assert r.exit_code == 0, r.output


def test_command_json(files):
    ok, loud, junk = files
    r = CliRunner().invoke(app, [str(ok), str(loud), str(junk), "--target", "ebu-r128", "--json"])
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    assert [d["passed"] for d in data] == [True, False, False]
    assert "error" in data[2]
    failing = [q["name"] for q in data[1]["requirements"] if not q["passed"]]
    assert failing == ["integrated_loudness"]
    assert data[0]["measured"]["integrated_lufs"] == pytest.approx(-23.0, abs=0.01)
