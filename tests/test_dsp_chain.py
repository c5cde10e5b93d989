"""dsp.Chain: a chain of processors is a processor (latency, tail, sidechains, one-shot)."""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.dsp import Chain, Fader, create
from mixdown.dsp.panlaw import pan_gains

FS = 48000


def _noise(ch: int, n: int, scale: float = 0.5, seed: int = 3) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal((ch, n))).astype(np.float32)


def test_latency_and_tail_add_up():
    inserts = [create("limiter"), create("delay", time_ms=50.0, feedback=0.5), create("gain", gain_db=-3.0)]
    chain = Chain(inserts)
    chain.prepare(FS, 1024, 2)
    assert chain.latency == sum(p.latency for p in inserts) > 0
    assert chain.tail == sum(p.tail for p in inserts) > 0
    assert chain.latency_after(0) == inserts[0].latency


def test_one_shot_chain_is_the_inserts_in_series():
    x = _noise(2, 9000, 0.9)
    y = Chain([create("limiter", ceiling_db=-3.0), create("gain", gain_db=-6.0)])(x, FS)
    ref = create("gain", gain_db=-6.0)(create("limiter", ceiling_db=-3.0)(x, FS), FS)
    np.testing.assert_array_equal(y, ref)


def test_blocks_give_the_one_pass_result_and_points_see_each_insert():
    x = _noise(2, 5000)
    inserts = lambda: [create("highpass", freq_hz=200.0), create("compressor", threshold_db=-20.0, ratio=4.0)]  # noqa: E731
    one = Chain(inserts())
    one.prepare(FS, 5000, 2)
    pre, post, at = one.run(x, 0, points=[0, 1])
    np.testing.assert_array_equal(at[1], pre)
    c = Chain(inserts())
    c.prepare(FS, 333, 2)
    parts = [c.process(x[:, i:i + 333], i) for i in range(0, 5000, 333)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), post)


def test_sidechain_per_insert_by_name():
    x = _noise(2, 4800, 0.3)
    key = _noise(2, 4800, 0.9, seed=9)
    comp = create("compressor", threshold_db=-30.0, ratio=8.0)
    chain = Chain([create("gain", gain_db=0.0), comp], sidechains=[None, "Music"])
    chain.prepare(FS, 4800, 2)
    _, y, _ = chain.run(x, 0, keys={"Music": key})
    ref = create("compressor", threshold_db=-30.0, ratio=8.0)
    ref.prepare(FS, 4800, 2)
    np.testing.assert_array_equal(y, ref.process(x, 0, key=key))
    with pytest.raises(ValueError, match="sidechain"):
        chain.run(x, 0, keys={})


def test_fader_is_gain_then_the_pan_law():
    x = _noise(1, 1000)
    f = Fader(gain_db=-6.0, pan=0.5, out_channels=2)
    y = f(x, FS)
    gl, gr = pan_gains(0.5, mono_source=True)
    g = np.float32(10 ** (-6 / 20))
    np.testing.assert_allclose(y[0], x[0] * g * gl, rtol=1e-6)
    np.testing.assert_allclose(y[1], x[0] * g * gr, rtol=1e-6)
    assert abs(float(gl) ** 2 + float(gr) ** 2 - 1.0) < 1e-6  # constant power
