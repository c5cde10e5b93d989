"""The integer sample clock, and the conversions at its edges.

Inside the engine every time is an ``int`` count of samples at the session rate.
People write times as seconds, ``HH:MM:SS.mmm``, SMPTE timecode ``HH:MM:SS:FF``
(drop-frame ``HH:MM:SS;FF`` at 29.97/59.94) or ``123456s`` (samples); they are
converted here, once, with exact rational arithmetic so nothing drifts over an hour.

Every time is bounded: a programme (and so any time in a session) is at most
:func:`max_programme_seconds` long — 48 hours unless the ``MIXDOWN_MAX_HOURS``
environment variable raises it. The limit belongs to whoever runs mixdown, not to
the session, so a session from an untrusted source cannot make a render run until
the disk is full.

Timecode names a *position on the session's timecode clock* when it is used as a
timeline position (the session's ``start_timecode`` is subtracted), and a frame count
when it is used as a duration. Every other notation is a plain offset from zero.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .errors import MixdownError, SessionError, shown

TimeValue = int | float | str

_SAMPLES = re.compile(r"^\s*(-?\d+)\s*s\s*$")
_CLOCK = re.compile(r"^\s*(-?)(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")
_TC = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$")
_NUMBER = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_RATE = re.compile(r"^\s*(\d{1,7}(\.\d{1,20})?([eE][-+]?\d{1,2})?|\d{1,9}/\d{1,9})\s*$")

MAX_HOURS_ENV = "MIXDOWN_MAX_HOURS"
DEFAULT_MAX_HOURS = 48
#: Longest time string read; a longer one is not a time anyone writes (and bounds the parsing work).
MAX_TIME_CHARS = 64
#: Frame rates accepted: from one frame a second to one a sample (timelines timed in samples).
MIN_FRAME_RATE, MAX_FRAME_RATE = Fraction(1), Fraction(384000)
#: The exact rates at which SMPTE drop-frame timecode exists.
DROP_FRAME_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))

_NAMED_RATES = {
    "23.976": Fraction(24000, 1001),
    "23.98": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.952": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
    "119.88": Fraction(120000, 1001),
}


def parse_rate(value: int | float | str | Fraction) -> Fraction:
    """Parse a frame rate: ``25``, ``"30000/1001"``, ``29.97`` (read as 30000/1001).

    Returns
    -------
    Fraction
        Frames per second, exact.
    """
    if isinstance(value, bool):
        raise SessionError(f"frame rate {shown(value)} is not a number or a ratio like 30000/1001")
    if isinstance(value, Fraction):
        rate = value
    else:
        if isinstance(value, float) and not math.isfinite(value):
            raise SessionError(f"frame rate {value!r} is not a finite number")
        text = str(value).strip()
        if text in _NAMED_RATES:
            rate = _NAMED_RATES[text]
        else:
            # the pattern bounds the digits, so Fraction() never builds a huge number
            if not isinstance(value, (int, float, str)) or not _RATE.match(text):
                raise SessionError(f"frame rate {shown(value)} is not a number or a ratio like 30000/1001")
            try:
                rate = Fraction(text)
            except ZeroDivisionError:
                raise SessionError(f"frame rate {value!r} divides by zero") from None
            for named in _NAMED_RATES.values():
                if abs(rate - named) < Fraction(1, 200) and rate.denominator != 1:
                    rate = named
    if not MIN_FRAME_RATE <= rate <= MAX_FRAME_RATE:
        raise SessionError(
            f"frame rate {shown(value)} must be between {MIN_FRAME_RATE} and {MAX_FRAME_RATE} frames per second"
        )
    return rate


def max_programme_seconds() -> Fraction:
    """The longest programme (and so the largest time) a session may describe, in seconds.

    48 hours, unless the ``MIXDOWN_MAX_HOURS`` environment variable says otherwise
    (a positive number of hours, e.g. ``MIXDOWN_MAX_HOURS=100``).

    Raises
    ------
    MixdownError
        When ``MIXDOWN_MAX_HOURS`` is set to something that is not a positive number.
    """
    raw = os.environ.get(MAX_HOURS_ENV, "").strip()
    if not raw:
        return Fraction(DEFAULT_MAX_HOURS * 3600)
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not (math.isfinite(hours) and 0 < hours <= 1_000_000):
        raise MixdownError(f"{MAX_HOURS_ENV}={raw!r}: must be a number of hours between 0 and 1000000")
    return Fraction(raw) * 3600


def _hours(seconds: Fraction) -> str:
    return f"{float(seconds) / 3600:g} h"


def _check_fields(value: str) -> None:
    """Range rules of clock time and timecode fields that need no frame rate."""
    m = _TC.match(value)
    if m:
        hh, mm, ss, sep, _ = m.groups()
        if sep in ":;" and int(hh) > 23:
            raise ValueError(f"{value!r}: timecode hours run from 00 to 23")
    else:
        m = _CLOCK.match(value)
        if not m:
            return
        _, hh, mm, ss = m.groups()
        if hh is None and len(mm) > 2:  # pragma: no cover - the pattern allows two digits
            raise ValueError(f"{value!r}: minutes must be below 60")
    if int(mm) > 59:
        raise ValueError(f"{value!r}: minutes must be below 60 (write hours as HH:MM:SS)")
    if Fraction(ss) >= 60:
        raise ValueError(f"{value!r}: seconds must be below 60")


TIME_NOTATIONS = ("seconds (1.5), HH:MM:SS.mmm, timecode HH:MM:SS:FF (HH:MM:SS;FF drop-frame) "
                  "or samples (123456s)")


def check_time_syntax(value: TimeValue) -> TimeValue:
    """Raise ``ValueError`` unless ``value`` is written in one of the accepted notations.

    Checks what needs no session: the notation, finiteness, and the ranges of clock
    and timecode fields (minutes and seconds below 60, timecode hours below 24).
    Frames against the frame rate, and every time against the longest programme,
    are checked when the time is converted (:meth:`Timebase.samples`).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time (a time cannot be true/false): use {TIME_NOTATIONS}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a time must be finite")
        return value
    if isinstance(value, str):
        if len(value) > MAX_TIME_CHARS:
            raise ValueError(f"a time is at most {MAX_TIME_CHARS} characters: use {TIME_NOTATIONS}")
        if _SAMPLES.match(value) or _NUMBER.match(value):
            return value
        if _TC.match(value) or _CLOCK.match(value):
            _check_fields(value)
            return value
        shown = repr(value)
    else:
        shown = f"a {_kind(value)}"
    raise ValueError(f"{shown} is not a time: use {TIME_NOTATIONS}")


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    if value is None:
        return "null (empty) value"
    return type(value).__name__


def tc_to_frames(hh: int, mm: int, ss: int, ff: int, rate: Fraction, drop: bool) -> int:
    """Frame number of a timecode label (SMPTE 12M drop-frame counting when ``drop``)."""
    nominal = round(rate)
    if nominal < 1:
        raise SessionError(f"timecode needs a frame rate of at least 1 fps, not {float(rate):g}")
    if mm > 59 or ss > 59:
        raise SessionError(f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}: minutes and seconds of a timecode run from 00 to 59")
    if ff >= nominal:
        raise SessionError(
            f"frame {ff:02d} does not exist at {float(rate):g} fps (frames run from 00 to {nominal - 1:02d})"
        )
    if not drop:
        return (hh * 3600 + mm * 60 + ss) * nominal + ff
    if rate not in DROP_FRAME_RATES:
        raise SessionError(f"drop-frame timecode exists only at 29.97 and 59.94 fps, not {float(rate):g}")
    dropped = 2 * (nominal // 30)
    if ss == 0 and ff < dropped and mm % 10 != 0:
        raise SessionError(f"{hh:02d}:{mm:02d}:{ss:02d};{ff:02d} is a dropped label in drop-frame timecode")
    total_minutes = hh * 60 + mm
    return (
        (hh * 3600 + mm * 60 + ss) * nominal + ff - dropped * (total_minutes - total_minutes // 10)
    )


def frames_to_tc(frames: int, rate: Fraction, drop: bool) -> str:
    """Timecode label of a frame number; ``;`` separates frames in drop-frame."""
    nominal = round(rate)
    if nominal < 1:
        raise SessionError(f"timecode needs a frame rate of at least 1 fps, not {float(rate):g}")
    if drop:
        dropped = 2 * (nominal // 30)
        per_10min = nominal * 600 - dropped * 9
        per_min = nominal * 60 - dropped
        tens, rem = divmod(frames, per_10min)
        if rem > dropped:
            frames += dropped * 9 * tens + dropped * ((rem - dropped) // per_min)
        else:
            frames += dropped * 9 * tens
    ff = frames % nominal
    ss = (frames // nominal) % 60
    mm = (frames // (nominal * 60)) % 60
    hh = frames // (nominal * 3600)
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"


@dataclass(frozen=True)
class Timebase:
    """Converts people's times to the integer sample clock of one session.

    Parameters
    ----------
    sample_rate : int
        Session sample rate, Hz.
    frame_rate : Fraction
        Video frame rate, frames per second (exact).
    drop_frame : bool
        Whether ``HH:MM:SS;FF`` labels count in drop-frame.
    start_frames : int
        The session's start timecode as a frame number; subtracted from timecode
        used as a timeline position.
    max_seconds : Fraction
        Largest time accepted (either sign), seconds: :func:`max_programme_seconds`.
    """

    sample_rate: int = 48000
    frame_rate: Fraction = Fraction(25)
    drop_frame: bool = False
    start_frames: int = 0
    max_seconds: Fraction = Fraction(DEFAULT_MAX_HOURS * 3600)

    def seconds_to_samples(self, seconds: Fraction | float | int) -> int:
        """Nearest sample to a time in seconds (ties round half to even)."""
        return round(Fraction(seconds) * self.sample_rate)

    def frames_to_samples(self, frames: int) -> int:
        """Nearest sample to the start of video frame ``frames``."""
        return round(Fraction(frames) * self.sample_rate / self.frame_rate)

    def samples(self, value: TimeValue, *, position: bool = False) -> int:
        """Convert a time as written to samples.

        Parameters
        ----------
        value : int, float or str
            The time in any accepted notation.
        position : bool
            If true, timecode is read as a position on the session's timecode clock
            (the start timecode is subtracted); otherwise as a duration.

        Returns
        -------
        int
            Samples at ``sample_rate``. May be negative; callers check ranges.

        Raises
        ------
        SessionError
            For a time that is not valid here (a frame the rate does not have,
            drop-frame at a rate without it) or longer than :attr:`max_seconds`.
        """
        n = self._samples(value, position=position)
        if n < -self.max_seconds * self.sample_rate:
            raise SessionError(f"time {shown(value)} is negative")
        if n > self.max_seconds * self.sample_rate:
            raise SessionError(
                f"{shown(value)} is more than {_hours(self.max_seconds)}, the longest programme mixdown accepts "
                f"(set {MAX_HOURS_ENV}=HOURS to raise the limit)")
        return n

    def _samples(self, value: TimeValue, *, position: bool) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SessionError(f"{value!r} is not a time: use {TIME_NOTATIONS}")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise SessionError("a time must be finite")
            if abs(value) > self.max_seconds:  # only to be refused by the caller (value * rate may overflow)
                return (1 if value > 0 else -1) * (int(self.max_seconds * self.sample_rate) + 1)
            # str() of a float is its shortest round-trip decimal, so 0.1 means 1/10 s.
            return self.seconds_to_samples(Fraction(str(value)))
        if isinstance(value, int):
            return self.seconds_to_samples(value)
        if len(value) > MAX_TIME_CHARS:
            raise SessionError(f"a time is at most {MAX_TIME_CHARS} characters: use {TIME_NOTATIONS}")
        m = _SAMPLES.match(value)
        if m:
            return int(m.group(1))
        if _NUMBER.match(value):
            return self.seconds_to_samples(_decimal_seconds(value, self.max_seconds))
        m = _TC.match(value)
        if m:
            try:
                _check_fields(value)
            except ValueError as exc:
                raise SessionError(str(exc)) from None
            hh, mm, ss, sep, ff = m.groups()
            if sep in ".,":
                # HH:MM:SS.mmm (three digits) is clock time; two digits after '.' read as frames
                # would be ambiguous, so only ':' and ';' mean frames.
                secs = int(hh) * 3600 + int(mm) * 60 + int(ss)
                return self.seconds_to_samples(Fraction(secs) + Fraction(f"0.{ff}"))
            drop = sep == ";"
            if drop and self.frame_rate not in DROP_FRAME_RATES:
                raise SessionError(f"{value!r} is drop-frame timecode (';'), which exists only at 29.97 and 59.94 fps; "
                                   f"the session runs at {float(self.frame_rate):g} fps")
            frames = tc_to_frames(int(hh), int(mm), int(ss), int(ff), self.frame_rate, drop)
            if position:
                frames -= self.start_frames
            return self.frames_to_samples(frames)
        m = _CLOCK.match(value)
        if m:
            try:
                _check_fields(value)
            except ValueError as exc:
                raise SessionError(str(exc)) from None
            neg, hh, mm, ss = m.groups()
            clock = Fraction(int(hh or 0) * 3600 + int(mm) * 60) + Fraction(ss)
            return self.seconds_to_samples(-clock if neg else clock)
        raise SessionError(f"{value!r} is not a time: use {TIME_NOTATIONS}")

    def to_seconds(self, samples: int) -> float:
        """Seconds of a sample count, as the shortest float that converts back exactly."""
        return samples / self.sample_rate

    def timecode(self, samples: int) -> str:
        """Timecode label of a timeline position (floor to the frame)."""
        frames = int(Fraction(samples) * self.frame_rate // self.sample_rate) + self.start_frames
        return frames_to_tc(frames, self.frame_rate, self.drop_frame)

    @classmethod
    def from_session_fields(
        cls, sample_rate: int, frame_rate: int | float | str, drop_frame: bool, start_timecode: str | None
    ) -> Timebase:
        """Build the timebase from a session's header fields.

        Raises
        ------
        SessionError
            For a frame rate, drop-frame flag or start timecode that is not valid
            (the location is the caller's to add).
        """
        rate = parse_rate(frame_rate)
        if drop_frame and rate not in DROP_FRAME_RATES:
            raise SessionError(f"drop-frame timecode exists only at 29.97 and 59.94 fps, not at {float(rate):g} fps "
                               "(set drop_frame: false)")
        start = 0
        if start_timecode:
            m = _TC.match(start_timecode)
            if not m or m.group(4) not in ":;":
                raise SessionError(f"{start_timecode!r} is not timecode HH:MM:SS:FF or HH:MM:SS;FF")
            try:
                _check_fields(start_timecode)
            except ValueError as exc:
                raise SessionError(str(exc)) from None
            hh, mm, ss, sep, ff = m.groups()
            start = tc_to_frames(int(hh), int(mm), int(ss), int(ff), rate, drop_frame or sep == ";")
        return cls(sample_rate=int(sample_rate), frame_rate=rate, drop_frame=drop_frame, start_frames=start,
                   max_seconds=max_programme_seconds())


def _decimal_seconds(text: str, limit: Fraction) -> Fraction:
    """Seconds of a decimal string, exactly, without ever building a huge number.

    ``Fraction("1e999999999")`` would compute ten to that power; the exponent is
    looked at first, and times far beyond ``limit`` (or far below a sample) are
    settled without it.
    """
    d = Decimal(text.strip())
    if d.is_zero():
        return Fraction(0)
    exp = d.adjusted()
    if exp > len(str(int(limit))) + 1:
        return Fraction(limit * 2) * (1 if d > 0 else -1)  # refused by the caller
    if exp < -40:
        return Fraction(0)  # below 1e-40 s: no sample rate resolves it
    return Fraction(d)
