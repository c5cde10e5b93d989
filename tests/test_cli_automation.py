"""Processor automation as a user meets it: `mixdown processors` says how each parameter
moves, `mixdown render` renders the automation sessions promise and refuses the rest."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_processors_json_states_rate_and_automatability_of_every_parameter():
    r = run("processors", "--json")
    assert r.returncode == 0, r.stderr
    kinds = {k["kind"]: k for k in json.loads(r.stdout)}
    params = {(k, p["name"]): p for k, v in kinds.items() for p in v["params"]}
    for (kind, name), p in params.items():
        if p["automatable"]:
            assert p["rate"] in ("sample", "control", "frame"), (kind, name)
            if p["rate"] == "control":
                assert p["period_samples"] == 32
            if p["rate"] == "frame":
                assert kinds[kind]["frame"] and p["frame"] == kinds[kind]["frame"]
        else:
            assert p["fixed"], f"{kind}.{name}: not automatable, and no reason given"
    # what the issue names
    assert params[("delay", "time_ms")]["automatable"] and params[("delay", "time_ms")]["rate"] == "sample"
    assert params[("limiter", "ceiling_db")]["rate"] == "sample"
    for name in ("freq_hz", "q"):
        assert params[("deesser", name)]["rate"] == "control"
        assert params[("dehum", name)]["rate"] == "control"
    assert params[("bell", "gain_db")]["rate"] == "control"
    assert params[("denoise", "release_ms")]["rate"] == "frame"
    assert params[("eq", "band1_type")]["automatable"] is False
    assert params[("limiter", "lookahead_ms")] == {**params[("limiter", "lookahead_ms")], "automatable": False,
                                                   "fixed": "it sets the latency"}
    assert params[("dehum", "harmonics")]["automatable"] is False


def test_processors_text_shows_the_rate_on_each_line():
    r = run("processors")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    line = next(s for s in lines if s.strip().startswith("time_ms ="))
    assert line.endswith("[automation: per sample]")
    assert next(s for s in lines if s.strip().startswith("band2_freq_hz =")).endswith(
        "[automation: per control segment]")
    assert next(s for s in lines if s.strip().startswith("lookahead_ms =")).endswith("[fixed: it sets the latency]")
    assert next(s for s in lines if s.startswith("denoise:")).count("frame = ") == 1


@pytest.fixture()
def media(tmp_path):
    rng = np.random.default_rng(3)
    sf.write(tmp_path / "noise.wav", (0.7 * rng.standard_normal((2 * 44100, 2))).astype(np.float32), 44100,
             subtype="FLOAT")
    t = np.arange(2 * 48000) / 48000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", np.stack([tone, tone], axis=1), 48000, subtype="FLOAT")  # stereo: no pan law
    return tmp_path


def _session(tmp_path, name: str, chain: str, *, source: str = "tone.wav", rate: int = 48000) -> str:
    (tmp_path / name).write_text(
        f"mixdown: 1\nsample_rate: {rate}\ntracks:\n  - name: T\n    clips:\n"
        f"      - {{source: {source}, start: 0, duration: 2}}\n    chain:\n{chain}"
    )
    return name


@pytest.mark.parametrize("chain,j,name,line", [
    ("      - {type: eq, band1_type: bell, automation: {band1_type: [[0, 1], [1, 2]]}}\n", 0, "band1_type", 8),
    ("      - {type: highpass}\n      - type: limiter\n        automation:\n"
     "          lookahead_ms: [[0, 5], [1, 10]]\n", 1, "lookahead_ms", 11),
    ("      - type: dehum\n        automation: {harmonics: [[0, 4]]}\n", 0, "harmonics", 9),
    ("      - {type: saturation, automation: {oversample: [[0, 1]]}}\n", 0, "oversample", 8),
], ids=["eq.band1_type", "limiter.lookahead_ms", "dehum.harmonics", "saturation.oversample"])
def test_render_refuses_automation_of_a_parameter_that_cannot_move(media, chain, j, name, line):
    s = _session(media, "s.yaml", chain)
    r = run("render", s, "-o", "out.wav", cwd=media)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert f"s.yaml:{line}: tracks[0].chain[{j}].automation.{name}:" in lines[0]
    assert f".{name} cannot be automated (" in lines[0]
    assert not (media / "out.wav").exists()


def test_render_follows_an_automated_delay_time_without_a_click(media):
    # refused before ("delay.time_ms cannot be automated"); now the time moves 10 -> 200 ms
    chain = ("      - type: delay\n        time_ms: 10\n        feedback: 0\n        mix: 1\n"
             "        automation: {time_ms: [[0.3, 10], [0.8, 200]]}\n")
    r = run("render", _session(media, "s.yaml", chain), "-o", "out.wav", "--format", "wav32f", cwd=media)
    assert r.returncode == 0, r.stderr
    y, sr = sf.read(media / "out.wav", dtype="float32")
    seg = y[int(0.25 * sr) : int(1.9 * sr), 0].astype(np.float64)
    # no step larger than the 0.5-amplitude sine's steepest, times 1 + dD/dt
    bound = 0.5 * 2 * np.pi * 1000 / sr * (1 + 0.38)
    assert np.abs(np.diff(seg)).max() <= bound * 1.001
    # after the move: the input 200 ms (9600 samples) ago
    x, _ = sf.read(media / "tone.wav", dtype="float32")
    np.testing.assert_array_equal(y[int(0.81 * sr) :], x[int(0.81 * sr) - 9600 : y.shape[0] - 9600])


def test_render_follows_automated_limiter_ceiling_and_moving_bands(media):
    # each was refused before; the ceiling is met from its keyframe's sample (latency compensated)
    chain = (
        "      - type: deesser\n        automation: {freq_hz: [[0, 5000, exp], [1.5, 9000]], q: [[0, 1], [1, 2]]}\n"
        "      - type: dehum\n        automation: {freq_hz: [[0, 50, hold], [1, 60]], q: [[0, 30], [1, 20]]}\n"
        "      - {type: gain, gain_db: 12}\n"
        "      - type: limiter\n        lookahead_ms: 2\n"
        "        automation: {ceiling_db: [[0, -3, hold], [1.0, -12]]}\n"
    )
    r = run("render", _session(media, "s.yaml", chain), "-o", "out.wav", "--format", "wav32f", cwd=media)
    assert r.returncode == 0, r.stderr
    y, sr = sf.read(media / "out.wav", dtype="float32")
    k = sr  # the ceiling's keyframe at 1.0 s
    peak_db = [20 * np.log10(np.max(np.abs(y[a:b]))) for a, b in ((4800, k), (k, y.shape[0]))]
    assert -3.5 < peak_db[0] <= -3.0 + 1e-6
    assert -12.5 < peak_db[1] <= -12.0 + 1e-6


def test_a_filter_step_at_44k1_lands_on_its_keyframe(media):
    # 0.1 s at 44.1 kHz is sample 4410, 26 samples into a 32-sample control period: the
    # coefficients used to switch 6 samples late, at 4416
    step = "      - {type: bell, freq_hz: 1000, gain_db: 0, automation: {gain_db: [[0, 0, hold], [0.1, 12]]}}\n"
    flat = "      - {type: bell, freq_hz: 1000, gain_db: 0}\n"
    for name, chain in (("a.yaml", step), ("b.yaml", flat)):
        s = _session(media, name, chain, source="noise.wav", rate=44100)
        r = run("render", s, "-o", name.replace(".yaml", ".wav"), "--format", "wav32f", cwd=media)
        assert r.returncode == 0, r.stderr
    a, _ = sf.read(media / "a.wav", dtype="float32")
    b, _ = sf.read(media / "b.wav", dtype="float32")
    assert int(np.flatnonzero(np.any(a != b, axis=1))[0]) == 4410
