"""Whose speech is it: a speaker's own words told apart from the other speakers' bleed.

A close microphone hears its own talker and, lower and a few milliseconds later,
everyone else in the room. A voice detector cannot tell them apart: both are
speech. A fixed level gate can, but only by also dropping the own talker's quiet
passages (a speaker who drops 10 dB mid-sentence falls under it). So the mics are
compared instead, on the voice detector's frame levels (150 Hz high-passed,
32 ms frames for Silero) mapped onto the timeline:

1. **How much of the other mic does this one hear?** Where the two level curves
   move together (windowed Pearson correlation of their dB levels, best of the
   lags -1, 0, +1 frame: bleed arrives a few ms late) and the other mic is the
   louder, this mic hears nothing but the other's talker: the median level
   difference there is the bleed's attenuation (-20 dB, say).
2. **Is there more here than that bleed?** Per frame (short moving average), the
   other mic's level less the attenuation predicts the bleed on this mic. What
   rises at least ``excess_db`` above the prediction is this mic's own talker:
   quiet passages (the other mic then only carries this talker's bleed), and
   double talk (two voices; the louder one's bleed does not explain the quieter
   one's words). The rest, where the other mic is louder, is bleed.

Without frames to measure an attenuation on (no bleed at all, or a room that
blurs it beyond recognition), another mic ``level_db`` louder makes it bleed.

What is left of a track's speech is then held against its own level: runs more
than ``sensitivity_db`` under the track's own speech level (95th percentile of the
frame levels of its own speech) are dropped (a distant voice, a noise the
detector took for speech). That is ``--duck-sensitivity``: the larger, the
quieter the speech that still ducks the music and gets a ride.

Levels are the raw recordings' (no clip gain): bleed is a fact of the microphones,
not of the mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ducking import Region

FLOOR_DB = -120.0  # level of "no signal" (outside clips, digital silence)


@dataclass(frozen=True)
class BleedParams:
    """How speech is attributed to its microphone.

    Attributes
    ----------
    sensitivity_db : float
        Own speech down to this many dB under the track's speech level counts (6..60).
    excess_db : float
        Own speech rises at least this far above the bleed the other mic predicts.
    margin_db : float
        Only where another mic is at least this much louder can it be bleed.
    level_db : float
        Without a measured attenuation: another mic this much louder makes it bleed.
    correlation : float
        Level curves correlated at least this much are the same sound (for the attenuation).
    window_s : float
        Window of the correlation, seconds.
    smooth_s : float
        Moving average of the frame energies compared, seconds.
    min_bleed_s : float
        Frames of pure bleed needed to measure an attenuation, seconds.
    min_own_s : float
        Shorter runs of own speech inside bleed are taken for bleed too, seconds.
    """

    sensitivity_db: float = 25.0
    excess_db: float = 4.0
    margin_db: float = 3.0
    level_db: float = 15.0
    correlation: float = 0.8
    window_s: float = 0.5
    smooth_s: float = 0.1
    min_bleed_s: float = 2.0
    min_own_s: float = 0.25


@dataclass
class FrameLevels:
    """A track's detector frame levels on the timeline: frame ``i`` covers ``[i*hop, (i+1)*hop)``."""

    db: np.ndarray
    hop: int


def timeline_levels(graph: Any, name: str, sources: Mapping[tuple[Any, int | None], Any], *, hop: int) -> FrameLevels:
    """The speech detector's frame levels of a track's clips, placed on the timeline (dB, no gains)."""
    sr = graph.sample_rate
    n = -(-graph.length // hop) if graph.length else 0
    energy = np.zeros(n)
    centres = (np.arange(n) + 0.5) * hop
    for clip in graph.strips[name].clips:
        act = sources[(clip.path, clip.stream)].activity
        k = np.flatnonzero((centres >= clip.start) & (centres < clip.end))
        if k.size == 0 or act is None:
            continue
        j = np.floor((clip.source_in + centres[k] - clip.start) / act.hop(sr)).astype(np.int64)
        ok = (j >= 0) & (j < len(act.level_db))
        energy[k[ok]] += np.power(10.0, act.level_db[j[ok]].astype(np.float64) / 10.0)
    with np.errstate(divide="ignore"):
        db = np.maximum(10.0 * np.log10(energy), FLOOR_DB)
    return FrameLevels(db, hop)


def _rolling_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Centred moving average over ``w`` frames (shorter at the ends)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo = np.maximum(i - w // 2, 0)
    hi = np.minimum(i + w - w // 2, len(x))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return x
    out = np.full_like(x, FLOOR_DB)
    if k > 0:
        out[k:] = x[:-k]
    else:
        out[:k] = x[-k:]
    return out


def correlation(a: np.ndarray, b: np.ndarray, w: int) -> np.ndarray:
    """Windowed Pearson correlation of two level curves (dB), best of the lags -1, 0, +1 frame."""
    best = np.full(len(a), -1.0)
    ma = _rolling_mean(a, w)
    va = _rolling_mean(a * a, w) - ma * ma
    for k in (-1, 0, 1):
        bk = _shift(b, k)
        mb = _rolling_mean(bk, w)
        vb = _rolling_mean(bk * bk, w) - mb * mb
        cov = _rolling_mean(a * bk, w) - ma * mb
        den = np.sqrt(np.maximum(va, 0) * np.maximum(vb, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(den > 1e-6, cov / np.where(den > 1e-6, den, 1.0), 0.0)
        best = np.maximum(best, r)
    return best


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def bleed_attenuation(own: FrameLevels, other: FrameLevels, params: BleedParams, sample_rate: int) -> float | None:
    """How much lower ``own``'s mic hears ``other``'s talker, dB (None when it cannot be measured)."""
    n = min(len(own.db), len(other.db))
    a, b = own.db[:n], other.db[:n]
    w = max(3, round(params.window_s * sample_rate / own.hop))
    diff = b - a
    pure = (correlation(a, b, w) >= params.correlation) & (diff >= params.margin_db) & (a > FLOOR_DB) & (b > FLOOR_DB)
    if pure.sum() * own.hop < params.min_bleed_s * sample_rate:
        return None
    return float(np.median(diff[pure]))


def bleed_mask(own: FrameLevels, others: list[FrameLevels], params: BleedParams,
               sample_rate: int) -> tuple[np.ndarray, dict[int, float | None]]:
    """Per frame of ``own``: True where what its mic hears is another mic's talker.

    Returns
    -------
    mask : ndarray of bool
    attenuation : dict of int to float or None
        Per other mic (its index in ``others``), the measured bleed attenuation, dB.
    """
    ws = max(1, round(params.smooth_s * sample_rate / own.hop))
    bleed = np.zeros(len(own.db), dtype=bool)
    e_own = _rolling_mean(np.power(10.0, own.db / 10.0), ws)
    att: dict[int, float | None] = {}
    for i, other in enumerate(others):
        n = min(len(own.db), len(other.db))
        e_other = _rolling_mean(np.power(10.0, other.db[:n] / 10.0), ws)
        with np.errstate(divide="ignore"):
            louder = 10.0 * np.log10(np.maximum(e_other, 1e-30) / np.maximum(e_own[:n], 1e-30))
        att[i] = bleed_attenuation(own, other, params, sample_rate)
        if att[i] is None:
            bleed[:n] |= louder >= params.level_db
            continue
        excess = att[i] - louder  # own level over the bleed predicted from the other mic, dB
        bleed[:n] |= (louder >= params.margin_db) & (excess < params.excess_db)
    return bleed, att


def attribute_speech(candidates: dict[str, list[Region]], levels: dict[str, FrameLevels], params: BleedParams,
                     sample_rate: int) -> tuple[dict[str, list[Region]], dict[str, float], dict[str, float]]:
    """Each track's own speech: bleed removed (mics compared), then quiet runs under the sensitivity dropped.

    Parameters
    ----------
    candidates : dict of str to list of (start, end)
        Per dialogue track, everything its voice detector called speech (samples).
    levels : dict of str to FrameLevels
        Per dialogue track, its detector frame levels on the timeline.

    Returns
    -------
    speech : dict
        Own speech per track.
    bleed_s, quiet_s : dict of str to float
        Seconds dropped as bleed, and as too quiet for the sensitivity, per track.
    """
    speech: dict[str, list[Region]] = {}
    bleed_s: dict[str, float] = {}
    quiet_s: dict[str, float] = {}
    min_own = round(params.min_own_s * sample_rate)
    for name, regions in candidates.items():
        lv = levels[name]
        others = [levels[o] for o in candidates if o != name]
        mask = bleed_mask(lv, others, params, sample_rate)[0] if others else np.zeros(len(lv.db), dtype=bool)
        kept: list[Region] = []
        for a, b in regions:
            fa, fb = a // lv.hop, min(-(-b // lv.hop), len(mask))
            for s, e in _runs(~mask[fa:fb]):
                ka, kb = max(a, (fa + s) * lv.hop), min(b, (fa + e) * lv.hop)
                # a sliver of "own" speech inside bleed is the bleed's edge, not a word
                if kb - ka >= min(min_own, b - a):
                    kept.append((ka, kb))
        bleed_s[name] = (sum(b - a for a, b in regions) - sum(b - a for a, b in kept)) / sample_rate
        speech[name], quiet_s[name] = _level_floor(kept, lv, params.sensitivity_db, sample_rate)
    return speech, bleed_s, quiet_s


def _level_floor(regions: list[Region], lv: FrameLevels, sensitivity_db: float,
                 sample_rate: int) -> tuple[list[Region], float]:
    """Drop runs more than ``sensitivity_db`` under the track's own speech level (95th percentile)."""
    if not regions:
        return [], 0.0
    frames = [lv.db[a // lv.hop: max(a // lv.hop + 1, -(-b // lv.hop))] for a, b in regions]
    alls = np.concatenate(frames)
    alls = alls[alls > FLOOR_DB]
    if alls.size == 0:
        return [], sum(b - a for a, b in regions) / sample_rate
    ref = float(np.percentile(alls, 95))
    kept, dropped = [], 0
    for (a, b), f in zip(regions, frames, strict=True):
        f = f[f > FLOOR_DB]
        if f.size and float(np.percentile(f, 95)) >= ref - sensitivity_db:
            kept.append((a, b))
        else:
            dropped += b - a
    return kept, dropped / sample_rate
