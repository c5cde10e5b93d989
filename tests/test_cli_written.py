"""What the CLI reports is what it wrote, and every file gets its answer (issue 18):

- ``render`` measures the file as written (quantised, clipped), not the float mix, and says
  how many samples an integer format clipped;
- ``measure a.wav bad.wav c.wav`` measures the good files, reports the bad one, exits 2;
- ``check``'s exit 3 says on stderr what failed;
- ``--block-size`` has a documented range: a 1-frame block is refused at once, and the
  smallest block allowed gives the same bytes as the default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 48000


def run(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


@pytest.fixture()
def hot(tmp_path: Path) -> Path:
    """A sine at -6 dBFS mixed +20 dB hot: an integer file clips it."""
    t = np.arange(2 * SR) / SR
    sf.write(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * 997 * t)).astype(np.float32), SR, subtype="FLOAT")
    (tmp_path / "s.yaml").write_text("mixdown: 1\ntracks:\n  - name: T\n    gain_db: 20\n"
                                     "    clips: [{source: tone.wav}]\n")
    return tmp_path


def test_render_reports_the_clipped_file_it_wrote(hot: Path) -> None:
    r = run("render", hot / "s.yaml", "-o", hot / "mix.wav", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    # the truth: the file itself, read back and measured by `measure`
    m = json.loads(run("measure", hot / "mix.wav", "--json").stdout)
    for key in ("integrated_lufs", "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs"):
        assert summary["measured"][key] == pytest.approx(m[key], abs=0.01), key
    assert summary["measured"]["sample_peak_dbfs"] == pytest.approx(0.0, abs=0.01)  # not the +14 dB of the float mix
    # how many samples were clipped, from the unclipped float render of the same session
    assert run("render", hot / "s.yaml", "-o", hot / "float.wav", "--format", "wav32f").returncode == 0
    x, _ = sf.read(hot / "float.wav", dtype="float32")
    q = np.rint(x * np.float32(2**23))
    clipped = int(np.count_nonzero(q > 2**23 - 1) + np.count_nonzero(q < -(2**23)))
    assert clipped > 100_000 and summary["clipped_samples"] == clipped
    assert f"{clipped} of {2 * 2 * SR} samples clipped" in r.stderr and "mixdown: warning:" in r.stderr


def test_render_of_an_unclipped_mix_says_nothing(hot: Path) -> None:
    (hot / "s.yaml").write_text((hot / "s.yaml").read_text().replace("gain_db: 20", "gain_db: -3"))
    r = run("render", hot / "s.yaml", "-o", hot / "mix.wav", "--json")
    assert r.returncode == 0 and r.stderr == "" and json.loads(r.stdout)["clipped_samples"] == 0


def test_measure_reports_every_file_and_exits_2(hot: Path) -> None:
    (hot / "bad.wav").write_text("not audio")
    good = hot / "tone.wav"
    r = run("measure", good, hot / "bad.wav", good, "--json")
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert [o["file"] for o in out] == [str(good), str(hot / "bad.wav"), str(good)]
    assert out[0]["integrated_lufs"] == out[2]["integrated_lufs"] is not None
    assert "error" in out[1] and str(hot / "bad.wav") in out[1]["error"]
    assert r.stderr.count("mixdown: error:") == 1 and str(hot / "bad.wav") in r.stderr
    r = run("measure", good, hot / "bad.wav", good, env={**os.environ, "COLUMNS": "400"})  # the table too
    assert r.returncode == 2 and r.stdout.count("tone.wav") == 2 and "bad.wav" in r.stdout


def test_check_exit_3_says_what_failed(hot: Path) -> None:
    r = run("check", hot / "tone.wav", "--target", "ebu-r128", "--json")
    assert r.returncode == 3
    assert json.loads(r.stdout)["passed"] is False
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("mixdown: error: 1 of 1 file(s) fail ebu-r128:")
    assert str(hot / "tone.wav") in last and "integrated_loudness" in last


def test_block_size_has_a_range_and_does_not_change_the_bytes(hot: Path) -> None:
    t0 = time.monotonic()
    r = run("render", hot / "s.yaml", "-o", hot / "one.wav", "--block-size", "1")
    assert r.returncode == 2 and "--block-size 1" in r.stderr and "64" in r.stderr
    assert time.monotonic() - t0 < 30 and not (hot / "one.wav").exists()
    r = run("deliver", hot / "s.yaml", "--block-size", "0")
    assert r.returncode == 2 and "--block-size 0" in r.stderr
    assert run("render", hot / "s.yaml", "-o", hot / "small.wav", "--block-size", "64").returncode == 0
    assert run("render", hot / "s.yaml", "-o", hot / "default.wav").returncode == 0
    assert (hot / "small.wav").read_bytes() == (hot / "default.wav").read_bytes()
