"""Role balance: music, effects and ambience set relative to the dialogue level.

Defaults follow broadcast and podcast practice: between speech the music plays a
little under the dialogue (-6 LU), effects are present but below it (-5 LU),
ambience is a bed you feel more than hear (-18 LU). Under speech the ducker takes
music further down (see :mod:`mixdown.auto.ducking`). Every value can be overridden.
Levels are measured with BS.1770 gating over each track's own material, so a sparse
effects track is judged by its effects, not by its silences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..session.model import Session
from .analyse import Analysis
from .decisions import Decision


@dataclass(frozen=True)
class BalanceParams:
    """Loudness of each role relative to the dialogue level, LU (None leaves the role alone)."""

    relative_lu: dict[str, float | None] = field(default_factory=lambda: {
        "music": -6.0, "sfx": -5.0, "ambience": -18.0, "other": None,
    })
    max_gain_db: float = 30.0


def balance_roles(session: Session, analysis: Analysis, dialogue_lufs: float, params: BalanceParams) -> list[Decision]:
    """Set the fader of every non-dialogue track; edits ``session`` in place."""
    decisions: list[Decision] = []
    for track in session.tracks:
        if track.role == "dialogue" or track.mute:
            continue
        rel = params.relative_lu.get(track.role)
        if rel is None:
            continue
        series = analysis.levels.get(track.name)
        loud = series.loudness() if series is not None else None
        if loud is None:
            decisions.append(Decision("warning", track.name, "fader unchanged",
                                      f"the {track.role} track is silent, nothing to balance"))
            continue
        want = dialogue_lufs + rel
        g = max(-params.max_gain_db, min(params.max_gain_db, want - loud))
        old = track.gain_db
        track.gain_db = round(g, 2)
        decisions.append(Decision(
            "balance", track.name, f"fader {old:+.1f} -> {track.gain_db:+.1f} dB",
            f"{track.role} measured {loud:.1f} LUFS; set to {rel:+g} LU against the {dialogue_lufs:g} LUFS dialogue",
            value_db=track.gain_db, data={"measured_lufs": round(loud, 2), "relative_lu": rel}))
    return decisions
