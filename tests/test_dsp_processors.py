"""Contract tests run over every registered processor kind.

For each kind (with parameters that make it actually do something) and 1, 2 and 6
channels: any block split equals one pass, output is float32 with the channel count
kept, the input is not modified, two runs are identical, reset() equals a fresh
instance. Automation of every automatable parameter: ``test_dsp_automation.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.dsp.base import Processor, load_all
from mixdown.dsp.cleanup import PROFILE_PARAMS

FS = 48000
N = 6000
SCHEDULES = {
    "1..7": [1, 2, 3, 4, 5, 6, 7],
    "480": [480],
    "4096": [4096],
    "mixed": [7, 480, 1, 4096, 3, 10000],
}

# parameters that make each kind do audible work on the test signal

CONFIGS: dict[str, dict] = {
    "highpass": {"freq_hz": 300.0, "slope_db_oct": 24},
    "lowpass": {"freq_hz": 3000.0, "slope_db_oct": 36, "q": 1.2},
    "low_shelf": {"gain_db": 6.0, "freq_hz": 300.0},
    "high_shelf": {"gain_db": -6.0, "slope": 0.8},
    "bell": {"gain_db": 6.0, "q": 2.0},
    "notch": {"freq_hz": 1000.0, "q": 5.0},
    "eq": {
        "band1_type": "highpass", "band1_freq_hz": 80.0,
        "band3_type": "bell", "band3_gain_db": -4.0, "band3_q": 1.5,
        "band5_type": "high_shelf", "band5_gain_db": 3.0,
        "band8_type": "notch", "band8_freq_hz": 6000.0, "band8_q": 8.0,
    },
    "compressor": {"threshold_db": -24.0, "ratio": 4.0, "attack_ms": 2.0, "release_ms": 40.0, "makeup_db": 3.0},
    "compressor/rms": {"threshold_db": -10.0, "detector": "rms", "mix": 0.6, "knee_db": 0.0},
    "gate": {"threshold_db": -20.0, "ratio": 4.0, "range_db": 30.0, "hold_ms": 5.0, "release_ms": 20.0},
    "limiter": {"ceiling_db": -6.0, "lookahead_ms": 2.0, "release_ms": 20.0},
    "limiter/true_peak": {"ceiling_db": -6.0, "lookahead_ms": 2.0, "true_peak": True},
    "pan": {"pan": 0.4},
    "width": {"width": 1.5, "mid_db": -2.0, "side_db": 3.0},
    "delay": {"time_ms": 5.0, "feedback": 0.5, "mix": 0.5},
    "delay/no_feedback": {"time_ms": 3.0, "feedback": 0.0, "mix": 0.5},
    "reverb": {"room_size": 0.7, "wet_level": 0.5},
    "saturation": {"drive_db": 12.0, "mix": 0.8},
    "saturation/plain": {"drive_db": 12.0, "oversample": False},
    "gain": {"gain_db": -3.0},
    # cleanup processors change nothing at their defaults (no profile, no hum): give them work
    "denoise": {"amount_db": 20.0, **{n: -45.0 for n in PROFILE_PARAMS}},
    "dehum": {"freq_hz": 50.0, "harmonics": 6.0},
    "declick": {"threshold": 6.0},
    "deesser": {"freq_hz": 5000.0, "threshold_db": -40.0, "range_db": 20.0},
}


def _configs() -> list[tuple[str, str, dict]]:
    reg = load_all()
    out = []
    for kind in sorted(reg):
        keys = [k for k in CONFIGS if k.split("/")[0] == kind] or [kind]
        out += [(key, kind, CONFIGS.get(key, {})) for key in keys]
    return out


ALL = _configs()
IDS = [c[0] for c in ALL]


def signal(channels: int, n: int = N, seed: int = 1) -> np.ndarray:
    """Noise bursts with silences and level changes (exercises gates, compressors, tails)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, n))
    t = np.arange(n)
    env = np.where((t // 700) % 3 == 2, 0.003, 0.5) * (1.0 + 0.8 * np.sin(2 * np.pi * t / 2300.0))
    x *= env
    x[:, n // 3] = 1.5  # a lone overshoot for the limiter
    return (x * np.linspace(1.0, 0.5, channels)[:, None]).astype(np.float32)


def run(p: Processor, x: np.ndarray, schedule: list[int], *, prepare: bool = True) -> np.ndarray:
    if prepare:
        p.prepare(FS, 10000, x.shape[0])
    outs = []
    pos = 0
    i = 0
    while pos < x.shape[1]:
        b = schedule[i % len(schedule)]
        outs.append(p.process(x[:, pos : pos + b], pos))
        pos += b
        i += 1
    return np.concatenate(outs, axis=1)


def test_every_module_registers_its_processors():
    reg = load_all()
    for kind in ("highpass", "lowpass", "low_shelf", "high_shelf", "bell", "notch", "eq", "compressor", "gate",
                 "limiter", "pan", "width", "delay", "reverb", "saturation"):
        assert kind in reg, kind
    for kind, cls in reg.items():
        assert cls.kind == kind
        for name, spec in cls.PARAMS.items():
            assert spec.doc, f"{kind}.{name} has no doc"
            if spec.choices is None and not isinstance(spec.default, bool):
                assert spec.min is not None and spec.max is not None, f"{kind}.{name} has no range"
                assert spec.min <= spec.default <= spec.max


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("key,kind,params", ALL, ids=IDS)
def test_block_size_invariance_and_contract(key, kind, params, channels):
    reg = load_all()
    x = signal(channels)
    x_copy = x.copy()
    ref = run(reg[kind](**params), x, [N])
    assert ref.dtype == np.float32
    assert ref.shape == x.shape
    assert np.all(np.isfinite(ref))
    assert np.array_equal(x, x_copy), "input was modified"
    for name, sched in SCHEDULES.items():
        out = run(reg[kind](**params), x, sched)
        assert out.tobytes() == ref.tobytes(), f"{key} with blocks {name}: bytes differ from one pass"
    # determinism: a second fresh instance gives the same bits
    assert np.array_equal(run(reg[kind](**params), x, [N]), ref)


@pytest.mark.parametrize("key,kind,params", ALL, ids=IDS)
def test_reset_equals_fresh_instance(key, kind, params):
    reg = load_all()
    a = signal(2, seed=3)
    b = signal(2, seed=4)
    p = reg[kind](**params)
    run(p, a, [1000])
    p.reset()
    again = run(p, b, [1000], prepare=False)
    fresh = run(reg[kind](**params), b, [1000])
    assert np.array_equal(again, fresh)


@pytest.mark.parametrize("key,kind,params", ALL, ids=IDS)
def test_empty_block_and_wrong_channel_count(key, kind, params):
    reg = load_all()
    p = reg[kind](**params)
    p.prepare(FS, 1024, 2)
    out = p.process(np.zeros((2, 0), dtype=np.float32), 0)
    assert out.shape == (2, 0) and out.dtype == np.float32
    if kind != "gain":
        with pytest.raises(ValueError):
            p.process(np.zeros((3, 10), dtype=np.float32), 0)


@pytest.mark.parametrize("key,kind,params", ALL, ids=IDS)
def test_latency_and_tail_are_sane(key, kind, params):
    reg = load_all()
    p = reg[kind](**params)
    p.prepare(FS, 1024, 2)
    assert isinstance(p.latency, int) and 0 <= p.latency < FS // 10
    assert isinstance(p.tail, int) and 0 <= p.tail < 60 * FS
