"""Damaged and misleading media (issue 18): files cut short, a header that lies, a wrong suffix.

Real files are made here (libsndfile for WAV/FLAC/Vorbis, FFmpeg's LAME and libopus
through PyAV), then damaged the way it happens: ``head -c`` half of the bytes, or a
WAV data size patched to ten times what is there. Where each file really ends is
worked out independently of mixdown: from the byte count for PCM, from FFmpeg's own
decode of the cut file for the compressed ones.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import MediaError
from mixdown.media import integrity, open_source, probe

SR = 48000
SECONDS = 4.0
N = int(SR * SECONDS)


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def noise(n: int = N) -> np.ndarray:
    rng = np.random.default_rng(18)
    return (0.1 * rng.standard_normal((2, n))).astype(np.float32)


def encode(path: Path, x: np.ndarray, codec: str, fmt: str) -> Path:
    import av

    with av.open(str(path), "w", format=fmt) as c:
        st = c.add_stream(codec, rate=SR, layout="stereo")
        for i in range(0, x.shape[1], 4800):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, i:i + 4800]), format="fltp", layout="stereo")
            fr.sample_rate, fr.pts = SR, i
            for p in st.encode(fr):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
    return path


def ffmpeg_frames(path: Path) -> int:
    """Samples FFmpeg decodes before the data stops (the independent truth of where a cut file ends)."""
    import av

    n = 0
    try:
        with av.open(str(path)) as c:
            for fr in c.decode(c.streams.audio[0]):
                n += fr.samples
    except Exception:  # noqa: BLE001 - the cut ends the stream
        pass
    return n


def cut(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])  # what `head -c` does
    return dst


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("damage")
    x = noise()
    whole = {"wav": d / "whole.wav", "flac": d / "whole.flac", "ogg": d / "whole.ogg"}
    sf.write(whole["wav"], x.T, SR, subtype="PCM_24")
    sf.write(whole["flac"], x.T, SR, subtype="PCM_24")
    sf.write(whole["ogg"], x.T, SR, format="OGG", subtype="VORBIS")
    whole["mp3"] = encode(d / "whole.mp3", x, "libmp3lame", "mp3")
    whole["opus"] = encode(d / "whole.opus", x, "libopus", "ogg")
    out = {f"whole_{k}": v for k, v in whole.items()}
    for k, v in whole.items():
        out[f"half_{k}"] = cut(v, d / f"half.{k}")
    lie = bytearray(whole["wav"].read_bytes())
    at = lie.find(b"data")
    size = struct.unpack("<I", lie[at + 4:at + 8])[0]
    lie[at + 4:at + 8] = struct.pack("<I", size * 10)
    out["lie_wav"] = d / "lie.wav"
    out["lie_wav"].write_bytes(bytes(lie))
    out["flac_as_mp3"] = d / "typing.mp3"
    out["flac_as_mp3"].write_bytes(whole["flac"].read_bytes())
    return out


def expected_end_s(path: Path) -> float:
    if path.suffix == ".wav":
        return (path.stat().st_size - 44) // 6 / SR
    return ffmpeg_frames(path) / SR


DAMAGED = ["half_wav", "lie_wav", "half_flac", "half_ogg", "half_mp3", "half_opus"]


@pytest.mark.parametrize("key", DAMAGED)
def test_probe_refuses_damaged_files_saying_where_they_end(files: dict[str, Path], key: str) -> None:
    path = files[key]
    with pytest.raises(MediaError) as exc:
        probe(path)
    msg = str(exc.value)
    assert str(path) in msg and "--allow-truncated" in msg
    end = float(msg.split("stops at " if "stops at" in msg else "ends at ")[1].split(" s")[0])
    assert end == pytest.approx(expected_end_s(path), abs=0.03)
    if key != "half_ogg" and key != "half_opus":  # Ogg records no length: nothing to compare with
        promised = 40.0 if key == "lie_wav" else SECONDS
        assert f"promises {promised:.2f} s" in msg


@pytest.mark.parametrize("key", DAMAGED)
def test_allowed_damage_is_read_to_its_end_with_one_warning(files: dict[str, Path], key: str) -> None:
    path = files[key]
    said: list[tuple[str, str]] = []
    with integrity.media_policy(allow_truncated=True, notify=lambda lvl, m: said.append((lvl, m))):
        info = probe(path)
        info2 = probe(path)  # said once per file
        with open_source(path, sample_rate=info.sample_rate) as r:
            got = r.read_to_end()
    assert info == info2 and info.damaged
    assert got.shape[1] == info.frames
    assert info.frames / SR == pytest.approx(expected_end_s(path), abs=0.03)
    assert len(said) == 1 and said[0][0] == "warning" and str(path) in said[0][1]
    if info.promised_frames is not None:
        missing = (info.promised_frames - info.frames) / SR
        assert f"{missing:.2f} s missing" in said[0][1]


@pytest.mark.parametrize("key", ["whole_wav", "whole_flac", "whole_ogg", "whole_mp3", "whole_opus"])
def test_whole_files_are_not_flagged(files: dict[str, Path], key: str) -> None:
    said: list[str] = []
    with integrity.media_policy(notify=lambda lvl, m: said.append(m)):
        info = probe(files[key])
    assert not info.damaged and info.promised_frames is None and said == []


def test_misnamed_file_is_read_with_a_note(files: dict[str, Path]) -> None:
    said: list[tuple[str, str]] = []
    with integrity.media_policy(notify=lambda lvl, m: said.append((lvl, m))):
        info = probe(files["flac_as_mp3"])
    assert info.container == "FLAC" and info.frames == N
    assert said == [("note", f"{files['flac_as_mp3']} holds FLAC, not MP3 as its .mp3 suffix says; read as FLAC")]


def test_measure_cli_refuses_each_damaged_file_and_measures_the_rest(files: dict[str, Path]) -> None:
    names = [files["whole_wav"], *(files[k] for k in DAMAGED), files["flac_as_mp3"]]
    r = run("measure", *names, "--json")
    assert r.returncode == 2, r.stderr
    out = json.loads(r.stdout)
    assert [o["file"] for o in out] == [str(p) for p in names]
    assert out[0]["duration_s"] == pytest.approx(SECONDS) and out[-1]["duration_s"] == pytest.approx(SECONDS)
    for o, key in zip(out[1:-1], DAMAGED):
        assert "cut short" in o["error"] or "shorter than its header says" in o["error"]
        assert f"mixdown: error: {files[key]}" in r.stderr
    assert "Traceback" not in r.stderr
    assert f"mixdown: note: {files['flac_as_mp3']} holds FLAC" in r.stderr

    r = run("measure", *(files[k] for k in DAMAGED), "--json", "--allow-truncated")
    assert r.returncode == 0, r.stderr
    for o, key in zip(json.loads(r.stdout), DAMAGED):
        assert o["duration_s"] == pytest.approx(expected_end_s(files[key]), abs=0.03)
        assert f"mixdown: warning: {files[key]}" in r.stderr


def test_render_refuses_a_cut_source_and_allowed_renders_it_with_silence_after(files: dict[str, Path],
                                                                              tmp_path: Path) -> None:
    session = tmp_path / "s.yaml"
    session.write_text(f"mixdown: 1\ntracks:\n  - name: A\n    clips:\n      - {{source: {files['half_flac']}}}\n")
    out = tmp_path / "mix.wav"
    r = run("render", session, "-o", out)
    assert r.returncode == 2 and ("cut short" in r.stderr or "shorter than" in r.stderr)
    assert str(files["half_flac"]) in r.stderr and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
    r = run("render", session, "-o", out, "--allow-truncated")
    assert r.returncode == 0, r.stderr
    assert "missing" in r.stderr and str(files["half_flac"]) in r.stderr
    y, sr = sf.read(out, always_2d=True)
    end = ffmpeg_frames(files["half_flac"])
    assert y.shape[0] == N  # the clip keeps the length its file promises
    x = noise()
    np.testing.assert_allclose(y[:end].T, x[:, :end], atol=1e-6)  # 24-bit in, 24-bit out: what is there is exact
    assert not np.any(y[end:])
