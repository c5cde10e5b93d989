"""Automation lanes of a session as envelopes on the sample clock, errors located at the lane."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dsp.automation import Envelope, EnvelopeSum, db_to_amp
from ..errors import Loc, SessionError
from ..session.model import MASTER, Keyframe, Session

__all__ = ["envelope_from_keys", "gain_envelope", "master_fader"]


def master_fader(graph: Any) -> Callable[[int, int], np.ndarray | None]:
    """``fader(pos, n)``: the master fader's amplitude over output frames ``[pos, pos+n)`` (None at unity).

    The master's fader acts at its own clock, ``output_latency`` ahead of the output; stems written
    at the mix's gain go through it (auto's and deliver's alike).
    """
    m = graph.strips[MASTER]
    lat = graph.output_latency

    def fader(pos: int, n: int) -> np.ndarray | None:
        db: Any = m.gain_db
        if m.gain_env is not None:
            env = m.gain_env
            db = db + (env.evaluate(pos + lat, n) if env.changes_within(pos + lat, n) else env.at(pos + lat))
        if np.ndim(db) == 0 and db == 0.0:
            return None
        return np.asarray(db_to_amp(db), dtype=np.float32)

    return fader


def envelope_from_keys(session: Session, keys: list, unit: str, loc: Loc, *, position: bool = True) -> Envelope:
    """An envelope from keyframes, or a SessionError located at the lane (or the keyframe) at fault."""
    positions = []
    for i, k in enumerate(keys):
        try:
            positions.append(session.samples(k.t, position=position))
        except SessionError as exc:
            exc.loc = exc.loc or loc + (i,)
            raise
    try:
        return Envelope(positions, [k.v for k in keys], [k.interp for k in keys], unit=unit)
    except ValueError as exc:
        raise SessionError(str(exc), loc=loc) from None


def gain_envelope(session: Session, layers: Sequence[list[Keyframe] | None], *, position: bool, loc: Loc = ()
                  ) -> Envelope | EnvelopeSum | None:
    """The gain curve of a clip or strip from its layers' ``gain_db`` keyframes (hand, auto), or None.

    One layer gives its own :class:`Envelope` (so a session without auto keyframes
    renders exactly as before); two give their :class:`EnvelopeSum`. Errors are located
    at ``loc`` + the lane (``automation.gain_db``, ``auto.automation.gain_db``).
    """
    lanes = (("automation", "gain_db"), ("auto", "automation", "gain_db"))
    envs = [
        envelope_from_keys(session, keys, "dB", loc + lane, position=position)
        for keys, lane in zip(layers, lanes, strict=True)
        if keys
    ]
    if not envs:
        return None
    return envs[0] if len(envs) == 1 else EnvelopeSum(envs)
