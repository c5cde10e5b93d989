"""Timelines of test tones at known positions, for checking import (and later render) end to end.

:func:`tone_timeline` writes one WAV per tone (silence, then a sine burst at a known
offset inside the file, so in-points matter) and a timeline in the asked format
that places each burst where an editor would, from templates written here (not by
mixdown's exporters). It returns where each burst's first sample must land on the
session's sample clock, computed independently with exact fractions, so a test can
render the imported session and measure the onsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..timebase import frames_to_tc

PRE_ROLL_FRAMES = 10  # frames of silence in each file before its tone
TAIL_FRAMES = 10


@dataclass(frozen=True)
class Tone:
    """One placed tone: what was asked and where it must sound."""

    name: str
    path: Path
    freq: float
    record_frame: int  # timeline frame (from the sequence start) where the clip starts
    in_frame: int  # clip in-point, frames from the file start
    length_frames: int  # clip length
    onset_sample: int  # session sample where the tone's first sample sounds
    level_db: float


def _write_tone(path: Path, *, freq: float, sample_rate: int, rate: Fraction, tone_frames: int, level_db: float,
                channels: int) -> int:
    import soundfile as sf

    pre = round(Fraction(PRE_ROLL_FRAMES) * sample_rate / rate)
    n = round(Fraction(tone_frames) * sample_rate / rate)
    tail = round(Fraction(TAIL_FRAMES) * sample_rate / rate)
    t = np.arange(n) / sample_rate
    # a cosine, so the very first sample of the tone is already at full level (a sharp onset to measure)
    tone = (0.5 * np.cos(2 * np.pi * freq * t)).astype(np.float32)
    data = np.concatenate([np.zeros(pre, np.float32), tone, np.zeros(tail, np.float32)])
    sf.write(str(path), np.repeat(data[:, None], channels, axis=1), sample_rate, subtype="FLOAT")
    return pre


def tone_timeline(
    directory: str | Path,
    fmt: str,
    *,
    records: list[int] | None = None,
    frame_rate: Fraction = Fraction(25),
    drop_frame: bool = False,
    start_frame: int = 90000,
    sample_rate: int = 48000,
    tone_frames: int = 25,
    in_offset_frames: int = 5,
    channels: int = 2,
) -> tuple[Path, list[Tone]]:
    """Write tone WAVs and a timeline placing them.

    Parameters
    ----------
    directory : str or Path
        Where the WAVs and the timeline go.
    fmt : {"fcp7", "fcpxml", "edl", "otio"}
    records : list of int
        Timeline frames (from the sequence start) where each clip starts; one tone each.
    frame_rate : Fraction
        Sequence frame rate (30000/1001 for 29.97).
    drop_frame : bool
        Drop-frame timecode (29.97/59.94).
    start_frame : int
        The sequence's start timecode as a frame count (90000 = 01:00:00:00 at 25 fps).
    in_offset_frames : int
        Each clip's in-point is this many frames into the file's pre-roll, so the tone
        starts ``PRE_ROLL_FRAMES - in_offset_frames`` frames after the clip does.

    Returns
    -------
    (timeline path, tones)
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    records = records or [0, 50, 125]
    rate = Fraction(frame_rate)
    tones: list[Tone] = []
    for i, rec in enumerate(records):
        path = d / f"tone {i + 1}.wav"  # a space, so URLs need percent-encoding
        freq = 440.0 * (i + 1)
        pre = _write_tone(path, freq=freq, sample_rate=sample_rate, rate=rate, tone_frames=tone_frames,
                          level_db=0.0, channels=channels)
        in_frame = in_offset_frames
        length = PRE_ROLL_FRAMES - in_offset_frames + tone_frames
        # the clip starts at frame `rec`, its in-point is `in_frame` frames into the file; the tone
        # begins `pre` samples into the file
        clip_start = Fraction(rec) / rate
        in_s = Fraction(in_frame) / rate
        onset = round((clip_start + Fraction(pre, sample_rate) - in_s) * sample_rate)
        tones.append(Tone(path.stem, path, freq, rec, in_frame, length, onset, 0.0))
    tc = lambda f: frames_to_tc(f, rate, drop_frame)  # noqa: E731
    timebase = round(rate)
    ntsc = "TRUE" if rate.denominator == 1001 else "FALSE"
    if fmt == "fcp7":
        items = []
        for i, t in enumerate(tones):
            url = "file://localhost" + quote(t.path.resolve().as_posix())
            items.append(f"""<clipitem id="clipitem-{i + 1}"><name>{t.name}</name><enabled>TRUE</enabled>
<rate><timebase>{timebase}</timebase><ntsc>{ntsc}</ntsc></rate>
<start>{t.record_frame}</start><end>{t.record_frame + t.length_frames}</end><in>{t.in_frame}</in><out>{t.in_frame + t.length_frames}</out>
<file id="file-{i + 1}"><name>{t.path.name}</name><pathurl>{url}</pathurl><media><audio><channelcount>{channels}</channelcount></audio></media></file>
<sourcetrack><mediatype>audio</mediatype><trackindex>1</trackindex></sourcetrack></clipitem>""")
        text = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4"><sequence id="sequence-1"><name>Tones</name><duration>{max(t.record_frame + t.length_frames for t in tones)}</duration>
<rate><timebase>{timebase}</timebase><ntsc>{ntsc}</ntsc></rate>
<media><audio><track MZ.TrackName="Tones">{''.join(items)}<enabled>TRUE</enabled></track></audio></media>
<timecode><rate><timebase>{timebase}</timebase><ntsc>{ntsc}</ntsc></rate><string>{tc(start_frame)}</string><frame>{start_frame}</frame><displayformat>{'DF' if drop_frame else 'NDF'}</displayformat></timecode>
</sequence></xmeml>
"""
        out = d / "tones.xml"
    elif fmt == "fcpxml":
        fd = 1 / rate

        def ft(x: Fraction) -> str:
            return f"{x.numerator}/{x.denominator}s" if x.denominator != 1 else f"{x.numerator}s"

        tc0 = start_frame * fd
        assets = "".join(
            f'<asset id="r{i + 2}" name="{t.name}" start="0s" hasAudio="1" audioSources="1" audioChannels="{channels}" '
            f'audioRate="{sample_rate}"><media-rep kind="original-media" src="file://{quote(t.path.resolve().as_posix())}"/></asset>'
            for i, t in enumerate(tones))
        total = max(t.record_frame + t.length_frames for t in tones) * fd
        clips = "".join(
            f'<asset-clip ref="r{i + 2}" lane="-1" offset="{ft(tc0 + t.record_frame * fd)}" name="{t.name}" '
            f'start="{ft(t.in_frame * fd)}" duration="{ft(t.length_frames * fd)}" audioRole="effects.Tones"/>'
            for i, t in enumerate(tones))
        text = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.9"><resources><format id="r1" frameDuration="{ft(fd)}"/>{assets}</resources>
<library><event name="E"><project name="Tones"><sequence format="r1" duration="{ft(total)}" tcStart="{ft(tc0)}" tcFormat="{'DF' if drop_frame else 'NDF'}">
<spine><gap name="Gap" offset="{ft(tc0)}" start="{ft(tc0)}" duration="{ft(total)}">{clips}</gap></spine>
</sequence></project></event></library></fcpxml>
"""
        out = d / "tones.fcpxml"
    elif fmt == "edl":
        lines = ["TITLE: Tones", f"FCM: {'DROP FRAME' if drop_frame else 'NON-DROP FRAME'}", ""]
        for i, t in enumerate(tones):
            lines.append(f"{i + 1:03d}  AX       A     C        {tc(t.in_frame)} {tc(t.in_frame + t.length_frames)} "
                         f"{tc(start_frame + t.record_frame)} {tc(start_frame + t.record_frame + t.length_frames)}")
            lines.append(f"* FROM CLIP NAME: {t.path.name}")
        text = "\n".join(lines) + "\n"
        out = d / "tones.edl"
    elif fmt == "otio":
        import opentimelineio as otio

        r = float(rate)
        tl = otio.schema.Timeline(name="Tones", global_start_time=otio.opentime.RationalTime(start_frame, r))
        tr = otio.schema.Track(name="Tones", kind=otio.schema.TrackKind.Audio)
        cursor = 0
        for t in tones:
            if t.record_frame > cursor:
                tr.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, r), otio.opentime.RationalTime(t.record_frame - cursor, r))))
            tr.append(otio.schema.Clip(
                name=t.name, media_reference=otio.schema.ExternalReference(target_url=str(t.path.resolve())),
                source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(t.in_frame, r),
                                                     otio.opentime.RationalTime(t.length_frames, r))))
            cursor = t.record_frame + t.length_frames
        tl.tracks.append(tr)
        out = d / "tones.otio"
        otio.adapters.write_to_file(tl, str(out))
        return out, tones
    else:
        raise ValueError(f"unknown format {fmt!r}")
    out.write_text(text, encoding="utf-8")
    return out, tones
