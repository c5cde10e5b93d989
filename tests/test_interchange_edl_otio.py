"""CMX 3600 EDL and OpenTimelineIO import: record times (OTIO #1385 undone), drop-frame, transitions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import soundfile as sf

from mixdown.interchange import import_timeline

SR = 48000


def wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros((800, 2), np.float32), 8000)
    return path


def smp(s, v, position=False):
    return s.timebase.samples(v, position=position)


def test_edl_record_times_are_not_moved_to_zero(tmp_path):
    # OTIO's reader stores each track's first record-in as a negative track start (#1385); a
    # naive reading puts the first clip of every track at 0
    for n in ("dx.wav", "mx.wav", "fx.wav"):
        wav(tmp_path / n)
    edl = """TITLE: Show
FCM: NON-DROP FRAME

001  AX       A     C        00:00:00:00 00:00:04:00 01:00:10:00 01:00:14:00
* FROM CLIP NAME: dx.wav
002  AX       A2    C        00:00:02:00 00:00:10:00 01:00:20:00 01:00:28:00
* FROM CLIP NAME: mx.wav
003  AX       A     C        00:00:00:00 00:00:01:00 01:00:30:12 01:00:31:12
* FROM CLIP NAME: fx.wav
004  AX       V     C        00:00:00:00 00:00:10:00 01:00:00:00 01:00:10:00
"""
    p = tmp_path / "show.edl"
    p.write_text(edl)
    s, report = import_timeline(p, frame_rate=25)
    assert s.start_timecode == "01:00:00:00" and s.frame_rate == "25"
    a1, a2 = s.tracks
    assert [smp(s, c.start, True) for c in a1.clips] == [10 * SR, round(Fraction(30 * 25 + 12, 25) * SR)]
    assert [smp(s, c.in_) for c in a1.clips] == [0, 0]
    assert smp(s, a2.clips[0].start, True) == 20 * SR and smp(s, a2.clips[0].in_) == 2 * SR
    assert Path(a1.clips[0].source).name == "dx.wav"
    assert any(i.what == "video track" for i in report.dropped)


def test_edl_hour_long_drop_frame_with_colon_timecodes(tmp_path):
    wav(tmp_path / "a.wav")
    # FCM says drop frame; the timecodes use ':' (as many EDLs do); OTIO alone would count them NDF
    edl = """TITLE: Long
FCM: DROP FRAME

001  AX       A     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00
* FROM CLIP NAME: a.wav
002  AX       A     C        00:00:00:00 00:00:01:00 01:59:59:00 02:00:00:00
* FROM CLIP NAME: a.wav
"""
    p = tmp_path / "long.edl"
    p.write_text(edl)
    s, _ = import_timeline(p)  # drop frame means 29.97
    assert s.frame_rate == "30000/1001" and s.drop_frame and s.start_timecode == "01:00:00;00"
    last = s.tracks[0].clips[1]
    # 01:59:59;00 DF is frame 215754; 01:00:00;00 is 107892; 107862 frames apart
    frames = 215754 - 107892
    exact = Fraction(frames * 1001, 30000) * SR
    assert abs(smp(s, last.start, True) - exact) <= Fraction(1, 2)
    assert smp(s, last.duration) == round(Fraction((frames + 30) * 1001, 30000) * SR) - smp(s, last.start, True)


def test_edl_stereo_pair_dissolve_and_reel_names(tmp_path):
    wav(tmp_path / "music.wav")
    wav(tmp_path / "b.wav")
    edl = """TITLE: X
FCM: NON-DROP FRAME

001  AX       AA    C        00:00:00:00 00:00:10:00 01:00:00:00 01:00:10:00
* FROM CLIP NAME: music.wav
002  AX       AA    C        00:00:10:00 00:00:10:00 01:00:10:00 01:00:10:00
002  AX       AA    D    025 00:00:05:00 00:00:15:00 01:00:10:00 01:00:20:00
* FROM CLIP NAME: music.wav
* TO CLIP NAME: b.wav
"""
    p = tmp_path / "x.edl"
    p.write_text(edl)
    s, report = import_timeline(p, frame_rate="25")
    # AA puts the same clip on A1 and A2 (left and right): one stereo clip in the session
    assert len(s.tracks) == 1
    a, b = s.tracks[0].clips
    assert smp(s, a.duration) == 11 * SR and smp(s, a.fade_out.length) == SR  # A plays on over the dissolve
    assert smp(s, b.start, True) == 10 * SR and smp(s, b.fade_in.length) == SR and smp(s, b.in_) == 5 * SR
    assert Path(b.source).name == "b.wav"


def test_edl_frame_rate_guess_is_reported(tmp_path):
    wav(tmp_path / "a.wav")
    p = tmp_path / "g.edl"
    p.write_text("TITLE: G\n\n001  AX       A     C        00:00:00:00 00:00:01:00 00:00:00:00 00:00:00:27\n"
                 "* FROM CLIP NAME: a.wav\n")
    s, report = import_timeline(p)
    assert s.frame_rate == "30000/1001"
    assert any(i.what == "frame rate" and i.severity == "warning" for i in report.items)


def test_otio_positions_media_timecode_transitions_and_effects(tmp_path):
    a, b = wav(tmp_path / "a.wav"), wav(tmp_path / "b.wav")
    r = 24000 / 1001
    rt = lambda v: otio.opentime.RationalTime(v, r)  # noqa: E731
    tl = otio.schema.Timeline(name="T", global_start_time=rt(86400))
    tr = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    # media whose own timecode starts at 01:00:00:00 (86400 frames): source times count from there
    ref_a = otio.schema.ExternalReference(
        target_url=str(a), available_range=otio.opentime.TimeRange(rt(86400), rt(2400))
    )
    tr.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(48))))
    ca = otio.schema.Clip(name="A", media_reference=ref_a, source_range=otio.opentime.TimeRange(rt(86400 + 24), rt(96)))
    ca.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    tr.append(ca)
    tr.append(otio.schema.Transition(in_offset=rt(6), out_offset=rt(6)))
    tr.append(otio.schema.Clip(name="B", media_reference=otio.schema.ExternalReference(target_url=b.as_uri()),
                               source_range=otio.opentime.TimeRange(rt(100), rt(48))))
    tl.tracks.append(tr)
    tl.tracks.append(
        otio.schema.Track(
            name="V1",
            kind=otio.schema.TrackKind.Video,
            children=[otio.schema.Clip(name="pic", source_range=otio.opentime.TimeRange(rt(0), rt(10)))],
        )
    )
    p = tmp_path / "t.otio"
    otio.adapters.write_to_file(tl, str(p))
    s, report = import_timeline(p)
    rate = Fraction(24000, 1001)
    assert s.frame_rate == "24000/1001" and s.start_timecode == "01:00:00:00"
    A, B = s.tracks[0].clips
    assert smp(s, A.start, True) == round(48 / rate * SR) and smp(s, A.in_) == round(24 / rate * SR)
    # the transition's 6 + 6 frames around the cut at frame 144: A runs on 6 frames, B starts 6 early
    assert smp(s, A.duration) == round(150 / rate * SR) - round(48 / rate * SR)
    assert smp(s, B.start, True) == round(138 / rate * SR) and smp(s, B.in_) == round(94 / rate * SR)
    assert smp(s, A.fade_out.length) == smp(s, B.fade_in.length) == round(150 / rate * SR) - round(138 / rate * SR)
    assert Path(B.source) == b.resolve()
    kinds = {i.what for i in report.dropped}
    assert {"speed change", "video track"} <= kinds
