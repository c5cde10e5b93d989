"""FCPXML import: storylines, lanes, roles, adjust-volume keyframes and fades, transitions, compound clips."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.interchange import import_timeline

SR = 48000
FD = Fraction(1001, 30000)  # 29.97 frame duration
HOUR_DF = 107892  # frames of 01:00:00;00


def wav(path: Path, channels: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros((800, channels), np.float32), 8000, format="WAV")
    return path


def t(x: Fraction | int) -> str:
    x = Fraction(x)
    return f"{x.numerator}s" if x.denominator == 1 else f"{x.numerator}/{x.denominator}s"


def doc(tmp: Path, spine: str, *, assets: str, tc_start: Fraction = HOUR_DF * FD, extra_res: str = "",
        name: str = "p.fcpxml") -> Path:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" name="FFVideoFormat1080p2997" frameDuration="1001/30000s" width="1920" height="1080"/>
    {assets}{extra_res}
  </resources>
  <library><event name="E"><project name="Show">
    <sequence format="r1" duration="{t(600 * FD)}" tcStart="{t(tc_start)}" \
tcFormat="DF" audioLayout="stereo" audioRate="48k">
      <spine>{spine}</spine>
    </sequence>
  </project></event></library>
</fcpxml>
"""
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def asset(rid: str, path: Path, *, start: Fraction = Fraction(0), video: bool = False) -> str:
    from urllib.parse import quote

    v = ' hasVideo="1" format="r1"' if video else ""
    return (f'<asset id="{rid}" name="{path.stem}" start="{t(start)}" duration="100s" hasAudio="1" audioSources="1" '
            f'audioChannels="2" audioRate="48000"{v}><media-rep kind="original-media" '
            f'src="file://{quote(path.resolve().as_posix())}"/></asset>')


def smp(s, v, position=False):
    return s.timebase.samples(v, position=position)


def test_primary_storyline_connected_clips_roles_and_timecode(tmp_path):
    cam = wav(tmp_path / "cam.mov")
    mus = wav(tmp_path / "music.wav")
    tc0 = HOUR_DF * FD
    # the camera clip has media timecode 10:00:00:00 (asset start); the music is connected at
    # 1 s into the interview's local time
    cam_start = Fraction(36000)
    spine = (f'<gap name="Gap" offset="{t(tc0)}" start="{t(tc0)}" duration="{t(30 * FD)}"/>'
             f'<asset-clip ref="r2" offset="{t(tc0 + 30 * FD)}" name="Interview" start="{t(cam_start + 10)}" '
             f'duration="{t(300 * FD)}" audioRole="dialogue.Host">'
             f'<asset-clip ref="r3" lane="-1" offset="{t(cam_start + 11)}" name="Bed" start="{t(2)}" '
             f'duration="{t(120 * FD)}" audioRole="music.music-1"/>'
             "</asset-clip>")
    s, report = import_timeline(doc(tmp_path, spine, assets=asset("r2", cam, start=cam_start, video=True)
                                    + asset("r3", mus)))
    assert s.start_timecode == "01:00:00;00" and s.drop_frame
    host, music = s.tracks
    assert (host.name, host.role, music.name, music.role) == ("Host", "dialogue", "Music", "music")
    iv = host.clips[0]
    assert smp(s, iv.start, True) == round(30 * FD * SR)
    assert smp(s, iv.in_) == 10 * SR  # 10 s after the media's own start timecode
    assert Path(iv.source) == cam.resolve()  # the session plays the video file's audio
    bed = music.clips[0]
    assert smp(s, bed.start, True) == round((30 * FD + 1) * SR)  # offset 11 s vs clip start 10 s
    assert smp(s, bed.in_) == 2 * SR and smp(s, bed.duration) == round((30 * FD + 1 + 120 * FD) * SR) - \
        round((30 * FD + 1) * SR)
    assert any(i.what == "video" for i in report.dropped) is False  # the camera clip's audio was used


def test_adjust_volume_keyframes_fades_and_panner(tmp_path):
    a = wav(tmp_path / "a.wav")
    tc0 = HOUR_DF * FD
    vol = ('<adjust-volume amount="-3dB"><param name="amount">'
           '<fadeIn type="easeInOut" duration="1/2s"/><fadeOut type="linear" duration="1s"/></param></adjust-volume>'
           '<adjust-panner amount="-40"/>')
    keyed = ('<adjust-volume><param name="amount"><keyframeAnimation>'
             '<keyframe time="5s" value="0dB"/><keyframe time="6s" value="-20dB"/><keyframe time="8s" value="-20dB"/>'
             '</keyframeAnimation><fadeIn type="easeOut" duration="1/4s"/></param></adjust-volume>')
    spine = (f'<asset-clip ref="r2" offset="{t(tc0)}" name="A" start="0s" duration="4s" audioRole="effects">{vol}'
             f'</asset-clip>'
             f'<asset-clip ref="r2" offset="{t(tc0 + 4)}" name="B" start="4s" duration="6s" audioRole="effects">'
             f'{keyed}</asset-clip>')
    s, _ = import_timeline(doc(tmp_path, spine, assets=asset("r2", a)))
    fx = s.tracks[0]
    assert fx.role == "sfx"
    ca, cb = fx.clips
    assert ca.gain_db == -3.0
    assert (ca.fade_in.shape, smp(s, ca.fade_in.length)) == ("s-curve", SR // 2)
    assert (ca.fade_out.shape, smp(s, ca.fade_out.length)) == ("linear", SR)
    # keyframe times are in the clip's local time (start = 4 s): 5 s is 1 s into the clip
    keys = cb.automation["gain_db"]
    assert [(smp(s, k.t), k.v, k.interp) for k in keys] == [(SR, 0.0, "exp"), (2 * SR, -20.0, "exp"),
                                                            (4 * SR, -20.0, "exp")]
    assert cb.fade_in.shape == "equal-power"  # Final Cut's +3 dB fade
    # pan -40 (of 100) on clip A, none on B: per-clip pan becomes track pan automation
    pan = fx.automation["pan"]
    assert pan[0].v == pytest.approx(-0.4) and pan[0].interp == "hold"
    assert smp(s, pan[1].t) == 4 * SR and pan[1].v == 0.0


def test_split_edit_transition_and_disabled_component(tmp_path):
    a = wav(tmp_path / "a.wav")
    b = wav(tmp_path / "b.wav")
    tc0 = Fraction(0)
    # A's audio runs 1 s past its picture (J/L cut); a 1 s transition centred on the A/B cut
    spine = (f'<asset-clip ref="r2" offset="0s" name="A" start="10s" duration="5s" audioStart="10s" '
             f'audioDuration="5s" audioRole="dialogue"/>'
             f'<transition name="Cross Dissolve" offset="{t(Fraction(9, 2))}" duration="1s">'
             f'<filter-audio ref="r9" name="Audio Crossfade"/></transition>'
             f'<asset-clip ref="r3" offset="5s" name="B" start="20s" duration="5s" audioRole="dialogue"/>'
             f'<asset-clip ref="r3" offset="10s" name="C" start="0s" duration="2s" audioRole="dialogue">'
             f'<audio-channel-source srcCh="1, 2" role="dialogue.dialogue-1" active="0"/></asset-clip>'
             f'<asset-clip ref="r2" offset="12s" name="D" start="0s" duration="1s" audioStart="-1/2s" '
             f'audioDuration="2s" audioRole="dialogue"/>')
    s, _ = import_timeline(doc(tmp_path, spine, assets=asset("r2", a) + asset("r3", b), tc_start=tc0))
    clips = {c.name: c for c in s.tracks[0].clips}
    A, B, C, D = clips["A"], clips["B"], clips["C"], clips["D"]
    assert smp(s, A.start, True) == 0 and smp(s, A.duration) == round(Fraction(11, 2) * SR)
    assert smp(s, A.fade_out.length) == SR
    assert smp(s, B.start, True) == round(Fraction(9, 2) * SR) and smp(s, B.in_) == round(Fraction(39, 2) * SR)
    assert smp(s, B.fade_in.length) == SR
    assert C.mute
    # D's audio starts half a second before its picture: at 11.5 s on the timeline
    assert smp(s, D.start, True) == round(Fraction(23, 2) * SR) and smp(s, D.duration) == 2 * SR


def test_compound_clip_is_flattened_with_its_level(tmp_path):
    a = wav(tmp_path / "a.wav")
    media = ('<media id="r5" name="Compound"><sequence format="r1" duration="20s">'
             '<spine><asset-clip ref="r2" offset="0s" name="inner" start="0s" duration="20s" audioRole="music"/>'
             '</spine></sequence></media>')
    spine = ('<ref-clip ref="r5" offset="2s" name="Compound" start="5s" duration="4s">'
             '<adjust-volume amount="-6dB"/></ref-clip>')
    s, report = import_timeline(doc(tmp_path, spine, assets=asset("r2", a), extra_res=media, tc_start=Fraction(0)))
    c = s.tracks[0].clips[0]
    assert c.name == "inner" and s.tracks[0].role == "music"
    assert smp(s, c.start, True) == 2 * SR and smp(s, c.in_) == 5 * SR and smp(s, c.duration) == 4 * SR
    assert c.gain_db == -6.0
    assert any(i.what == "compound clip" for i in report.approximated)


def test_fcpxmld_bundle_and_unrecorded_things_are_reported(tmp_path):
    a = wav(tmp_path / "a.wav")
    bundle = tmp_path / "Show.fcpxmld"
    bundle.mkdir()
    spine = ('<asset-clip ref="r2" offset="0s" name="A" start="0s" duration="4s" audioRole="dialogue">'
             '<timeMap><timept time="0s" value="0s"/><timept time="4s" value="8s"/></timeMap>'
             '<filter-audio ref="r7" name="Channel EQ"/><marker start="1s" duration="1001/30000s" value="fix"/>'
             '</asset-clip><title ref="r8" offset="4s" name="Lower third" duration="2s"/>')
    doc(bundle, spine, assets=asset("r2", a), tc_start=Fraction(0), name="Info.fcpxml")
    s, report = import_timeline(bundle)
    assert len(s.tracks[0].clips) == 1
    kinds = {i.what for i in report.dropped}
    assert {"speed change", "effect", "marker", "video"} <= kinds
