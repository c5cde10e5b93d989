"""``mixdown measure --stream``: the chosen audio stream is probed and measured (the CLI as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

RATE = 48000


def _two_stream_file(tmp: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    t = np.arange(RATE * 5) / RATE
    quiet = 0.05 * np.sin(2 * np.pi * 1000 * t)                           # mono, 1 kHz
    loud = np.stack([0.3 * np.sin(2 * np.pi * 500 * t), 0.2 * np.sin(2 * np.pi * 700 * t)], axis=1)  # stereo
    sf.write(tmp / "a.wav", quiet, RATE, subtype="PCM_24")
    sf.write(tmp / "b.wav", loud, RATE, subtype="PCM_24")
    out = tmp / "two.mka"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp / "a.wav"), "-i", str(tmp / "b.wav"),
                    "-map", "0:a", "-map", "1:a", "-c:a", "flac", str(out)], check=True)
    return out, sf.read(tmp / "a.wav")[0], sf.read(tmp / "b.wav")[0]


def _measure(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mixdown.cli", "measure", *args], capture_output=True, text=True, check=False,
                          timeout=120)


def test_measure_stream_probes_and_measures_the_chosen_stream(tmp_path: Path) -> None:
    f, quiet, loud = _two_stream_file(tmp_path)
    meter = pyloudnorm.Meter(RATE)
    r0 = _measure(str(f), "--json")
    r1 = _measure(str(f), "--stream", "1", "--json")
    assert r0.returncode == 0 and r1.returncode == 0, r0.stderr + r1.stderr
    m0, m1 = json.loads(r0.stdout), json.loads(r1.stdout)
    assert abs(m0["integrated_lufs"] - meter.integrated_loudness(quiet)) < 0.1
    assert abs(m1["integrated_lufs"] - meter.integrated_loudness(loud)) < 0.1
    assert m1["duration_s"] == 5.0


def test_measure_a_stream_the_file_lacks_is_one_line_exit_2(tmp_path: Path) -> None:
    f, _, _ = _two_stream_file(tmp_path)
    r = _measure(str(f), "--stream", "2")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "audio stream 2 requested but the file has 2 audio streams" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
