"""Automation lanes of a session as envelopes on the sample clock, errors located at the lane."""

from __future__ import annotations

from ..dsp.automation import Envelope, EnvelopeSum
from ..errors import Loc, SessionError
from ..session.model import Session

__all__ = ["envelope_from_keys", "gain_envelope"]


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


def gain_envelope(session: Session, layers: list[list], *, position: bool, loc: Loc = ()
                  ) -> Envelope | EnvelopeSum | None:
    """The gain curve of a clip or strip from its layers' ``gain_db`` keyframes (hand, auto), or None.

    One layer gives its own :class:`Envelope` (so a session without auto keyframes
    renders exactly as before); two give their :class:`EnvelopeSum`. Errors are located
    at ``loc`` + the lane (``automation.gain_db``, ``auto.automation.gain_db``).
    """
    lanes = (("automation", "gain_db"), ("auto", "automation", "gain_db"))
    envs = [envelope_from_keys(session, keys, "dB", loc + lane, position=position) for keys, lane in zip(layers, lanes) if keys]
    if not envs:
        return None
    return envs[0] if len(envs) == 1 else EnvelopeSum(envs)
