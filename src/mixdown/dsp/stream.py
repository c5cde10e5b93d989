"""Helpers of the frame-based processors (denoise, declick): a stream buffer on the
absolute clock, and parameters read once per frame."""

from __future__ import annotations

import numpy as np

from .base import Processor


class Ring:
    """The samples ``[start, end)`` of a stream on the absolute clock, growing at the end.

    Appending is amortised O(block); :meth:`drop_before` forgets the head. Reads of
    positions before ``start`` are an error (callers keep what they still need).
    """

    def __init__(self, channels: int, start: int, capacity: int = 4096) -> None:
        self.buf = np.zeros((channels, max(capacity, 16)), dtype=np.float64)
        self.lo = 0
        self.n = 0
        self.start = int(start)

    @property
    def end(self) -> int:
        return self.start + self.n

    def _room(self, k: int) -> None:
        cap = self.buf.shape[1]
        if self.lo + self.n + k <= cap:
            return
        if self.n + k <= cap // 2:
            self.buf[:, : self.n] = self.buf[:, self.lo : self.lo + self.n]
        else:
            new = np.zeros((self.buf.shape[0], 2 * (self.n + k)), dtype=np.float64)
            new[:, : self.n] = self.buf[:, self.lo : self.lo + self.n]
            self.buf = new
        self.lo = 0

    def append(self, x: np.ndarray) -> None:
        k = x.shape[1]
        self._room(k)
        self.buf[:, self.lo + self.n : self.lo + self.n + k] = x
        self.n += k

    def append_zeros(self, k: int) -> None:
        if k <= 0:
            return
        self._room(k)
        self.buf[:, self.lo + self.n : self.lo + self.n + k] = 0.0
        self.n += k

    def view(self, a: int, b: int) -> np.ndarray:
        """Writable view of samples ``[a, b)``; ``start <= a <= b <= end``."""
        if a < self.start or b > self.end or a > b:
            raise RuntimeError(f"ring read [{a}, {b}) outside [{self.start}, {self.end})")
        i = self.lo + a - self.start
        return self.buf[:, i : i + b - a]

    def drop_before(self, t: int) -> None:
        k = min(max(t - self.start, 0), self.n)
        self.lo += k
        self.n -= k
        self.start += k


def envelope_per_frame(proc: Processor, name: str, starts: np.ndarray) -> np.ndarray | float:
    """A parameter's value at each of ``starts`` (absolute positions, ascending), or a float if not automated."""
    env = proc.envelopes.get(name)
    if env is None:
        return float(proc.params[name])
    if starts.shape[0] == 0:
        return np.zeros(0)
    first = int(starts[0])
    span = int(starts[-1]) - first + 1
    return env.evaluate(first, span)[starts - first]
