"""Automation envelopes evaluated on the integer sample clock.

An :class:`Envelope` is a list of keyframes ``(position, value, interp)`` with
positions in samples. The interpolation named on keyframe *k* shapes the segment
from *k* to *k+1*; before the first keyframe the value is the first value, after
the last the last value. Evaluation is vectorised and depends only on absolute
positions, so any block split gives the same samples.

Interpolations (``unit`` is the parameter's unit):

``hold``
    The value of keyframe *k* until keyframe *k+1*.
``linear``
    A straight line in the physical quantity: for a ``dB`` parameter, the
    *amplitude* goes linearly (what a linear crossfade does); otherwise the value.
``exp``
    Exponential in the physical quantity: for ``dB`` a straight line in dB
    (constant dB per second, how faders and ducks move); for positive quantities
    such as ``Hz`` a straight line in log-frequency.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

INTERPS = ("hold", "linear", "exp")
_HOLD, _LINEAR, _EXP = 0, 1, 2
DB_FLOOR = -144.0


def db_to_amp(db: np.ndarray | float) -> np.ndarray | float:
    """Amplitude factor of a gain in dB (``DB_FLOOR`` and below give 0)."""
    db = np.asarray(db, dtype=np.float64)
    amp = np.power(10.0, db / 20.0)
    return np.where(db <= DB_FLOOR, 0.0, amp)


def amp_to_db(amp: np.ndarray | float) -> np.ndarray | float:
    """Gain in dB of an amplitude factor (0 gives ``DB_FLOOR``)."""
    amp = np.abs(np.asarray(amp, dtype=np.float64))
    return np.maximum(20.0 * np.log10(np.maximum(amp, 1e-300)), DB_FLOOR)


class Envelope:
    """A keyframed parameter curve on the sample clock.

    Parameters
    ----------
    positions : sequence of int
        Keyframe positions in samples, non-decreasing.
    values : sequence of float
        Values in the parameter's unit.
    interps : sequence of str
        ``hold``, ``linear`` or ``exp``, one per keyframe.
    unit : str
        The parameter's unit; ``"dB"`` changes what ``linear`` means (see module doc).
    """

    def __init__(
        self,
        positions: Sequence[int],
        values: Sequence[float],
        interps: Sequence[str] | None = None,
        *,
        unit: str = "",
    ) -> None:
        if len(positions) == 0:
            raise ValueError("an envelope needs at least one keyframe")
        self.positions = np.asarray(positions, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        if interps is None:
            interps = ["linear"] * len(positions)
        self.codes = np.array([INTERPS.index(i) for i in interps], dtype=np.int8)
        if np.any(np.diff(self.positions) < 0):
            raise ValueError("keyframes must be in time order")
        self.unit = unit
        if unit != "dB" and np.any(self.codes[:-1] == _EXP):
            k = np.nonzero(self.codes[:-1] == _EXP)[0]
            if np.any(self.values[k] <= 0) or np.any(self.values[k + 1] <= 0):
                raise ValueError("exp interpolation needs positive values (use linear)")

    def shifted(self, samples: int) -> Envelope:
        """The same curve, ``samples`` later."""
        out = copy.copy(self)
        out.positions = self.positions + int(samples)
        return out

    @property
    def is_constant(self) -> bool:
        """True when the curve never changes value."""
        return bool(np.all(self.values == self.values[0]))

    def at(self, position: int) -> float:
        """Value at one sample position."""
        return float(self.evaluate(position, 1)[0])

    def evaluate(self, position: int, n: int) -> np.ndarray:
        """Values at samples ``position .. position+n-1``.

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        pos = self.positions
        out = np.empty(n, dtype=np.float64)
        end = position + n
        # only the keyframe segments this block touches are computed, each on a slice
        k0 = int(np.searchsorted(pos, position, side="right")) - 1
        k1 = int(np.searchsorted(pos, end, side="right")) - 1
        for k in range(k0, k1 + 1):
            a = position if k < 0 else max(position, int(pos[k]))
            b = end if k + 1 >= len(pos) else min(end, int(pos[k + 1]))
            if b <= a:
                continue
            out[a - position : b - position] = self._segment(k, np.arange(a, b, dtype=np.float64))
        return out

    def at_samples(self, positions: np.ndarray) -> np.ndarray:
        """Values at integer sample positions (any order), the same bits :meth:`evaluate` gives there.

        Parameters
        ----------
        positions : ndarray of int
            Absolute sample positions.

        Returns
        -------
        ndarray of float64, same shape as ``positions``
        """
        t = np.asarray(positions, dtype=np.int64)
        out = np.empty(t.shape, dtype=np.float64)
        seg = np.searchsorted(self.positions, t, side="right") - 1
        if seg.size and seg[0] == seg[-1] and np.all(seg == seg[0]):
            out[...] = self._segment(int(seg[0]), t.astype(np.float64))
            return out
        # one keyframe segment at a time, through the arithmetic evaluate() uses
        for k in np.unique(seg):
            sel = seg == k
            out[sel] = self._segment(int(k), t[sel].astype(np.float64))
        return out

    def _segment(self, k: int, t: np.ndarray) -> np.ndarray | float:
        """Values at sample positions ``t`` (float64) inside segment ``k`` (-1: before the first keyframe)."""
        pos = self.positions
        if k < 0:
            return self.values[0]
        if k >= len(pos) - 1:
            return self.values[-1]
        v0, v1 = self.values[k], self.values[k + 1]
        code = self.codes[k]
        span = int(pos[k + 1] - pos[k])
        if code == _HOLD or v0 == v1 or span == 0:
            return v0
        frac = (t - pos[k]) / span
        if self.unit == "dB":
            if code == _LINEAR:
                a0, a1 = float(db_to_amp(v0)), float(db_to_amp(v1))
                return amp_to_db(a0 + (a1 - a0) * frac)
            return v0 + (v1 - v0) * frac
        if code == _LINEAR:
            return v0 + (v1 - v0) * frac
        return v0 * np.power(v1 / v0, frac)

    def at_positions(self, positions: np.ndarray) -> np.ndarray:
        """Values at arbitrary (sorted or not) sample positions, vectorised."""
        t = np.asarray(positions, dtype=np.float64)
        pos = self.positions
        k = np.searchsorted(pos, t, side="right") - 1
        out = np.where(k < 0, self.values[0], self.values[-1]).astype(np.float64)
        mid = (k >= 0) & (k < len(pos) - 1)
        if np.any(mid):
            km = k[mid]
            p0, p1 = pos[km].astype(np.float64), pos[km + 1].astype(np.float64)
            v0, v1 = self.values[km], self.values[km + 1]
            span = p1 - p0
            frac = np.where(span > 0, (t[mid] - p0) / np.where(span > 0, span, 1.0), 1.0)
            code = self.codes[km]
            res = v0.copy()
            lin, ex = code == _LINEAR, code == _EXP
            if self.unit == "dB":
                a0, a1 = db_to_amp(v0), db_to_amp(v1)
                res = np.where(lin, amp_to_db(a0 + (a1 - a0) * frac), res)
                res = np.where(ex, v0 + (v1 - v0) * frac, res)
            else:
                res = np.where(lin, v0 + (v1 - v0) * frac, res)
                with np.errstate(divide="ignore", invalid="ignore"):
                    res = np.where(ex, v0 * np.power(np.where(ex, v1 / v0, 1.0), frac), res)
            out[mid] = res
        return out

    def changes_within(self, position: int, n: int) -> bool:
        """True if the value may change inside ``[position, position+n)``."""
        if self.is_constant:
            return False
        pos = self.positions
        if position >= pos[-1] or position + n <= pos[0]:
            return False
        # inside a run of equal values (e.g. a hold at the duck depth) nothing changes
        lo = max(int(np.searchsorted(pos, position, side="right")) - 1, 0)
        hi = min(int(np.searchsorted(pos, position + n, side="right")), len(pos) - 1)
        seg = self.values[lo : hi + 1]
        return not bool(np.all(seg == seg[0]))


class EnvelopeSum:
    """Several gain envelopes read as one: their values added (dB gains multiply).

    A clip's or strip's gain is its hand automation plus its auto layer's
    automation, each evaluated with its own keyframes and interpolation and added
    sample by sample (not merged into one keyframe list, which could not hold a
    sum of ``linear`` and ``exp`` segments exactly). It reads like an
    :class:`~mixdown.dsp.automation.Envelope` for the engine and the analysis.
    """

    def __init__(self, parts: list[Envelope]) -> None:
        self.parts = parts
        self.unit = parts[0].unit

    @property
    def is_constant(self) -> bool:
        return all(p.is_constant for p in self.parts)

    @property
    def positions(self) -> Any:
        return np.unique(np.concatenate([p.positions for p in self.parts]))

    def at(self, position: int) -> float:
        return float(sum(p.at(position) for p in self.parts))

    def evaluate(self, position: int, n: int) -> Any:
        out = self.parts[0].evaluate(position, n)
        for p in self.parts[1:]:
            out = out + p.evaluate(position, n)
        return out

    def at_positions(self, positions: Any) -> Any:
        out = self.parts[0].at_positions(positions)
        for p in self.parts[1:]:
            out = out + p.at_positions(positions)
        return out

    def changes_within(self, position: int, n: int) -> bool:
        return any(p.changes_within(position, n) for p in self.parts)

    def shifted(self, samples: int) -> EnvelopeSum:
        """The same curve, ``samples`` later."""
        return EnvelopeSum([p.shifted(samples) for p in self.parts])
