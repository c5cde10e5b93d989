"""EQ: cookbook biquads checked against their analogue prototypes and by measurement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as sig

from mixdown.dsp.automation import Envelope
from mixdown.dsp.eq import (
    SQRT_HALF,
    Bell,
    HighPass,
    HighShelf,
    LowPass,
    LowShelf,
    Notch,
    ParametricEQ,
    butterworth_qs,
    rbj_biquad,
)
from mixdown.errors import SessionError

FS = 48000
W = np.linspace(1e-4, np.pi - 1e-4, 3000)  # rad/sample


def response(sos: np.ndarray, w: np.ndarray = W) -> np.ndarray:
    return sig.sosfreqz(np.atleast_2d(sos), worN=w)[1]


def analog(ftype: str, s: np.ndarray, gain_db: float, q: float) -> np.ndarray:
    """The cookbook's analogue prototypes H(s), s normalised to the centre frequency."""
    a = 10.0 ** (gain_db / 40.0)
    if ftype == "lowpass":
        return 1.0 / (s * s + s / q + 1.0)
    if ftype == "highpass":
        return s * s / (s * s + s / q + 1.0)
    if ftype == "notch":
        return (s * s + 1.0) / (s * s + s / q + 1.0)
    if ftype == "bell":
        return (s * s + s * (a / q) + 1.0) / (s * s + s / (a * q) + 1.0)
    if ftype == "low_shelf":
        return a * (s * s + (math.sqrt(a) / q) * s + a) / (a * s * s + (math.sqrt(a) / q) * s + 1.0)
    if ftype == "high_shelf":
        return a * (a * s * s + (math.sqrt(a) / q) * s + 1.0) / (s * s + (math.sqrt(a) / q) * s + a)
    raise AssertionError(ftype)


def warped_s(w: np.ndarray, f0: float) -> np.ndarray:
    """Bilinear transform with f0 pre-warped: z = e^jw  <->  s = j tan(w/2) / tan(w0/2)."""
    return 1j * np.tan(w / 2.0) / math.tan(math.pi * f0 / FS)


def db(x):
    return 20.0 * np.log10(np.abs(x))


@pytest.mark.parametrize("ftype", ["lowpass", "highpass", "notch", "bell", "low_shelf", "high_shelf"])
@pytest.mark.parametrize("f0,gain_db,q", [(100.0, 6.0, 0.7), (1000.0, -9.0, 2.5), (9000.0, 12.0, 0.5)])
def test_cookbook_biquads_equal_bilinear_transform_of_analogue_prototypes(ftype, f0, gain_db, q):
    sos = rbj_biquad(ftype, FS, f0, gain_db, q)
    assert sos.shape == (6,) and sos[3] == 1.0
    h = response(sos)
    ref = analog(ftype, warped_s(W, f0), gain_db, q)
    np.testing.assert_allclose(h, ref, rtol=1e-9, atol=1e-9)


def test_shelf_slope_s_is_the_cookbook_q_substitution():
    for gain_db, s in [(6.0, 1.0), (-12.0, 0.5), (9.0, 0.3)]:
        a = 10 ** (gain_db / 40)
        q = 1.0 / math.sqrt((a + 1 / a) * (1 / s - 1) + 2)
        for ftype in ("low_shelf", "high_shelf"):
            np.testing.assert_allclose(
                rbj_biquad(ftype, FS, 500.0, gain_db, 3.0, shelf_slope=s), rbj_biquad(ftype, FS, 500.0, gain_db, q),
                rtol=1e-12,
            )
    # S = 1 is Q = 1/sqrt(2) whatever the gain
    np.testing.assert_allclose(
        rbj_biquad("low_shelf", FS, 500.0, 7.0, 0.1, shelf_slope=1.0),
        rbj_biquad("low_shelf", FS, 500.0, 7.0, SQRT_HALF),
    )


def test_butterworth_section_qs():
    assert butterworth_qs(2) == pytest.approx([SQRT_HALF])
    assert butterworth_qs(4) == pytest.approx([0.541196, 1.306563], abs=1e-6)
    assert butterworth_qs(6) == pytest.approx([0.517638, SQRT_HALF, 1.931852], abs=1e-6)
    assert butterworth_qs(8) == pytest.approx([0.509796, 0.601345, 0.899976, 2.562915], abs=1e-6)


@pytest.mark.parametrize("slope", [12, 24, 36, 48])
@pytest.mark.parametrize("cls,f0", [(HighPass, 120.0), (LowPass, 5000.0)])
def test_pass_filters_are_butterworth_with_minus_3db_at_freq(cls, f0, slope):
    p = cls(freq_hz=f0, q=SQRT_HALF, slope_db_oct=slope)
    p.prepare(FS, 1024, 1)
    sos = p._design({"freq_hz": f0, "q": SQRT_HALF})
    assert sos.shape == (slope // 12, 6)
    order = slope // 6
    h = np.abs(response(sos))
    omega = np.tan(W / 2) / math.tan(math.pi * f0 / FS)
    ratio = omega if cls is LowPass else 1.0 / omega
    np.testing.assert_allclose(h, 1.0 / np.sqrt(1.0 + ratio ** (2 * order)), rtol=1e-7, atol=1e-12)
    at_f0 = db(response(sos, np.array([2 * math.pi * f0 / FS])))[0]
    assert at_f0 == pytest.approx(-10 * math.log10(2), abs=1e-9)
    # deep in the stop band each octave costs order x 6.02 dB ("12 dB/oct" per section)
    if cls is HighPass:
        a, b = db(response(sos, 2 * math.pi * np.array([f0 / 16, f0 / 32]) / FS))
        assert a - b == pytest.approx(order * 20 * math.log10(2), abs=0.01)


def test_resonance_q_raises_the_peak_of_a_steep_pass():
    p = HighPass(freq_hz=200.0, q=2.0, slope_db_oct=24)
    p.prepare(FS, 1024, 1)
    sos = p._design({"freq_hz": 200.0, "q": 2.0})
    qs = butterworth_qs(4)
    np.testing.assert_allclose(sos[0], rbj_biquad("highpass", FS, 200.0, 0.0, qs[0]))
    np.testing.assert_allclose(sos[1], rbj_biquad("highpass", FS, 200.0, 0.0, qs[1] * 2.0 / SQRT_HALF))
    assert db(response(sos)).max() > 3.0


def test_shelf_and_bell_gains_at_the_landmarks():
    f0 = 1000.0
    w = np.array([1e-6, 2 * math.pi * f0 / FS, math.pi - 1e-6])
    lo = db(response(rbj_biquad("low_shelf", FS, f0, 9.0, SQRT_HALF), w))
    hi = db(response(rbj_biquad("high_shelf", FS, f0, -6.0, SQRT_HALF), w))
    bell = db(response(rbj_biquad("bell", FS, f0, 7.5, 3.0), w))
    notch = np.abs(response(rbj_biquad("notch", FS, f0, 0.0, 10.0), w))
    np.testing.assert_allclose(lo, [9.0, 4.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(hi, [0.0, -3.0, -6.0], atol=1e-6)
    np.testing.assert_allclose(bell, [0.0, 7.5, 0.0], atol=1e-6)
    assert notch[1] < 1e-9 and notch[0] == pytest.approx(1.0) and notch[2] == pytest.approx(1.0)
    # the bell's peak is at f0 exactly
    dense = np.linspace(0.5, 2.0, 20001) * 2 * math.pi * f0 / FS
    assert dense[np.argmax(np.abs(response(rbj_biquad("bell", FS, f0, 7.5, 3.0), dense)))] == pytest.approx(
        2 * math.pi * f0 / FS, rel=1e-4
    )


def _sine_gain_db(p, f: float, channels: int = 2) -> float:
    n = FS
    t = np.arange(n) / FS
    x = np.tile(0.25 * np.sin(2 * np.pi * f * t), (channels, 1)).astype(np.float32)
    y = p(x, FS)
    tail = slice(n // 2, n)  # after the filter has settled
    rms_out = np.sqrt(np.mean(y[:, tail].astype(np.float64) ** 2))
    rms_in = np.sqrt(np.mean(x[:, tail].astype(np.float64) ** 2))
    return float(20 * np.log10(rms_out / rms_in))


def test_processing_a_sine_gives_the_designed_gain():
    assert _sine_gain_db(Bell(freq_hz=1000.0, gain_db=6.0, q=2.0), 1000.0) == pytest.approx(6.0, abs=0.01)
    assert _sine_gain_db(HighPass(freq_hz=500.0, slope_db_oct=48), 500.0) == pytest.approx(-3.01, abs=0.01)
    assert _sine_gain_db(LowPass(freq_hz=2000.0, slope_db_oct=24), 4000.0) == pytest.approx(
        10 * math.log10(1 / (1 + (math.tan(math.pi * 4000 / FS) / math.tan(math.pi * 2000 / FS)) ** 8)), abs=0.01
    )
    assert _sine_gain_db(LowShelf(freq_hz=200.0, gain_db=-8.0), 30.0) == pytest.approx(-8.0, abs=0.05)
    assert _sine_gain_db(HighShelf(freq_hz=3000.0, gain_db=5.0), 20000.0, channels=6) == pytest.approx(5.0, abs=0.05)
    assert _sine_gain_db(Notch(freq_hz=1000.0, q=4.0), 1000.0) < -60.0


def test_parametric_eq_equals_its_bands_in_series_and_filters_once_per_block(monkeypatch):
    bands = {
        "band1_type": "highpass", "band1_freq_hz": 70.0, "band1_q": 0.9,
        "band2_type": "low_shelf", "band2_freq_hz": 200.0, "band2_gain_db": 3.0,
        "band4_type": "bell", "band4_freq_hz": 2500.0, "band4_gain_db": -5.0, "band4_q": 4.0,
        "band6_type": "notch", "band6_freq_hz": 60.0, "band6_q": 20.0,
        "band7_type": "high_shelf", "band7_freq_hz": 9000.0, "band7_gain_db": 2.0,
        "band8_type": "lowpass", "band8_freq_hz": 18000.0,
    }
    singles = [
        HighPass(freq_hz=70.0, q=0.9), LowShelf(freq_hz=200.0, gain_db=3.0),
        Bell(freq_hz=2500.0, gain_db=-5.0, q=4.0), Notch(freq_hz=60.0, q=20.0),
        HighShelf(freq_hz=9000.0, gain_db=2.0), LowPass(freq_hz=18000.0),
    ]
    x = np.random.default_rng(0).standard_normal((2, 20000)).astype(np.float32) * 0.2
    from mixdown.core import kernels as _kernels

    calls = []
    real = _kernels.sos_run

    def counting(x, sos, *a):
        calls.append(np.asarray(sos).shape)
        return real(x, sos, *a)

    monkeypatch.setattr(_kernels, "sos_run", counting)
    eq = ParametricEQ(**bands)
    eq.prepare(FS, 5000, 2)
    out = np.concatenate([eq.process(x[:, s : s + 5000], s) for s in range(0, 20000, 5000)], axis=1)
    assert calls == [(6, 6)] * 4  # one call per block, all six bands in one cascade
    y = x
    for p in singles:
        y = p(y, FS)
    np.testing.assert_allclose(out, y, atol=2e-6)


def test_parameter_errors_are_clear():
    with pytest.raises(ValueError, match="slope_db_oct must be 12, 24, 36 or 48"):
        HighPass(slope_db_oct=18)
    with pytest.raises(ValueError, match="band3_type must be one of"):
        ParametricEQ(band3_type="shelf")
    p = LowPass(freq_hz=10000.0)
    with pytest.raises(SessionError, match=r"lowpass.freq_hz = 10000 Hz is not below the Nyquist"):
        p.prepare(16000, 1024, 1)
    q = Bell()
    q.automate("freq_hz", Envelope([0, 100], [1000.0, 30000.0], unit="Hz"))
    with pytest.raises(SessionError, match="bell.freq_hz = 30000 Hz"):
        q.prepare(48000, 1024, 1)
    # bands that are off are not checked
    ParametricEQ(band2_freq_hz=30000.0).prepare(48000, 1024, 1)
