"""Compiled sample packing for the WAV writer: planar float blocks to file bytes.

libsndfile converts integers to 24-bit bytes through a small buffer, one
``write`` call per few kilobytes, and transposing a block for it is one more pass;
together they made writing a long 24-bit mix the slowest stage of a render.
These kernels go from the ``(channels, frames)`` block straight to the interleaved
little-endian bytes of the file, which the writer hands to ``sf_write_raw``: the
bytes are the ones libsndfile would have written (the writer's tests compare the
files).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def pcm24(x, out):  # pragma: no cover - compiled
    """Round ``x`` (float32 (channels, n)) to 24-bit and interleave its bytes.

    The arithmetic of :meth:`mixdown.media.write.AudioWriter._encode`: scale by
    2**23 in float32 (exact), round half to even, clip to [-2**23, 2**23 - 1];
    NaN becomes 0. ``out`` is uint8 of length ``3 * channels * n``.
    """
    nch = x.shape[0]
    n = x.shape[1]
    k = 0
    for i in range(n):
        for c in range(nch):
            q = np.rint(x[c, i] * np.float32(8388608.0))
            if q > 8388607.0:
                v = 8388607
            elif q < -8388608.0:
                v = -8388608
            elif math.isnan(q):
                v = 0
            else:
                v = np.int32(q)
            out[k] = v & 0xFF
            out[k + 1] = (v >> 8) & 0xFF
            out[k + 2] = (v >> 16) & 0xFF
            k += 3


@njit(cache=True, nogil=True)
def interleave(x, out):  # pragma: no cover - compiled
    """Interleave ``x`` ((channels, n)) into ``out`` (flat, ``channels * n``)."""
    nch = x.shape[0]
    n = x.shape[1]
    for c in range(nch):
        for i in range(n):
            out[i * nch + c] = x[c, i]
