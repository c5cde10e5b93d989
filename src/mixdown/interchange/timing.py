"""Exact times and rates of the timeline formats: rate text, FCPXML rational times, OTIO float times as Fractions."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from ..errors import TimelineError, shown
from ..timebase import parse_rate

# rationals and decimals with bounded digits: Fraction("1e999999999") would build ten to that power
_TIME = re.compile(r"^-?(\d{1,20}(/\d{1,20})?|\d{0,20}\.\d{1,20})$")


def rate_text(rate: Fraction) -> str:
    """Session ``frame_rate`` text of an exact rate: ``"25"``, ``"30000/1001"``."""
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def ftime(text: str | None, default: Fraction | None = None) -> Fraction | None:
    """An FCPXML time (``"1001/30000s"``, ``"5s"``) in exact seconds."""
    if text is None or text == "":
        return default
    t = text.strip()
    if t.endswith("s"):
        t = t[:-1]
    if not _TIME.match(t):
        raise TimelineError(f"{shown(text)} is not an FCPXML time (like 1001/30000s or 5s)")
    try:
        return Fraction(t)
    except ZeroDivisionError:
        raise TimelineError(f"{shown(text)} is not an FCPXML time (it divides by zero)") from None


def fmt_time(seconds: Fraction) -> str:
    """Exact FCPXML time text of a Fraction of seconds."""
    f = Fraction(seconds)
    return f"{f.numerator}s" if f.denominator == 1 else f"{f.numerator}/{f.denominator}s"


def exact_rate(r: float) -> Fraction:
    """A frame rate written as a float (29.97002997...), as its exact ratio (30000/1001)."""
    if not math.isfinite(r):
        raise TimelineError(f"the frame rate {r!r} is not a finite number")
    return parse_rate(Fraction(str(float(r))).limit_denominator(1_000_000) if float(r) != int(r) else int(r))


def exact_scale(r: float) -> Fraction:
    """The time scale of an OTIO RationalTime (frames, samples or any unit per second), exactly."""
    scale = Fraction(str(float(r))).limit_denominator(1_000_000) if math.isfinite(r) and r > 0 and r != int(r) \
        else Fraction(int(r)) if math.isfinite(r) else Fraction(0)
    if scale <= 0:
        raise TimelineError(f"a time has the rate {r!r}, which is not a positive number")
    return scale


def seconds(rt: Any) -> Fraction:
    """Exact seconds of an OTIO RationalTime."""
    rate = exact_scale(rt.rate)
    if not math.isfinite(rt.value):
        raise TimelineError(f"a time has the value {rt.value!r}, which is not a finite number")
    return Fraction(str(rt.value)) / rate if rt.value != int(rt.value) else Fraction(int(rt.value)) / rate
