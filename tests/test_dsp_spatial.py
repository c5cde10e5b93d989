"""Pan, width, delay and reverb."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mixdown.dsp.automation import Envelope
from mixdown.dsp.spatial import Delay, Pan, Reverb, Width, pan_mono_to_stereo, stereo_pairs

FS = 48000


def noise(channels: int, n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((channels, n)) * 0.2).astype(np.float32)


# -- pan -----------------------------------------------------------------------------------


def test_pan_mono_to_stereo_is_constant_power_with_centre_at_minus_3db():
    x = noise(1, 1000)
    c = pan_mono_to_stereo(x, 0.0)
    assert c.shape == (2, 1000) and c.dtype == np.float32
    np.testing.assert_allclose(c, np.vstack([x, x]) / math.sqrt(2), rtol=1e-6)
    left = pan_mono_to_stereo(x[0], -1.0)
    np.testing.assert_allclose(left[0], x[0], rtol=1e-7)
    assert np.abs(left[1]).max() < 1e-7
    pans = np.linspace(-1, 1, 1000)
    y = pan_mono_to_stereo(x, pans).astype(np.float64)
    np.testing.assert_allclose(y[0] ** 2 + y[1] ** 2, x[0].astype(np.float64) ** 2, rtol=1e-5, atol=1e-12)
    theta = (pans + 1) * math.pi / 4
    np.testing.assert_allclose(y[1], x[0] * np.sin(theta), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError):
        pan_mono_to_stereo(x, 1.5)
    with pytest.raises(ValueError):
        pan_mono_to_stereo(noise(2, 10), 0.0)


@pytest.mark.parametrize("p,gl,gr", [(0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (-1.0, 1.0, 0.0),
                                     (0.5, math.sqrt(2) * math.cos(3 * math.pi / 8), 1.0),
                                     (-0.5, 1.0, math.sqrt(2) * math.sin(math.pi / 8))])
def test_stereo_balance_gains(p, gl, gr):
    x = noise(2, 500)
    y = Pan(pan=p)(x, FS)
    np.testing.assert_allclose(y[0], x[0] * gl, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(y[1], x[1] * gr, rtol=1e-6, atol=1e-8)


def test_pan_automation_is_per_sample_and_layouts_are_respected():
    n = 4800
    x = noise(2, n)
    p = Pan()
    p.automate("pan", Envelope([0, n - 1], [-1.0, 1.0]))
    y = p(x, FS)
    theta = (np.linspace(-1, 1, n) + 1) * math.pi / 4
    np.testing.assert_allclose(y[0], x[0] * np.minimum(1, math.sqrt(2) * np.cos(theta)), rtol=1e-5, atol=1e-8)
    # 5.1: front and surround pairs balanced, centre and LFE untouched
    x6 = noise(6, 100)
    y6 = Pan(pan=1.0)(x6, FS)
    assert np.abs(y6[[0, 4]]).max() < 1e-7
    np.testing.assert_array_equal(y6[[1, 2, 3, 5]], x6[[1, 2, 3, 5]])
    # mono: nothing to balance
    x1 = noise(1, 100)
    np.testing.assert_array_equal(Pan(pan=0.7)(x1, FS), x1)
    assert stereo_pairs(6) == ((0, 1), (4, 5))


# -- width ---------------------------------------------------------------------------------


def _ms(y):
    y = y.astype(np.float64)
    return (y[0] + y[1]) / 2, (y[0] - y[1]) / 2


def test_width_scales_the_side_signal():
    x = noise(2, 2000)
    m, s = _ms(x)
    np.testing.assert_allclose(Width(width=1.0)(x, FS), x, atol=1e-7)
    mono = Width(width=0.0)(x, FS)
    np.testing.assert_allclose(mono[0], mono[1])
    np.testing.assert_allclose(mono[0], m, atol=1e-7)
    m2, s2 = _ms(Width(width=2.0)(x, FS))
    np.testing.assert_allclose(m2, m, atol=1e-7)
    np.testing.assert_allclose(s2, 2 * s, atol=1e-7)
    m3, s3 = _ms(Width(mid_db=-6.0, side_db=6.0, width=0.5)(x, FS))
    np.testing.assert_allclose(m3, m * 10 ** (-6 / 20), atol=1e-7)
    np.testing.assert_allclose(s3, s * 0.5 * 10 ** (6 / 20), atol=1e-7)


def test_width_on_mono_and_51():
    x1 = noise(1, 100)
    np.testing.assert_allclose(Width(mid_db=-6.0, width=0.0)(x1, FS), x1 * 10 ** (-6 / 20), rtol=1e-6)
    x6 = noise(6, 100)
    y6 = Width(width=0.0)(x6, FS)
    np.testing.assert_array_equal(y6[[2, 3]], x6[[2, 3]])
    np.testing.assert_allclose(y6[4], y6[5])
    np.testing.assert_allclose(y6[0], (x6[0].astype(np.float64) + x6[1]) / 2, atol=1e-7)


# -- delay ---------------------------------------------------------------------------------


def test_delay_impulse_response_is_a_decaying_echo_train():
    d = Delay(time_ms=10.0, feedback=0.5, mix=0.4)
    n = 4000
    x = np.zeros((1, n), np.float32)
    x[0, 7] = 1.0
    y = d(x, FS)[0]
    D = 480
    expected = np.zeros(n)
    expected[7] = 0.6
    for k in range(1, (n - 8) // D + 1):
        expected[7 + k * D] = 0.4 * 0.5 ** (k - 1)
    np.testing.assert_allclose(y, expected, atol=1e-7)


def test_delay_without_feedback_is_a_plain_delay_and_paths_agree():
    x = noise(2, 5000)
    y = Delay(time_ms=2.0, feedback=0.0, mix=1.0)(x, FS)
    np.testing.assert_array_equal(y[:, 96:], x[:, :-96])
    assert np.all(y[:, :96] == 0)
    # feedback switching between zero (vectorised) and non-zero (recursive) mid-stream
    d = Delay(time_ms=2.0, feedback=0.0, mix=0.5)
    d.automate("feedback", Envelope([0, 1000, 1000, 3000, 3000], [0.0, 0.0, 0.6, 0.6, 0.0], ["hold"] * 5))
    one = d(x, FS)
    d2 = Delay(time_ms=2.0, feedback=0.0, mix=0.5)
    d2.automate("feedback", Envelope([0, 1000, 1000, 3000, 3000], [0.0, 0.0, 0.6, 0.6, 0.0], ["hold"] * 5))
    d2.prepare(FS, 700, 2)
    parts = np.concatenate([d2.process(x[:, s : s + 700], s) for s in range(0, 5000, 700)], axis=1)
    np.testing.assert_array_equal(parts, one)
    # before the feedback starts it equals the feedback-free delay
    np.testing.assert_array_equal(one[:, :1000], Delay(time_ms=2.0, feedback=0.0, mix=0.5)(x, FS)[:, :1000])


def test_delay_tail_covers_echoes_down_to_minus_60db():
    d = Delay(time_ms=10.0, feedback=-0.7, mix=1.0)
    d.prepare(FS, 1024, 1)
    tail = d.tail
    k = math.ceil(math.log(1e-3) / math.log(0.7))
    assert tail == 480 * (1 + k)
    x = np.zeros((1, tail + 2000), np.float32)
    x[0, 0] = 1.0
    y = d(x, FS)[0]
    assert np.abs(y[tail + 1 :]).max() < 1e-3
    assert np.abs(y[: tail - 480 + 1]).min() == 0.0 and np.abs(y[tail - 480 * 2]) > 1e-3


# -- reverb --------------------------------------------------------------------------------


def _pedalboard(x, **params):
    pedalboard = pytest.importorskip("pedalboard")
    return pedalboard.Reverb(**params).process(x, FS)


@pytest.mark.parametrize("channels", [1, 2])
def test_reverb_equals_pedalboard_on_the_whole_signal(channels):
    x = noise(channels, 30000)
    params = dict(room_size=0.6, damping=0.3, wet_level=0.4, dry_level=0.7, width=0.8)
    y = Reverb(**params)(x, FS)
    np.testing.assert_allclose(y, _pedalboard(x, **params), atol=2e-6)


def test_reverb_streams_exactly_even_when_blocks_grow():
    # pedalboard clears its reverb when a call is larger than any before; the
    # processor must hide that
    x = noise(2, 40000, seed=2)
    ref = Reverb()(x, FS)
    r = Reverb()
    r.prepare(FS, 20000, 2)
    sizes = [1, 2, 5000, 10000, 3, 20000]
    out, pos, i = [], 0, 0
    while pos < x.shape[1]:
        b = sizes[i % len(sizes)]
        out.append(r.process(x[:, pos : pos + b], pos))
        pos += b
        i += 1
    np.testing.assert_array_equal(np.concatenate(out, axis=1), ref)


def test_reverb_on_51_keeps_lfe_dry_and_reverbs_pairs_and_centre():
    x = noise(6, 20000, seed=3)
    params = dict(room_size=0.4, wet_level=0.5, dry_level=0.5)
    y = Reverb(**params)(x, FS)
    np.testing.assert_allclose(y[3], x[3] * 2 * 0.5, rtol=1e-6)  # pedalboard's dry scale: 2 x dry_level
    np.testing.assert_allclose(y[[0, 1]], _pedalboard(x[[0, 1]], **params), atol=2e-6)
    np.testing.assert_allclose(y[[4, 5]], _pedalboard(x[[4, 5]], **params), atol=2e-6)
    np.testing.assert_allclose(y[[2]], _pedalboard(x[[2]], **params), atol=2e-6)


def test_reverb_tail_and_reset():
    r = Reverb(room_size=0.5, damping=0.5, wet_level=1.0, dry_level=0.0)
    r.prepare(FS, 1024, 2)
    tail = r.tail
    assert 1.0 * FS < tail < 3.0 * FS
    x = np.zeros((2, tail + FS // 2), np.float32)
    x[:, 0] = 1.0
    y = r(x, FS)
    early = np.abs(y[:, : FS // 10]).max()
    late = np.abs(y[:, tail:]).max()
    assert late < early * 1e-3  # 60 dB down after the tail
    assert np.abs(y[:, tail // 2 : tail // 2 + 4800]).max() > early * 1e-3  # but not much earlier
    # reset forgets the tail
    r.reset()
    silent = r.process(np.zeros((2, 4800), np.float32), 0)
    assert not np.any(silent)
    big = Reverb(room_size=1.0)
    big.prepare(FS, 1024, 2)
    assert big.tail > 10 * FS
