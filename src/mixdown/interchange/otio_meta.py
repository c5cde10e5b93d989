"""mixdown's own ``metadata["mixdown"]`` on OTIO objects, and the lazy OpenTimelineIO import.

OTIO has no schema for audio levels, so mixdown writes its own there (clip gain,
keyframes and fades, track role, fader, pan and automation, the auto layer, in
samples at the session rate) and reads it back: a session survives ``.otio``
exactly. A file edited by hand or by another tool may hold anything there, so
every value is type-checked where it is read.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from ..errors import TimelineError, shown
from ..session.model import Session
from .ir import AutoIR, Key

NS = "mixdown"


def load_otio() -> Any:
    """The ``opentimelineio`` module, imported on first use (it is slow to import)."""
    import opentimelineio as otio

    return otio


_SAMPLES = re.compile(r"^-?\d{1,20}s?$")


class Meta:
    """The ``mixdown`` metadata of an OTIO object, each value's type checked where it is read.

    mixdown writes it (see :func:`write_otio`); a file edited by hand or by another tool
    may hold anything there, so a value of the wrong kind is a TimelineError naming
    the object and the key, never a crash.
    """

    def __init__(self, obj: Any, what: str) -> None:
        raw = obj.metadata.get(NS, {}) or {}
        if not hasattr(raw, "items"):
            raise TimelineError(f"{what}: the '{NS}' metadata is not a mapping")
        self.d = dict(raw)
        self.what = what

    def __contains__(self, key: str) -> bool:
        return key in self.d

    def bad(self, key: str, kind: str) -> TimelineError:
        return TimelineError(f"{self.what}: {NS} metadata {key!r} must be {kind}, not {shown(self.d.get(key))}")

    def text(self, key: str, default: str | None = None) -> str | None:
        v = self.d.get(key, default)
        if v is not None and not isinstance(v, str):
            raise self.bad(key, "text")
        return v

    def number(self, key: str, default: float = 0.0) -> float:
        v = self.d.get(key, default)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.bad(key, "a finite number")
        return float(v)

    def flag(self, key: str, default: bool = False) -> bool:
        v = self.d.get(key, default)
        if not isinstance(v, bool):
            raise self.bad(key, "true or false")
        return v

    def samples(self, key: str, value: Any = None) -> int:
        v = self.d.get(key) if value is None else value
        if isinstance(v, bool) or not _SAMPLES.match(str(v)):
            raise self.bad(key, "a sample count like '48000s'")
        return int(str(v).rstrip("s"))

    def mapping(self, key: str) -> Meta:
        v = self.d.get(key) or {}
        if not hasattr(v, "items"):
            raise self.bad(key, "a mapping")
        sub = Meta.__new__(Meta)
        sub.d, sub.what = dict(v), f"{self.what}, {key}"
        return sub

    def keys(self, key: str, sr: int, offset: Fraction = Fraction(0)) -> list[Key]:
        """Keyframes written ``[["<n>s", value, interp], ...]``."""
        raw = self.d.get(key) or []
        if isinstance(raw, (str, bytes)) or not hasattr(raw, "__iter__"):
            raise self.bad(key, "a list of keyframes")
        out = []
        for k in raw:
            k = list(k) if hasattr(k, "__iter__") and not isinstance(k, (str, bytes)) else []
            if len(k) not in (2, 3) or isinstance(k[1], bool) or not isinstance(k[1], (int, float)) \
                    or not math.isfinite(k[1]) or (len(k) == 3 and k[2] not in ("hold", "linear", "exp")):
                raise self.bad(key, "a list of [\"<samples>s\", value, interp] keyframes")
            out.append(Key(t=Fraction(self.samples(key, k[0]), sr) + offset, v=float(k[1]),
                           interp=k[2] if len(k) > 2 else "linear"))
        return out


def auto_ir(meta: Meta, sr: int) -> AutoIR | None:
    """mixdown's auto layer from OTIO metadata (written by :func:`_auto_meta`), each value checked."""
    if not meta.d.get("auto"):
        return None
    raw = meta.mapping("auto")
    edited = raw.d.get("edited") or []
    if isinstance(edited, (str, bytes)) or not hasattr(edited, "__iter__") or \
            not all(isinstance(e, str) for e in edited):
        raise raw.bad("edited", "a list of value names")
    return AutoIR(gain_db=raw.number("gain_db", 0.0), gain_keys=raw.mapping("automation").keys("gain_db", sr),
                  edited=list(edited))


def auto_meta(session: Session, layer: Any, shift: int = 0) -> dict[str, Any] | None:
    """An auto layer as OTIO metadata: kept apart from the hand levels, so a round trip keeps it auto's."""
    out: dict[str, Any] = {}
    if layer.gain_db:
        out["gain_db"] = layer.gain_db
    if layer.automation.get("gain_db"):
        out["automation"] = {"gain_db": [keyframe_meta(session, kf, shift) for kf in layer.automation["gain_db"]]}
    if layer.edited:
        out["edited"] = list(layer.edited)
    return out or None


def keyframe_meta(session: Session, kf, shift: int = 0) -> list:
    t = session.timebase.samples(kf.t) + shift
    return [f"{t}s", kf.v] if kf.interp == "linear" else [f"{t}s", kf.v, kf.interp]
