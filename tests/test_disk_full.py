"""A full disk is the user's problem, said as such (issue 18): exit 2 naming the output and the
space needed, and no partial file.

A small tmpfs is mounted for the real thing (the tests need root, as CI and this machine have;
elsewhere they skip); the up-front check is also tested with ``shutil.disk_usage`` patched, which
runs anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import MediaError

SR = 48000


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture()
def small_fs(tmp_path: Path):
    """A 4 MB file system (tmpfs), unmounted afterwards."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.fixture()
def noisy(tmp_path: Path) -> Path:
    """A 20-second session of noise: 5.8 MB as 24-bit PCM, about as much as FLAC."""
    d = tmp_path / "job"
    d.mkdir()
    rng = np.random.default_rng(5)
    sf.write(d / "noise.wav", (0.1 * rng.standard_normal((20 * SR, 2))).astype(np.float32), SR, subtype="PCM_24")
    (d / "s.yaml").write_text("mixdown: 1\ntracks:\n  - name: N\n    role: dialogue\n"
                              "    clips: [{source: noise.wav}]\n")
    return d


def test_wav_into_a_small_disk_is_refused_before_rendering(noisy: Path, small_fs: Path) -> None:
    r = run("render", noisy / "s.yaml", "-o", small_fs / "mix.wav")
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip()
    assert line.startswith(f"mixdown: error: {small_fs / 'mix.wav'}: not enough disk space") and "5.8 MB" in line
    assert list(small_fs.iterdir()) == []


def test_flac_that_meets_a_full_disk_while_writing_leaves_nothing(noisy: Path, small_fs: Path) -> None:
    # the up-front check counts FLAC low (it can be far smaller than PCM), so this one starts and fills the disk
    r = run("render", noisy / "s.yaml", "-o", small_fs / "mix.flac", "--format", "flac")
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip()
    assert line.startswith(f"mixdown: error: {small_fs / 'mix.flac'}: the disk is full"), line
    assert "nothing was written" in line and "internal error" not in line
    assert list(small_fs.iterdir()) == []


def test_auto_counts_its_scratch_premaster(noisy: Path, small_fs: Path) -> None:
    # the mix as FLAC would fit at the floor estimate; the float premaster beside it (8.1 MB) does not
    r = run("auto", noisy / "s.yaml", "--target", "podcast", "--vad", "energy", "-o", small_fs / "mix.flac")
    assert r.returncode == 2, r.stderr
    assert "not enough disk space" in r.stderr and "the premaster (scratch)" in r.stderr
    assert list(small_fs.iterdir()) == []


@pytest.mark.parametrize("fmt", ["wav24", "wav16", "wav32f", "flac", "bwf", "mp3"])
def test_every_writer_says_disk_full_and_leaves_nothing(small_fs: Path, fmt: str) -> None:
    from mixdown.deliver.encode import open_encoder

    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal((2, 4096))).astype(np.float32)
    suffix = {"flac": ".flac", "mp3": ".mp3"}.get(fmt, ".wav")
    out = small_fs / f"mix{suffix}"
    filler = small_fs / "filler"
    filler.write_bytes(b"\0" * ((4 << 20) - (192 << 10)))  # leave 192 KB: a few seconds of any format
    with pytest.raises(MediaError, match="the disk is full") as exc:
        with open_encoder(out, format=fmt, sample_rate=SR, channels=2, bitrate=320_000 if fmt == "mp3" else None) as w:
            for _ in range(30 * SR // 4096):
                w.write(x)
    assert str(out) in str(exc.value)
    assert [p.name for p in small_fs.iterdir()] == ["filler"]


def test_text_and_scratch_writers_say_disk_full(small_fs: Path) -> None:
    from mixdown.files import write_text_atomic
    from mixdown.media.scratch import ScratchAudio

    with pytest.raises(MediaError, match="the disk is full"):
        write_text_atomic(small_fs / "s.yaml", "x" * (5 << 20))
    raw = ScratchAudio(small_fs / "pre.f32", 2)
    with pytest.raises(MediaError, match="the disk is full"):
        for _ in range(100):
            raw.write(np.zeros((2, 1 << 14), np.float32))
    raw.delete()
    assert list(small_fs.iterdir()) == []


def test_space_check_without_a_mount(noisy: Path, monkeypatch) -> None:
    from mixdown.cli import space
    from mixdown.files import space as fspace
    from mixdown.render.graph import check
    from mixdown.session import load_session

    graph = check(load_session(noisy / "s.yaml"))
    needs = space.auto_needs(graph, output=noisy / "mix.wav", fmt="wav24", stems=noisy / "stems",
                             video_out=False, video=None, roles=1)
    want = sum(n.bytes for n in needs)
    usage = shutil.disk_usage(noisy)
    monkeypatch.setattr(fspace.shutil, "disk_usage", lambda p: usage._replace(free=want + fspace.MARGIN))
    fspace.check_space(needs)  # exactly enough
    monkeypatch.setattr(fspace.shutil, "disk_usage", lambda p: usage._replace(free=want))
    with pytest.raises(MediaError, match="not enough disk space") as exc:
        fspace.check_space(needs)
    # premaster (20 s + 1 s of lookahead room) x 2 ch x 4 B, mix and one stem 20 s x 2 ch x 3 B
    assert "8.1 MB" in str(exc.value) and "5.8 MB" in str(exc.value) and f"{os.sep}mix.wav" in str(exc.value)
