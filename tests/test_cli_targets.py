"""Delivery presets are data: listed, extended and overridden by a user's file, applied by check (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyebur128
import pytest
import soundfile as sf

SR = 48000


def run(*args, env=None, cwd=None):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=300)


def presets(*args, env=None) -> dict[str, dict]:
    r = run(*args, "targets", "--json", env=env)
    assert r.returncode == 0, r.stderr
    return {t["name"]: t for t in json.loads(r.stdout)}


def test_the_published_presets_are_listed_with_their_sources():
    p = presets()
    for name in ("ebu-r128", "ebu-r128-s1", "atsc-a85", "arib-tr-b32", "op-59", "netflix", "amazon-prime-video",
                 "apple-podcasts", "apple-music", "spotify", "tidal", "youtube"):
        assert name in p and p[name]["reference"] and p[name]["source"] == "built-in", name
    assert (p["arib-tr-b32"]["integrated_lufs"], p["arib-tr-b32"]["true_peak_dbtp"]) == (-24.0, -1.0)
    assert (p["op-59"]["integrated_lufs"], p["op-59"]["true_peak_dbtp"]) == (-24.0, -2.0)
    assert p["amazon-prime-video"]["gating"] == "dialogue"
    assert p["ebu-r128-s1"]["max_short_term_lufs"] == -18.0
    # no spec requires an LRA; Netflix recommends one
    assert all(t["max_lra_lu"] is None for t in p.values())
    assert p["netflix"]["recommended_lra_lu"] == [4.0, 18.0]


def test_a_users_file_adds_and_overrides(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("presets:\n"
                 "  - {name: house-style, integrated_lufs: -20, tolerance_lu: 0.5, true_peak_dbtp: -1.5,"
                 " max_lra_lu: 12, reference: our delivery note}\n"
                 "  - {name: ebu-r128, tolerance_lu: 0.5}\n")
    for how in (("--targets-file", f), ()):
        env = None if how else {"MIXDOWN_TARGETS": str(f)}
        p = presets(*how, env=env)
        assert p["house-style"]["integrated_lufs"] == -20.0 and p["house-style"]["source"] == str(f)
        # an override changes the fields it gives, keeps the rest
        assert p["ebu-r128"]["tolerance_lu"] == 0.5 and p["ebu-r128"]["integrated_lufs"] == -23.0
        assert p["ebu-r128"]["true_peak_dbtp"] == -1.0 and p["ebu-r128"]["source"] == str(f)
    # and wherever --target is taken: check judges the user's LRA limit
    x = 0.05 * np.random.default_rng(0).standard_normal((2, 30 * SR))
    x[:, 15 * SR:] *= 10 ** (-15 / 20)  # a 15 dB step, inside LRA's -20 LU gate: a range of about 15 LU
    sf.write(tmp_path / "wide.wav", x.T.astype(np.float32), SR, subtype="FLOAT")
    r = run("--targets-file", f, "check", tmp_path / "wide.wav", "--target", "house-style", "--json")
    req = {q["name"]: q for q in json.loads(r.stdout)["requirements"]}
    assert not req["loudness_range"]["passed"] and r.returncode == 3


def test_a_bad_targets_file_is_one_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("presets:\n  - {name: loud, integrated_lufs: 5, tolerance_lu: 1, true_peak_dbtp: -1}\n")
    r = run("--targets-file", f, "targets")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "bad.yaml" in r.stderr and "presets[0]" in r.stderr and "integrated_lufs" in r.stderr
    f.write_text("presets:\n  - {name: typo, integrated_lufs: -20, tolerance_lu: 1, true_peek_dbtp: -1}\n")
    r = run("targets", env={"MIXDOWN_TARGETS": str(f)})
    assert r.returncode == 2 and "true_peek_dbtp" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def _ebur128_short_term_max(x: np.ndarray) -> float:
    meter = pyebur128.R128State(x.shape[0], SR, pyebur128.MeasurementMode.MODE_S)
    best = -np.inf
    hop = SR // 10
    for a in range(0, x.shape[1], hop):
        meter.add_frames(
            np.ascontiguousarray(x[:, a : a + hop].T, dtype=np.float64).reshape(-1), min(hop, x.shape[1] - a)
        )
        if a + hop >= 3 * SR:
            best = max(best, pyebur128.get_loudness_shortterm(meter))
    return best


def test_ebu_r128_s1_limits_the_short_term_loudness(tmp_path):
    rng = np.random.default_rng(1)
    x = 0.01 * rng.standard_normal((2, 20 * SR))
    # a 3 s burst 10 dB up, inside the relative gate: the programme reads 3.7 dB over the rest, the burst's
    # short-term loudness 6.3 LU over the programme (over R 128 s1's +5 LU)
    x[:, 8 * SR:11 * SR] *= 10 ** (10 / 20)
    meter = pyebur128.R128State(2, SR, pyebur128.MeasurementMode.MODE_I)
    meter.add_frames(np.ascontiguousarray(x.T).reshape(-1), x.shape[1])
    x *= 10 ** ((-23 - pyebur128.get_loudness_global(meter)) / 20)
    assert _ebur128_short_term_max(x) > -18 + 1
    sf.write(tmp_path / "spot.wav", x.T.astype(np.float32), SR, subtype="FLOAT")
    r = run("check", tmp_path / "spot.wav", "--target", "ebu-r128-s1", "--json")
    req = {q["name"]: q for q in json.loads(r.stdout)["requirements"]}
    assert req["integrated_loudness"]["passed"] and not req["max_short_term"]["passed"] and r.returncode == 3
    assert req["max_short_term"]["measured"] == pytest.approx(_ebur128_short_term_max(x), abs=0.1)
    # plain R 128 has no such limit
    r = run("check", tmp_path / "spot.wav", "--target", "ebu-r128", "--json")
    assert "max_short_term" not in {q["name"] for q in json.loads(r.stdout)["requirements"]}


def test_a_recommended_range_is_said_not_failed(tmp_path):
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(2)
    s = sosfilt(butter(4, [150, 5000], btype="band", fs=SR, output="sos"), rng.standard_normal(10 * SR))
    x = np.stack([s, s]) * 0.05
    sf.write(tmp_path / "flat.wav", x.T.astype(np.float32), SR, subtype="FLOAT")  # LRA ~0: under Netflix's 4 LU
    f = tmp_path / "n.yaml"
    f.write_text("presets:\n  - {name: netflix, gating: program}\n")  # Netflix's numbers, programme-gated
    r = run("--targets-file", f, "check", tmp_path / "flat.wav", "--target", "netflix", "--tolerance", "10",
            "--true-peak", "0", "--json")
    req = {q["name"]: q for q in json.loads(r.stdout)["requirements"]}
    assert not req["loudness_range_recommended"]["passed"] and req["loudness_range_recommended"]["advisory"]
    assert r.returncode == 0, r.stdout
    r = run("--targets-file", f, "check", tmp_path / "flat.wav", "--target", "netflix", "--tolerance", "10",
            "--true-peak", "0")
    assert "note loudness_range_recommended" in r.stdout and "PASS" in r.stdout
