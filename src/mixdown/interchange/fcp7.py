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

import math
import re
import uuid
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

from ..errors import SessionError, TimelineError, shown
from ..timebase import frames_to_tc, parse_rate, tc_to_frames
from .ir import ClipIR, Key, TimelineIR, TrackIR, crossfade, fade_shape_from_name
from .report import ImportReport

TICKS_PER_SECOND = 254016000000
LEVEL_MAX = 3.98109  # Premiere's and FCP7's +12 dB


def _text(el: ET.Element | None, path: str, default: str | None = None) -> str | None:
    if el is None:
        return default
    found = el.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def _number(text: str, tag: str) -> float:
    """A number written in the file, or a TimelineError naming the element (never a silent default)."""
    try:
        v = float(text)
    except ValueError:
        raise TimelineError(f"<{tag}> {shown(text)} is not a number") from None
    if not math.isfinite(v):
        raise TimelineError(f"<{tag}> {shown(text)} is not a finite number")
    return v


def _exact(text: str, tag: str) -> Fraction:
    """A number written in the file, exactly (``29.97`` is 2997/100)."""
    v = _number(text, tag)
    try:
        return Fraction(text.strip())
    except ValueError:  # float() reads forms Fraction() does not ("1_0", " inf"-like spacing)
        return Fraction(v)


def _int(el: ET.Element | None, path: str, default: int | None = None) -> int | None:
    t = _text(el, path)
    if t is None or t == "":
        return default
    return int(round(_number(t, path.rsplit("/", 1)[-1])))


def _rate(el: ET.Element | None, inherited: Fraction | None) -> Fraction | None:
    """The rate an element declares (``rate/timebase`` + ``rate/ntsc``), else the inherited one."""
    if el is None:
        return inherited
    tb = _text(el, "rate/timebase")
    if tb is None:
        return inherited
    ntsc = (_text(el, "rate/ntsc", "FALSE") or "FALSE").upper() == "TRUE"
    base = _exact(tb, "timebase")
    if base <= 0:
        raise TimelineError(f"<rate><timebase> {tb!r} is not a positive frame rate")
    try:
        return parse_rate(base * Fraction(1000, 1001) if ntsc else base)
    except SessionError as exc:
        raise TimelineError(f"<rate><timebase> {tb!r}: {exc.message}") from None


def _bool(text: str | None, default: bool = True) -> bool:
    if text is None:
        return default
    return text.strip().upper() not in ("FALSE", "0", "NO")


def level_to_db(level: float) -> float:
    """dB of an FCP7/Premiere "Audio Levels" linear gain (0 -> -144)."""
    return 20.0 * math.log10(level) if level > 0 else -144.0


def db_to_level(db: float) -> float:
    """Linear gain of a dB value (-144 and below -> 0)."""
    return 0.0 if db <= -144.0 else 10.0 ** (db / 20.0)


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
            named = [s for s in seqs if (_text(s, "name") or "") == sequence]
            if not named:
                names = ", ".join(repr(_text(s, "name") or "?") for s in seqs)
                raise TimelineError(f"no sequence named {sequence!r} (sequences: {names})", file=self.path)
            chosen = named[0]
        elif len(seqs) > 1:
            self.report.add("info", "other sequences",
                            f"the file holds {len(seqs)} sequences; imported the first, {(_text(chosen, 'name') or '?')!r}")
        seq = chosen
        rate = _rate(seq, None)
        if rate is None:
            raise TimelineError("the sequence has no <rate><timebase>", file=self.path)
        tc = seq.find("timecode")
        tc_rate = _rate(tc, rate) or rate
        drop = False
        start_frames = 0
        if tc is not None:
            fmt = (_text(tc, "displayformat") or "").upper()
            string = _text(tc, "string") or ""
            drop = fmt == "DF" or (";" in string and fmt != "NDF")
            if round(tc_rate) not in (30, 60) or tc_rate.denominator == 1:
                drop = False  # drop-frame exists only at 29.97 and 59.94
            frame = _int(tc, "frame")
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
        duration_frames = _int(seq, "duration")
        ir = TimelineIR(
            format="fcp7",
            name=_text(seq, "name"),
            frame_rate=rate,
            drop_frame=drop,
            start_frames=self.start_frames,
            duration=Fraction(duration_frames) / rate if duration_frames else None,
        )
        self.report.sequence = ir.name
        audio = seq.find("media/audio")
        if audio is not None:
            nout = _int(audio, "numOutputChannels")
            if nout is None:
                groups = audio.findall("outputs/group")
                nout = sum(_int(g, "numchannels", 1) or 1 for g in groups) if groups else None
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
            self.report.add("dropped", "marker", f"sequence marker {(_text(m, 'name') or '')!r}")
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
                            mute=not _bool(_text(tel, "enabled"), True))
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
                                f"generator {(_text(el, 'name') or _text(el, 'effect/name') or '?')!r} on an audio track",
                                f"track {track.name!r}")
            if el.tag in ("clipitem", "transitionitem", "generatoritem"):
                prev_el = el
        for i, (kind, el, _) in enumerate(items):
            if kind != "transition":
                continue
            ts, te = _int(el, "start"), _int(el, "end")
            if ts is None or te is None or te <= ts:
                continue
            trate = _rate(el, rate) or rate
            t0, t1 = Fraction(ts) / trate, Fraction(te) / trate
            name = _text(el, "effect/name") or _text(el, "effect/effectid") or "Cross Fade"
            shape = fade_shape_from_name(name + " " + (_text(el, "effect/effectid") or ""))
            align = (_text(el, "alignment") or "center").lower()
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
        name = _text(el, "name") or "clip"
        crate = _rate(el, seq_rate) or seq_rate
        start, end = _int(el, "start", -1), _int(el, "end", -1)
        cin, cout = _int(el, "in", 0), _int(el, "out")
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
                start_f = Fraction(_int(prev_t, "start", 0) or 0)
                end_f = start_f + length_seq
            else:
                self.report.add("dropped", "clip", f"{name!r} has no position on the timeline", where)
                return []
        self._filters_report(el, name, where)
        speed = self._speed(el)
        if speed is not None and abs(speed - 100.0) > 1e-6:
            self.report.add("dropped", "speed change",
                            f"{name!r} plays at {speed:g}%; imported at 100% (same timeline length)", where)
        elif start is not None and end is not None and start >= 0 and end >= 0 and (end_f - start_f) != length_seq:
            self.report.add("approximated", "clip length",
                            f"{name!r}: timeline length {end_f - start_f} frames differs from its source length "
                            f"{length_seq} frames; the timeline length is used", where)
        for m in el.findall("marker"):
            self.report.add("dropped", "marker", f"clip marker {(_text(m, 'name') or '')!r} on {name!r}", where)

        nested = el.find("sequence")
        if nested is not None:
            return self._nested(el, nested, track, seq_rate, crate, start_f, end_f, cin, name, where, depth)
        if el.find("multiclip") is not None:
            self.report.add("dropped", "multiclip", f"multicam clip {name!r} is not imported", where)
            return []
        fel = el.find("file")
        fdef = self.files.get(fel.get("id", "")) if fel is not None else None
        if fdef is None and fel is not None and len(fel):
            fdef = fel
        if fdef is None:
            self.report.add("dropped", "clip", f"{name!r} has no media file", where)
            return []
        ref = _text(fdef, "pathurl")
        fname = _text(fdef, "name") or name
        ticks = _int(el, "pproTicksIn")
        source_in = Fraction(cin) / crate
        if ticks is not None and abs(Fraction(ticks, TICKS_PER_SECOND) - source_in) < 1 / crate:
            source_in = Fraction(ticks, TICKS_PER_SECOND)
        ir = ClipIR(
            name=name,
            ref=ref,
            start=start_f / seq_rate,
            duration=(end_f - start_f) / seq_rate,
            source_in=source_in,
            mute=not _bool(_text(el, "enabled"), True),
            extra_names=(fname,) if fname else (),
            where=where,
        )
        if ref is None:
            ir.ref = None
        trackindex = _int(el, "sourcetrack/trackindex")
        channels = _int(fdef, "media/audio/channelcount")
        if trackindex is not None:
            ir.channel = trackindex
            ir.channel_count = channels
        links = sorted(_text(l, "linkclipref") or "" for l in el.findall("link")
                       if (_text(l, "mediatype") or "audio") == "audio")
        if links:
            ir.link = "|".join(links)
        self._levels(el, ir, crate, cin, where)
        if fdef.find("media/audio") is None and fdef.find("media") is not None:
            self.report.add("warning", "media", f"{fname!r} declares no audio; the session will read its audio stream",
                            where)
        return [ir]

    def _speed(self, el: ET.Element) -> float | None:
        for f in el.findall("filter"):
            eid = (_text(f, "effect/effectid") or _text(f, "effect/name") or "").lower()
            if eid in ("timeremap", "time remap"):
                for p in f.findall("effect/parameter"):
                    if (_text(p, "parameterid") or "").lower() == "speed":
                        return _number(_text(p, "value") or "100", "value")
        return None

    def _filters_report(self, el: ET.Element, name: str, where: str) -> None:
        for f in el.findall("filter"):
            eff = f.find("effect")
            eid = (_text(eff, "effectid") or "").lower()
            ename = _text(eff, "name") or eid or "?"
            if eid in ("audiolevels", "audiopan", "timeremap") or ename.lower() in ("audio levels", "audio pan", "time remap"):
                continue
            if (_text(eff, "mediatype") or "audio").lower() == "video":
                continue
            self.report.add("dropped", "effect", f"audio effect {ename!r} on {name!r} is not imported", where)

    def _levels(self, el: ET.Element, ir: ClipIR, crate: Fraction, cin: int, where: str) -> None:
        keyed = 0
        for f in el.findall("filter"):
            if not _bool(_text(f, "enabled"), True):
                self.report.add("info", "effect", f"a disabled filter on {ir.name!r} was ignored", where)
                continue
            eff = f.find("effect")
            eid = ((_text(eff, "effectid") or "") + "|" + (_text(eff, "name") or "")).lower()
            if "audiolevels" in eid or "audio levels" in eid:
                for p in eff.findall("parameter") if eff is not None else []:
                    if (_text(p, "parameterid") or _text(p, "name") or "").lower() != "level":
                        continue
                    kfs = p.findall("keyframe")
                    if kfs:
                        keyed += 1
                        keys = []
                        for k in kfs:
                            when, val = _text(k, "when"), _text(k, "value")
                            if when is None or val is None:
                                continue
                            keys.append(Key(t=(_exact(when, "when") - cin) / crate,
                                            v=level_to_db(_number(val, "value"))))
                        if keyed > 1 and ir.gain_keys:
                            self.report.add("approximated", "levels",
                                            f"{ir.name!r} has several keyframed level filters; only the first is used",
                                            where)
                        else:
                            ir.gain_keys = sorted(keys, key=lambda k: k.t)
                    else:
                        val = _text(p, "value")
                        if val is not None:
                            ir.gain_db += level_to_db(_number(val, "value"))
            elif "audiopan" in eid or "audio pan" in eid:
                for p in eff.findall("parameter") if eff is not None else []:
                    if (_text(p, "parameterid") or _text(p, "name") or "").lower() != "pan":
                        continue
                    lo = _number(_text(p, "valuemin") or "-1", "valuemin")
                    hi = _number(_text(p, "valuemax") or "1", "valuemax")

                    def norm(v: float) -> float:
                        return max(-1.0, min(1.0, -1.0 + 2.0 * (v - lo) / (hi - lo))) if hi > lo else 0.0

                    kfs = p.findall("keyframe")
                    if kfs:
                        ir.pan_keys = sorted(
                            (Key(t=(_exact(_text(k, "when") or "0", "when") - cin) / crate,
                                 v=norm(_number(_text(k, "value") or "0", "value"))) for k in kfs), key=lambda k: k.t)
                    else:
                        ir.pan = norm(_number(_text(p, "value") or "0", "value"))
            elif "gain" == (_text(eff, "name") or "").strip().lower():
                for p in eff.findall("parameter") if eff is not None else []:
                    val = _number(_text(p, "value") or "0", "value")
                    ir.gain_db += val
                    self.report.add("approximated", "gain filter",
                                    f"'Gain' filter on {ir.name!r} read as {val:+g} dB clip gain", where)
                    break

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
        self._levels(el, holder, crate, cin, where)
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
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise TimelineError(f"not valid XML: {exc}", file=path) from None
    if root.tag != "xmeml":
        raise TimelineError(f"not an FCP7 XML file (root element <{root.tag}>, expected <xmeml>)", file=path)
    return _Reader(root, path, report).read(sequence)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mixdown:" + "/".join(parts)))



# ---------------------------------------------------------------------------------------------
# writing


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _rate_el(parent: ET.Element, rate: Fraction) -> None:
    r = _sub(parent, "rate")
    _sub(r, "timebase", round(rate))
    _sub(r, "ntsc", "TRUE" if rate.denominator == 1001 else "FALSE")


def _num(v: float) -> str:
    return f"{v:.8g}"


_XFADE = {
    "equal-power": ("Cross Fade (+3dB)", "KGAudioTransCrossFade3dB"),
    "linear": ("Cross Fade (0dB)", "KGAudioTransCrossFade0dB"),
    "log": ("Exponential Fade", "PN.ExponentialFade"),
    "s-curve": ("Cross Fade (+3dB)", "KGAudioTransCrossFade3dB"),
}


def write_fcp7(session, path: Path, *, name: str) -> list[str]:
    """Write a session as FCP7 XML in the structure Premiere Pro writes.

    Clip level, clip keyframes and the track's fader and keyframes are folded into
    one "Audio Levels" filter per clip item (keyframes on whole frames, linear gain,
    within 0.01 dB of the session's curve where the frame grid allows); fades become
    transitions; stereo sources sit on Premiere's exploded stereo track pairs.

    Returns
    -------
    list of str
        Notes on what FCP7 XML could not hold as such.
    """
    from ..session.io import write_text_atomic
    from .gaincurve import approximate, clip_gain, has_gain, track_pan, trim_flat_ends
    from .media import path_to_url
    from .plan import frames_grid, plan, unsupported_notes

    notes: list[str] = unsupported_notes(session, "FCP7 XML")
    tb = session.timebase
    rate = tb.frame_rate
    if not (rate.denominator == 1 or (rate * 1001 / 1000).denominator == 1):
        raise TimelineError(f"FCP7 XML cannot express the frame rate {rate} (only whole and NTSC x/1.001 rates)",
                            file=path)
    sr = session.sample_rate
    to_frame, to_samples, snap = frames_grid(session)
    lanes_by_track = plan(session, snap=snap, notes=notes, typed_tracks=True)

    root = ET.Element("xmeml", version="4")
    seq = _sub(root, "sequence", id="sequence-1", explodedTracks="true")
    _sub(seq, "uuid", _uuid(name, str(session.sample_rate)))
    end_frames = 0
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                end_frames = max(end_frames, to_frame(p.end))
    if session.duration is not None:
        end_frames = max(end_frames, to_frame(tb.samples(session.duration)))
    _sub(seq, "duration", end_frames)
    _rate_el(seq, rate)
    _sub(seq, "name", name)
    media = _sub(seq, "media")
    video = _sub(media, "video")
    vfmt = _sub(_sub(video, "format"), "samplecharacteristics")
    _rate_el(vfmt, rate)
    _sub(vfmt, "width", 1920)
    _sub(vfmt, "height", 1080)
    _sub(vfmt, "anamorphic", "FALSE")
    _sub(vfmt, "pixelaspectratio", "square")
    _sub(vfmt, "fielddominance", "none")
    vt = _sub(video, "track")
    _sub(vt, "enabled", "TRUE")
    _sub(vt, "locked", "FALSE")
    audio = _sub(media, "audio")
    nout = session.channels
    _sub(audio, "numOutputChannels", nout)
    afmt = _sub(_sub(audio, "format"), "samplecharacteristics")
    _sub(afmt, "depth", 16)
    _sub(afmt, "samplerate", sr)
    outputs = _sub(audio, "outputs")
    for i in range(1, nout + 1):
        g = _sub(outputs, "group")
        _sub(g, "index", i)
        _sub(g, "numchannels", 1)
        _sub(g, "downmix", 0)
        _sub(_sub(g, "channel"), "index", i)

    files: dict[str, tuple[str, str]] = {}  # path -> (file id, masterclip id)
    n_item = 0
    worst_gain = 0.0
    clamped = 0
    folded: list[str] = []
    xml_track_index = 0

    for track, lanes in lanes_by_track:
        if has_gain(track):
            folded.append(track.name)
        pan_curve = track_pan(session, track)
        for lane in lanes:
            nch = 2 if lane.kind == "stereo" else 1
            # ids first, so the items of a stereo pair can link to each other
            m = len(lane.items)
            ids = [[f"clipitem-{n_item + k * m + j + 1}" for k in range(nch)] for j in range(m)]
            n_item += nch * len(lane.items)
            base_index = xml_track_index
            for ch in range(nch):
                xml_track_index += 1
                attrs = {"MZ.TrackName": track.name, "currentExplodedTrackIndex": str(ch),
                         "totalExplodedTrackCount": str(nch), "premiereTrackType": "Stereo" if nch == 2 else "Mono",
                         "mixdown.role": track.role}
                tel = _sub(audio, "track", **attrs)
                for j, p in enumerate(lane.items):
                    s_f, e_f = to_frame(p.start), to_frame(p.end)
                    in_f = to_frame(p.src_in)
                    if p.fade_in:
                        _transition(tel, rate, s_f, to_frame(p.start + p.fade_in[0]), "start-black", p.fade_in[1], notes)
                    if p.xfade_in:
                        prev = lane.items[j - 1]
                        shape = p.xshape_in
                        if prev.xshape_out != shape:
                            notes.append(f"track {track.name!r}: crossfade into {p.name!r} has different fade shapes "
                                         f"on its two sides; written as {shape}")
                        _transition(tel, rate, s_f, to_frame(prev.end), "center", shape, notes)
                    ci = _sub(tel, "clipitem", id=ids[j][ch], premiereChannelType="stereo" if nch == 2 else "mono")
                    key = str(p.path)
                    if key not in files:
                        files[key] = (f"file-{len(files) + 1}", f"masterclip-{len(files) + 1}")
                        first = True
                    else:
                        first = False
                    fid, mid = files[key]
                    _sub(ci, "masterclipid", mid)
                    _sub(ci, "name", p.name)
                    _sub(ci, "enabled", "FALSE" if p.clip.mute else "TRUE")
                    media_frames = to_frame(round(p.info.duration * sr)) if p.info and p.info.duration else in_f + e_f - s_f
                    _sub(ci, "duration", media_frames)
                    _rate_el(ci, rate)
                    _sub(ci, "start", -1 if p.xfade_in else s_f)
                    _sub(ci, "end", -1 if p.xfade_out else e_f)
                    _sub(ci, "in", in_f)
                    _sub(ci, "out", in_f + (e_f - s_f))
                    _sub(ci, "pproTicksIn", round(Fraction(p.src_in * TICKS_PER_SECOND, sr)))
                    _sub(ci, "pproTicksOut", round(Fraction((p.src_in + p.end - p.start) * TICKS_PER_SECOND, sr)))
                    fel = _sub(ci, "file", id=fid)
                    if first:
                        _file_el(fel, p, rate, sr, path_to_url(p.path), to_frame)
                    st = _sub(ci, "sourcetrack")
                    _sub(st, "mediatype", "audio")
                    _sub(st, "trackindex", ch + 1)
                    # levels: clip gain, clip keyframes, track fader and keyframes in one curve
                    curve = clip_gain(session, track, p.clip, with_track=True)
                    t0, t1 = to_samples(s_f), to_samples(e_f)
                    if curve.constant is not None:
                        keys, err = [], 0.0
                        level = db_to_level(curve.constant)
                    else:
                        keys, err = approximate(curve, t0, t1, rep="amp", snap=snap)
                        keys = trim_flat_ends(keys)
                        worst_gain = max(worst_gain, err)
                        level = db_to_level(keys[0][1])
                    eff = _filter(ci, "Audio Levels", "audiolevels")
                    par = _sub(eff, "parameter", authoringApp="PremierePro")
                    _sub(par, "parameterid", "level")
                    _sub(par, "name", "Level")
                    _sub(par, "valuemin", 0)
                    _sub(par, "valuemax", _num(LEVEL_MAX))
                    if level > LEVEL_MAX or any(db_to_level(v) > LEVEL_MAX for _, v in keys):
                        clamped += 1
                    _sub(par, "value", _num(min(level, LEVEL_MAX)))
                    for pos, v in keys:
                        kf = _sub(par, "keyframe")
                        _sub(kf, "when", in_f + to_frame(pos) - s_f)
                        _sub(kf, "value", _num(min(db_to_level(v), LEVEL_MAX)))
                    if pan_curve.constant is None or pan_curve.constant != 0.0:
                        eff = _filter(ci, "Audio Pan", "audiopan")
                        par = _sub(eff, "parameter", authoringApp="PremierePro")
                        _sub(par, "parameterid", "pan")
                        _sub(par, "name", "Pan")
                        _sub(par, "valuemin", -1)
                        _sub(par, "valuemax", 1)
                        if pan_curve.constant is not None:
                            _sub(par, "value", _num(pan_curve.constant))
                        else:
                            pkeys, _ = approximate(pan_curve, t0, t1, rep="lin", snap=snap, tol=0.001)
                            pkeys = trim_flat_ends(pkeys)
                            _sub(par, "value", _num(pkeys[0][1]))
                            for pos, v in pkeys:
                                kf = _sub(par, "keyframe")
                                _sub(kf, "when", in_f + to_frame(pos) - s_f)
                                _sub(kf, "value", _num(v))
                    if nch == 2:
                        for k in range(nch):
                            ln = _sub(ci, "link")
                            _sub(ln, "linkclipref", ids[j][k])
                            _sub(ln, "mediatype", "audio")
                            _sub(ln, "trackindex", base_index + k + 1)
                            _sub(ln, "clipindex", j + 1)
                            _sub(ln, "groupindex", 1)
                    if p.fade_out:
                        _transition(tel, rate, to_frame(p.end - p.fade_out[0]), e_f, "end-black", p.fade_out[1], notes)
                _sub(tel, "enabled", "FALSE" if track.mute else "TRUE")
                _sub(tel, "locked", "FALSE")
                _sub(tel, "outputchannelindex", (ch % max(nout, 1)) + 1)
    tc = _sub(seq, "timecode")
    _rate_el(tc, rate)
    _sub(tc, "string", frames_to_tc(tb.start_frames, rate, session.drop_frame))
    _sub(tc, "frame", tb.start_frames)
    _sub(tc, "displayformat", "DF" if session.drop_frame else "NDF")

    if folded:
        notes.append("FCP7 XML has no track volume: the fader and keyframes of "
                     f"{', '.join(repr(n) for n in folded)} were folded into their clips' Audio Levels keyframes")
    if worst_gain > 0.01:
        notes.append(f"level keyframes on whole frames follow the session's gain within {worst_gain:.3f} dB "
                     "(steeper changes than one frame cannot be written)")
    if clamped:
        notes.append(f"{clamped} clip item(s) need more than +12 dB, the Audio Levels maximum: clamped to +12 dB")
    ET.indent(root, space="\t")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + ET.tostring(root, encoding="unicode") + "\n"
    write_text_atomic(path, text)
    return _dedupe(notes)


def _dedupe(notes: list[str]) -> list[str]:
    seen: list[str] = []
    for n in notes:
        if n not in seen:
            seen.append(n)
    return seen


def _filter(ci: ET.Element, name: str, effectid: str) -> ET.Element:
    eff = _sub(_sub(ci, "filter"), "effect")
    _sub(eff, "name", name)
    _sub(eff, "effectid", effectid)
    _sub(eff, "effectcategory", effectid)
    _sub(eff, "effecttype", effectid)
    _sub(eff, "mediatype", "audio")
    return eff


def _transition(tel: ET.Element, rate: Fraction, start: int, end: int, alignment: str, shape: str,
                notes: list[str]) -> None:
    if end <= start:
        notes.append("a fade shorter than one frame cannot be written as a transition: left out")
        return
    if shape == "s-curve":
        notes.append("FCP7/Premiere have no S-curve audio transition: written as Cross Fade (+3dB)")
    name, effectid = _XFADE[shape]
    tr = _sub(tel, "transitionitem")
    _sub(tr, "start", start)
    _sub(tr, "end", end)
    _sub(tr, "alignment", alignment)
    _rate_el(tr, rate)
    eff = _sub(tr, "effect")
    _sub(eff, "name", name)
    _sub(eff, "effectid", effectid)
    _sub(eff, "effectcategory", "audiotransition")
    _sub(eff, "effecttype", "transition")
    _sub(eff, "mediatype", "audio")


def _file_el(fel: ET.Element, p, rate: Fraction, sr: int, url: str, to_frame) -> None:
    _sub(fel, "name", p.path.name)
    _sub(fel, "pathurl", url)
    _rate_el(fel, rate)
    if p.info is not None and p.info.duration is not None:
        _sub(fel, "duration", to_frame(round(p.info.duration * sr)))
    m = _sub(fel, "media")
    if p.info is not None and p.info.has_video:
        _sub(m, "video")
    a = _sub(m, "audio")
    sc = _sub(a, "samplecharacteristics")
    _sub(sc, "depth", 16)
    _sub(sc, "samplerate", (p.info.sample_rate if p.info and p.info.sample_rate else sr))
    _sub(a, "channelcount", p.channels)
