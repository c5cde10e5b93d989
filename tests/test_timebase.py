"""Time notations convert exactly to the sample clock (analytic expectations)."""

from fractions import Fraction

import pytest

from mixdown.errors import SessionError
from mixdown.timebase import Timebase, check_time_syntax, frames_to_tc, parse_rate, tc_to_frames


def tb(**kw):
    return Timebase.from_session_fields(kw.pop("sample_rate", 48000), kw.pop("frame_rate", 25),
                                        kw.pop("drop_frame", False), kw.pop("start_timecode", None))


@pytest.mark.parametrize("value,expected", [
    (1.5, 72000), (0, 0), (0.1, 4800), ("2.25", 108000), ("00:00:01.500", 72000),
    ("01:00.250", 2_892_000), ("123456s", 123456), ("00:00:01:12", 48000 + 12 * 1920),
])
def test_notations_at_25fps(value, expected):
    assert tb().samples(value) == expected


def test_rates():
    assert parse_rate("29.97") == Fraction(30000, 1001)
    assert parse_rate(23.976) == Fraction(24000, 1001)
    assert parse_rate("24000/1001") == Fraction(24000, 1001)
    assert parse_rate(25) == 25
    with pytest.raises(SessionError):
        parse_rate("fast")


def test_drop_frame_counting_matches_smpte():
    r = Fraction(30000, 1001)
    # 00:01:00;02 is the first label after the two dropped at minute 1
    assert tc_to_frames(0, 1, 0, 2, r, True) == 1800
    assert tc_to_frames(0, 10, 0, 0, r, True) == 17982  # ten minutes hold 17982 frames
    assert tc_to_frames(1, 0, 0, 0, r, True) == 107892  # one hour of 29.97 DF
    with pytest.raises(SessionError):
        tc_to_frames(0, 1, 0, 0, r, True)  # a dropped label
    for f in (0, 1799, 1800, 17981, 17982, 107891, 107892, 215784 + 3):
        h, m, rest = frames_to_tc(f, r, True).split(":")
        s, ff = rest.split(";")
        assert tc_to_frames(int(h), int(m), int(s), int(ff), r, True) == f


def test_one_hour_of_drop_frame_is_one_hour_of_samples_within_a_frame():
    t = tb(frame_rate="29.97", drop_frame=True)
    n = t.samples("01:00:00;00")
    # DF timecode tracks wall-clock time: one hour of labels falls 3.6 ms short of 3600 s
    assert 3600 * 48000 - n == pytest.approx(0.0036 * 48000, abs=1)
    assert n == round(Fraction(107892 * 48000 * 1001, 30000))


def test_positions_subtract_start_timecode():
    t = tb(frame_rate=25, start_timecode="01:00:00:00")
    assert t.samples("01:00:10:00", position=True) == 480000
    assert t.samples("00:00:10:00") == 480000  # as a duration, timecode is a frame count
    assert t.timecode(480000) == "01:00:10:00"


@pytest.mark.parametrize("bad", ["1:2:3:4:5", "abc", "12x", "", True, float("nan")])
def test_bad_syntax_rejected(bad):
    with pytest.raises(ValueError):
        check_time_syntax(bad)


def test_frame_past_rate_rejected():
    with pytest.raises(SessionError, match="does not exist"):
        tb().samples("00:00:01:25")
