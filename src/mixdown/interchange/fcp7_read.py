"""Final Cut Pro 7 XML (``xmeml``): what Premiere Pro and DaVinci Resolve export and import.

Reading
-------
Times are integer frames at ``timebase`` (``ntsc`` TRUE means ``timebase * 1000/1001``);
``start``/``end`` place a clip item on the sequence, ``in``/``out`` are frames from
the start of the media, and Premiere's ``pproTicksIn`` (254016000000 ticks a
second) gives a sub-frame in-point when present. A clip end next to a transition
may be written ``-1``: it is recovered from the other end and the clip's length.
Transitions on audio tracks become fades (a crossfade between two clips, or a
fade from/to silence).

The "Audio Levels" filter's ``level`` is a *linear gain* (1 = 0 dB, Premiere's
maximum 3.98109 = +12 dB) and its keyframes' ``when`` are frames on the same axis
as ``in``/``out`` (the media's frames), so a keyframe's time in the clip is
``when - in``; between keyframes the gain moves linearly, which is the session's
``linear`` interpolation of a dB parameter. "Audio Pan" (-1..1) is read per clip.

Premiere writes a stereo track as two mono tracks (``totalExplodedTrackCount``)
with one clip item per channel, linked; they are merged back into one stereo clip.
Nested sequences are flattened onto the track that holds them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

from ..errors import SessionError, TimelineError, shown
from ..timebase import frames_to_tc, parse_rate, tc_to_frames
from .fcp7_filters import (
    TICKS_PER_SECOND,
    read_levels,
    read_speed,
    report_other_filters,
)
from .ir import ClipIR, Key, TimelineIR, TrackIR, crossfade, fade_shape_from_name
from .report import ImportReport
from .xmlutil import child_text, exact, flag, int_at, parse_root


def _rate(el: ET.Element | None, inherited: Fraction | None) -> Fraction | None:
    """The rate an element declares (``rate/timebase`` + ``rate/ntsc``), else the inherited one."""
    if el is None:
        return inherited
    tb = child_text(el, "rate/timebase")
    if tb is None:
        return inherited
    ntsc = (child_text(el, "rate/ntsc", "FALSE") or "FALSE").upper() == "TRUE"
    base = exact(tb, "<timebase>")
    if base <= 0:
        raise TimelineError(f"<rate><timebase> {tb!r} is not a positive frame rate")
    try:
        return parse_rate(base * Fraction(1000, 1001) if ntsc else base)
    except SessionError as exc:
        raise TimelineError(f"<rate><timebase> {tb!r}: {exc.message}") from None



class _Reader:
    def __init__(self, root: ET.Element, path: Path, report: ImportReport) -> None:
        self.root = root
        self.path = path
        self.report = report
        self.files: dict[str, ET.Element] = {}
        self.sequences: dict[str, ET.Element] = {}
        for f in root.iter("file"):
            fid = f.get("id")
            if fid and len(f) and fid not in self.files:
                self.files[fid] = f
        for s in root.iter("sequence"):
            sid = s.get("id")
            if sid and s.find("media") is not None and sid not in self.sequences:
                self.sequences[sid] = s
        self.tc_rate = Fraction(25)
        self.tc_drop = False
        self.start_frames = 0

    # -- sequence selection ------------------------------------------------------------------
    def top_sequences(self) -> list[ET.Element]:
        nested: set[int] = set()
        for ci in self.root.iter("clipitem"):
            for s in ci.iter("sequence"):
                nested.add(id(s))
        return [s for s in self.root.iter("sequence") if s.find("media") is not None and id(s) not in nested]

    def where(self, track: str, name: str, frame: int | None, rate: Fraction) -> str:
        if frame is None:
            return f"track {track!r}, clip {name!r}"
        return f"track {track!r}, clip {name!r} at {self.where_tc(frame, rate)}"

    # -- the sequence ------------------------------------------------------------------------
    def read(self, sequence: str | None) -> TimelineIR:
        seqs = self.top_sequences()
        if not seqs:
            raise TimelineError("no <sequence> with media in this FCP7 XML file", file=self.path)
        chosen = seqs[0]
        if sequence is not None:
            named = [s for s in seqs if (child_text(s, "name") or "") == sequence]
            if not named:
                names = ", ".join(repr(child_text(s, "name") or "?") for s in seqs)
                raise TimelineError(f"no sequence named {sequence!r} (sequences: {names})", file=self.path)
            chosen = named[0]
        elif len(seqs) > 1:
            self.report.add("info", "other sequences",
                            f"the file holds {len(seqs)} sequences; imported the first, {(child_text(chosen, 'name') or '?')!r}")
        seq = chosen
        rate = _rate(seq, None)
        if rate is None:
            raise TimelineError("the sequence has no <rate><timebase>", file=self.path)
        tc = seq.find("timecode")
        tc_rate = _rate(tc, rate) or rate
        drop = False
        start_frames = 0
        if tc is not None:
            fmt = (child_text(tc, "displayformat") or "").upper()
            string = child_text(tc, "string") or ""
            drop = fmt == "DF" or (";" in string and fmt != "NDF")
            if round(tc_rate) not in (30, 60) or tc_rate.denominator == 1:
                drop = False  # drop-frame exists only at 29.97 and 59.94
            frame = int_at(tc, "frame")
            if frame is not None:
                start_frames = frame
            elif string:
                m = re.fullmatch(r"(\d{1,2})[:;](\d{1,2})[:;](\d{1,2})[:;](\d{1,3})", string)
                if m is None:
                    raise TimelineError(f"<timecode><string> {shown(string)} is not timecode HH:MM:SS:FF")
                start_frames = tc_to_frames(*(int(g) for g in m.groups()), tc_rate, drop)
        self.tc_rate, self.tc_drop = tc_rate, drop
        # the session counts start frames at the sequence rate
        self.start_frames = round(Fraction(start_frames) * rate / tc_rate)
        self.tc_rate = rate
        duration_frames = int_at(seq, "duration")
        ir = TimelineIR(
            format="fcp7",
            name=child_text(seq, "name"),
            frame_rate=rate,
            drop_frame=drop,
            start_frames=self.start_frames,
            duration=Fraction(duration_frames) / rate if duration_frames else None,
        )
        self.report.sequence = ir.name
        audio = seq.find("media/audio")
        if audio is not None:
            nout = int_at(audio, "numOutputChannels")
            if nout is None:
                groups = audio.findall("outputs/group")
                nout = sum(int_at(g, "numchannels", 1) or 1 for g in groups) if groups else None
            if nout == 1:
                ir.layout = "mono"
            elif nout == 6:
                ir.layout = "5.1"
            elif nout not in (None, 2):
                self.report.add("info", "output channels",
                                f"the sequence has {nout} output channels; the session is stereo")
        self._report_video(seq)
        ir.tracks = self.read_tracks(seq, rate)
        for m in seq.findall("marker"):
            self.report.add("dropped", "marker", f"sequence marker {(child_text(m, 'name') or '')!r}")
        return ir

    def _report_video(self, seq: ET.Element) -> None:
        vtracks = seq.findall("media/video/track")
        n = sum(len(t.findall("clipitem")) + len(t.findall("generatoritem")) for t in vtracks)
        if n:
            self.report.add("dropped", "video track",
                            f"{len(vtracks)} video track(s) with {n} item(s) ignored (the session holds audio only)")

    def read_tracks(self, seq: ET.Element, rate: Fraction, depth: int = 0) -> list[TrackIR]:
        tracks: list[TrackIR] = []
        logical = 0
        for tel in seq.findall("media/audio/track"):
            exploded = tel.get("currentExplodedTrackIndex")
            if exploded in (None, "0"):
                logical += 1
            name = tel.get("MZ.TrackName") or f"A{logical}"
            track = TrackIR(name=name, role_hint=tel.get("mixdown.role"),
                            mute=not flag(child_text(tel, "enabled"), True))
            self.read_items(tel, track, rate, depth)
            tracks.append(track)
        return tracks

    def read_items(self, tel: ET.Element, track: TrackIR, rate: Fraction, depth: int) -> None:
        items: list[tuple[str, ET.Element, list[ClipIR]]] = []
        prev_el: ET.Element | None = None
        for el in tel:
            if el.tag == "clipitem":
                made = self.clip(el, track, rate, depth, prev_el)
                track.clips.extend(made)
                items.append(("clip", el, made))
            elif el.tag == "transitionitem":
                items.append(("transition", el, []))
            elif el.tag == "generatoritem":
                self.report.add("dropped", "generator",
                                f"generator {(child_text(el, 'name') or child_text(el, 'effect/name') or '?')!r} on an audio track",
                                f"track {track.name!r}")
            if el.tag in ("clipitem", "transitionitem", "generatoritem"):
                prev_el = el
        for i, (kind, el, _) in enumerate(items):
            if kind != "transition":
                continue
            ts, te = int_at(el, "start"), int_at(el, "end")
            if ts is None or te is None or te <= ts:
                continue
            trate = _rate(el, rate) or rate
            t0, t1 = Fraction(ts) / trate, Fraction(te) / trate
            name = child_text(el, "effect/name") or child_text(el, "effect/effectid") or "Cross Fade"
            shape = fade_shape_from_name(name + " " + (child_text(el, "effect/effectid") or ""))
            align = (child_text(el, "alignment") or "center").lower()
            before = items[i - 1][2] if i > 0 and items[i - 1][0] == "clip" and align != "start-black" else []
            after = items[i + 1][2] if i + 1 < len(items) and items[i + 1][0] == "clip" and align != "end-black" else []
            where = f"track {track.name!r}, transition {name!r} at {self.where_tc(ts, trate)}"
            faded = 0
            # every clip a clip item produced (a flattened nest gives several) fades alike
            for a in before:
                if a.end >= t0:
                    crossfade(a, None, t0, t1, shape, self.report, where)
                    faded += 1
            for b in after:
                if b.start <= t1:
                    crossfade(None, b, t0, t1, shape, self.report, where)
                    faded += 1
            if not faded:
                self.report.add("dropped", "transition", f"transition {name!r} with no clip next to it", where)

    def where_tc(self, frame: int, rate: Fraction) -> str:
        try:
            return frames_to_tc(self.start_frames + round(Fraction(frame) * self.tc_rate / rate), self.tc_rate,
                                self.tc_drop)
        except Exception:
            return f"frame {frame}"

    # -- one clip item ---------------------------------------------------------------------------
    def clip(self, el: ET.Element, track: TrackIR, seq_rate: Fraction, depth: int,
             prev_el: ET.Element | None) -> list[ClipIR]:
        name = child_text(el, "name") or "clip"
        crate = _rate(el, seq_rate) or seq_rate
        start, end = int_at(el, "start", -1), int_at(el, "end", -1)
        cin, cout = int_at(el, "in", 0), int_at(el, "out")
        where = self.where(track.name, name, start if start is not None and start >= 0 else None, seq_rate)
        if cin is None:
            cin = 0
        if cout is None:
            cout = cin + ((end - start) if start is not None and end is not None and start >= 0 and end >= 0 else 0)
        reverse = cout < cin
        if reverse:
            self.report.add("dropped", "reverse", f"{name!r} plays backwards; imported forwards", where)
            cin, cout = cout, cin
        length_seq = Fraction(cout - cin) * seq_rate / crate
        if start is None or start < 0:
            start_f = (Fraction(end) - length_seq) if end is not None and end >= 0 else None
        else:
            start_f = Fraction(start)
        if end is None or end < 0:
            end_f = (start_f + length_seq) if start_f is not None else None
        else:
            end_f = Fraction(end)
        if start_f is None or end_f is None:
            prev_t = prev_el if prev_el is not None and prev_el.tag == "transitionitem" else None
            if prev_t is not None:
                start_f = Fraction(int_at(prev_t, "start", 0) or 0)
                end_f = start_f + length_seq
            else:
                self.report.add("dropped", "clip", f"{name!r} has no position on the timeline", where)
                return []
        report_other_filters(el, name, where, self.report)
        speed = read_speed(el)
        if speed is not None and abs(speed - 100.0) > 1e-6:
            self.report.add("dropped", "speed change",
                            f"{name!r} plays at {speed:g}%; imported at 100% (same timeline length)", where)
        elif start is not None and end is not None and start >= 0 and end >= 0 and (end_f - start_f) != length_seq:
            self.report.add("approximated", "clip length",
                            f"{name!r}: timeline length {end_f - start_f} frames differs from its source length "
                            f"{length_seq} frames; the timeline length is used", where)
        for m in el.findall("marker"):
            self.report.add("dropped", "marker", f"clip marker {(child_text(m, 'name') or '')!r} on {name!r}", where)

        nested = el.find("sequence")
        if nested is not None:
            return self._nested(el, nested, track, seq_rate, crate, start_f, end_f, cin, name, where, depth)
        if el.find("multiclip") is not None:
            self.report.add("dropped", "multiclip", f"multicam clip {name!r} is not imported", where)
            return []
        return self.media_clip(el, name, crate, seq_rate, start_f, end_f, cin, where)

    def media_clip(self, el: ET.Element, name: str, crate: Fraction, seq_rate: Fraction, start_f: Fraction,
                   end_f: Fraction, cin: int, where: str) -> list[ClipIR]:
        """The clip of a clip item that plays a media file, placed at frames ``start_f``..``end_f``."""
        fel = el.find("file")
        fdef = self.files.get(fel.get("id", "")) if fel is not None else None
        if fdef is None and fel is not None and len(fel):
            fdef = fel
        if fdef is None:
            self.report.add("dropped", "clip", f"{name!r} has no media file", where)
            return []
        ref = child_text(fdef, "pathurl")
        fname = child_text(fdef, "name") or name
        ticks = int_at(el, "pproTicksIn")
        source_in = Fraction(cin) / crate
        if ticks is not None and abs(Fraction(ticks, TICKS_PER_SECOND) - source_in) < 1 / crate:
            source_in = Fraction(ticks, TICKS_PER_SECOND)
        ir = ClipIR(
            name=name,
            ref=ref,
            start=start_f / seq_rate,
            duration=(end_f - start_f) / seq_rate,
            source_in=source_in,
            mute=not flag(child_text(el, "enabled"), True),
            extra_names=(fname,) if fname else (),
            where=where,
        )
        if ref is None:
            ir.ref = None
        trackindex = int_at(el, "sourcetrack/trackindex")
        channels = int_at(fdef, "media/audio/channelcount")
        if trackindex is not None:
            ir.channel = trackindex
            ir.channel_count = channels
        links = sorted(child_text(l, "linkclipref") or "" for l in el.findall("link")
                       if (child_text(l, "mediatype") or "audio") == "audio")
        if links:
            ir.link = "|".join(links)
        read_levels(el, ir, crate, cin, where, self.report)
        if fdef.find("media/audio") is None and fdef.find("media") is not None:
            self.report.add("warning", "media", f"{fname!r} declares no audio; the session will read its audio stream",
                            where)
        return [ir]

    def _nested(self, el, nested, track, seq_rate, crate, start_f, end_f, cin, name, where, depth) -> list[ClipIR]:
        if not len(nested):
            nested = self.sequences.get(nested.get("id", ""), nested)
        if nested.find("media") is None or depth > 8:
            self.report.add("dropped", "nested sequence", f"nested sequence {name!r} could not be read", where)
            return []
        inner_rate = _rate(nested, crate) or crate
        inner_tracks = self.read_tracks(nested, inner_rate, depth + 1)
        # the nest clip's own levels apply to everything inside it
        holder = ClipIR(name=name, ref=None, start=start_f / seq_rate, duration=(end_f - start_f) / seq_rate)
        read_levels(el, holder, crate, cin, where, self.report)
        win0 = Fraction(cin) / crate
        win1 = win0 + holder.duration
        out: list[ClipIR] = []
        for t in inner_tracks:
            for c in t.clips:
                if c.end <= win0 or c.start >= win1:
                    continue
                if c.start < win0:
                    c.move_start(win0)
                if c.end > win1:
                    c.duration = win1 - c.start
                c.start = holder.start + (c.start - win0)
                c.mute = c.mute or t.mute or holder.mute
                c.gain_db += holder.gain_db
                if holder.gain_keys:
                    if c.gain_keys:
                        self.report.add("approximated", "nested sequence",
                                        f"levels keyframed both on nest {name!r} and inside it: the nest's are used "
                                        f"for {c.name!r}", where)
                    c.gain_keys = [Key(t=k.t - (c.start - holder.start), v=k.v + c.gain_db, interp=k.interp)
                                   for k in holder.gain_keys]
                    c.gain_db = 0.0
                if holder.pan is not None and c.pan is None and not c.pan_keys:
                    c.pan = holder.pan
                c.where = f"{where} > {c.where}"
                out.append(c)
        self.report.add("approximated", "nested sequence",
                        f"nested sequence {name!r} was flattened onto track {track.name!r} "
                        f"({len(out)} clip(s); the nest's effects and its inner track settings are not kept)", where)
        return out


def read_fcp7(path: Path, report: ImportReport, *, sequence: str | None = None) -> TimelineIR:
    """Parse an FCP7 XML file into the exact intermediate form."""
    root = parse_root(path)
    if root.tag != "xmeml":
        raise TimelineError(f"not an FCP7 XML file (root element <{root.tag}>, expected <xmeml>)", file=path)
    return _Reader(root, path, report).read(sequence)
