"""The mix assistant's second decision pass: decide again on what the mix hears.

:func:`mixdown.auto.run.decide` makes its first decisions on the sources (leveling,
cleanup, balance, ducks). This pass then renders the dialogue and the ducked bed once
as processed (:mod:`mixdown.auto.heard`) and

1. holds the speaker balance after the chains (:mod:`mixdown.auto.speakers`): every
   speaker trimmed and ridden on their own speech as heard, so they end together in
   the mix; the first pass's rides, measured on the sources, are replaced;
2. carves the bed around the speech (:mod:`mixdown.auto.unmask`): a presence-band dip
   keyed by the speech, as deep as the measured masking asks.

Before both, when asked (``AssistParams.reference``), the dialogue's tone is matched to a
reference (:mod:`mixdown.auto.reference`), so the trims measure the matched dialogue.

Everything it writes is on auto's layer (``track.auto`` values, ``auto-`` processors),
so a second run of ``auto`` takes it off with the rest and decides it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..render.engine import DEFAULT_BLOCK
from ..session.model import Session
from .analyse import Analysis
from .decisions import Decision
from .ducking import DuckParams
from .heard import measure_heard
from .layers import LANE, set_lane
from .leveling import LevelingParams, is_ride
from .reference import MatchParams, match_reference
from .speakers import SpeakerParams, hold_speaker_balance
from .unmask import UnmaskParams, unmask_bed


@dataclass(frozen=True)
class AssistParams:
    """Which parts of the second pass run (None: that part is off; reference matching is off by default)."""

    speakers: SpeakerParams | None = field(default_factory=SpeakerParams)
    unmask: UnmaskParams | None = field(default_factory=UnmaskParams)
    reference: MatchParams | None = None


def assist(session: Session, analysis: Analysis, decisions: list[Decision], params: AssistParams, *,
           ref: float, leveling: LevelingParams, duck: DuckParams, duck_roles: tuple[str, ...],
           block_size: int = DEFAULT_BLOCK) -> list[Decision]:
    """Run the second pass on ``session`` (in place); returns the decision list with its decisions.

    Parameters
    ----------
    decisions : list of Decision
        The first pass's; the rides it measured on the sources are dropped where this
        pass rides again on the processed level.
    ref : float
        Dialogue level, LUFS.
    """
    if params.speakers is None and params.unmask is None and params.reference is None:
        return decisions
    dialogue = [t.name for t in session.tracks if t.role == "dialogue" and not t.mute and analysis.speech.get(t.name)]
    bed = [t.name for t in session.tracks
           if t.role in duck_roles and not t.mute and t.name in analysis.levels] if params.unmask else []
    if not dialogue:
        return decisions
    out = list(decisions)
    if params.reference is not None:
        # first: the matching EQ changes each speaker's loudness, which the trims then measure
        out += match_reference(session, analysis.all_speech, params.reference, block_size=block_size)
    measuring = session.copy_session()
    if params.speakers is not None:
        for t in measuring.tracks:
            if t.name in dialogue:
                # heard without auto's fader and rides: this pass sets them on the processed level
                if not t.auto.is_edited("gain_db"):
                    t.auto.gain_db = 0.0
                if not t.auto.is_edited(LANE):
                    set_lane(t, [])
    pairs = [(a, b) for i, a in enumerate(dialogue) for b in dialogue[i + 1:]]
    heard = measure_heard(measuring, dialogue + bed, pairs=pairs, block_size=block_size)
    if params.speakers is not None:
        out = [d for d in out if not any(is_ride(d, n) for n in dialogue)]
        added, gains = hold_speaker_balance(session, analysis, heard, ref=ref, leveling=leveling,
                                            params=params.speakers)
        out += added
    else:
        # measured with auto's fader and rides on: nothing more is added after the chains
        gains = {d: np.zeros(len(heard.levels[d])) for d in dialogue}
    if params.unmask is not None and bed:
        out += unmask_bed(session, analysis.all_speech, heard, gains, bed, duck=duck, params=params.unmask,
                          programme_end=analysis.length)
    return out
