"""Dialogue leveling: every speaker brought to one dialogue level, measured on speech only.

Three moves, each written into the session where a person would make it, on
``auto``'s own layer (the hand values are left as they are and count: a hand clip
gain or fader is part of what is measured):

1. **Clip gain** (``clip.auto.gain_db``): each dialogue clip's speech (its own
   speaker only; bleed removed by the analysis) is measured with BS.1770 gating as
   the mix hears it (hand clip gain, fader and automation applied) and moved to
   ``reference_lufs``.
2. **Rides** (``track.auto.automation.gain_db``): a speaker who drifts (leans away
   from the mic, gets tired, drops their voice mid-sentence) is measured section
   by section: a turn is one section unless its level changes inside it (binary
   segmentation of its speech, parts at least ``min_section_s`` long and
   ``split_lu`` apart). Sections more than ``drift_lu`` off get a ride, ramping in
   the pause before a turn, or over ``ramp_s`` up to the point inside a turn where
   the level changed.
3. **Dialogue chain**: a high-pass at 80 Hz and gentle compression whose threshold
   is set from the measured level, added (as ``auto-hpf`` and ``auto-comp``) only
   to tracks whose chain has nothing of a person's (a hand-built chain is left
   alone, and the decision list says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.levels import LevelSeries
from ..session.model import Keyframe, ProcessorSpec, Session
from .analyse import Analysis
from .decisions import Decision
from .ducking import Region, merge_regions
from .layers import clip_name, set_gain, set_lane


@dataclass(frozen=True)
class LevelingParams:
    """Options of dialogue leveling.

    Attributes
    ----------
    reference_lufs : float
        Dialogue level every speaker is brought to before the master stage.
    max_gain_db : float
        Largest clip-gain change, either way.
    drift_lu : float
        A section further than this from the reference gets a ride.
    max_ride_db : float
        Largest ride, either way.
    turn_gap_s : float
        Speech separated by less than this is one turn.
    split_lu : float
        A turn is split where the level of its two parts differs by at least this.
    min_section_s : float
        Least speech on each side of a split inside a turn, seconds.
    ramp_s : float
        Length of a ride's ramp, placed in the pause before the turn (or before the
        point inside a turn where the level changes).
    chain : bool
        Add the default dialogue chain to tracks with an empty chain.
    highpass_hz : float
    comp_ratio : float
    comp_above_db : float
        Compressor threshold this far above the dialogue level.
    """

    reference_lufs: float = -23.0
    max_gain_db: float = 30.0
    drift_lu: float = 1.5
    max_ride_db: float = 8.0
    turn_gap_s: float = 1.0
    split_lu: float = 4.0
    min_section_s: float = 2.0
    ramp_s: float = 0.25
    chain: bool = True
    highpass_hz: float = 80.0
    comp_ratio: float = 2.5
    comp_above_db: float = 4.0


def _intersect(regions: list[Region], a: int, b: int) -> list[Region]:
    return [(max(x, a), min(y, b)) for x, y in regions if min(y, b) > max(x, a)]


def level_dialogue(session: Session, analysis: Analysis, params: LevelingParams) -> list[Decision]:
    """Edit ``session`` in place: auto clip gains, rides and chains of dialogue tracks.

    Returns
    -------
    list of Decision
    """
    decisions: list[Decision] = []
    for track in session.tracks:
        if track.role != "dialogue" or track.name not in analysis.speech:
            continue
        speech = analysis.speech[track.name]
        if not speech:
            decisions.append(
                Decision(
                    "warning",
                    track.name,
                    "not leveled",
                    "no speech of this speaker was found (only silence or the other speakers' bleed)",
                )
            )
            continue
        gains, clip_decisions = _clip_gains(session, track, analysis, speech, params)
        decisions += clip_decisions
        heard = analysis.heard(track.name)
        leveled = LevelSeries(heard.energy * 10 ** (gains / 10), heard.sample_rate, heard.hop)
        decisions += ride_track(session, track, leveled, speech, params)
        if params.chain:
            decisions += _chain(track, analysis, speech, params)
    return decisions


def _clip_gains(session: Session, track, analysis: Analysis, speech: list[Region],
                params: LevelingParams) -> tuple[np.ndarray, list[Decision]]:
    """auto's clip gains for one track; returns the gain added per 100 ms hop and the decisions."""
    sr = session.sample_rate
    ref = params.reference_lufs
    heard = analysis.heard(track.name)
    gains = np.zeros(len(heard))
    decisions: list[Decision] = []
    for ci, clip in enumerate(track.clips):
        if clip.mute or clip.auto.is_edited("gain_db"):
            continue  # an edited auto gain is the person's now: measured with it, not replaced
        a = session.samples(clip.start, position=True)
        b = a + _clip_length(session, clip)
        regions = _intersect(speech, a, b)
        loud = heard.loudness(regions) if regions else None
        where = clip_name(track.name, ci)
        if loud is None:
            decisions.append(Decision("leveling", where, "clip gain unchanged",
                                      "no measurable speech in this clip", start_s=a / sr, end_s=b / sr))
            continue
        g = float(np.clip(ref - loud, -params.max_gain_db, params.max_gain_db))
        set_gain(clip, g)
        g = clip.auto.gain_db
        gains[a // heard.hop: b // heard.hop + 1] = g
        hand = f" on top of the hand clip gain {clip.gain_db:+.1f} dB" if clip.gain_db else ""
        decisions.append(Decision(
            "leveling", where, f"auto clip gain {g:+.2f} dB",
            f"speech measured at {loud:.1f} LUFS on {sum(y - x for x, y in regions) / sr:.1f} s of speech; "
            f"dialogue level is {ref:.1f} LUFS{hand}" + (" (limited)" if abs(ref - loud) > params.max_gain_db else ""),
            start_s=a / sr, end_s=b / sr, value_db=g,
            data={"measured_lufs": round(loud, 2), "reference_lufs": ref, "hand_gain_db": clip.gain_db},
        ))
    return gains, decisions


def ride_track(session: Session, track, leveled: LevelSeries, speech: list[Region], params: LevelingParams, *,
               stage: str = "source") -> list[Decision]:
    """Ride keyframes for sections off the dialogue level, on the track's auto lane.

    Parameters
    ----------
    leveled : LevelSeries
        The track's level with its static gain, every 100 ms: its source's
        (``stage="source"``, before the chain) or as heard after the chain
        (``stage="heard"``, :mod:`mixdown.auto.speakers`).
    """
    sr = session.sample_rate
    ref = params.reference_lufs
    if track.auto.is_edited("automation.gain_db"):
        return []  # the person's now; strip_auto said so
    turns = merge_regions(speech, round(params.turn_gap_s * sr))
    sections: list[Region] = []
    for a, b in turns:
        sections += split_turn(leveled, _intersect(speech, a, b), a, b, params)
    rides: dict[Region, float] = {}
    for a, b in sections:
        loud = leveled.loudness(_intersect(speech, a, b))
        if loud is None:
            continue
        dev = ref - loud
        if abs(dev) > params.drift_lu:
            rides[(a, b)] = float(np.clip(dev, -params.max_ride_db, params.max_ride_db))
    set_lane(track, as_keyframes(ride_keyframes(sections, rides, round(params.ramp_s * sr)), sr) if rides else [])
    decisions = []
    for (a, b), v in rides.items():
        inside = any(x < a < y for x, y in turns)
        decisions.append(Decision(
            "leveling", track.name, f"ride {v:+.1f} dB",
            f"this {'part of the turn' if inside else 'turn'} measured {ref - v:.1f} LUFS, {abs(v):.1f} LU "
            f"{'under' if v > 0 else 'over'} the dialogue level"
            + (" as heard after the chain" if stage == "heard" else ""), start_s=a / sr, end_s=b / sr, value_db=v,
            data={"measured_lufs": round(ref - v, 2), "stage": stage}))
    return decisions


def is_ride(decision: Decision, track: str) -> bool:
    """Whether ``decision`` is one of :func:`ride_track`'s on ``track``."""
    return decision.kind == "leveling" and decision.target == track and decision.action.startswith("ride ")


def split_turn(series: LevelSeries, speech: list[Region], a: int, b: int, params: LevelingParams,
               depth: int = 3) -> list[Region]:
    """A turn ``[a, b)`` cut where its level changes: binary segmentation of its speech hops.

    The best cut maximises the between-parts spread of the hop levels (dB); it is
    taken when both parts hold at least ``min_section_s`` of speech and their gated
    loudness differs by ``split_lu`` or more, then each part is cut again (up to
    ``depth`` levels).
    """
    hop = series.hop
    mask = series.mask(speech)
    idx = np.flatnonzero(mask[a // hop: min(-(-b // hop), len(mask))]) + a // hop
    idx = idx[series.energy[idx] > 0]
    need = round(params.min_section_s * series.sample_rate / hop)
    if depth == 0 or len(idx) < 2 * need:
        return [(a, b)]
    x = 10 * np.log10(series.energy[idx])
    c = np.cumsum(x)
    k = np.arange(need, len(x) - need + 1)
    left = c[k - 1] / k
    right = (c[-1] - c[k - 1]) / (len(x) - k)
    best = int(k[np.argmax(k * (len(x) - k) * (left - right) ** 2)])
    cut = int(idx[best]) * hop
    la = series.loudness(_intersect(speech, a, cut))
    lb = series.loudness(_intersect(speech, cut, b))
    if la is None or lb is None or abs(la - lb) < params.split_lu:
        return [(a, b)]
    return (split_turn(series, speech, a, cut, params, depth - 1)
            + split_turn(series, speech, cut, b, params, depth - 1))


def _chain(track, analysis: Analysis, speech: list[Region], params: LevelingParams) -> list[Decision]:
    ref = params.reference_lufs
    if track.chain:
        return [Decision("chain", track.name, "chain left as it is",
                         "the track has a chain of a person's; auto adds its dialogue chain only to empty ones")]
    # the compressor sits before the fader: its threshold follows the level there
    mask = analysis.levels[track.name].mask(speech)
    fader = analysis.fader_db.get(track.name)
    pre = float(np.median(fader[mask])) if fader is not None and mask.any() else 0.0
    threshold = round(ref + params.comp_above_db - pre, 1)
    track.chain = [
        ProcessorSpec(type="highpass", id="auto-hpf", freq_hz=params.highpass_hz, slope_db_oct=12),
        ProcessorSpec(type="compressor", id="auto-comp", threshold_db=threshold, ratio=params.comp_ratio,
                      knee_db=6.0, attack_ms=10.0, release_ms=150.0, detector="rms"),
    ]
    return [Decision(
        "chain", track.name,
        f"high-pass {params.highpass_hz:g} Hz; compressor {params.comp_ratio:g}:1 at {threshold:g} dBFS",
        f"rumble below the voice removed; threshold {params.comp_above_db:g} dB above the {ref:g} LUFS "
        "dialogue level so only the loud syllables are compressed")]


def _clip_length(session: Session, clip) -> int:
    if clip.duration is not None:
        return session.samples(clip.duration)
    from ..media.decode import probe_clip_source

    info = probe_clip_source(session.resolve(clip.source), stream=clip.stream)
    return info.frames * session.sample_rate // info.sample_rate - session.samples(clip.in_)


def ride_keyframes(sections: list[Region], rides: dict[Region, float], ramp: int) -> list[tuple[int, float]]:
    """Hold each section's ride through it; ramp between values over ``ramp`` samples before it."""
    keys: list[tuple[int, float]] = []
    prev = 0.0
    for a, b in sections:
        v = rides.get((a, b), 0.0)
        if v != prev:
            start = max(0, a - ramp, keys[-1][0] + 1 if keys else 0)
            keys.append((start, prev))
            keys.append((max(a, start + 1), v))
            prev = v
    return keys


def as_keyframes(keys: list[tuple[int, float]], sample_rate: int) -> list[Keyframe]:
    """Sample-position keyframes as session keyframes (exact float seconds, dB-linear ramps)."""
    return [Keyframe(t=p / sample_rate, v=round(v, 2), interp="exp") for p, v in keys]
