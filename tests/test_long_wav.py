"""WAVs past 4 GiB (issue 18): written as RF64, never as a RIFF whose sizes overflowed.

The default suite lowers :data:`mixdown.media.write.RIFF_LIMIT` (the documented switch
point) so that a one-second file takes the RF64 path; the test marked slow renders a
real 4.3 GB file through the CLI and reads its whole length back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import MediaError
from mixdown.media import AudioWriter, probe
from mixdown.media import write as wmod

SR = 48000


def riff_id(path: Path) -> bytes:
    return path.read_bytes()[:4]


@pytest.mark.parametrize("fmt,subtype", [("wav24", "PCM_24"), ("wav16", "PCM_16"), ("wav32f", "FLOAT")])
def test_a_wav_that_would_pass_the_limit_is_rf64(tmp_path: Path, monkeypatch, fmt: str, subtype: str) -> None:
    x = (0.25 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    x = np.stack([x, -x])
    small = tmp_path / "small.wav"
    with AudioWriter(small, sample_rate=SR, channels=2, format=fmt, frames=SR) as w:
        w.write(x)
    assert riff_id(small) == b"RIFF"
    monkeypatch.setattr(wmod, "RIFF_LIMIT", 100_000)  # under what one second of stereo takes
    big = tmp_path / "big.wav"
    with AudioWriter(big, sample_rate=SR, channels=2, format=fmt, frames=SR) as w:
        for i in range(0, SR, 4096):
            w.write(x[:, i:i + 4096])
    assert riff_id(big) == b"RF64"
    info = sf.info(big)
    assert (info.format, info.subtype, info.frames) == ("RF64", subtype, SR)
    assert probe(big).frames == SR and not probe(big).damaged
    a, _ = sf.read(small, dtype="float32")
    b, _ = sf.read(big, dtype="float32")
    np.testing.assert_array_equal(a, b)  # the same samples, in a header that can hold them


def test_a_writer_not_told_its_length_refuses_to_overflow(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(wmod, "RIFF_LIMIT", 100_000)
    w = AudioWriter(tmp_path / "mix.wav", sample_rate=SR, channels=2, format="wav24")
    w.write(np.zeros((2, 10_000), np.float32))
    with pytest.raises(MediaError, match="at most 4 GiB"):
        w.write(np.zeros((2, 10_000), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_render_passes_its_length(tmp_path: Path, monkeypatch) -> None:
    from mixdown.render.engine import render_file
    from mixdown.session import load_session

    sf.write(tmp_path / "tone.wav", np.full((SR, 2), 0.1, np.float32), SR, subtype="PCM_24")
    (tmp_path / "s.yaml").write_text("mixdown: 1\ntracks:\n  - name: A\n    clips: [{source: tone.wav}]\n")
    monkeypatch.setattr(wmod, "RIFF_LIMIT", 100_000)
    render_file(load_session(tmp_path / "s.yaml"), tmp_path / "out.wav")
    assert riff_id(tmp_path / "out.wav") == b"RF64" and sf.info(tmp_path / "out.wav").frames == SR


@pytest.mark.slow
def test_a_real_4_gib_render_reads_back_whole(tmp_path: Path) -> None:
    # 3.2 h of stereo float (4.4 GB): past 4 GiB. A 20-minute silent FLAC looped by clips keeps
    # the input small; the render itself is fast (silence, no chain).
    minutes, clips = 20, 10
    sf.write(tmp_path / "silence.flac", np.zeros((SR * 60 * minutes, 2), np.int16), SR, subtype="PCM_16")
    lines = "".join(f"      - {{source: silence.flac, start: {i * 60 * minutes}}}\n" for i in range(clips))
    (tmp_path / "long.yaml").write_text(f"mixdown: 1\ntracks:\n  - name: A\n    clips:\n{lines}")
    frames = SR * 60 * minutes * clips
    out = tmp_path / "long.wav"
    r = subprocess.run([sys.executable, "-m", "mixdown.cli", "render", tmp_path / "long.yaml", "-o", out,
                        "--format", "wav32f"], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 2**32 and riff_id(out) == b"RF64"
    assert sf.info(out).frames == frames
    m = subprocess.run([sys.executable, "-m", "mixdown.cli", "measure", out, "--json"], capture_output=True,
                       text=True, timeout=1800)
    assert m.returncode == 0, m.stderr
    assert json.loads(m.stdout)["duration_s"] == pytest.approx(frames / SR)
    with sf.SoundFile(out) as f:  # the last second is there, and is what was rendered
        f.seek(frames - SR)
        assert f.read(SR + 10).shape == (SR, 2)
