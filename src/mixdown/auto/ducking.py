"""Speech-aware ducking, written as gain keyframes on the ducked tracks.

Music (and, by default, ambience) goes down while anyone speaks and comes back in
real pauses. The moves are plain keyframes in the track's ``gain_db`` automation
(dB-linear ramps, ``exp``), so a person can read, move or delete each one; nothing
is baked into a compressor unless the sidechain-compressor mode is asked for.

Timing, per speech region (the union of every dialogue track's speech)::

        fade down                             fade up
    ____ (attack) __________________________ (release) ____  0 dB
        \\                                   /
         \\_________________________________/                -depth
        ^ start - lookahead    speech      ^ end of speech

Pauses shorter than ``hold`` keep the music down, so it does not pump between
turns; a duck is never shorter than ``min_duck``.

The keyframes go on the track's auto layer (``track.auto.automation.gain_db``),
beside any hand-drawn ones. The depth is measured with the hand values applied:
a hand-made duck is honoured, and auto only ducks what is still too loud.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AnalysisError
from ..session.model import MASTER, Bus, Keyframe, ProcessorSpec, Session
from .decisions import Decision
from .layers import combine, lane, set_lane

Region = tuple[int, int]


@dataclass(frozen=True)
class DuckParams:
    """How ducks are shaped.

    Attributes
    ----------
    depth_db : float, optional
        Fixed depth in dB. When None, the depth is computed from ``under_lu``.
    under_lu : float
        Target: the ducked track sits this many LU under the dialogue during speech.
    attack_s : float
        Length of the fade down, seconds.
    release_s : float
        Length of the fade up, seconds.
    lookahead_s : float
        The fade down starts this long before the first word, seconds.
    hold_s : float
        Pauses shorter than this keep the track down, seconds. The default (1.5 s)
        is the line between a gap between turns and a real pause.
    min_duck_s : float
        Shortest duck; shorter speech (a cough, a 'yes') is held down this long.
    min_depth_db, max_depth_db : float
        Range the computed depth is kept in.
    """

    depth_db: float | None = None
    under_lu: float = 18.0
    attack_s: float = 0.3
    release_s: float = 0.8
    lookahead_s: float = 0.35
    hold_s: float = 1.5
    min_duck_s: float = 0.6
    min_depth_db: float = 3.0
    max_depth_db: float = 40.0


def merge_regions(regions: list[Region], gap: int) -> list[Region]:
    """Union of regions, also joining those separated by less than ``gap`` samples."""
    out: list[list[int]] = []
    for a, b in sorted(regions):
        if out and a - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def duck_spans(speech: list[Region], sample_rate: int, params: DuckParams) -> list[Region]:
    """Where the ducked track is held fully down: speech merged over short pauses.

    Returns
    -------
    list of (start, end)
        Sample ranges of full depth (the fades lie outside them).
    """
    sr = sample_rate
    spans = merge_regions(speech, round(params.hold_s * sr))
    min_len = round(params.min_duck_s * sr)
    spans = [(a, max(b, a + min_len)) for a, b in spans]
    # fades of neighbouring ducks must not cross: join ducks whose fades would meet
    reach = round((params.release_s + params.lookahead_s) * sr)
    return merge_regions(spans, reach)


def duck_keyframes(speech: list[Region], sample_rate: int, depth_db: float, params: DuckParams,
                   *, programme_end: int | None = None) -> list[tuple[int, float, str]]:
    """Keyframes ``(position, gain_db, interp)`` that duck by ``depth_db`` under ``speech``.

    The fade down ends ``lookahead - attack`` before each span (or at it, if the
    lookahead is shorter than the attack); the fade up starts where speech ends.
    """
    sr = sample_rate
    look = round(params.lookahead_s * sr)
    att = round(params.attack_s * sr)
    rel = round(params.release_s * sr)
    keys: list[tuple[int, float, str]] = []
    for a, b in duck_spans(speech, sr, params):
        down_start = max(0, a - look)
        down_end = min(down_start + att, max(a, down_start + 1))
        up_end = b + rel
        if programme_end is not None:
            up_end = min(up_end, max(programme_end, b + 1))
        if keys and down_start <= keys[-1][0]:
            down_start = keys[-1][0] + 1
            down_end = max(down_end, down_start + 1)
        keys += [(down_start, 0.0, "exp"), (down_end, -depth_db, "exp"), (b, -depth_db, "exp"), (up_end, 0.0, "exp")]
    return keys


def apply_ducking(keys: list[tuple[int, float, str]], sample_rate: int) -> list[Keyframe]:
    """Keyframes in the session's notation (seconds as exact floats)."""
    return [Keyframe(t=p / sample_rate, v=round(v, 2), interp=i) for p, v, i in keys]


def duck_decisions(track: str, speech: list[Region], sample_rate: int, depth_db: float, params: DuckParams,
                   reason: str) -> list[Decision]:
    """One decision per duck span, for the report."""
    sr = sample_rate
    out = []
    for a, b in duck_spans(speech, sr, params):
        out.append(Decision(
            kind="duck", target=track, action=f"duck {-depth_db:+.1f} dB",
            reason=reason, start_s=max(0.0, (a - params.lookahead_s * sr) / sr), end_s=b / sr + params.release_s,
            value_db=-depth_db,
            data={"speech_start_s": round(a / sr, 3), "speech_end_s": round(b / sr, 3),
                  "attack_s": params.attack_s, "release_s": params.release_s, "hold_s": params.hold_s},
        ))
    return out


def duck_tracks(s: Session, analysis: Any, ref: float, params: DuckParams, *, roles: tuple[str, ...],
                under_lu: dict[str, float], mode: str = "keyframes") -> list[Decision]:
    """Duck every track of ``roles`` under the speech; edits ``s`` in place (auto layers, or ``auto-duck``).

    The level under speech is measured as heard (hand fader, automation and buses,
    plus auto's balance); a track already ``under`` LU under the dialogue there is
    left alone.
    """
    sr = analysis.sample_rate
    speech = analysis.all_speech
    decisions: list[Decision] = []
    if not speech:
        return decisions
    for track in s.tracks:
        if track.role not in roles or track.mute or track.auto.is_edited("automation.gain_db"):
            continue
        under = under_lu.get(track.role, params.under_lu)
        if params.depth_db is not None:
            depth = params.depth_db
            why = f"fixed depth {depth:g} dB"
        else:
            loud = analysis.heard(track.name, extra_db=track.auto.gain_db).loudness(speech)
            if loud is None:
                decisions.append(Decision("duck", track.name, "no duck",
                                          f"the {track.role} is silent while people speak"))
                continue
            want = ref - under
            if loud <= want:
                decisions.append(Decision(
                    "duck", track.name, "no duck",
                    f"the {track.role} already plays at {loud:.1f} LUFS under speech, {ref - loud:.1f} LU under the "
                    f"{ref:g} LUFS dialogue (wanted: {under:g} LU)", data={"measured_lufs": round(loud, 2)}))
                continue
            depth = float(np.clip(loud - want, params.min_depth_db, params.max_depth_db))
            why = (f"{track.role} plays at {loud:.1f} LUFS under speech; ducked to sit {under:g} LU under the "
                   f"{ref:g} LUFS dialogue")
            if loud - want < params.min_depth_db:
                why += f" (minimum depth {params.min_depth_db:g} dB)"
        if mode == "sidechain":
            decisions += _sidechain_duck(s, track, depth, ref, params, why)
            continue
        keys = apply_ducking(duck_keyframes(speech, sr, depth, params, programme_end=analysis.length), sr)
        set_lane(track, combine(lane(track), keys, s))
        decisions += duck_decisions(track.name, speech, sr, depth, params, why)
    return decisions


def _sidechain_duck(s: Session, track: Any, depth: float, ref: float, params: DuckParams, why: str) -> list[Decision]:
    """The classic alternative: a compressor on the track keyed by a dialogue bus."""
    bus_name = "dialogue"
    dialogue = [t for t in s.tracks if t.role == "dialogue"]
    outs = {t.output for t in dialogue}
    if len(outs) == 1 and next(iter(outs)) != MASTER:
        bus_name = next(iter(outs))
    else:
        if bus_name in {t.name for t in s.tracks}:
            raise AnalysisError("sidechain ducking needs a bus named 'dialogue', but a track has that name")
        if not any(b.name == bus_name for b in s.buses):
            s.buses.append(Bus(name=bus_name, role="dialogue"))
        for t in dialogue:
            t.output = bus_name
    ratio = 10.0
    threshold = ref - depth * ratio / (ratio - 1)
    track.chain.append(ProcessorSpec(
        type="compressor", id="auto-duck", sidechain=bus_name, threshold_db=round(threshold, 1), ratio=ratio,
        knee_db=6.0, attack_ms=params.attack_s * 1000, release_ms=params.release_s * 1000, detector="rms"))
    return [Decision("duck", track.name, f"sidechain compressor keyed by '{bus_name}', ~{-depth:+.1f} dB",
                     why + "; sidechain mode (as asked): depth follows the voice's level, no hold between words",
                     value_db=-depth)]
