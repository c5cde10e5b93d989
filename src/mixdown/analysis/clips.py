"""Clipped samples: runs of consecutive samples at or above full scale, counted per channel."""

from __future__ import annotations

import numpy as np

from .qc_rules import CLIP_LEVEL

__all__ = ["ClipRuns", "Grow"]


class Grow:
    """Append-only float64 rows."""

    def __init__(self, width: int) -> None:
        self.buf = np.zeros((1024, width))
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        k = rows.shape[0]
        if self.n + k > self.buf.shape[0]:
            new = np.zeros((max(2 * self.buf.shape[0], self.n + k), self.buf.shape[1]))
            new[: self.n] = self.buf[: self.n]
            self.buf = new
        self.buf[self.n : self.n + k] = rows
        self.n += k

    @property
    def values(self) -> np.ndarray:
        return self.buf[: self.n]


class ClipRuns:
    """Clip events: runs of ``run`` or more consecutive samples at or above ``level`` per channel, across blocks.

    Attributes
    ----------
    runs : int
        Clip events finished so far (call :meth:`finish` at the end).
    samples : int
        Samples inside those events.
    starts : list of int
        Start sample of each event (at most ``keep`` listed), in the order found.
    """

    def __init__(self, channels: int, *, level: float = CLIP_LEVEL, run: int = 3, keep: int = 1000) -> None:
        self.level = float(level)
        self.run = int(run)
        self.keep = keep
        self.carry = np.zeros(channels, dtype=np.int64)  # length of the run open at the last block's end
        self.runs = 0
        self.samples = 0
        self.starts: list[int] = []
        self.pos = 0

    def _count(self, start: int, length: int) -> None:
        if length >= self.run:
            self.runs += 1
            self.samples += length
            if len(self.starts) < self.keep:
                self.starts.append(start)

    def process(self, x: np.ndarray, magnitude: np.ndarray | None = None) -> None:
        """Feed the next ``(channels, n)`` block (``magnitude``: its ``abs``, if already at hand)."""
        n = x.shape[1]
        hot = (np.abs(x) if magnitude is None else magnitude) >= self.level
        pos = self.pos
        self.pos += n
        if not hot.any():
            for c in np.flatnonzero(self.carry):
                self._count(pos - int(self.carry[c]), int(self.carry[c]))
            self.carry[:] = 0
            return
        for c in range(x.shape[0]):
            m = hot[c]
            carry = int(self.carry[c])
            self.carry[c] = 0
            if not m.any():
                if carry:
                    self._count(pos - carry, carry)
                continue
            d = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
            starts = np.flatnonzero(d == 1)
            ends = np.flatnonzero(d == -1)
            first = 0
            if carry:
                if starts[0] == 0:  # the open run goes on
                    ends_0 = int(ends[0])
                    if ends_0 == n:
                        self.carry[c] = carry + n
                        continue
                    self._count(pos - carry, carry + ends_0)
                    first = 1
                else:
                    self._count(pos - carry, carry)
            for s, e in zip(starts[first:], ends[first:]):
                if e == n:  # still clipping at the block's end: carried on
                    self.carry[c] = int(e - s)
                else:
                    self._count(pos + int(s), int(e - s))

    def finish(self) -> None:
        """Close the runs still open at the end of the stream."""
        for c in np.flatnonzero(self.carry):
            self._count(self.pos - int(self.carry[c]), int(self.carry[c]))
        self.carry[:] = 0

    def totals(self) -> tuple[int, int, list[int]]:
        """``(runs, samples, starts)`` as if the stream ended here; the detector keeps running."""
        runs, samples, starts = self.runs, self.samples, list(self.starts)
        for c in np.flatnonzero(self.carry):
            if self.carry[c] >= self.run:
                runs, samples = runs + 1, samples + int(self.carry[c])
                if len(starts) < self.keep:
                    starts.append(self.pos - int(self.carry[c]))
        return runs, samples, starts
