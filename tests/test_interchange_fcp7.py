"""FCP7 XML (Premiere Pro / Resolve) import: positions to the sample, levels, keyframes, transitions."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import MediaError, TimelineError
from mixdown.interchange import import_timeline

SR = 48000
NTSC = Fraction(30000, 1001)


def wav(path: Path, seconds: float = 0.5, channels: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros((int(seconds * 8000), channels), np.float32), 8000)
    return path


def url(path: Path) -> str:
    from urllib.parse import quote

    return "file://localhost" + quote(path.resolve().as_posix())


def rate_xml(timebase: int, ntsc: bool) -> str:
    return f"<rate><timebase>{timebase}</timebase><ntsc>{'TRUE' if ntsc else 'FALSE'}</ntsc></rate>"


def xmeml(tracks: str, *, timebase=25, ntsc=False, tc_frame=0, tc_string="00:00:00:00", df=False,
          duration=1000, video="") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4"><sequence id="sequence-1"><name>Cut</name><duration>{duration}</duration>{rate_xml(timebase, ntsc)}
<media>{video}<audio><numOutputChannels>2</numOutputChannels>{tracks}</audio></media>
<timecode>{rate_xml(timebase, ntsc)}<string>{tc_string}</string>\
<frame>{tc_frame}</frame><displayformat>{"DF" if df else "NDF"}</displayformat></timecode>
</sequence></xmeml>
"""


def clipitem(cid: str, name: str, start: int, end: int, cin: int, cout: int, file: str, *, extra: str = "",
             trackindex: int = 1) -> str:
    return (f'<clipitem id="{cid}"><name>{name}</name><enabled>TRUE</enabled><start>{start}</start><end>{end}</end>'
            f'<in>{cin}</in><out>{cout}</out>{file}<sourcetrack><mediatype>audio</mediatype>'
            f'<trackindex>{trackindex}</trackindex></sourcetrack>{extra}</clipitem>')


def file_el(fid: str, path: Path, channels: int = 2) -> str:
    return (f'<file id="{fid}"><name>{path.name}</name><pathurl>{url(path)}</pathurl><media><audio>'
            f'<channelcount>{channels}</channelcount></audio></media></file>')


def levels(value: float | None = None, keys: list[tuple[int, float]] = ()) -> str:
    kf = "".join(f"<keyframe><when>{w}</when><value>{v}</value></keyframe>" for w, v in keys)
    val = f"<value>{value}</value>" if value is not None else ""
    return ("<filter><effect><name>Audio Levels</name><effectid>audiolevels</effectid><effectcategory>audiolevels"
            "</effectcategory><effecttype>audiolevels</effecttype><mediatype>audio</mediatype>"
            '<parameter authoringApp="PremierePro"><parameterid>level</parameterid><name>Level</name>'
            f"<valuemin>0</valuemin><valuemax>3.98109</valuemax>{val}{kf}</parameter></effect></filter>")


def samples(session, value, position=False):
    return session.timebase.samples(value, position=position)


def write(tmp: Path, text: str, name: str = "cut.xml") -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def test_positions_in_points_and_start_timecode_at_2997_df(tmp_path):
    a = wav(tmp_path / "media" / "dialog one.wav")
    track = ('<track MZ.TrackName="DX">'
             + clipitem("c1", "one", 30, 330, 60, 360, file_el("f1", a))
             + clipitem("c2", "two", 1000, 1300, 7, 307, '<file id="f1"/>')
             + "</track>")
    p = write(tmp_path, xmeml(track, timebase=30, ntsc=True, tc_frame=107892, tc_string="01:00:00;00", df=True))
    s, report = import_timeline(p)
    assert s.start_timecode == "01:00:00;00" and s.drop_frame and s.frame_rate == "30000/1001"
    c1, c2 = s.tracks[0].clips
    # frame f of the sequence is at f * 1001/30000 s; exact to the sample
    assert samples(s, c1.start, True) == round(Fraction(30) / NTSC * SR)
    assert samples(s, c1.in_) == round(Fraction(60) / NTSC * SR)
    assert samples(s, c1.duration) == round(Fraction(330) / NTSC * SR) - round(Fraction(30) / NTSC * SR)
    assert samples(s, c2.start, True) == round(Fraction(1000) / NTSC * SR) == 1601600
    assert Path(c1.source) == a.resolve()
    assert report.format == "fcp7" and report.clips == 2


def test_hour_long_2997_drop_frame_last_clip_within_one_sample(tmp_path):
    a = wav(tmp_path / "a.wav")
    # 01:00:00;00 is frame 107892 in drop-frame counting; the last clip at 01:59:59;29 is
    # 107891 frames later (an hour of DF labels is 107892 frames, 3599.9964 s)
    last = 107891
    track = ('<track>' + clipitem("c1", "first", 0, 30, 0, 30, file_el("f1", a))
             + clipitem("c2", "last", last, last + 30, 0, 30, '<file id="f1"/>') + "</track>")
    p = write(tmp_path, xmeml(track, timebase=30, ntsc=True, tc_frame=107892, tc_string="01:00:00;00", df=True,
                              duration=last + 30))
    s, _ = import_timeline(p)
    pos = samples(s, s.tracks[0].clips[1].start, True)
    exact = Fraction(last * 1001, 30000) * SR  # seconds on the wall clock, times the rate
    assert abs(pos - exact) <= Fraction(1, 2)
    assert float(exact / SR) == pytest.approx(3599.9964 - 1001 / 30000, abs=1e-9)
    # and the session's own timecode reads that position as the label the editor saw
    assert s.timebase.timecode(pos) == "01:59:59;29"
    assert samples(s, "01:59:59;29", True) == pos


def test_audio_levels_linear_gain_and_keyframes_relative_to_in(tmp_path):
    a = wav(tmp_path / "a.wav")
    # static level 0.5 (linear) is -6.02 dB; keyframes on the media's frame axis (when - in)
    track = ('<track>'
             + clipitem("c1", "static", 0, 100, 0, 100, file_el("f1", a), extra=levels(0.5))
             + clipitem("c2", "keyed", 200, 300, 50, 150, '<file id="f1"/>',
                        extra=levels(1, [(50, 1.0), (75, 0.25), (100, 0.0)]))
             + "</track>")
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    c1, c2 = s.tracks[0].clips
    assert c1.gain_db == pytest.approx(20 * math.log10(0.5))
    keys = c2.automation["gain_db"]
    assert [samples(s, k.t) for k in keys] == [0, 25 * SR // 25, 50 * SR // 25]
    assert [k.v for k in keys[:2]] == pytest.approx([0.0, 20 * math.log10(0.25)])
    assert keys[2].v == -144.0  # level 0 is silence
    assert all(k.interp == "linear" for k in keys)  # FCP7 levels move linearly in amplitude


def test_keyframes_outside_the_clip_are_cut_at_its_edges(tmp_path):
    a = wav(tmp_path / "a.wav")
    # keyframes at in-10 (level 1) and in+10 (level 0): the value at the clip's start is 0.5
    track = '<track>' + clipitem("c1", "k", 0, 50, 100, 150, file_el("f1", a),
                                 extra=levels(1, [(90, 1.0), (110, 0.0), (400, 0.0)])) + "</track>"
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    keys = s.tracks[0].clips[0].automation["gain_db"]
    assert samples(s, keys[0].t) == 0 and keys[0].v == pytest.approx(20 * math.log10(0.5))
    assert samples(s, keys[1].t) == 10 * SR // 25 and keys[1].v == -144.0
    assert len(keys) == 2  # the keyframe beyond the clip's end is not kept (the value holds)


def test_premiere_exploded_stereo_pair_becomes_one_clip(tmp_path):
    a = wav(tmp_path / "music.wav")
    link = ("<link><linkclipref>c1</linkclipref><mediatype>audio</mediatype></link>"
            "<link><linkclipref>c2</linkclipref><mediatype>audio</mediatype></link>")
    t1 = ('<track MZ.TrackName="Music" currentExplodedTrackIndex="0" totalExplodedTrackCount="2" '
          'premiereTrackType="Stereo">' + clipitem("c1", "music.wav", 0, 250, 0, 250, file_el("f1", a),
                                                   extra=levels(0.5) + link, trackindex=1) + "</track>")
    t2 = ('<track MZ.TrackName="Music" currentExplodedTrackIndex="1" totalExplodedTrackCount="2" '
          'premiereTrackType="Stereo">' + clipitem("c2", "music.wav", 0, 250, 0, 250, '<file id="f1"/>',
                                                   extra=levels(0.5) + link, trackindex=2) + "</track>")
    s, report = import_timeline(write(tmp_path, xmeml(t1 + t2)))
    assert [t.name for t in s.tracks] == ["Music"]
    assert len(s.tracks[0].clips) == 1 and s.tracks[0].role == "music"
    assert not any(i.what == "source channel" for i in report.items)


def test_crossfade_transition_with_open_ends_overlaps_the_clips(tmp_path):
    a, b = wav(tmp_path / "a.wav"), wav(tmp_path / "b.wav")
    # FCP7 writes -1 for the ends inside a transition; in/out cover the clip including it
    trans = ("<transitionitem><start>90</start><end>110</end><alignment>center</alignment>"
             "<effect><name>Cross Fade (+3dB)</name><effectid>KGAudioTransCrossFade3dB</effectid></effect>"
             "</transitionitem>")
    track = ('<track>' + clipitem("c1", "A", 0, -1, 0, 110, file_el("f1", a)) + trans
             + clipitem("c2", "B", -1, 250, 40, 200, file_el("f2", b)) + "</track>")
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    ca, cb = s.tracks[0].clips
    f = SR // 25
    assert (samples(s, ca.start, True), samples(s, ca.duration)) == (0, 110 * f)
    assert (samples(s, cb.start, True), samples(s, cb.duration), samples(s, cb.in_)) == (90 * f, 160 * f, 40 * f)
    assert samples(s, ca.fade_out.length) == samples(s, cb.fade_in.length) == 20 * f
    assert ca.fade_out.shape == cb.fade_in.shape == "equal-power"


def test_crossfade_written_at_the_cut_is_extended_over_the_handles(tmp_path):
    a, b = wav(tmp_path / "a.wav"), wav(tmp_path / "b.wav")
    # the other convention: in/out at the cut (frame 100); the transition uses handles on both sides
    trans = ("<transitionitem><start>90</start><end>110</end><alignment>center</alignment>"
             "<effect><name>Cross Fade (0dB)</name><effectid>KGAudioTransCrossFade0dB</effectid></effect>"
             "</transitionitem>")
    track = ('<track>' + clipitem("c1", "A", 0, -1, 0, 100, file_el("f1", a)) + trans
             + clipitem("c2", "B", -1, 250, 50, 200, file_el("f2", b)) + "</track>")
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    ca, cb = s.tracks[0].clips
    f = SR // 25
    assert samples(s, ca.duration) == 110 * f
    assert (samples(s, cb.start, True), samples(s, cb.in_)) == (90 * f, 40 * f)
    assert ca.fade_out.shape == "linear"


def test_fade_from_black_and_subframe_in_point_from_premiere_ticks(tmp_path):
    a = wav(tmp_path / "a.wav")
    ticks = 254016000000 * 3 + 5292000 * 7  # 3 s and 7 samples at 48 kHz
    trans = ("<transitionitem><start>10</start><end>35</end><alignment>start-black</alignment>"
             "<effect><name>Exponential Fade</name></effect></transitionitem>")
    track = ('<track>' + trans + clipitem("c1", "A", 10, 110, 75, 175, file_el("f1", a),
                                          extra=f"<pproTicksIn>{ticks}</pproTicksIn>") + "</track>")
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    c = s.tracks[0].clips[0]
    assert samples(s, c.in_) == 3 * SR + 7
    assert samples(s, c.fade_in.length) == 25 * SR // 25 and c.fade_in.shape == "log"
    assert c.fade_out is None


def test_pan_disabled_clip_and_muted_track(tmp_path):
    a = wav(tmp_path / "a.wav")
    pan = ("<filter><effect><name>Audio Pan</name><effectid>audiopan</effectid><parameter><parameterid>pan"
           "</parameterid><valuemin>-1</valuemin><valuemax>1</valuemax><value>-0.5</value></parameter>"
           "</effect></filter>")
    c = clipitem("c1", "A", 0, 50, 0, 50, file_el("f1", a), extra=pan).replace(
        "<enabled>TRUE</enabled>", "<enabled>FALSE</enabled>")
    track = "<track>" + c + clipitem("c2", "B", 60, 90, 0, 30, '<file id="f1"/>', extra=pan) + \
        "<enabled>FALSE</enabled></track>"
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    t = s.tracks[0]
    assert t.pan == pytest.approx(-0.5) and t.mute
    assert t.clips[0].mute and not t.clips[1].mute


def test_report_lists_what_the_session_cannot_represent(tmp_path):
    a = wav(tmp_path / "a.wav")
    video = ('<video><track>' + clipitem("v1", "pic", 0, 100, 0, 100, file_el("fv", a)) + "</track></video>")
    remap = ("<filter><effect><name>Time Remap</name><effectid>timeremap</effectid><parameter><parameterid>speed"
             "</parameterid><value>50</value></parameter></effect></filter>")
    reverb = ("<filter><effect><name>Reverb</name><effectid>reverb</effectid><mediatype>audio</mediatype>"
              "</effect></filter>")
    marker = "<marker><name>fix this</name><in>3</in><out>-1</out></marker>"
    gen = "<generatoritem id='g1'><name>Tone</name><start>500</start><end>600</end></generatoritem>"
    nest_seq = (
        '<sequence id="nest-1"><name>Nest</name><duration>100</duration>'
        + rate_xml(25, False)
        + "<media><audio><track>"
        + clipitem("n1", "inner", 0, 100, 0, 100, '<file id="f1"/>', extra=levels(0.5))
        + "</track></audio></media></sequence>"
    )
    nest = (f'<clipitem id="c9"><name>Nest</name><start>700</start><end>750</end><in>20</in><out>70</out>'
            f'{nest_seq}</clipitem>')
    track = ("<track>" + clipitem("c1", "A", 0, 100, 0, 50, file_el("f1", a), extra=remap + reverb + marker)
             + gen + nest + "</track>")
    s, report = import_timeline(write(tmp_path, xmeml(track, video=video)))
    kinds = {i.what for i in report.dropped}
    assert {"video track", "speed change", "effect", "marker", "generator"} <= kinds
    assert any(i.what == "nested sequence" for i in report.approximated)
    # the nest's inner clip is on the outer track at the nest's position, trimmed to its in-point
    inner = [c for c in s.tracks[0].clips if c.name == "inner"][0]
    assert samples(s, inner.start, True) == 700 * SR // 25 and samples(s, inner.in_) == 20 * SR // 25
    assert samples(s, inner.duration) == 50 * SR // 25 and inner.gain_db == pytest.approx(-6.0206, abs=1e-3)
    text = report.to_text()
    assert "Reverb" in text and "50%" in text and "video track" in text
    import json

    data = json.loads(report.to_json())
    assert {i["what"] for i in data["items"]} >= kinds


def test_missing_media_lists_every_file_and_media_root_finds_them(tmp_path):
    elsewhere = tmp_path / "moved" / "deep"
    a = wav(elsewhere / "take 1.wav")
    b = wav(elsewhere / "take 2.wav")
    gone_a = Path("/Volumes/Shoot/Audio/take 1.wav")
    gone_b = Path("/Volumes/Shoot/Audio/take 2.wav")
    track = ("<track>" + clipitem("c1", "a", 0, 50, 0, 50,
                                  f'<file id="f1"><name>take 1.wav</name><pathurl>{url(gone_a)}</pathurl></file>')
             + clipitem("c2", "b", 60, 90, 0, 30,
                        f'<file id="f2"><name>take 2.wav</name><pathurl>{url(gone_b)}</pathurl></file>')
             + "</track>")
    tl_dir = tmp_path / "project"
    tl_dir.mkdir()
    p = write(tl_dir, xmeml(track))
    with pytest.raises(MediaError) as err:
        import_timeline(p)
    msg = str(err.value)
    assert "2 media file(s) not found" in msg and "take 1.wav" in msg and "take 2.wav" in msg
    assert "--media-root" in msg and str(p) in msg
    s, report = import_timeline(p, media_root=tmp_path / "moved")
    assert [Path(c.source) for c in s.tracks[0].clips] == [a.resolve(), b.resolve()]
    s, report = import_timeline(p, missing_media="keep")
    assert s.tracks[0].clips[0].source == str(gone_a) and report.media[url(gone_a)] is None


def test_relative_paths_resolve_against_the_timeline_folder(tmp_path):
    a = wav(tmp_path / "media" / "a b.wav")
    track = "<track>" + clipitem("c1", "a", 0, 50, 0, 50,
                                 '<file id="f1"><name>a b.wav</name><pathurl>media/a%20b.wav</pathurl></file>') + \
        "</track>"
    s, _ = import_timeline(write(tmp_path, xmeml(track)))
    assert Path(s.tracks[0].clips[0].source) == a.resolve()


def test_unreadable_and_unknown_files_raise_timeline_errors(tmp_path):
    bad = write(tmp_path, "<xmeml><sequence>", "bad.xml")
    with pytest.raises(TimelineError, match="not valid XML"):
        import_timeline(bad)
    with pytest.raises(TimelineError, match="unknown timeline format"):
        import_timeline(write(tmp_path, "x", "cut.txt"))
    with pytest.raises(TimelineError, match="not found"):
        import_timeline(tmp_path / "nope.xml")
