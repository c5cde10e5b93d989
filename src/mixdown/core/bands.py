"""Third-octave bands and FFT framing shared by the spectrum meters and the spectral processors.

Band centres are the exact base-2 ones (``1000 * 2**(k/3)``), 25 Hz to 20 kHz;
each band spans a sixth of an octave either side of its centre.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EDGE", "THIRD_OCTAVE_HZ", "THIRD_OCTAVE_NOMINAL", "band_levels", "band_levels_to_psd", "band_matrix",
           "frame_size", "hann_periodic"]

#: Exact base-2 third-octave centres, 25 Hz .. 20 kHz (30 bands).
THIRD_OCTAVE_HZ: tuple[float, ...] = tuple(1000.0 * 2.0 ** (k / 3.0) for k in range(-16, 14))
#: Their nominal names (IEC 61260 / ISO 266), used in parameter names.
THIRD_OCTAVE_NOMINAL: tuple[str, ...] = (
    "25", "31_5", "40", "50", "63", "80", "100", "125", "160", "200", "250", "315", "400", "500", "630",
    "800", "1k", "1k25", "1k6", "2k", "2k5", "3k15", "4k", "5k", "6k3", "8k", "10k", "12k5", "16k", "20k",
)
EDGE = 2.0 ** (1.0 / 6.0)


def frame_size(sample_rate: int, seconds: float = 0.043) -> int:
    """Power-of-two FFT length nearest to ``seconds`` at ``sample_rate`` (2048 at 48 kHz, 512 at 16 kHz)."""
    return int(2 ** round(math.log2(max(sample_rate * seconds, 16.0))))


def hann_periodic(n: int) -> np.ndarray:
    """Periodic Hann window (the one whose shifts by n/4 sum to a constant), float64."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def band_matrix(freqs: np.ndarray) -> np.ndarray:
    """(bins, 30) matrix: PSD row vector @ matrix = band power (PSD integrated over each band).

    Bin ``k`` stands for the frequencies within half a bin of it; each band takes
    each bin in proportion to how much of that stretch lies inside the band, so
    a flat PSD integrates exactly whatever the bin width.
    """
    df = freqs[1] - freqs[0] if freqs.shape[0] > 1 else 1.0
    nyq = freqs[-1]
    lo_bin = np.maximum(freqs - df / 2.0, 0.0)
    hi_bin = np.minimum(freqs + df / 2.0, nyq)
    m = np.zeros((freqs.shape[0], len(THIRD_OCTAVE_HZ)))
    for b, fc in enumerate(THIRD_OCTAVE_HZ):
        lo, hi = fc / EDGE, min(fc * EDGE, nyq)
        if lo >= nyq:
            continue
        m[:, b] = np.clip(np.minimum(hi_bin, hi) - np.maximum(lo_bin, lo), 0.0, None)
    return m


def band_levels(freqs: np.ndarray, psd: np.ndarray) -> np.ndarray:
    """Third-octave band levels (dB re mean square 1) of a PSD; NaN for bands above Nyquist."""
    power = np.asarray(psd, dtype=np.float64) @ band_matrix(np.asarray(freqs, dtype=np.float64))
    out = np.full(len(THIRD_OCTAVE_HZ), np.nan)
    valid = np.array([fc / EDGE < freqs[-1] for fc in THIRD_OCTAVE_HZ])
    with np.errstate(divide="ignore"):
        out[valid] = 10.0 * np.log10(np.maximum(power[valid], 1e-30))
    return out


def band_levels_to_psd(levels_db: np.ndarray | list[float], freqs: np.ndarray) -> np.ndarray:
    """PSD (FS^2/Hz) at ``freqs`` of a third-octave band profile, interpolated in log frequency.

    Each band's power is spread evenly over its width; between band centres the
    density is interpolated linearly in dB over log frequency, and held flat below
    25 Hz and above 20 kHz.
    """
    lv = np.asarray(levels_db, dtype=np.float64)
    centres = np.asarray(THIRD_OCTAVE_HZ)
    density_db = lv - 10.0 * np.log10(centres * (EDGE - 1.0 / EDGE))
    f = np.maximum(np.asarray(freqs, dtype=np.float64), 1.0)
    d = np.interp(np.log2(f), np.log2(centres), density_db)
    return np.power(10.0, d / 10.0)
