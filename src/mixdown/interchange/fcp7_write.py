"""Writing a session as FCP7 XML in the structure Premiere Pro writes.

Clip level, clip keyframes and the track's fader and keyframes are folded into
one "Audio Levels" filter per clip item (keyframes on whole frames, linear gain,
within 0.01 dB of the session's curve where the frame grid allows); fades become
transitions; stereo sources sit on Premiere's exploded stereo track pairs.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import TimelineError
from ..session.io import write_text_atomic
from ..session.model import Session, Track
from ..timebase import frames_to_tc
from .fcp7_filters import LEVEL_MAX, TICKS_PER_SECOND, db_to_level
from .gaincurve import (
    Curve,
    approximate,
    clip_gain,
    has_gain,
    track_pan,
    trim_flat_ends,
)
from .media import path_to_url
from .plan import Lane, Placed, dedupe_notes, frames_grid, plan, unsupported_notes
from .xmlutil import document, sub

_XFADE = {
    "equal-power": ("Cross Fade (+3dB)", "KGAudioTransCrossFade3dB"),
    "linear": ("Cross Fade (0dB)", "KGAudioTransCrossFade0dB"),
    "log": ("Exponential Fade", "PN.ExponentialFade"),
    "s-curve": ("Cross Fade (+3dB)", "KGAudioTransCrossFade3dB"),
}


def stable_uuid(*parts: str) -> str:
    """A UUID that depends only on ``parts`` (the same session writes the same bytes)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mixdown:" + "/".join(parts)))


def write_fcp7(session: Session, path: Path, *, name: str) -> list[str]:
    """Write a session as FCP7 XML in the structure Premiere Pro writes.

    Returns
    -------
    list of str
        Notes on what FCP7 XML could not hold as such.

    Raises
    ------
    TimelineError
        For a frame rate FCP7 XML cannot state (only whole and NTSC x/1.001 rates).
    """
    notes: list[str] = unsupported_notes(session, "FCP7 XML")
    tb = session.timebase
    rate = tb.frame_rate
    if not (rate.denominator == 1 or (rate * 1001 / 1000).denominator == 1):
        raise TimelineError(f"FCP7 XML cannot express the frame rate {rate} (only whole and NTSC x/1.001 rates)",
                            file=path)
    to_frame, to_samples, snap = frames_grid(session)
    lanes_by_track = plan(session, snap=snap, notes=notes, typed_tracks=True)

    root = ET.Element("xmeml", version="4")
    seq = sub(root, "sequence", id="sequence-1", explodedTracks="true")
    sub(seq, "uuid", stable_uuid(name, str(session.sample_rate)))
    end_frames = 0
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                end_frames = max(end_frames, to_frame(p.end))
    if session.duration is not None:
        end_frames = max(end_frames, to_frame(tb.samples(session.duration)))
    sub(seq, "duration", end_frames)
    rate_el(seq, rate)
    sub(seq, "name", name)
    media = sub(seq, "media")
    _video(media, rate)
    writer = _Writer(session, _audio(media, session), notes, to_frame=to_frame, to_samples=to_samples, snap=snap)
    for track, lanes in lanes_by_track:
        writer.track(track, lanes)
    tc = sub(seq, "timecode")
    rate_el(tc, rate)
    sub(tc, "string", frames_to_tc(tb.start_frames, rate, session.drop_frame))
    sub(tc, "frame", tb.start_frames)
    sub(tc, "displayformat", "DF" if session.drop_frame else "NDF")
    writer.summary()
    write_text_atomic(path, document(root, "xmeml", space="\t"))
    return dedupe_notes(notes)


def rate_el(parent: ET.Element, rate: Fraction) -> None:
    """``<rate><timebase>`` (whole frames) and ``<ntsc>`` (TRUE for x/1.001 rates) under ``parent``."""
    r = sub(parent, "rate")
    sub(r, "timebase", round(rate))
    sub(r, "ntsc", "TRUE" if rate.denominator == 1001 else "FALSE")


def _num(v: float) -> str:
    return f"{v:.8g}"


def _video(media: ET.Element, rate: Fraction) -> None:
    """An empty video track with a 1080p format: Premiere wants a sequence to have one."""
    video = sub(media, "video")
    vfmt = sub(sub(video, "format"), "samplecharacteristics")
    rate_el(vfmt, rate)
    sub(vfmt, "width", 1920)
    sub(vfmt, "height", 1080)
    sub(vfmt, "anamorphic", "FALSE")
    sub(vfmt, "pixelaspectratio", "square")
    sub(vfmt, "fielddominance", "none")
    vt = sub(video, "track")
    sub(vt, "enabled", "TRUE")
    sub(vt, "locked", "FALSE")


def _audio(media: ET.Element, session: Session) -> ET.Element:
    """The sequence's ``<audio>``: output channels (one mono group each) and sample rate; tracks follow."""
    audio = sub(media, "audio")
    nout = session.channels
    sub(audio, "numOutputChannels", nout)
    afmt = sub(sub(audio, "format"), "samplecharacteristics")
    sub(afmt, "depth", 16)
    sub(afmt, "samplerate", session.sample_rate)
    outputs = sub(audio, "outputs")
    for i in range(1, nout + 1):
        g = sub(outputs, "group")
        sub(g, "index", i)
        sub(g, "numchannels", 1)
        sub(g, "downmix", 0)
        sub(sub(g, "channel"), "index", i)
    return audio


class _Writer:
    """The audio tracks of one sequence: clip ids, file ids and what the notes will say, across tracks."""

    def __init__(self, session: Session, audio: ET.Element, notes: list[str], *, to_frame: Callable[[int], int],
                 to_samples: Callable[[int], int], snap: Callable[[int], int]) -> None:
        self.session = session
        self.audio = audio
        self.notes = notes
        self.rate = session.timebase.frame_rate
        self.to_frame, self.to_samples, self.snap = to_frame, to_samples, snap
        self.files: dict[str, tuple[str, str]] = {}  # path -> (file id, masterclip id)
        self.n_item = 0
        self.worst_gain = 0.0
        self.clamped = 0
        self.folded: list[str] = []
        self.xml_track_index = 0

    def track(self, track: Track, lanes: list[Lane]) -> None:
        """One session track: a Premiere track per lane, two (an exploded pair) for a stereo lane."""
        if has_gain(track):
            self.folded.append(track.name)
        pan_curve = track_pan(self.session, track)
        nout = self.session.channels
        for lane in lanes:
            nch = 2 if lane.kind == "stereo" else 1
            # ids first, so the items of a stereo pair can link to each other
            m = len(lane.items)
            ids = [[f"clipitem-{self.n_item + k * m + j + 1}" for k in range(nch)] for j in range(m)]
            self.n_item += nch * len(lane.items)
            base_index = self.xml_track_index
            for ch in range(nch):
                self.xml_track_index += 1
                attrs = {"MZ.TrackName": track.name, "currentExplodedTrackIndex": str(ch),
                         "totalExplodedTrackCount": str(nch), "premiereTrackType": "Stereo" if nch == 2 else "Mono",
                         "mixdown.role": track.role}
                tel = sub(self.audio, "track", **attrs)
                for j, p in enumerate(lane.items):
                    self.item(tel, track, lane, j, p, ch=ch, nch=nch, ids=ids, base_index=base_index,
                              pan_curve=pan_curve)
                sub(tel, "enabled", "FALSE" if track.mute else "TRUE")
                sub(tel, "locked", "FALSE")
                sub(tel, "outputchannelindex", (ch % max(nout, 1)) + 1)

    def item(self, tel: ET.Element, track: Track, lane: Lane, j: int, p: Placed, *, ch: int, nch: int,
             ids: list[list[str]], base_index: int, pan_curve: Curve) -> None:
        """One placed clip on channel ``ch`` of a lane: its transitions and its clip item."""
        to_frame, rate, sr = self.to_frame, self.rate, self.session.sample_rate
        s_f, e_f = to_frame(p.start), to_frame(p.end)
        in_f = to_frame(p.src_in)
        if p.fade_in:
            _transition(tel, rate, s_f, to_frame(p.start + p.fade_in[0]), "start-black", p.fade_in[1], self.notes)
        if p.xfade_in:
            prev = lane.items[j - 1]
            shape = p.xshape_in
            if prev.xshape_out != shape:
                self.notes.append(f"track {track.name!r}: crossfade into {p.name!r} has different fade shapes "
                                  f"on its two sides; written as {shape}")
            _transition(tel, rate, s_f, to_frame(prev.end), "center", shape, self.notes)
        ci = sub(tel, "clipitem", id=ids[j][ch], premiereChannelType="stereo" if nch == 2 else "mono")
        key = str(p.path)
        first = key not in self.files
        if first:
            self.files[key] = (f"file-{len(self.files) + 1}", f"masterclip-{len(self.files) + 1}")
        fid, mid = self.files[key]
        sub(ci, "masterclipid", mid)
        sub(ci, "name", p.name)
        sub(ci, "enabled", "FALSE" if p.clip.mute else "TRUE")
        media_frames = to_frame(round(p.info.duration * sr)) if p.info and p.info.duration else in_f + e_f - s_f
        sub(ci, "duration", media_frames)
        rate_el(ci, rate)
        sub(ci, "start", -1 if p.xfade_in else s_f)
        sub(ci, "end", -1 if p.xfade_out else e_f)
        sub(ci, "in", in_f)
        sub(ci, "out", in_f + (e_f - s_f))
        sub(ci, "pproTicksIn", round(Fraction(p.src_in * TICKS_PER_SECOND, sr)))
        sub(ci, "pproTicksOut", round(Fraction((p.src_in + p.end - p.start) * TICKS_PER_SECOND, sr)))
        fel = sub(ci, "file", id=fid)
        if first:
            _file_el(fel, p, rate, sr, path_to_url(p.path), to_frame)
        st = sub(ci, "sourcetrack")
        sub(st, "mediatype", "audio")
        sub(st, "trackindex", ch + 1)
        t0, t1 = self.to_samples(s_f), self.to_samples(e_f)
        self.levels(ci, track, p, t0, t1, in_f - s_f)
        if pan_curve.constant is None or pan_curve.constant != 0.0:
            self.pan(ci, pan_curve, t0, t1, in_f - s_f)
        if nch == 2:
            for k in range(nch):
                ln = sub(ci, "link")
                sub(ln, "linkclipref", ids[j][k])
                sub(ln, "mediatype", "audio")
                sub(ln, "trackindex", base_index + k + 1)
                sub(ln, "clipindex", j + 1)
                sub(ln, "groupindex", 1)
        if p.fade_out:
            _transition(tel, rate, to_frame(p.end - p.fade_out[0]), e_f, "end-black", p.fade_out[1], self.notes)

    def levels(self, ci: ET.Element, track: Track, p: Placed, t0: int, t1: int, when0: int) -> None:
        """Clip gain, clip keyframes, track fader and keyframes as one Audio Levels filter.

        ``t0``..``t1`` is the item in samples; a keyframe's ``when`` is ``when0`` + its frame.
        """
        curve = clip_gain(self.session, track, p.clip, with_track=True)
        if curve.constant is not None:
            keys: list[tuple[int, float]] = []
            level = db_to_level(curve.constant)
        else:
            keys, err = approximate(curve, t0, t1, rep="amp", snap=self.snap)
            keys = trim_flat_ends(keys)
            self.worst_gain = max(self.worst_gain, err)
            level = db_to_level(keys[0][1])
        eff = _filter(ci, "Audio Levels", "audiolevels")
        par = sub(eff, "parameter", authoringApp="PremierePro")
        sub(par, "parameterid", "level")
        sub(par, "name", "Level")
        sub(par, "valuemin", 0)
        sub(par, "valuemax", _num(LEVEL_MAX))
        if level > LEVEL_MAX or any(db_to_level(v) > LEVEL_MAX for _, v in keys):
            self.clamped += 1
        sub(par, "value", _num(min(level, LEVEL_MAX)))
        for pos, v in keys:
            kf = sub(par, "keyframe")
            sub(kf, "when", when0 + self.to_frame(pos))
            sub(kf, "value", _num(min(db_to_level(v), LEVEL_MAX)))

    def pan(self, ci: ET.Element, pan_curve: Curve, t0: int, t1: int, when0: int) -> None:
        """The track's pan (constant or keyframed) as an Audio Pan filter on the clip item."""
        eff = _filter(ci, "Audio Pan", "audiopan")
        par = sub(eff, "parameter", authoringApp="PremierePro")
        sub(par, "parameterid", "pan")
        sub(par, "name", "Pan")
        sub(par, "valuemin", -1)
        sub(par, "valuemax", 1)
        if pan_curve.constant is not None:
            sub(par, "value", _num(pan_curve.constant))
            return
        pkeys, _ = approximate(pan_curve, t0, t1, rep="lin", snap=self.snap, tol=0.001)
        pkeys = trim_flat_ends(pkeys)
        sub(par, "value", _num(pkeys[0][1]))
        for pos, v in pkeys:
            kf = sub(par, "keyframe")
            sub(kf, "when", when0 + self.to_frame(pos))
            sub(kf, "value", _num(v))

    def summary(self) -> None:
        """The notes on everything folded, approximated or clamped across the sequence."""
        if self.folded:
            self.notes.append("FCP7 XML has no track volume: the fader and keyframes of "
                              f"{', '.join(repr(n) for n in self.folded)} were folded into their clips' Audio Levels "
                              "keyframes")
        if self.worst_gain > 0.01:
            self.notes.append(f"level keyframes on whole frames follow the session's gain within {self.worst_gain:.3f} "
                              "dB (steeper changes than one frame cannot be written)")
        if self.clamped:
            self.notes.append(f"{self.clamped} clip item(s) need more than +12 dB, the Audio Levels maximum: clamped "
                              "to +12 dB")


def _filter(ci: ET.Element, name: str, effectid: str) -> ET.Element:
    eff = sub(sub(ci, "filter"), "effect")
    sub(eff, "name", name)
    sub(eff, "effectid", effectid)
    sub(eff, "effectcategory", effectid)
    sub(eff, "effecttype", effectid)
    sub(eff, "mediatype", "audio")
    return eff


def _transition(tel: ET.Element, rate: Fraction, start: int, end: int, alignment: str, shape: str,
                notes: list[str]) -> None:
    if end <= start:
        notes.append("a fade shorter than one frame cannot be written as a transition: left out")
        return
    if shape == "s-curve":
        notes.append("FCP7/Premiere have no S-curve audio transition: written as Cross Fade (+3dB)")
    name, effectid = _XFADE[shape]
    tr = sub(tel, "transitionitem")
    sub(tr, "start", start)
    sub(tr, "end", end)
    sub(tr, "alignment", alignment)
    rate_el(tr, rate)
    eff = sub(tr, "effect")
    sub(eff, "name", name)
    sub(eff, "effectid", effectid)
    sub(eff, "effectcategory", "audiotransition")
    sub(eff, "effecttype", "transition")
    sub(eff, "mediatype", "audio")


def _file_el(fel: ET.Element, p: Placed, rate: Fraction, sr: int, url: str, to_frame: Callable[[int], Any]) -> None:
    sub(fel, "name", p.path.name)
    sub(fel, "pathurl", url)
    rate_el(fel, rate)
    if p.info is not None and p.info.duration is not None:
        sub(fel, "duration", to_frame(round(p.info.duration * sr)))
    m = sub(fel, "media")
    if p.info is not None and p.info.has_video:
        sub(m, "video")
    a = sub(m, "audio")
    sc = sub(a, "samplecharacteristics")
    sub(sc, "depth", 16)
    sub(sc, "samplerate", (p.info.sample_rate if p.info and p.info.sample_rate else sr))
    sub(a, "channelcount", p.channels)
