"""Envelopes: interpolation laws and block independence."""

import numpy as np
import pytest

from mixdown.dsp.automation import Envelope, db_to_amp
from mixdown.dsp.base import CONTROL_PERIOD
from mixdown.dsp.gain import Gain


def test_exp_on_db_is_a_straight_line_in_db():
    env = Envelope([0, 100], [0.0, -20.0], ["exp", "exp"], unit="dB")
    v = env.evaluate(0, 101)
    assert np.allclose(v, np.linspace(0, -20, 101))


def test_linear_on_db_is_a_straight_line_in_amplitude():
    env = Envelope([0, 100], [0.0, -144.0], unit="dB")
    amp = db_to_amp(env.evaluate(0, 100))
    assert np.allclose(amp, 1 - np.arange(100) / 100, atol=1e-9)


def test_hold_and_ends():
    env = Envelope([10, 20, 30], [1.0, 2.0, 3.0], ["hold", "linear", "linear"])
    v = env.evaluate(0, 40)
    assert (v[:10] == 1).all() and (v[10:20] == 1).all() and v[20] == 2 and v[25] == 2.5 and (v[30:] == 3).all()


def test_exp_on_hz_is_geometric():
    env = Envelope([0, 10], [100.0, 1000.0], ["exp", "exp"], unit="Hz")
    assert env.at(5) == pytest.approx(np.sqrt(100 * 1000))


def test_out_of_order_rejected():
    with pytest.raises(ValueError):
        Envelope([10, 5], [0, 1])


def test_changes_within_sees_flat_runs():
    env = Envelope([0, 100, 200, 300], [0.0, -10.0, -10.0, 0.0], unit="dB")
    assert env.changes_within(0, 50)
    assert not env.changes_within(120, 50)
    assert not env.changes_within(400, 50)


@pytest.mark.parametrize("bs", [1, 7, 31, 480, 5000])
def test_automated_gain_is_block_invariant(bs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9000)).astype(np.float32)
    env = Envelope([100, 3000, 6000], [0.0, -30.0, 6.0], ["exp", "linear", "hold"], unit="dB")
    ref = Gain()
    ref.automate("gain_db", env)
    whole = ref(x, 48000)
    g = Gain()
    g.automate("gain_db", env)
    g.prepare(48000, bs, 2)
    parts = [g.process(x[:, i:i + bs], i) for i in range(0, x.shape[1], bs)]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


def test_segments_follow_absolute_grid():
    g = Gain()
    g.automate("gain_db", Envelope([0, 1000], [0.0, -6.0], unit="dB"))
    g.prepare(48000, 100, 1)
    cuts = [a + 50 for a, _ in g.segments(50, 100)]
    assert all((c % CONTROL_PERIOD == 0) for c in cuts[1:])


def test_at_positions_matches_evaluate():
    env = Envelope([100, 3000, 6000, 6000, 9000], [0.0, -30.0, 6.0, -3.0, 0.0],
                   ["exp", "linear", "hold", "linear", "linear"], unit="dB")
    t = np.arange(0, 10000)
    np.testing.assert_allclose(env.at_positions(t), env.evaluate(0, 10000), atol=1e-9)
    hz = Envelope([0, 500], [100.0, 1000.0], ["exp", "exp"], unit="Hz")
    np.testing.assert_allclose(hz.at_positions(np.arange(600)), hz.evaluate(0, 600), rtol=1e-12)
