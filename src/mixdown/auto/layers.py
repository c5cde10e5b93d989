"""auto's own layer of the session: taken off before deciding, written back after.

Every clip, track, bus and the master has an ``auto`` layer
(:class:`~mixdown.session.model.AutoLayer`) beside its hand values, and auto's
processors carry an ``id`` starting with ``auto-`` (``auto-hpf``, ``auto-comp``,
``auto-dehum``, ``auto-duck``, ``auto-loudness``, ``auto-limiter``, ...). So a
second run of ``auto`` first removes all of it (:func:`strip_auto`), analyses the
session *as the person left it*, and writes a fresh layer: auto on its own output
gives the same mix, and hand values are never changed.

A value a person changed in an auto layer and listed in its ``edited`` (``gain_db``
or ``automation.gain_db``) is kept as it is, and counts as theirs: auto decides
around it and does not write it again (:func:`set_gain`, :func:`set_lane` say so).
To keep one of auto's processors, give it another id (it is then the person's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..dsp.automation import Envelope
from ..session.model import MASTER, AutoLayer, Bus, Keyframe, Master, ProcessorSpec, Session, Track
from .decisions import Decision

AUTO_PREFIX = "auto-"
GAIN = "gain_db"
LANE = "automation.gain_db"


def is_auto_processor(spec: ProcessorSpec) -> bool:
    """Whether a chain entry is one of auto's (its id starts with ``auto-``)."""
    return spec.id is not None and spec.id.startswith(AUTO_PREFIX)


def layered(session: Session) -> Iterator[tuple[str, Any]]:
    """``(where, object)`` for every object with an auto layer: clips, tracks, buses, the master."""
    for track in session.tracks:
        yield track.name, track
        for ci, clip in enumerate(track.clips):
            yield clip_name(track.name, ci), clip
    for bus in session.buses:
        yield bus.name, bus
    yield MASTER, session.master


def clip_name(track: str, index: int) -> str:
    """How decisions name a clip: ``Host/clip 2`` (1-based)."""
    return f"{track}/clip {index + 1}"


def strip_auto(session: Session) -> list[Decision]:
    """Take every auto layer value and every ``auto-`` processor out of ``session`` (in place).

    Values listed in a layer's ``edited`` stay, with a decision saying so.

    Returns
    -------
    list of Decision
        One ``edited`` decision per kept value.
    """
    decisions: list[Decision] = []
    for where, obj in layered(session):
        layer: AutoLayer = obj.auto
        keep_gain = layer.is_edited(GAIN)
        keep_lane = layer.is_edited(LANE)
        if keep_gain:
            decisions.append(Decision("edited", where, f"auto gain {layer.gain_db:+.2f} dB kept",
                                      "changed by hand (auto.edited lists gain_db): auto leaves it as it is"))
        if keep_lane and layer.automation.get("gain_db"):
            decisions.append(Decision("edited", where, f"auto keyframes kept ({len(layer.automation['gain_db'])})",
                                      "changed by hand (auto.edited lists automation.gain_db): auto leaves the "
                                      "lane as it is"))
        obj.auto = AutoLayer(gain_db=layer.gain_db if keep_gain else 0.0,
                             automation=dict(layer.automation) if keep_lane else {}, edited=list(layer.edited))
    strips: list[Track | Bus | Master] = [*session.tracks, *session.buses, session.master]
    for strip in strips:
        if any(is_auto_processor(p) for p in strip.chain):
            strip.chain = [p for p in strip.chain if not is_auto_processor(p)]
    return decisions


def set_gain(obj: Any, value_db: float) -> bool:
    """Write auto's static gain on ``obj``; False (nothing written) when a person edited it."""
    if obj.auto.is_edited(GAIN):
        return False
    obj.auto.gain_db = round(float(value_db), 2)
    return True


def set_lane(obj: Any, keys: list[Keyframe]) -> bool:
    """Write auto's gain keyframes on ``obj``; False (nothing written) when a person edited the lane."""
    if obj.auto.is_edited(LANE):
        return False
    automation = {k: v for k, v in obj.auto.automation.items() if k != "gain_db"}
    if keys:
        automation["gain_db"] = keys
    obj.auto.automation = automation
    return True


def lane(obj: Any) -> list[Keyframe]:
    """auto's gain keyframes on ``obj`` (empty if none)."""
    return list(obj.auto.automation.get("gain_db", []))


def combine(a: list[Keyframe], b: list[Keyframe], session: Session) -> list[Keyframe]:
    """Sum of two auto gain lanes of ``exp`` keyframes (dB-straight: their sum is exact at the union of times)."""
    if not a or not b:
        return list(a or b)

    def env(keys: list[Keyframe]) -> Envelope:
        return Envelope([session.samples(k.t, position=True) for k in keys], [k.v for k in keys],
                        [k.interp for k in keys], unit="dB")

    ea, eb = env(a), env(b)
    times = sorted({*ea.positions.tolist(), *eb.positions.tolist()})
    return [Keyframe(t=p / session.sample_rate, v=round(ea.at(p) + eb.at(p), 2), interp="exp") for p in times]
