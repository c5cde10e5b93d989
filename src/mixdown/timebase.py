"""The integer sample clock, and the conversions at its edges.

Inside the engine every time is an ``int`` count of samples at the session rate.
People write times as seconds, ``HH:MM:SS.mmm``, SMPTE timecode ``HH:MM:SS:FF``
(drop-frame ``HH:MM:SS;FF`` at 29.97/59.94) or ``123456s`` (samples); they are
converted here, once, with exact rational arithmetic so nothing drifts over an hour.

Timecode names a *position on the session's timecode clock* when it is used as a
timeline position (the session's ``start_timecode`` is subtracted), and a frame count
when it is used as a duration. Every other notation is a plain offset from zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .errors import SessionError

TimeValue = int | float | str

_SAMPLES = re.compile(r"^\s*(-?\d+)\s*s\s*$")
_CLOCK = re.compile(r"^\s*(-?)(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")
_TC = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$")
_NUMBER = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")

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
    if isinstance(value, Fraction):
        rate = value
    else:
        text = str(value).strip()
        if text in _NAMED_RATES:
            rate = _NAMED_RATES[text]
        else:
            try:
                rate = Fraction(text)
            except (ValueError, ZeroDivisionError):
                raise SessionError(f"frame rate {value!r} is not a number or a ratio like 30000/1001") from None
            for named in _NAMED_RATES.values():
                if abs(rate - named) < Fraction(1, 200) and rate.denominator != 1:
                    rate = named
    if rate <= 0:
        raise SessionError(f"frame rate {value!r} must be positive")
    return rate


def check_time_syntax(value: TimeValue) -> TimeValue:
    """Raise ``ValueError`` unless ``value`` is written in one of the accepted notations."""
    if isinstance(value, bool):
        raise ValueError("a time cannot be true/false")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a time must be finite")
        return value
    if isinstance(value, str):
        if _SAMPLES.match(value) or _NUMBER.match(value) or _TC.match(value) or _CLOCK.match(value):
            return value
    raise ValueError(
        f"{value!r} is not a time: use seconds (1.5), HH:MM:SS.mmm, timecode HH:MM:SS:FF "
        "(HH:MM:SS;FF drop-frame) or samples (123456s)"
    )


def tc_to_frames(hh: int, mm: int, ss: int, ff: int, rate: Fraction, drop: bool) -> int:
    """Frame number of a timecode label (SMPTE 12M drop-frame counting when ``drop``)."""
    nominal = round(rate)
    if ff >= nominal:
        raise SessionError(f"frame {ff:02d} does not exist at {float(rate):g} fps")
    if not drop:
        return (hh * 3600 + mm * 60 + ss) * nominal + ff
    if nominal not in (30, 60):
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
    """

    sample_rate: int = 48000
    frame_rate: Fraction = Fraction(25)
    drop_frame: bool = False
    start_frames: int = 0

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
        """
        if isinstance(value, bool):
            raise SessionError("a time cannot be true/false")
        if isinstance(value, (int, float)):
            # str() of a float is its shortest round-trip decimal, so 0.1 means 1/10 s.
            return self.seconds_to_samples(Fraction(str(value)))
        m = _SAMPLES.match(value)
        if m:
            return int(m.group(1))
        if _NUMBER.match(value):
            return self.seconds_to_samples(Fraction(value.strip()))
        m = _TC.match(value)
        if m:
            hh, mm, ss, sep, ff = m.groups()
            if sep in ".,":
                # HH:MM:SS.mmm (three digits) is clock time; two digits after '.' read as frames
                # would be ambiguous, so only ':' and ';' mean frames.
                secs = int(hh) * 3600 + int(mm) * 60 + int(ss)
                return self.seconds_to_samples(Fraction(secs) + Fraction(f"0.{ff}"))
            drop = sep == ";"
            if drop and not self.drop_frame and round(self.frame_rate) not in (30, 60):
                raise SessionError(f"{value!r} is drop-frame timecode but the session runs at {float(self.frame_rate):g} fps")
            frames = tc_to_frames(int(hh), int(mm), int(ss), int(ff), self.frame_rate, drop)
            if position:
                frames -= self.start_frames
            return self.frames_to_samples(frames)
        m = _CLOCK.match(value)
        if m:
            neg, hh, mm, ss = m.groups()
            secs = Fraction(int(hh or 0) * 3600 + int(mm) * 60) + Fraction(ss)
            return self.seconds_to_samples(-secs if neg else secs)
        raise SessionError(check_time_syntax.__doc__ or "bad time")  # pragma: no cover - syntax is pre-checked

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
    ) -> "Timebase":
        """Build the timebase from a session's header fields."""
        rate = parse_rate(frame_rate)
        start = 0
        if start_timecode:
            m = _TC.match(start_timecode)
            if not m or m.group(4) not in ":;":
                raise SessionError(f"start_timecode {start_timecode!r} is not HH:MM:SS:FF or HH:MM:SS;FF")
            hh, mm, ss, sep, ff = m.groups()
            start = tc_to_frames(int(hh), int(mm), int(ss), int(ff), rate, drop_frame or sep == ";")
        return cls(sample_rate=int(sample_rate), frame_rate=rate, drop_frame=drop_frame, start_frames=start)
