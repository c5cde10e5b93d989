"""Dialogue leveling: every speaker brought to one dialogue level, measured on speech only.

Three moves, each written into the session where a person would make it:

1. **Clip gain**: each dialogue clip's speech (its own speaker only; bleed removed
   by the analysis) is measured with BS.1770 gating and moved to ``reference_lufs``.
2. **Rides**: a speaker who drifts (leans away from the mic, gets tired) is measured
   turn by turn; turns more than ``drift_lu`` off get slow gain keyframes on the
   track, ramping in the pause before the turn, never during words.
3. **Dialogue chain**: a high-pass at 80 Hz and gentle compression whose threshold
   is set from the measured level, added only to tracks whose chain is empty (a
   hand-built chain is left alone, and the decision list says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..session.model import Keyframe, ProcessorSpec, Session
from .analyse import Analysis
from .decisions import Decision
from .ducking import Region, merge_regions


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
        A turn further than this from the reference gets a ride.
    max_ride_db : float
        Largest ride, either way.
    turn_gap_s : float
        Speech separated by less than this is one turn.
    ramp_s : float
        Length of a ride's ramp, placed in the pause before the turn.
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
    ramp_s: float = 0.25
    chain: bool = True
    highpass_hz: float = 80.0
    comp_ratio: float = 2.5
    comp_above_db: float = 4.0


def _intersect(regions: list[Region], a: int, b: int) -> list[Region]:
    return [(max(x, a), min(y, b)) for x, y in regions if min(y, b) > max(x, a)]


def level_dialogue(session: Session, analysis: Analysis, params: LevelingParams) -> list[Decision]:
    """Edit ``session`` in place: clip gains, rides and chains of dialogue tracks.

    Returns
    -------
    list of Decision
    """
    sr = session.sample_rate
    ref = params.reference_lufs
    decisions: list[Decision] = []
    for track in session.tracks:
        if track.role != "dialogue" or track.name not in analysis.speech:
            continue
        series = analysis.levels[track.name]
        speech = analysis.speech[track.name]
        if not speech:
            decisions.append(Decision("warning", track.name, "not leveled",
                                      "no speech of this speaker was found (only silence or the other speakers' bleed)"))
            continue
        # 1. clip gains
        gains = np.zeros(len(series))
        for ci, clip in enumerate(track.clips):
            if clip.mute:
                continue
            a = session.samples(clip.start, position=True)
            b = a + _clip_length(session, clip, analysis, track.name, a)
            regions = _intersect(speech, a, b)
            loud = series.loudness(regions) if regions else None
            if loud is None:
                decisions.append(Decision("leveling", f"{track.name}/clip {ci + 1}", "clip gain unchanged",
                                          "no measurable speech in this clip", start_s=a / sr, end_s=b / sr))
                continue
            g = float(np.clip(ref - loud, -params.max_gain_db, params.max_gain_db))
            old = clip.gain_db
            clip.gain_db = round(old + g, 2)
            gains[a // series.hop: b // series.hop + 1] = clip.gain_db - old
            decisions.append(Decision(
                "leveling", f"{track.name}/clip {ci + 1}", f"clip gain {old:+.1f} -> {clip.gain_db:+.1f} dB",
                f"speech measured at {loud:.1f} LUFS on {sum(y - x for x, y in regions) / sr:.1f} s of speech; "
                f"dialogue level is {ref:.1f} LUFS" + (" (limited)" if abs(ref - loud) > params.max_gain_db else ""),
                start_s=a / sr, end_s=b / sr, value_db=clip.gain_db - old,
                data={"measured_lufs": round(loud, 2), "reference_lufs": ref},
            ))
        leveled = type(series)(series.energy * 10 ** (gains / 10), series.sample_rate, series.hop)
        # 2. rides for drifting speakers
        turns = merge_regions(speech, round(params.turn_gap_s * sr))
        rides: list[tuple[Region, float]] = []
        for a, b in turns:
            loud = leveled.loudness([(a, b)])
            if loud is None:
                continue
            dev = ref - loud
            if abs(dev) > params.drift_lu:
                rides.append(((a, b), float(np.clip(dev, -params.max_ride_db, params.max_ride_db))))
        if rides:
            keys = _ride_keyframes(turns, dict(rides), round(params.ramp_s * sr))
            existing = track.automation.get("gain_db")
            track.automation["gain_db"] = _combine(existing, keys, session) if existing else as_keyframes(keys, sr)
            for (a, b), v in rides:
                decisions.append(Decision(
                    "leveling", track.name, f"ride {v:+.1f} dB",
                    f"this turn measured {ref - v:.1f} LUFS, {abs(v):.1f} LU {'under' if v > 0 else 'over'} the "
                    f"dialogue level", start_s=a / sr, end_s=b / sr, value_db=v))
        # 3. the dialogue chain
        if params.chain:
            if track.chain:
                decisions.append(Decision("chain", track.name, "chain left as it is",
                                          "the track already has a chain; auto adds its dialogue chain only to empty ones"))
            else:
                threshold = round(ref + params.comp_above_db, 1)
                track.chain = [
                    ProcessorSpec(type="highpass", id="auto-hpf", freq_hz=params.highpass_hz, slope_db_oct=12),
                    ProcessorSpec(type="compressor", id="auto-comp", threshold_db=threshold, ratio=params.comp_ratio,
                                  knee_db=6.0, attack_ms=10.0, release_ms=150.0, detector="rms"),
                ]
                decisions.append(Decision(
                    "chain", track.name,
                    f"high-pass {params.highpass_hz:g} Hz; compressor {params.comp_ratio:g}:1 at {threshold:g} dBFS",
                    f"rumble below the voice removed; threshold {params.comp_above_db:g} dB above the {ref:g} LUFS "
                    "dialogue level so only the loud syllables are compressed"))
    return decisions


def _clip_length(session: Session, clip, analysis: Analysis, track: str, start: int) -> int:
    if clip.duration is not None:
        return session.samples(clip.duration)
    from ..media.decode import probe

    info = probe(session.resolve(clip.source), stream=clip.stream)
    return info.frames * session.sample_rate // info.sample_rate - session.samples(clip.in_)


def _ride_keyframes(turns: list[Region], rides: dict[Region, float], ramp: int) -> list[tuple[int, float]]:
    """Hold each turn's ride through the turn; ramp between values in the pause before it."""
    sr_keys: list[tuple[int, float]] = []
    prev = 0.0
    for a, b in turns:
        v = rides.get((a, b), 0.0)
        if v != prev:
            sr_keys.append((max(0, a - ramp), prev))
            sr_keys.append((a, v))
            prev = v
    return sr_keys


def _combine(existing: list[Keyframe], keys: list[tuple[int, float]], session: Session) -> list[Keyframe]:
    """Sum a written gain curve with new keyframes at the union of their times."""
    from ..dsp.automation import Envelope

    env_old = Envelope([session.samples(k.t, position=True) for k in existing], [k.v for k in existing],
                       [k.interp for k in existing], unit="dB")
    env_new = Envelope([p for p, _ in keys], [v for _, v in keys], ["exp"] * len(keys), unit="dB")
    times = sorted({*env_old.positions.tolist(), *env_new.positions.tolist()})
    return [Keyframe(t=p / session.sample_rate, v=round(env_old.at(p) + env_new.at(p), 2), interp="exp")
            for p in times]


def as_keyframes(keys: list[tuple[int, float]], sample_rate: int) -> list[Keyframe]:
    """Sample-position keyframes as session keyframes (exact float seconds, dB-linear ramps)."""
    return [Keyframe(t=p / sample_rate, v=round(v, 2), interp="exp") for p, v in keys]
