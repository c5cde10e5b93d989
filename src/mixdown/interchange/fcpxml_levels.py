"""FCPXML levels: ``adjust-volume`` (amount, keyframes linear in dB, fades) and ``adjust-panner``.

An element's own volume, fades and pan are a :class:`Layer`; a clip inside
compound, synchronized or multicam clips hears the sum of its containers' layers,
which :func:`apply_layers` makes into the clip's gain, keyframes, pan and fades.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import TimelineError, shown
from .ir import ClipIR, FadeIR, Key
from .report import ImportReport
from .timing import ftime
from .xmlutil import number

_DB = re.compile(r"^\s*(-?(?:\d+(?:\.\d*)?|\.\d+)|-?inf)\s*(dB)?\s*$", re.I)


def parse_db(text: str | None) -> float | None:
    """``"-6dB"`` -> -6.0; ``"-inf"`` -> -144."""
    if text is None:
        return None
    m = _DB.match(text)
    if not m:
        raise TimelineError(f"volume {shown(text)} is not a level in dB (like -6dB)")
    v = m.group(1).lower()
    if "inf" in v:
        return -144.0
    db = float(v)
    if not math.isfinite(db):
        raise TimelineError(f"volume {shown(text)} is not a finite level")
    return max(db, -144.0)


@dataclass
class Layer:
    """The level an enclosing element (or the clip itself) applies, in timeline seconds."""

    db: float = 0.0
    keys: list[tuple[Fraction, float]] = field(default_factory=list)  # (timeline seconds, dB)
    pan: float | None = None
    pan_keys: list[tuple[Fraction, float]] = field(default_factory=list)
    fade_in: tuple[Fraction, str] | None = None
    fade_out: tuple[Fraction, str] | None = None
    start: Fraction = Fraction(0)  # timeline range the fades sit at the edges of
    end: Fraction = Fraction(0)


def interp_db(keys: list[tuple[Fraction, float]], t: Fraction) -> float:
    """Value at ``t`` of keyframes linear in dB (constant outside)."""
    if t <= keys[0][0]:
        return keys[0][1]
    if t >= keys[-1][0]:
        return keys[-1][1]
    for (t0, v0), (t1, v1) in zip(keys, keys[1:]):
        if t0 <= t <= t1:
            if t1 == t0:
                return v1
            return v0 + (v1 - v0) * float((t - t0) / (t1 - t0))
    return keys[-1][1]


def read_layer(el: ET.Element, local_shift: Fraction, t0: Fraction, t1: Fraction, where: str,
               report: ImportReport) -> Layer | None:
    """Volume, fades and pan an element applies (its own ``adjust-volume``/``adjust-panner``)."""
    vol = el.find("adjust-volume")
    pan = el.find("adjust-panner")
    if vol is None and pan is None:
        return None
    lay = Layer(start=t0, end=t1)
    if vol is not None:
        lay.db = parse_db(vol.get("amount")) or 0.0
        for p in vol.findall("param"):
            if p.get("name") != "amount":
                continue
            if p.get("value") is not None:
                lay.db = parse_db(p.get("value")) or 0.0
            for k in p.findall("keyframeAnimation/keyframe"):
                v = parse_db(k.get("value"))
                t = ftime(k.get("time"))
                if v is None or t is None:
                    continue
                lay.keys.append((t + local_shift, v))
                if k.get("interp") not in (None, "linear") or k.get("curve") == "smooth":
                    report.add("approximated", "keyframes",
                               f"eased volume keyframe ({k.get('interp') or k.get('curve')}) read as linear", where)
            fi, fo = p.find("fadeIn"), p.find("fadeOut")
            if fi is not None:
                lay.fade_in = (ftime(fi.get("duration"), Fraction(0)), fade_shape(fi.get("type", "easeOut")))
            if fo is not None:
                lay.fade_out = (ftime(fo.get("duration"), Fraction(0)), fade_shape(fo.get("type", "easeOut")))
        lay.keys.sort(key=lambda kv: kv[0])
    if pan is not None:
        mode = pan.get("mode")
        lay.pan = max(-1.0, min(1.0, number(pan.get("amount"), "pan amount", 0.0) / 100.0))
        for p in pan.findall("param"):
            if p.get("name") == "amount":
                for k in p.findall("keyframeAnimation/keyframe"):
                    t = ftime(k.get("time"))
                    v = max(-1.0, min(1.0, number(k.get("value"), "pan keyframe value", 0.0) / 100.0))
                    lay.pan_keys.append((t + local_shift, v))
        if mode not in (None, "", "0", "stereo", "stereo left/right", "1"):
            report.add("approximated", "pan", f"panner mode {mode!r} read as stereo left/right", where)
    return lay


def apply_layers(clip: ClipIR, layers: list[Layer], where: str, report: ImportReport) -> None:
    """Sum the levels of the clip and its containers; fades sit at the edges they were set on."""
    if not layers:
        return
    keyed = [l for l in layers if l.keys]
    clip.gain_db = sum(l.db for l in layers if not l.keys)
    if len(keyed) == 1:
        clip.gain_keys = [Key(t=t - clip.start, v=v, interp="exp") for t, v in keyed[0].keys]
    elif keyed:
        # keyframes linear in dB sum to keyframes linear in dB at the union of their times
        times = sorted({t for l in keyed for t, _ in l.keys})
        clip.gain_keys = [Key(t=t - clip.start, v=sum(interp_db(l.keys, t) for l in keyed), interp="exp")
                          for t in times]
        report.add("info", "levels", "volume keyframes of a clip and its container were summed", where)
    for l in reversed(layers):  # the innermost pan wins
        if l.pan is not None or l.pan_keys:
            clip.pan = l.pan
            clip.pan_keys = [Key(t=t - clip.start, v=v) for t, v in l.pan_keys]
            break
    for l in layers:
        if l.fade_in and l.fade_in[0] > 0 and l.start == clip.start:
            clip.fade_in = FadeIR(l.fade_in[0], l.fade_in[1])
        if l.fade_out and l.fade_out[0] > 0 and l.end == clip.end:
            clip.fade_out = FadeIR(l.fade_out[0], l.fade_out[1])


def fade_shape(kind: str) -> str:
    """Session fade shape of an FCPXML fade type."""
    # Final Cut's fade shapes: linear, S-curve (easeInOut), +3 dB (easeOut, the default), -3 dB (easeIn)
    return {"linear": "linear", "easeInOut": "s-curve", "easeOut": "equal-power", "easeIn": "log"}.get(kind,
                                                                                                      "equal-power")


def fade_type(shape: str) -> str:
    """FCPXML fade type of a session fade shape."""
    return {"linear": "linear", "s-curve": "easeInOut", "equal-power": "easeOut", "log": "easeIn"}[shape]
