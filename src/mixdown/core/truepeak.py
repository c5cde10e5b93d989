"""The true-peak interpolator of BS.1770 Annex 2 as this project builds it (the meter and the limiter share it).

A Kaiser-windowed sinc (beta 5), 12 taps per phase, cut off at the original
Nyquist frequency; see :mod:`mixdown.analysis.truepeak` for why not the Annex's
example filter.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KAISER_BETA", "TAPS_PER_PHASE", "interpolator_phases", "oversampling_factor"]

TAPS_PER_PHASE = 12
KAISER_BETA = 5.0


def interpolator_phases(factor: int) -> np.ndarray:
    """Polyphase coefficients of the ``factor``-times interpolator.

    Parameters
    ----------
    factor : int
        Oversampling factor (2 or 4).

    Returns
    -------
    ndarray, shape (factor, 12)
        Row ``k`` interpolates the point ``(k + 0.5) / factor - 0.5`` samples
        after the centre of its 12-sample window (the prototype has even length,
        so no phase falls on an input sample). Each row sums to 1, so DC and low
        frequencies read exactly.
    """
    n = factor * TAPS_PER_PHASE
    m = np.arange(n) - (n - 1) / 2.0
    prototype = np.sinc(m / factor) * np.kaiser(n, KAISER_BETA)
    phases = prototype.reshape(TAPS_PER_PHASE, factor).T.copy()
    phases /= phases.sum(axis=1, keepdims=True)
    return phases


def oversampling_factor(sample_rate: int) -> int:
    """Oversampling used for a sample rate: 4 below 96 kHz, else 2."""
    return 4 if sample_rate < 96000 else 2
