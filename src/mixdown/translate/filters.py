"""A device's response as second-order sections, designed once and streamed.

The cascade is a Butterworth high-pass at the device's cutoff, a low shelf at the
lowest octave centre, peaking bands (one octave wide) at the inner centres and a
high shelf at the top one (RBJ cookbook biquads). The band gains are fitted
iteratively so that the digital cascade's magnitude equals the data's
``response_db`` at every centre above the fit floor: each round adds the remaining
error at a centre to that centre's band. Octave-spaced bands interact mildly, so a
few dozen rounds bring every centre within 0.01 dB.

The whole cascade is scaled by :func:`level_db` (the curve's highest point brought
to 0 dB), so the response relative to 1 kHz is the data's.

Streaming keeps scipy's ``sosfilt`` state per channel: blocks of any size give the
same samples as one pass.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import MixdownError
from .models import DeviceModel

_Q_OCTAVE = math.sqrt(2.0)  # a peaking band one octave wide between its -3 dB points
_SHELF_S = 1.0
_ROUNDS = 60
_FIT_TOLERANCE_DB = 0.02


def _peaking(f0: float, gain_db: float, q: float, fs: float) -> np.ndarray:
    a = 10 ** (gain_db / 40)
    w = 2 * math.pi * f0 / fs
    alpha = math.sin(w) / (2 * q)
    b = [1 + alpha * a, -2 * math.cos(w), 1 - alpha * a]
    den = [1 + alpha / a, -2 * math.cos(w), 1 - alpha / a]
    return np.array([*(x / den[0] for x in b), 1.0, den[1] / den[0], den[2] / den[0]])


def _shelf(f0: float, gain_db: float, fs: float, *, high: bool) -> np.ndarray:
    a = 10 ** (gain_db / 40)
    w = 2 * math.pi * f0 / fs
    cw, sw = math.cos(w), math.sin(w)
    alpha = sw / 2 * math.sqrt((a + 1 / a) * (1 / _SHELF_S - 1) + 2)
    k = 2 * math.sqrt(a) * alpha
    s = -1.0 if high else 1.0  # the high shelf is the low shelf with cos(w) negated
    b0 = a * ((a + 1) - s * (a - 1) * cw + k)
    b1 = 2 * s * a * ((a - 1) - s * (a + 1) * cw)
    b2 = a * ((a + 1) - s * (a - 1) * cw - k)
    a0 = (a + 1) + s * (a - 1) * cw + k
    a1 = -2 * s * ((a - 1) + s * (a + 1) * cw)
    a2 = (a + 1) + s * (a - 1) * cw - k
    return np.array([b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0])


def _bands(centres: tuple[float, ...], gains: np.ndarray, fs: float) -> np.ndarray:
    rows = []
    for i, (f0, g) in enumerate(zip(centres, gains)):
        f = min(f0, 0.45 * fs)  # a centre at or past Nyquist still shapes the top of the band
        if i == 0:
            rows.append(_shelf(f, g, fs, high=False))
        elif i == len(centres) - 1:
            rows.append(_shelf(f, g, fs, high=True))
        else:
            rows.append(_peaking(f, g, _Q_OCTAVE, fs))
    return np.array(rows)


def magnitude_db(sos: np.ndarray, freqs: np.ndarray | list[float], fs: float) -> np.ndarray:
    """The cascade's magnitude at ``freqs`` (Hz), dB."""
    from scipy.signal import sosfreqz

    _, h = sosfreqz(sos, worN=np.asarray(freqs, dtype=np.float64), fs=fs)
    return 20 * np.log10(np.maximum(np.abs(h), 1e-30))


def design(model: DeviceModel, sample_rate: int) -> np.ndarray:
    """Second-order sections of ``model``'s response at ``sample_rate``.

    Raises
    ------
    MixdownError
        When the fit does not reach the curve (a curve no cascade of this shape can
        follow, such as a step of 30 dB between neighbouring octaves).
    """
    from scipy.signal import butter

    fs = float(sample_rate)
    hp = butter(model.order, model.cutoff_hz, btype="highpass", output="sos", fs=fs)
    centres = model.centres_hz
    target = np.array(model.response_db)
    # a centre the sample rate cannot carry (16 kHz at 22.05 kHz) is not fitted
    fitted = (target >= model.fit_floor_db) & (np.array(centres) < 0.45 * fs)
    gains = np.zeros(len(centres))
    sos = hp
    for _ in range(_ROUNDS):
        sos = np.vstack([hp, _bands(centres, gains, fs)])
        err = np.where(fitted, target - magnitude_db(sos, centres, fs), 0.0)
        if np.max(np.abs(err)) < _FIT_TOLERANCE_DB / 4:
            break
        gains += err
    err = np.where(fitted, target - magnitude_db(sos, centres, fs), 0.0)
    if np.max(np.abs(err)) > _FIT_TOLERANCE_DB:
        worst = int(np.argmax(np.abs(err)))
        raise MixdownError(f"device {model.name}: its response cannot be followed at {centres[worst]:g} Hz "
                           f"(off by {err[worst]:.2f} dB); smooth the curve")
    sos = sos.copy()
    sos[0, :3] *= 10 ** (level_db(model) / 20)
    return sos


def level_db(model: DeviceModel) -> float:
    """Gain of the whole response, dB: minus the curve's highest point when that is above 0 dB.

    A loudspeaker's or a cabin's response is acoustic, not digital: the preview plays
    it without adding gain, so a boost in the curve never clips the preview file.
    """
    fitted = [r for r in model.response_db if r >= model.fit_floor_db]
    return -max(0.0, max(fitted, default=0.0))


class SosStream:
    """A cascade of second-order sections run over a stream, one state per channel.

    Parameters
    ----------
    sos : ndarray, shape (sections, 6)
    channels : int
    """

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        self.channels = int(channels)
        self.reset()

    def reset(self) -> None:
        """Start from silence."""
        self._zi = np.zeros((self.sos.shape[0], self.channels, 2))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter a ``(channels, frames)`` block; float64 out (the caller decides when to round)."""
        from scipy.signal import sosfilt

        if block.shape[1] == 0:
            return np.zeros(block.shape, dtype=np.float64)
        y, self._zi = sosfilt(self.sos, np.asarray(block, dtype=np.float64), axis=1, zi=self._zi)
        return y


def band_sos(lo_hz: float, hi_hz: float, sample_rate: int, order: int = 4) -> np.ndarray:
    """A Butterworth band-pass (``order`` per edge) between ``lo_hz`` and ``hi_hz``."""
    from scipy.signal import butter

    return butter(order, [lo_hz, min(hi_hz, 0.45 * sample_rate)], btype="bandpass", output="sos", fs=sample_rate)


def lowpass_sos(hz: float, sample_rate: int, order: int = 4) -> np.ndarray:
    """A Butterworth low-pass of ``order`` at ``hz``."""
    from scipy.signal import butter

    return butter(order, hz, btype="lowpass", output="sos", fs=sample_rate)
