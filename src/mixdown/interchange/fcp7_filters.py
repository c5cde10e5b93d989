"""FCP7 XML clip filters: "Audio Levels" (linear gain and keyframes), "Audio Pan", Time Remap, and the level units.

The "Audio Levels" filter's ``level`` is a *linear gain* (1 = 0 dB, Premiere's
maximum 3.98109 = +12 dB); between keyframes the gain moves linearly, which is
the session's ``linear`` interpolation of a dB parameter. "Audio Pan" (-1..1 by
default) is read per clip.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from fractions import Fraction

from .ir import ClipIR, Key
from .report import ImportReport
from .xmlutil import child_text, exact, flag, number

TICKS_PER_SECOND = 254016000000  # Premiere's pproTicks
LEVEL_MAX = 3.98109  # Premiere's and FCP7's +12 dB


def level_to_db(level: float) -> float:
    """dB of an FCP7/Premiere "Audio Levels" linear gain (0 -> -144)."""
    return 20.0 * math.log10(level) if level > 0 else -144.0


def db_to_level(db: float) -> float:
    """Linear gain of a dB value (-144 and below -> 0)."""
    return 0.0 if db <= -144.0 else 10.0 ** (db / 20.0)


def read_speed(el: ET.Element) -> float | None:
    """The speed (percent) a clip item's Time Remap filter sets, if it has one."""
    for f in el.findall("filter"):
        eid = (child_text(f, "effect/effectid") or child_text(f, "effect/name") or "").lower()
        if eid in ("timeremap", "time remap"):
            for p in f.findall("effect/parameter"):
                if (child_text(p, "parameterid") or "").lower() == "speed":
                    return number(child_text(p, "value") or "100", "<value>")
    return None


def report_other_filters(el: ET.Element, name: str, where: str, report: ImportReport) -> None:
    """Report every audio filter of a clip item other than levels, pan and speed as not imported."""
    for f in el.findall("filter"):
        eff = f.find("effect")
        eid = (child_text(eff, "effectid") or "").lower()
        ename = child_text(eff, "name") or eid or "?"
        if eid in ("audiolevels", "audiopan", "timeremap") or ename.lower() in ("audio levels", "audio pan", "time remap"):
            continue
        if (child_text(eff, "mediatype") or "audio").lower() == "video":
            continue
        report.add("dropped", "effect", f"audio effect {ename!r} on {name!r} is not imported", where)


def read_levels(el: ET.Element, ir: ClipIR, crate: Fraction, cin: int, where: str, report: ImportReport) -> None:
    """Clip gain, level keyframes and pan of a clip item's filters onto ``ir``.

    Keyframe ``when`` values are media frames at ``crate``, so a key's time in the
    clip is ``(when - cin) / crate``.
    """
    keyed = 0
    for f in el.findall("filter"):
        if not flag(child_text(f, "enabled"), True):
            report.add("info", "effect", f"a disabled filter on {ir.name!r} was ignored", where)
            continue
        eff = f.find("effect")
        eid = ((child_text(eff, "effectid") or "") + "|" + (child_text(eff, "name") or "")).lower()
        if "audiolevels" in eid or "audio levels" in eid:
            for p in eff.findall("parameter") if eff is not None else []:
                if (child_text(p, "parameterid") or child_text(p, "name") or "").lower() != "level":
                    continue
                kfs = p.findall("keyframe")
                if kfs:
                    keyed += 1
                    keys = []
                    for k in kfs:
                        when, val = child_text(k, "when"), child_text(k, "value")
                        if when is None or val is None:
                            continue
                        keys.append(Key(t=(exact(when, "<when>") - cin) / crate,
                                        v=level_to_db(number(val, "<value>"))))
                    if keyed > 1 and ir.gain_keys:
                        report.add("approximated", "levels",
                                   f"{ir.name!r} has several keyframed level filters; only the first is used", where)
                    else:
                        ir.gain_keys = sorted(keys, key=lambda k: k.t)
                else:
                    val = child_text(p, "value")
                    if val is not None:
                        ir.gain_db += level_to_db(number(val, "<value>"))
        elif "audiopan" in eid or "audio pan" in eid:
            for p in eff.findall("parameter") if eff is not None else []:
                if (child_text(p, "parameterid") or child_text(p, "name") or "").lower() != "pan":
                    continue
                lo = number(child_text(p, "valuemin") or "-1", "<valuemin>")
                hi = number(child_text(p, "valuemax") or "1", "<valuemax>")

                def norm(v: float) -> float:
                    return max(-1.0, min(1.0, -1.0 + 2.0 * (v - lo) / (hi - lo))) if hi > lo else 0.0

                kfs = p.findall("keyframe")
                if kfs:
                    ir.pan_keys = sorted(
                        (Key(t=(exact(child_text(k, "when") or "0", "<when>") - cin) / crate,
                             v=norm(number(child_text(k, "value") or "0", "<value>"))) for k in kfs), key=lambda k: k.t)
                else:
                    ir.pan = norm(number(child_text(p, "value") or "0", "<value>"))
        elif "gain" == (child_text(eff, "name") or "").strip().lower():
            for p in eff.findall("parameter") if eff is not None else []:
                val = number(child_text(p, "value") or "0", "<value>")
                ir.gain_db += val
                report.add("approximated", "gain filter",
                           f"'Gain' filter on {ir.name!r} read as {val:+g} dB clip gain", where)
                break
