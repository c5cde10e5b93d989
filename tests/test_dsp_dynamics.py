"""Compressor, gate and limiter against their analytic behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mixdown.dsp.automation import Envelope
from mixdown.dsp.dynamics import Compressor, Gate, Limiter

FS = 48000


def dbfs(a):
    return 20.0 * np.log10(a)


def amp(db_):
    return 10.0 ** (db_ / 20.0)


def square(level_db: float, n: int, channels: int = 2, period: int = 96) -> np.ndarray:
    """A square wave: its sample peak detector level is constant, ``level_db`` dBFS."""
    s = np.where((np.arange(n) // (period // 2)) % 2 == 0, 1.0, -1.0) * amp(level_db)
    return np.tile(s, (channels, 1)).astype(np.float32)


def static_curve(level_db, t, r, w):
    """Output level of the soft-knee compressor (Giannoulis et al. 2012, eq. 4)."""
    if 2 * (level_db - t) < -w:
        return level_db
    if w > 0 and 2 * abs(level_db - t) <= w:
        return level_db + (1 / r - 1) * (level_db - t + w / 2) ** 2 / (2 * w)
    return t + (level_db - t) / r


# -- compressor ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level,expected",
    [(-40.0, -40.0), (-25.0, -25.0), (-20.0, -20.9375), (-15.0, -18.75), (-10.0, -17.5), (0.0, -15.0)],
)
def test_compressor_static_curve_on_a_square_wave(level, expected):
    # threshold -20, ratio 4, knee 10: knee from -25 to -15; at -20 the quadratic gives
    # (1/4 - 1) * 5^2 / 20 = -0.9375; above the knee -20 + (L + 20) / 4
    assert static_curve(level, -20, 4, 10) == pytest.approx(expected)
    c = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=10.0, attack_ms=1.0, release_ms=10.0)
    y = c(square(level, FS // 2), FS)
    out = dbfs(np.abs(y[:, -1000:]).max())
    lo = dbfs(np.abs(y[:, -1000:]).min())
    assert out == pytest.approx(expected, abs=1e-4)
    assert lo == pytest.approx(expected, abs=1e-4)  # steady: no ripple
    assert c.max_reduction_db == pytest.approx(level - expected, abs=1e-4)


def test_hard_knee_and_makeup():
    c = Compressor(threshold_db=-30.0, ratio=3.0, knee_db=0.0, makeup_db=6.0, attack_ms=0.5)
    for level in (-40.0, -30.0, -12.0):
        y = c(square(level, FS // 4), FS)
        assert dbfs(np.abs(y[:, -100:]).max()) == pytest.approx(static_curve(level, -30, 3, 0) + 6.0, abs=1e-4)


def test_rms_detector_reads_a_sine_3db_below_its_peak():
    t = np.arange(FS) / FS
    peak_db = -6.0
    x = np.tile(amp(peak_db) * np.sin(2 * np.pi * 1000 * t), (2, 1)).astype(np.float32)
    c = Compressor(threshold_db=-30.0, ratio=5.0, knee_db=0.0, detector="rms", rms_ms=50.0, release_ms=200.0)
    y = c(x, FS)
    gain = dbfs(np.sqrt(np.mean(y[:, -FS // 4 :].astype(np.float64) ** 2)) / np.sqrt(np.mean(x[:, -FS // 4 :] ** 2.0)))
    rms_db = peak_db - 10 * math.log10(2)
    assert gain == pytest.approx(static_curve(rms_db, -30, 5, 0) - rms_db, abs=0.02)


def test_attack_and_release_are_one_pole_time_constants():
    attack_ms, release_ms = 5.0, 80.0
    c = Compressor(threshold_db=-20.0, ratio=10.0, knee_db=0.0, attack_ms=attack_ms, release_ms=release_ms)
    n0, n1, n2 = 4800, 24000, 48000
    x = np.full((2, n2), amp(-40.0), dtype=np.float32)
    x[:, n0:n1] = amp(0.0)  # DC steps: the peak detector sees exactly the level
    y = c(x, FS)
    g_db = dbfs(y[0].astype(np.float64) / x[0])
    target = static_curve(0.0, -20, 10, 0)  # -18 dB of gain
    a = math.exp(-1000.0 / (attack_ms * FS))
    k = np.arange(n1 - n0)
    np.testing.assert_allclose(g_db[n0:n1], target * (1 - a ** (k + 1)), atol=2e-5)
    # after one attack time constant: 1 - 1/e of the way
    assert g_db[n0 + int(attack_ms * FS / 1000) - 1] == pytest.approx(target * (1 - 1 / math.e), abs=1e-3)
    r = math.exp(-1000.0 / (release_ms * FS))
    start = g_db[n1 - 1]
    k = np.arange(n2 - n1)
    np.testing.assert_allclose(g_db[n1:], start * r ** (k + 1), atol=2e-5)


def test_parallel_mix_blends_dry_and_compressed():
    x = square(0.0, FS // 4)
    kw = dict(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_ms=0.1)
    wet = Compressor(**kw)(x, FS)
    np.testing.assert_array_equal(Compressor(mix=0.0, **kw)(x, FS), x)
    half = Compressor(mix=0.5, **kw)(x, FS)
    np.testing.assert_allclose(half, 0.5 * x + 0.5 * wet, atol=1e-7)


def test_stereo_link_applies_one_gain_to_all_channels():
    x = square(-3.0, FS // 4, channels=2)
    x[1] *= 0.01  # the right channel is 40 dB quieter
    y = Compressor(threshold_db=-20.0, ratio=4.0)(x, FS)
    g = y.astype(np.float64) / x
    np.testing.assert_allclose(g[0], g[1], rtol=1e-6)
    assert dbfs(g[1, -1]) == pytest.approx(static_curve(-3.0, -20, 4, 6) + 3.0, abs=1e-3)


def test_sidechain_key_drives_the_gain():
    quiet = square(-40.0, FS // 2)
    key = square(0.0, FS // 2, channels=1)  # mono key for a stereo input
    c = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_ms=1.0)
    c.prepare(FS, FS, 2)
    y = c.process(quiet, 0, key=key)
    assert dbfs(np.abs(y[:, -100:]).max()) == pytest.approx(-40.0 - 15.0, abs=1e-3)
    # without the key nothing happens (the input is under the threshold)
    np.testing.assert_array_equal(Compressor(threshold_db=-20.0)(quiet, FS), quiet)
    # the key is split with the block: still block invariant
    c2 = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_ms=1.0)
    c2.prepare(FS, 1000, 2)
    parts = [c2.process(quiet[:, s : s + 777], s, key=key[:, s : s + 777]) for s in range(0, FS // 2, 777)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), y)
    with pytest.raises(ValueError, match="sidechain key"):
        c.process(quiet[:, :100], 0, key=key[:, :99])


def test_compressor_threshold_automation_is_sample_accurate():
    n = 9600
    x = square(-10.0, n)
    c = Compressor(threshold_db=-20.0, ratio=2.0, knee_db=0.0, attack_ms=0.0, release_ms=1.0)
    c.automate("threshold_db", Envelope([0, 4800], [-20.0, -20.0], ["hold", "hold"], unit="dB"))
    c.automate("ratio", Envelope([0, 4801], [2.0, 4.0], ["hold", "hold"], unit="ratio"))
    y = c(x, FS)
    assert dbfs(abs(y[0, 4800])) == pytest.approx(static_curve(-10, -20, 2, 0), abs=1e-6)
    # attack 0 = instant: the new ratio applies on the sample it starts
    assert dbfs(abs(y[0, 4801])) == pytest.approx(static_curve(-10, -20, 4, 0), abs=1e-6)


# -- gate --------------------------------------------------------------------------------


def test_gate_attenuates_by_range_below_threshold_and_passes_above():
    g = Gate(threshold_db=-40.0, ratio=100.0, range_db=30.0, attack_ms=0.5, hold_ms=0.0, release_ms=5.0)
    above = square(-20.0, FS // 4)
    np.testing.assert_array_equal(g(above, FS), above)
    below = square(-50.0, FS // 4)
    y = g(below, FS)
    assert dbfs(np.abs(y[:, -100:]).max()) == pytest.approx(-50.0 - 30.0, abs=1e-3)


def test_expander_ratio_below_threshold():
    g = Gate(threshold_db=-30.0, ratio=2.0, range_db=80.0, attack_ms=0.1, hold_ms=0.0, release_ms=1.0)
    for level, expected in ((-36.0, -42.0), (-45.0, -60.0), (-70.0, -110.0)):
        y = g(square(level, FS // 4), FS)
        assert dbfs(np.abs(y[:, -10:]).max()) == pytest.approx(expected, abs=1e-3)


def test_gate_hold_then_release_time_constant():
    hold_ms, release_ms = 10.0, 20.0
    g = Gate(threshold_db=-30.0, ratio=100.0, range_db=40.0, attack_ms=0.0, hold_ms=hold_ms, release_ms=release_ms)
    n_on, n = 4800, 24000
    x = np.full((1, n), amp(-60.0), dtype=np.float32)
    x[:, :n_on] = amp(-10.0)
    gdb = dbfs(g(x, FS)[0].astype(np.float64) / x[0])
    hold = int(hold_ms * FS / 1000)
    # open through the burst and the hold time (the burst's last sample restarts the hold)
    np.testing.assert_array_equal(gdb[: n_on + hold], 0.0)
    # then closing towards -40 dB with the release time constant
    r = math.exp(-1000.0 / (release_ms * FS))
    k = np.arange(n - n_on - hold)
    np.testing.assert_allclose(gdb[n_on + hold :], -40.0 * (1 - r ** (k + 1)), atol=1e-6)


def test_gate_stays_open_through_zero_crossings_and_keys_from_sidechain():
    t = np.arange(FS // 2) / FS
    sine = np.tile(amp(-12.0) * np.cos(2 * np.pi * 100 * t), (2, 1)).astype(np.float32)
    g = Gate(threshold_db=-30.0, hold_ms=10.0)  # hold covers a 100 Hz half period
    y = g(sine, FS)
    np.testing.assert_array_equal(y, sine)
    # keyed by a loud key the quiet input passes; keyed by silence it is gated
    quiet = square(-50.0, FS // 4)
    g2 = Gate(threshold_db=-30.0, range_db=24.0, attack_ms=0.1, release_ms=2.0)
    g2.prepare(FS, FS, 2)
    np.testing.assert_array_equal(g2.process(quiet, 0, key=square(-6.0, FS // 4, 1)), quiet)
    g2.reset()
    y = g2.process(quiet, 0, key=np.zeros((1, FS // 4), np.float32))
    assert dbfs(np.abs(y[:, -10:]).max()) == pytest.approx(-50.0 - 24.0, abs=1e-3)


# -- limiter -----------------------------------------------------------------------------


def hard_signals():
    n = FS // 2
    t = np.arange(n) / FS
    sq = np.where(np.sin(2 * np.pi * 997 * t) >= 0, 1.0, -1.0)
    imp = np.zeros(n)
    imp[[1000, 1001, 5000, 5100, 20000]] = [1.0, -4.0, 2.5, -1.0, 8.0]
    sine12 = amp(12.0) * np.sin(2 * np.pi * 440 * t)
    noise = np.random.default_rng(5).standard_normal(n) * 0.8
    return {
        "full-scale square": np.stack([sq, -sq]),
        "impulses": np.stack([imp, np.roll(imp, 3)]),
        "+12 dB sine": np.stack([sine12, 0.5 * sine12]),
        "hot noise": np.stack([noise, noise[::-1]]),
    }


@pytest.mark.parametrize("name", list(hard_signals()))
@pytest.mark.parametrize("lookahead_ms", [0.0, 5.0])
def test_limiter_sample_peaks_never_exceed_the_ceiling(name, lookahead_ms):
    x = hard_signals()[name].astype(np.float32)
    for ceiling_db in (-1.0, -0.1, -6.0):
        lim = Limiter(ceiling_db=ceiling_db, lookahead_ms=lookahead_ms, release_ms=50.0)
        y = lim(x, FS)
        assert float(np.abs(y).max()) <= amp(ceiling_db), (name, ceiling_db)
        # the gain was lowered exactly as far as the peak needs: the peak lands on the ceiling
        assert float(np.abs(y).max()) == pytest.approx(amp(ceiling_db), rel=1e-6)
        assert lim.max_reduction_db == pytest.approx(dbfs(np.abs(x).max()) - ceiling_db, abs=1e-5)


def test_limiter_gain_is_smooth_and_latency_compensated():
    x = hard_signals()["+12 dB sine"].astype(np.float32)
    x[:, : FS // 10] *= 0.05  # a quiet lead-in that must pass untouched
    lim = Limiter(ceiling_db=-1.0, lookahead_ms=5.0, release_ms=50.0)
    y = lim(x, FS)
    L = lim.latency
    assert L == round(0.005 * FS)
    # one-shot processing takes the latency off: the lead-in comes out where it went in
    np.testing.assert_array_equal(y[:, : FS // 10 - 3 * L], x[:, : FS // 10 - 3 * L])
    # the applied gain moves at most (1 - min gain) / (lookahead + 1) per sample: no clicks
    xd = x[0].astype(np.float64)
    g = y[0] / np.where(np.abs(xd) > 1e-3, xd, np.nan)
    ok = np.isfinite(g)
    idx = np.nonzero(ok[1:] & ok[:-1])[0]
    gmin = amp(-1.0) / amp(12.0)
    step = np.abs(np.diff(g)[idx]).max()
    assert step <= (1 - gmin) / (L + 1) * (1 + 1e-4)
    assert np.nanmin(g) == pytest.approx(gmin, rel=1e-4)


def test_limiter_releases_exponentially_and_counts_limited_samples():
    n = FS
    x = np.zeros((1, n), np.float32)
    x[0, 1000] = 2.0  # one sample 2x over a 0 dBFS ceiling
    lim = Limiter(ceiling_db=0.0, lookahead_ms=1.0, release_ms=10.0)
    y = lim(x, FS)
    assert lim.limited_samples == 1
    assert lim.max_reduction_db == pytest.approx(dbfs(2.0), abs=1e-9)
    assert lim.latency > 0 and y[0, 1000] == np.float32(1.0)  # on the ceiling, where it went in
    # with an impulse train the release of the gain shows as the ratio of peaks
    x = np.zeros((1, n), np.float32)
    x[0, 2000] = 4.0
    x[0, 2000 + 480 :: 480] = 0.5  # probes under the ceiling, every 10 ms
    lim = Limiter(ceiling_db=0.0, lookahead_ms=0.0, release_ms=10.0)
    y = lim(x, FS)
    probes = y[0, 2000 + 480 :: 480][:6] / 0.5
    r = math.exp(-1000.0 / (10.0 * FS))
    expected = 1 - (1 - 0.25) * r ** (480 * np.arange(1, 7))
    np.testing.assert_allclose(probes, expected, rtol=1e-5)
    assert lim.limited_samples == 1


def test_limiter_statistics_reset():
    lim = Limiter(ceiling_db=-3.0)
    lim(hard_signals()["impulses"].astype(np.float32), FS)
    # five impulses per channel, the second channel's 3 samples later: 10 frames over
    assert lim.limited_samples == 10
    assert lim.max_reduction_db == pytest.approx(dbfs(8.0) + 3.0, abs=1e-6)
    lim.reset()
    assert lim.limited_samples == 0 and lim.max_reduction_db == 0.0


def _meter_true_peak_db(y: np.ndarray) -> float:
    from mixdown.analysis.truepeak import TruePeakDetector

    d = TruePeakDetector(FS, y.shape[0])
    d.process(y)
    return float(dbfs(d.peak()))


def _libebur128_true_peak_db(y: np.ndarray) -> float:
    pyebur128 = pytest.importorskip("pyebur128")
    st = pyebur128.R128State(y.shape[0], FS, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    st.add_frames(np.ascontiguousarray(y.T, dtype=np.float64).reshape(-1), y.shape[1])
    return float(dbfs(max(pyebur128.get_true_peak(st, c) for c in range(y.shape[0]))))


def test_true_peak_detection_skips_quiet_stretches_without_changing_a_bit():
    # speech-like bursts over a quiet bed: most of the signal cannot interpolate above the
    # ceiling, so the detector skips it; the reference interpolates every sample (bound 0)
    rng = np.random.default_rng(4)
    n = 3 * FS
    env = np.repeat(rng.uniform(0.02, 1.6, n // 2400), 2400)
    s = rng.standard_normal(n) * 0.3 * env * (rng.uniform(size=n // 2400).repeat(2400) > 0.6)
    x = np.stack([s, np.roll(s, 7) * 0.8]).astype(np.float32)
    fast = Limiter(ceiling_db=-1.0, true_peak=True)
    full = Limiter(ceiling_db=-1.0, true_peak=True)
    full.prepare(FS, 4096, 2)
    # a bound of ceiling / L1 norm of the interpolator: about 5.3 dB under the ceiling
    assert 0.45 < full._tp_bound < 0.5
    tiles = np.abs(x[:, : n // 128 * 128]).reshape(2, -1, 128).max(axis=(0, 2))
    assert 0.3 < np.mean(tiles <= full._tp_bound) < 0.9  # both kinds of stretch are there
    full._tp_bound = 0.0
    outs = [full.process(x[:, i:i + 4096], i) for i in range(0, n, 4096)]
    fast.prepare(FS, 4096, 2)
    ours = [fast.process(x[:, i:i + 4096], i) for i in range(0, n, 4096)]
    assert fast.limited_samples == full.limited_samples > 0
    np.testing.assert_array_equal(np.concatenate(ours, axis=1), np.concatenate(outs, axis=1))


def test_compressor_takes_logs_only_from_the_knee_and_gets_the_same_gains():
    from mixdown.core import kernels as k

    rng = np.random.default_rng(8)
    n = 2 * FS
    det = (rng.standard_normal((2, n)) * np.repeat(rng.uniform(0.001, 1.0, n // 480), 480)).astype(np.float32)
    thr = np.linspace(-40.0, -10.0, n)  # automated threshold: the knee start moves per sample
    knee = np.array([6.0])
    ratio = np.array([3.0])
    att = np.array([k.one_pole_coef(5.0, FS)])
    rel = np.array([k.one_pole_coef(80.0, FS)])
    for rms in (False, True):
        got = np.empty(n)
        k.compressor_gain(det, rms, 0.999, thr, 1, ratio, 0, knee, 0, att, 0, rel, 0, np.zeros(2), np.zeros(1), got)
        # reference: the level's log for every sample, then the same gain computer
        if rms:
            lvl = np.empty(n)
            k.ms_level(det, 0.999, np.zeros(2), lvl)
            ldb = np.where(lvl > 1e-30, 10.0 * np.log10(np.maximum(lvl, 1e-300)), -300.0)
        else:
            lvl = np.abs(det).max(axis=0).astype(np.float64)
            ldb = np.where(lvl > 1e-15, 20.0 * np.log10(np.maximum(lvl, 1e-300)), -300.0)
        want = np.empty(n)
        k.compressor_smooth(ldb, thr, 1, ratio, 0, knee, 0, att, 0, rel, 0, np.zeros(1), want)
        assert want.min() < -3.0
        np.testing.assert_array_equal(got, want)


def test_true_peak_mode_keeps_intersample_peaks_under_the_ceiling():
    n = FS
    t = np.arange(n) / FS
    rng = np.random.default_rng(11)
    signals = {
        # fs/4 at 45 degrees: samples at 0.707 of the true peak (+3 dB between samples)
        "fs/4 sine": 2.0 * np.sin(2 * np.pi * FS / 4 * t + np.pi / 4),
        "hot noise": rng.standard_normal(n) * 0.7,
        "square": np.sign(np.sin(2 * np.pi * 1003 * t)),
    }
    for name, s in signals.items():
        # the limiter's output continues into silence, so the meter sees whole waveforms
        x = np.pad(np.stack([s, 0.5 * s]), ((0, 0), (0, 4800))).astype(np.float32)
        sample_mode = Limiter(ceiling_db=-1.0)(x, FS)
        tp = Limiter(ceiling_db=-1.0, true_peak=True)
        y = tp(x, FS)
        assert tp.latency == round(0.005 * FS) + 6
        assert float(np.abs(y).max()) <= amp(-1.0)
        # the project's BS.1770 meter reads the ceiling (within the gain's own movement)
        assert _meter_true_peak_db(y) <= -1.0 + 0.005, name
        # sample-peak limiting alone lets the true peak through (by more than 0.9 dB here)
        assert _meter_true_peak_db(sample_mode) > -0.1, name
        # libebur128's interpolator (another filter) agrees to within its own spread
        assert _libebur128_true_peak_db(y) <= -1.0 + 0.25, name
