"""The pan law: one constant-power law for the strips' panners and the ``pan`` processor."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["pan_gains", "static_pan_gains"]


def pan_gains(pan: np.ndarray | float, *, mono_source: bool) -> tuple[np.ndarray, np.ndarray]:
    """Left and right gains of the constant-power pan law.

    A mono source is placed with ``cos``/``sin`` of ``(pan + 1) * pi / 4`` (-3 dB each
    side at centre). A stereo source is balanced: the same law scaled by sqrt(2) and
    capped at unity, so centre leaves both sides untouched.
    """
    # float32, the audio's precision: numpy's SIMD sin/cos is ~20x faster than float64
    # on automated (per-sample) pan, and scalars and arrays round alike, so a pan
    # value gives the same gains whichever way a block split evaluates it.
    # cos(theta) is taken as sin(pi/2 - theta) so that a hard pan leaves exactly 0
    f32 = np.float32
    p = np.asarray(pan, dtype=f32)
    q = f32(np.pi / 4)
    gl, gr = np.sin((f32(1.0) - p) * q), np.sin((f32(1.0) + p) * q)
    if not mono_source:
        # scaled by 1 / sin(pi/4) as rounded here, so that centre is exactly unity
        s45 = np.sin(np.asarray(q, dtype=f32))
        gl = np.minimum(f32(1.0), gl / s45)
        gr = np.minimum(f32(1.0), gr / s45)
    return gl, gr


@lru_cache(maxsize=256)
def static_pan_gains(pan: float, mono: bool) -> tuple[float, float]:
    """:func:`pan_gains` of one pan value, as floats (cached: a static pan is asked every block)."""
    gl, gr = pan_gains(pan, mono_source=mono)
    return float(gl), float(gr)
