"""Role balance: music, effects and ambience set relative to the dialogue level.

Defaults follow broadcast and podcast practice: between speech the music plays a
little under the dialogue (-6 LU), effects are present but below it (-5 LU),
ambience is a bed you feel more than hear (-18 LU). Under speech the ducker takes
music further down (see :mod:`mixdown.auto.ducking`). Every value can be overridden.
Levels are measured with BS.1770 gating over each track's own material between the
speech (where the balance is heard; the whole track when it only plays under speech),
so a sparse effects track is judged by its effects, not by its silences, and as the
mix hears it: the hand fader, automation (a hand-drawn duck) and buses applied. The balance is
``auto``'s fader on the track's auto layer (``track.auto.gain_db``), on top of the
hand fader, which stays as the person set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..session.model import Session
from .analyse import Analysis
from .decisions import Decision
from .layers import set_gain


@dataclass(frozen=True)
class BalanceParams:
    """Loudness of each role relative to the dialogue level, LU (None leaves the role alone)."""

    relative_lu: dict[str, float | None] = field(default_factory=lambda: {
        "music": -6.0, "sfx": -5.0, "ambience": -18.0, "other": None,
    })
    max_gain_db: float = 30.0
    #: When the dialogue, measured as it reaches the master (after its chains and buses),
    #: is this far from the level it was leveled to, the other roles follow it.
    follow_lu: float = 1.0


def balance_roles(session: Session, analysis: Analysis, dialogue_lufs: float, params: BalanceParams) -> list[Decision]:
    """Set auto's fader of every non-dialogue track; edits ``session`` in place."""
    decisions: list[Decision] = []
    for track in session.tracks:
        if track.role == "dialogue" or track.mute or track.auto.is_edited("gain_db"):
            continue
        rel = params.relative_lu.get(track.role)
        if rel is None:
            continue
        loud = None
        if track.name in analysis.levels:
            heard = analysis.heard(track.name)
            between = _complement(analysis.all_speech, analysis.length)
            loud = heard.loudness(between) if between else None
            if loud is None:
                loud = heard.loudness()
        if loud is None:
            decisions.append(Decision("warning", track.name, "fader unchanged",
                                      f"the {track.role} track is silent, nothing to balance"))
            continue
        want = dialogue_lufs + rel
        set_gain(track, max(-params.max_gain_db, min(params.max_gain_db, want - loud)))
        g = track.auto.gain_db
        hand = f" with the hand fader {track.gain_db:+.1f} dB" if track.gain_db else ""
        if track.automation.get("gain_db"):
            hand += " and its hand automation"
        decisions.append(
            Decision(
                "balance",
                track.name,
                f"auto fader {g:+.1f} dB",
                f"{track.role} measured {loud:.1f} LUFS between speech{hand}; set to {rel:+g} LU against the "
                f"{dialogue_lufs:g} LUFS dialogue",
                value_db=g,
                data={"measured_lufs": round(loud, 2), "relative_lu": rel},
            )
        )
    return decisions


def _complement(regions: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    out, at = [], 0
    for a, b in sorted(regions):
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < length:
        out.append((at, length))
    return out


def follow_dialogue(session: Session, heard_lufs: float, dialogue_lufs: float, params: BalanceParams) -> list[Decision]:
    """Move auto's faders of the balanced roles by how far the dialogue ended from its level; in place.

    Leveling puts the dialogue at ``dialogue_lufs`` as it enters its chain; a
    person's compressors and buses can take it further down (or up). The balance
    is against the dialogue as heard, so the roles balanced against it move by the
    same amount (their own chains are linear enough: EQ, filters). Nothing moves
    for less than ``follow_lu``.
    """
    d = heard_lufs - dialogue_lufs
    if abs(d) < params.follow_lu:
        return []
    moved = []
    for track in session.tracks:
        if (track.role == "dialogue" or track.mute or params.relative_lu.get(track.role) is None
                or track.auto.is_edited("gain_db")):
            continue
        set_gain(track, track.auto.gain_db + d)
        moved.append(track.name)
    if not moved:
        return []
    return [Decision(
        "balance", ", ".join(moved), f"auto faders {d:+.1f} dB",
        f"the dialogue measures {heard_lufs:.1f} LUFS as it reaches the master (after its chains and buses), "
        f"{abs(d):.1f} LU {'under' if d < 0 else 'over'} the {dialogue_lufs:g} LUFS it was leveled to; the roles "
        "balanced against it follow, to keep their balance", value_db=d,
        data={"dialogue_heard_lufs": round(heard_lufs, 2)})]
