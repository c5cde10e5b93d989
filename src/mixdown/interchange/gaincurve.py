"""Gain and pan curves of session clips, and their re-expression in another format's keyframes.

Timeline formats carry one level curve per clip, with their own interpolation:
FCP7/Premiere "Audio Levels" move *linearly in amplitude* between keyframes on
whole frames, Final Cut's volume keyframes move *linearly in dB*. A session has
clip gain, clip gain keyframes, a track fader and track keyframes, each with
``hold``/``linear``/``exp`` interpolation. :func:`approximate` finds keyframes in
the target's law and time grid that follow the session's effective curve within
a tolerance (0.01 dB by default), adding keyframes only where the laws differ.

Semantics (as :mod:`mixdown.render.engine` applies them): a clip's or strip's gain
is its static ``gain_db`` *plus* its ``gain_db`` automation *plus* its auto layer's
``gain_db`` and automation (all dB add: each curve with its own keyframes and
interpolation, summed), and clip and track gains multiply (dB add). So an export
carries auto's moves and the hand ones as the one volume curve the editor shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..dsp.automation import Envelope, amp_to_db, db_to_amp
from ..session.model import Clip, Keyframe, Session, Track

FLOOR_DB = -100.0  # below this, errors in dB are not meaningful (inaudible); compare there in amplitude


@dataclass
class Curve:
    """A value over absolute timeline samples: ``fn(positions) -> values``, with its breakpoints."""

    fn: Callable[[np.ndarray], np.ndarray]
    breakpoints: list[int]
    constant: float | None = None

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        return self.fn(np.asarray(positions, dtype=np.int64))


def _env(session: Session, keys: list[Keyframe], origin: int, unit: str) -> Envelope:
    tb = session.timebase
    return Envelope([origin + tb.samples(k.t) for k in keys], [k.v for k in keys], [k.interp for k in keys], unit=unit)


def envelope_at(env: Envelope, positions: np.ndarray) -> np.ndarray:
    """An envelope's values at arbitrary sample positions.

    The same arithmetic as :meth:`mixdown.dsp.automation.Envelope.evaluate` (which
    takes a contiguous range), so exporters can probe a long clip at a few hundred
    points instead of evaluating every sample of it.
    """
    t = np.asarray(positions, dtype=np.int64)
    pos, vals, codes = env.positions, env.values, env.codes
    out = np.empty(len(t), dtype=np.float64)
    k = np.searchsorted(pos, t, side="right") - 1
    before = k < 0
    after = k >= len(pos) - 1
    out[before] = vals[0]
    out[after] = vals[-1]
    mid = ~(before | after)
    if np.any(mid):
        km = k[mid]
        p0, p1 = pos[km], pos[km + 1]
        v0, v1 = vals[km], vals[km + 1]
        span = (p1 - p0).astype(np.float64)
        frac = np.where(span > 0, (t[mid] - p0) / np.where(span > 0, span, 1.0), 1.0)
        code = codes[km]
        res = np.where(code == 0, v0, 0.0)
        lin, ex = code == 1, code == 2
        if env.unit == "dB":
            if np.any(lin):
                a0, a1 = db_to_amp(v0[lin]), db_to_amp(v1[lin])
                res[lin] = amp_to_db(a0 + (a1 - a0) * frac[lin])
            if np.any(ex):
                res[ex] = v0[ex] + (v1[ex] - v0[ex]) * frac[ex]
        else:
            if np.any(lin):
                res[lin] = v0[lin] + (v1[lin] - v0[lin]) * frac[lin]
            if np.any(ex):
                res[ex] = v0[ex] * np.power(v1[ex] / v0[ex], frac[ex])
        out[mid] = res
    return out


def _const(v: float) -> Curve:
    def fn(p: np.ndarray) -> np.ndarray:
        return np.full(len(p), v, dtype=np.float64)

    return Curve(fn, [], v)


def level_curve(session: Session, static: float, automation: dict[str, list[Keyframe]], name: str, origin: int,
                unit: str, *, additive: bool = True) -> Curve:
    """One strip's parameter: the static value plus its automation (gains, as the engine sums
    them), or its automation instead of the static value (``additive=False``: pan)."""
    keys = automation.get(name)
    if not keys:
        return _const(static)
    env = _env(session, keys, origin, unit)
    if not additive:
        static = 0.0
    if env.is_constant:
        return _const(static + float(env.values[0]))

    def fn(p: np.ndarray, env: Envelope = env) -> np.ndarray:
        return static + envelope_at(env, p)

    return Curve(fn, [int(x) for x in env.positions])


def add(a: Curve, b: Curve) -> Curve:
    """Sum of two curves (dB gains multiply)."""
    if a.constant is not None and b.constant is not None:
        return _const(a.constant + b.constant)
    return Curve(lambda p: a(p) + b(p), sorted(set(a.breakpoints) | set(b.breakpoints)))


def layered_gain(session: Session, obj: Clip | Track, origin: int) -> Curve:
    """The gain of a clip or strip in dB: hand value and keyframes plus its auto layer's, summed."""
    return add(level_curve(session, obj.gain_db, obj.automation, "gain_db", origin, "dB"),
               level_curve(session, obj.auto.gain_db, obj.auto.automation, "gain_db", origin, "dB"))


def has_gain(obj: Clip | Track) -> bool:
    """Whether a clip or strip changes the level at all (hand or auto layer)."""
    return bool(obj.gain_db or obj.automation.get("gain_db") or obj.auto.gain_db or obj.auto.automation.get("gain_db"))


def clip_gain(session: Session, track: Track, clip: Clip, *, with_track: bool) -> Curve:
    """Effective gain in dB of a clip at absolute positions (optionally with its track's gain)."""
    c = layered_gain(session, clip, session.samples(clip.start, position=True))
    if with_track:
        c = add(c, layered_gain(session, track, 0))
    return c


def track_pan(session: Session, track: Track) -> Curve:
    """The track's pan (-1..1) at absolute positions (pan automation replaces the static pan)."""
    return level_curve(session, track.pan, track.automation, "pan", 0, "", additive=False)


def _floor_db(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, FLOOR_DB)


def _represent(rep: str, ya: np.ndarray, yb: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Values between keyframes ``ya`` and ``yb`` at fractions ``frac``, in the target's law."""
    if rep == "amp":
        a0, a1 = db_to_amp(ya), db_to_amp(yb)
        return np.asarray(amp_to_db(a0 + (a1 - a0) * frac))
    return ya + (yb - ya) * frac


def approximate(curve: Curve, t0: int, t1: int, *, rep: str, snap: Callable[[int], int], tol: float = 0.01,
                probes: int = 128, max_passes: int = 40) -> tuple[list[tuple[int, float]], float]:
    """Keyframes on the grid ``snap`` that follow ``curve`` over ``[t0, t1]`` in the law ``rep``.

    The target is evaluated once at ``probes`` points between each pair of its own
    breakpoints; every pass then splits each segment whose worst probe is off by more
    than ``tol`` at that probe (on the grid), until none is or the grid cannot split.

    Parameters
    ----------
    curve : Curve
        The target, in dB (``rep`` "amp" or "db") or plain units (``rep`` "lin").
    t0, t1 : int
        Absolute sample range (inclusive ends), already on the grid.
    rep : {"amp", "db", "lin"}
        How the target format interpolates: linear in amplitude, linear in dB, or linear in value.
    snap : callable
        Maps a sample position to the nearest position the format can hold (frames, samples).
    tol : float
        Largest allowed difference (dB, or value units for "lin").

    Returns
    -------
    (keys, max_error)
        ``[(position, value), ...]`` including both ends, and the largest remaining
        difference at the probes (non-zero where the grid cannot follow, e.g. a step
        between two frames).
    """
    if t1 <= t0:
        v = float(curve(np.array([t0]))[0])
        return [(t0, v)], 0.0
    bps = sorted({t0, t1} | {min(max(snap(b), t0), t1) for b in curve.breakpoints if t0 < b < t1})
    parts = [np.linspace(a, b, min(probes, b - a) + 1).round().astype(np.int64) for a, b in pairwise(bps)]
    # the target's own breakpoints too: off the grid, that is where it differs most
    parts.append(np.array([b for b in curve.breakpoints if t0 < b < t1], dtype=np.int64))
    pts = np.unique(np.concatenate(parts))
    measure = (lambda x: x) if rep == "lin" else _floor_db
    target = measure(curve(pts))
    keys = np.array(bps, dtype=np.int64)
    inner_tol = tol * 0.8  # probes are sparse: leave room for what lies between them
    worst = 0.0
    for _ in range(max_passes):
        kv = curve(keys)
        seg = np.clip(np.searchsorted(keys, pts, side="right") - 1, 0, len(keys) - 2)
        a, b = keys[seg], keys[seg + 1]
        frac = (pts - a) / np.maximum(b - a, 1)
        err = np.abs(target - measure(_represent(rep, kv[seg], kv[seg + 1], frac)))
        worst = float(err.max()) if len(err) else 0.0
        bad = err > inner_tol
        if not bad.any():
            break
        # the worst probe of each segment that has a bad one
        idx = np.nonzero(bad)[0]
        order = idx[np.lexsort((-err[idx], seg[idx]))]
        first = order[np.concatenate([[True], seg[order][1:] != seg[order][:-1]])]
        new = set()
        for i in first:
            p = snap(int(pts[i]))
            lo, hi = int(keys[seg[i]]), int(keys[seg[i] + 1])
            if not lo < p < hi:  # the nearest grid point is a key already: try the next one in
                p = next((q for q in (snap(int(pts[i]) - 1), snap(int(pts[i]) + 1),
                                      snap(p + (hi - lo) // 2)) if lo < q < hi), p)
            if lo < p < hi:
                new.add(p)
        if not new:
            break
        keys = np.array(sorted(set(keys.tolist()) | new), dtype=np.int64)
    vals = curve(keys)
    return [(int(p), float(v)) for p, v in zip(keys, vals, strict=True)], worst


def trim_flat_ends(keys: list[tuple[int, float]], eps: float = 1e-9) -> list[tuple[int, float]]:
    """Drop a first/last keyframe that repeats its neighbour's value (values hold past the ends anyway)."""
    out = list(keys)
    while len(out) > 2 and abs(out[-1][1] - out[-2][1]) <= eps:
        out.pop()
    while len(out) > 2 and abs(out[0][1] - out[1][1]) <= eps:
        out.pop(0)
    return out
