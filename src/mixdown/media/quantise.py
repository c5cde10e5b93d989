"""Float blocks to the integers a file stores, and back: what is written, exactly.

:class:`Quantiser` is the arithmetic of :class:`~mixdown.media.write.AudioWriter`
(and of the BWF writer): 24-bit rounds to the grid without dither, 16-bit adds
TPDF dither from a generator seeded with :data:`DITHER_SEED` and consumed in sample
order, both clip to ``[-1, 1)``; float is stored as is. A second quantiser fed the
same blocks in the same order produces the same integers -- so a meter on another
thread can measure *what the file holds* (``written``) and count the samples that
quantisation clipped, without the writer handing its buffers over.
"""

from __future__ import annotations

import numpy as np

#: Seed of the TPDF dither generator (fixed: same input, same bytes).
DITHER_SEED = 0x6D6978646F776E  # "mixdown"

_LIMITS = {16: (-32768.0, 32767.0, 32768.0), 24: (-8388608.0, 8388607.0, 8388608.0)}


class Quantiser:
    """Quantise float ``(channels, n)`` blocks for a file of ``bits`` (16, 24, or None = float).

    Attributes
    ----------
    clipped : int
        Samples so far whose value was outside what the format holds and was clipped
        (float formats hold everything: always 0).
    """

    def __init__(self, bits: int | None) -> None:
        if bits not in (16, 24, None):
            raise ValueError(f"bits must be 16, 24 or None, got {bits}")
        self.bits = bits
        self.clipped = 0
        self._rng = np.random.Generator(np.random.PCG64(DITHER_SEED)) if bits == 16 else None

    def codes(self, block: np.ndarray) -> np.ndarray:
        """Interleaved ``(frames, channels)`` values as stored: int16 (16-bit), int32 codes
        shifted into the top 24 bits (24-bit, as libsndfile takes them), or float32."""
        x = block.T  # (frames, channels) view; the arithmetic below makes it contiguous
        if self.bits is None:
            return np.ascontiguousarray(x, dtype=np.float32)
        q = self._scaled(x)
        if self.bits == 16:
            return q.astype(np.int16)
        return q.astype(np.int32) << 8

    def ints(self, block: np.ndarray) -> np.ndarray:
        """Interleaved ``(frames, channels)`` int32 sample values (not shifted), for writers
        that pack the bytes themselves."""
        if self.bits is None:
            raise ValueError("a float format has no integer codes")
        return np.ascontiguousarray(self._scaled(np.asarray(block).T), dtype=np.int32)

    def written(self, block: np.ndarray) -> np.ndarray:
        """The block as a reader of the file will get it: float32 ``(channels, n)``."""
        if self.bits is None:
            return np.asarray(block, dtype=np.float32)
        q = self._scaled(np.asarray(block).T)
        return np.ascontiguousarray((q * np.float32(1.0 / _LIMITS[self.bits][2])).T)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        """Rounded (and dithered) float32 codes, clipped; counts what was clipped."""
        lo, hi, scale = _LIMITS[self.bits]  # type: ignore[index]
        # float32 is exact here for 24-bit: scaling by 2**23 keeps the 24-bit mantissa, and
        # rint of a float32 in [-2**23, 2**23] is exact, so this equals the float64 computation
        q = np.asarray(x, dtype=np.float32) * np.float32(scale)
        if self._rng is not None:
            # TPDF in LSB units, drawn in sample order so block splits do not matter
            r = self._rng.random((x.shape[0], x.shape[1], 2), dtype=np.float32)
            q += r[..., 0] - r[..., 1]
        np.rint(q, out=q)
        bad = np.isnan(q)
        if bad.any():
            q[bad] = 0.0  # as the packing kernel does: NaN is stored as 0
        self.clipped += int(np.count_nonzero(q > hi)) + int(np.count_nonzero(q < lo))
        np.clip(q, lo, hi, out=q)
        return q
