"""Saturation: the tanh curve, the oversampled path and its aliasing."""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.dsp.automation import Envelope
from mixdown.dsp.color import HB_HALF, Saturation, halfband

FS = 48000


def sine(f: float, a: float, n: int = FS, channels: int = 1) -> np.ndarray:
    t = np.arange(n) / FS
    return np.tile(a * np.sin(2 * np.pi * f * t), (channels, 1)).astype(np.float32)


def test_plain_path_is_tanh_of_the_driven_signal():
    x = (np.random.default_rng(0).standard_normal((2, 5000)) * 0.5).astype(np.float32)
    y = Saturation(drive_db=12.0, output_db=-6.0, oversample=False)(x, FS)
    expected = 10 ** (-6 / 20) * np.tanh(10 ** (12 / 20) * x.astype(np.float64))
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-7)
    assert np.abs(y).max() <= 10 ** (-6 / 20)


def test_mix_blends_with_the_dry_signal_aligned_to_the_latency():
    x = sine(500.0, 0.8, n=4800)
    p = Saturation(drive_db=6.0, mix=0.0)
    y = p(x, FS)
    assert p.latency == 2 * HB_HALF
    # one-shot processing takes the latency off: the dry path comes out where it went in
    np.testing.assert_array_equal(y, x)
    half = Saturation(drive_db=6.0, mix=0.5, oversample=False)(x, FS)
    full = Saturation(drive_db=6.0, oversample=False)(x, FS)
    np.testing.assert_allclose(half, 0.5 * x + 0.5 * full, atol=1e-7)


def test_halfband_filter_structure():
    h = halfband()
    assert len(h) == 4 * HB_HALF + 1
    centre = 2 * HB_HALF
    assert h[centre] == 0.5
    offsets = np.arange(len(h)) - centre
    assert np.all(h[(offsets % 2 == 0) & (offsets != 0)] == 0.0)
    assert h.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(h, h[::-1])


@pytest.mark.parametrize("f", [100.0, 1000.0, 8000.0, 16000.0])
def test_oversampled_path_is_transparent_at_low_level(f):
    # tanh is linear for tiny signals: the output is the input (one-shot takes the
    # latency off), within the half-band filters' passband ripple
    x = sine(f, 1e-4, n=9600)
    p = Saturation(drive_db=0.0)
    y = p(x, FS).astype(np.float64)
    assert p.latency > 0
    err = np.abs(y[:, 500:-500] - x[:, 500:-500]).max()
    assert err < 1e-3 * 1e-4


def _aliasing_db(y: np.ndarray, f: float) -> float:
    """Energy away from the harmonics of ``f``, relative to the harmonics (dB)."""
    seg = y[0, 4800 : 4800 + 38400].astype(np.float64) * np.hanning(38400)
    spec = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(38400, 1 / FS)
    harm = np.zeros(spec.shape, bool)
    for k in range(1, int(FS / 2 / f) + 1):
        harm |= np.abs(freqs - k * f) < 30
    keep = freqs > 20
    return float(10 * np.log10(spec[~harm & keep].sum() / spec[harm].sum()))


def test_oversampling_reduces_aliasing():
    x = sine(7000.0, 0.5)
    plain = _aliasing_db(Saturation(drive_db=18.0, oversample=False)(x, FS), 7000.0)
    over = _aliasing_db(Saturation(drive_db=18.0, oversample=True)(x, FS), 7000.0)
    assert plain > -25.0  # plenty of folded harmonics without oversampling
    assert over < plain - 15.0


def test_drive_automation_streams_exactly():
    x = sine(220.0, 0.7, n=9000, channels=2)
    env = Envelope([100, 4000, 7000], [0.0, 24.0, 6.0], ["exp", "linear", "linear"], unit="dB")
    p = Saturation(drive_db=0.0)
    p.automate("drive_db", env)
    ref = p(x, FS)
    q = Saturation(drive_db=0.0)
    q.automate("drive_db", env)
    q.prepare(FS, 4096, 2)
    out = np.concatenate([q.process(x[:, s : s + 333], s) for s in range(0, 9000, 333)], axis=1)
    lat = q.latency  # the stream carries the latency; one-shot takes it off
    np.testing.assert_allclose(out[:, lat:], ref[:, :-lat], atol=1e-7)
    # 24 dB of drive pushes the output towards tanh's limit of 1, above the 0 dB start
    assert np.abs(ref[:, 4000:4500]).max() > np.abs(ref[:, 200:700]).max()
