"""Tables when piped (never cut), and files whose layout must be assumed (CLI as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyebur128
import pytest
import soundfile as sf


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_measure_piped_prints_every_value_in_full(tmp_path):
    t = np.arange(48000 * 2) / 48000
    names = []
    for i in range(2):
        name = f"a_rather_long_name_of_a_rendered_mix_number_{i}_for_the_table_test.wav"
        sf.write(tmp_path / name, (0.1 * (i + 1) * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 48000)
        names.append(str(tmp_path / name))
    r = run("measure", *names)  # stdout is a pipe here, as in `mixdown measure a.wav b.wav | cat`
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout and "..." not in r.stdout
    lines = r.stdout.strip().splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["file", "duration s", "integrated LUFS"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[0] for row in rows] == names and all(len(row) == len(header) for row in rows)
    # a 1 kHz sine at -20 dBFS in one channel reads -23.01 LKFS (BS.1770's own calibration)
    assert float(rows[0][2]) == pytest.approx(-23.0, abs=0.1)


def test_targets_piped_prints_every_reference_in_full():
    r = run("targets")
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    lines = r.stdout.strip().splitlines()
    header = lines[0].split("\t")
    assert header[0] == "name" and "reference" in header
    data = {row["name"]: row for row in json.loads(run("targets", "--json").stdout)}
    for line in lines[1:]:
        cells = dict(zip(header, line.split("\t"), strict=True))
        assert cells["reference"] == data[cells["name"]]["reference"]


def _ebur128_71(x: np.ndarray, sr: int) -> float:
    """libebur128 with the 7.1 positions of ITU-R BS.2051: sides at +-90 degrees, backs at +-135 degrees."""
    ct = pyebur128.ChannelType
    meter = pyebur128.R128State(8, sr, pyebur128.MeasurementMode.MODE_I)
    for i, c in enumerate([ct.LEFT, ct.RIGHT, ct.CENTER, ct.UNUSED, ct.M_PLUS_135, ct.M_MINUS_135,
                           ct.M_PLUS_090, ct.M_MINUS_090]):
        meter.set_channel(i, c)
    meter.add_frames(np.ascontiguousarray(x.T, dtype=np.float64).reshape(-1), x.shape[1])
    return pyebur128.get_loudness_global(meter)


def test_eight_channels_are_measured_as_71_and_said_so(tmp_path):
    sr = 48000
    rng = np.random.default_rng(4)
    x = np.zeros((8, 4 * sr), dtype=np.float32)
    level = [0.05, 0.05, 0.05, 0.3, 0.02, 0.02, 0.03, 0.03]  # a loud LFE (weight 0) and quiet surrounds
    for c, a in enumerate(level):
        x[c] = a * rng.standard_normal(x.shape[1])
    sf.write(tmp_path / "eight.wav", x.T, sr, subtype="FLOAT")
    r = run("measure", tmp_path / "eight.wav", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["layout"] == "7.1" and m["layout_assumed"] is True
    assert "7.1" in r.stderr and "FL FR FC LFE BL BR SL SR" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert m["integrated_lufs"] == pytest.approx(_ebur128_71(x, sr), abs=0.02)
    # the LFE is excluded: making it louder changes nothing
    x[3] *= 3
    sf.write(tmp_path / "eight_lfe.wav", x.T, sr, subtype="FLOAT")
    m2 = json.loads(run("measure", tmp_path / "eight_lfe.wav", "--json").stdout)
    assert m2["integrated_lufs"] == pytest.approx(m["integrated_lufs"], abs=1e-6)
    r = run("check", tmp_path / "eight.wav", "--target", "ebu-r128", "--json")
    assert r.returncode in (0, 3), r.stderr
    assert json.loads(r.stdout)["measured"]["layout"] == "7.1" and "7.1" in r.stderr
