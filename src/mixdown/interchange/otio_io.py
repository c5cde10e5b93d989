"""OpenTimelineIO (``.otio``) and CMX 3600 EDL (``.edl``, through OTIO's cmx_3600 adapter).

OTIO times are ``RationalTime(value, rate)`` with float fields; values are frame or
sample counts, so they are read back as exact Fractions with the rate snapped to
its exact ratio (29.97... -> 30000/1001). Audio tracks become session tracks;
transitions become crossfades (OTIO's ``in_offset``/``out_offset`` around the
cut); clip source ranges are in media time, measured from the media reference's
``available_range`` start when it has one.

OTIO has no schema for audio levels, so mixdown writes its own in ``metadata
["mixdown"]`` (clip gain, keyframes and fades, track role, fader, pan and
automation, in samples at the session rate) and reads it back: a session survives
``.otio`` exactly.

EDL
---
EDLs state no frame rate (give one, or the ``* FRAME RATE:`` comment mixdown
writes on its first event is read, or 29.97 is used for drop-frame EDLs and a
guess made from the timecodes otherwise) and OTIO's reader ignores ``FCM: DROP
FRAME``, so drop-frame timecodes written with ``:`` are re-marked ``;`` first.
OTIO stores each track's first record-in as a *negative* track start (OTIO issue
#1385); clips are placed at ``position - track start`` which undoes it. The
session starts at the hour of the first record-in; source timecodes are read
against the media's embedded timecode (BWF time reference, QuickTime timecode).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import TimelineError, shown
from ..session.model import Session
from ..timebase import parse_rate
from .ir import AutoIR, ClipIR, FadeIR, Key, TimelineIR, TrackIR, crossfade, fade_shape_from_name
from .report import ImportReport

NS = "mixdown"
_TC = re.compile(r"\b(\d\d):(\d\d):(\d\d)([:;.])(\d\d)\b")


def _otio():
    import opentimelineio as otio

    return otio


def _rate(r: float) -> Fraction:
    if not math.isfinite(r):
        raise TimelineError(f"the frame rate {r!r} is not a finite number")
    return parse_rate(Fraction(str(float(r))).limit_denominator(1_000_000) if float(r) != int(r) else int(r))


def _scale(r: float) -> Fraction:
    """The time scale of an OTIO RationalTime (frames, samples or any unit per second), exactly."""
    scale = Fraction(str(float(r))).limit_denominator(1_000_000) if math.isfinite(r) and r > 0 and r != int(r) \
        else Fraction(int(r)) if math.isfinite(r) else Fraction(0)
    if scale <= 0:
        raise TimelineError(f"a time has the rate {r!r}, which is not a positive number")
    return scale


def _secs(rt: Any) -> Fraction:
    """Exact seconds of an OTIO RationalTime."""
    rate = _scale(rt.rate)
    if not math.isfinite(rt.value):
        raise TimelineError(f"a time has the value {rt.value!r}, which is not a finite number")
    return Fraction(str(rt.value)) / rate if rt.value != int(rt.value) else Fraction(int(rt.value)) / rate


_SAMPLES = re.compile(r"^-?\d{1,20}s?$")


class _Meta:
    """The ``mixdown`` metadata of an OTIO object, each value's type checked where it is read.

    mixdown writes it (see :func:`write_otio`); a file edited by hand or by another tool
    may hold anything there, so a value of the wrong kind is a TimelineError naming
    the object and the key, never a crash.
    """

    def __init__(self, obj: Any, what: str) -> None:
        raw = obj.metadata.get(NS, {}) or {}
        if not hasattr(raw, "items"):
            raise TimelineError(f"{what}: the '{NS}' metadata is not a mapping")
        self.d = dict(raw)
        self.what = what

    def __contains__(self, key: str) -> bool:
        return key in self.d

    def _bad(self, key: str, kind: str) -> TimelineError:
        return TimelineError(f"{self.what}: {NS} metadata {key!r} must be {kind}, not {shown(self.d.get(key))}")

    def text(self, key: str, default: str | None = None) -> str | None:
        v = self.d.get(key, default)
        if v is not None and not isinstance(v, str):
            raise self._bad(key, "text")
        return v

    def number(self, key: str, default: float = 0.0) -> float:
        v = self.d.get(key, default)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self._bad(key, "a finite number")
        return float(v)

    def flag(self, key: str, default: bool = False) -> bool:
        v = self.d.get(key, default)
        if not isinstance(v, bool):
            raise self._bad(key, "true or false")
        return v

    def samples(self, key: str, value: Any = None) -> int:
        v = self.d.get(key) if value is None else value
        if isinstance(v, bool) or not _SAMPLES.match(str(v)):
            raise self._bad(key, "a sample count like '48000s'")
        return int(str(v).rstrip("s"))

    def mapping(self, key: str) -> "_Meta":
        v = self.d.get(key) or {}
        if not hasattr(v, "items"):
            raise self._bad(key, "a mapping")
        sub = _Meta.__new__(_Meta)
        sub.d, sub.what = dict(v), f"{self.what}, {key}"
        return sub

    def keys(self, key: str, sr: int, offset: Fraction = Fraction(0)) -> list[Key]:
        """Keyframes written ``[["<n>s", value, interp], ...]``."""
        raw = self.d.get(key) or []
        if isinstance(raw, (str, bytes)) or not hasattr(raw, "__iter__"):
            raise self._bad(key, "a list of keyframes")
        out = []
        for k in raw:
            k = list(k) if hasattr(k, "__iter__") and not isinstance(k, (str, bytes)) else []
            if len(k) not in (2, 3) or isinstance(k[1], bool) or not isinstance(k[1], (int, float)) \
                    or not math.isfinite(k[1]) or (len(k) == 3 and k[2] not in ("hold", "linear", "exp")):
                raise self._bad(key, "a list of [\"<samples>s\", value, interp] keyframes")
            out.append(Key(t=Fraction(self.samples(key, k[0]), sr) + offset, v=float(k[1]),
                           interp=k[2] if len(k) > 2 else "linear"))
        return out


def _auto_ir(meta: _Meta, sr: int) -> AutoIR | None:
    """mixdown's auto layer from OTIO metadata (written by :func:`_auto_meta`), each value checked."""
    if not meta.d.get("auto"):
        return None
    raw = meta.mapping("auto")
    edited = raw.d.get("edited") or []
    if isinstance(edited, (str, bytes)) or not hasattr(edited, "__iter__") or \
            not all(isinstance(e, str) for e in edited):
        raise raw._bad("edited", "a list of value names")
    return AutoIR(gain_db=raw.number("gain_db", 0.0), gain_keys=raw.mapping("automation").keys("gain_db", sr),
                  edited=list(edited))


def _auto_meta(session: Session, layer: Any, shift: int = 0) -> dict[str, Any] | None:
    """An auto layer as OTIO metadata: kept apart from the hand levels, so a round trip keeps it auto's."""
    out: dict[str, Any] = {}
    if layer.gain_db:
        out["gain_db"] = layer.gain_db
    if layer.automation.get("gain_db"):
        out["automation"] = {"gain_db": [_kf(session, kf, shift) for kf in layer.automation["gain_db"]]}
    if layer.edited:
        out["edited"] = list(layer.edited)
    return out or None


# ---------------------------------------------------------------------------------------------
# reading


def read_otio(path: Path, report: ImportReport) -> TimelineIR:
    """Read an ``.otio`` file."""
    otio = _otio()
    try:
        tl = otio.adapters.read_from_file(str(path), adapter_name="otio_json")
    except Exception as exc:
        raise TimelineError(f"cannot read OTIO file: {exc}", file=path) from None
    if not isinstance(tl, otio.schema.Timeline):
        raise TimelineError(f"the file holds a {type(tl).__name__}, not a Timeline", file=path)
    return _convert_or_refuse(tl, report, path=path, edl=False)


def _convert_or_refuse(tl, report: ImportReport, **kw: Any) -> TimelineIR:
    """:func:`_convert`, with OTIO's own complaints about a malformed timeline as TimelineErrors."""
    otio = _otio()
    try:
        return _convert(tl, report, **kw)
    except (otio.exceptions.OTIOError, NotImplementedError) as exc:  # e.g. a clip with no range at all
        raise TimelineError(f"cannot read the timeline: {exc or type(exc).__name__}", file=kw["path"]) from None


def _edl_rate(text: str, frame_rate: str | float | None, report: ImportReport) -> Fraction:
    if frame_rate is not None:
        return parse_rate(frame_rate)
    written = re.search(r"^\*\s*FRAME RATE:\s*([0-9./]+)\s*$", text, re.I | re.M)
    if written:  # CMX 3600 has no field for it; mixdown's EDLs say it in a comment
        try:
            return parse_rate(written.group(1))
        except Exception:
            report.add("warning", "frame rate", f"unreadable frame-rate comment {written.group(0).strip()!r}: ignored")
    if re.search(r"FCM:\s*DROP\s+FRAME", text, re.I):
        report.add("info", "frame rate", "the EDL is drop-frame: read at 29.97 fps (30000/1001)")
        return Fraction(30000, 1001)
    ffs = [int(m.group(5)) for m in _TC.finditer(text)]
    top = max(ffs) if ffs else 0
    rate = Fraction(60) if top >= 30 else Fraction(30000, 1001) if top >= 25 else Fraction(25) if top >= 24 \
        else Fraction(24)
    report.add("warning", "frame rate",
               f"the EDL does not state its frame rate; {float(rate):g} fps was assumed from its timecodes "
               "(frames up to {top}); pass the frame rate to be sure".replace("{top}", str(top)))
    return rate


def _mark_drop_frame(text: str) -> str:
    """Re-mark ``HH:MM:SS:FF`` as ``HH:MM:SS;FF`` on event lines under ``FCM: DROP FRAME``."""
    out = []
    drop = False
    for line in text.splitlines():
        s = line.strip().upper()
        if s.startswith("FCM"):
            drop = "NON" not in s and "DROP" in s
        elif drop and line[:1].isdigit():
            line = _TC.sub(lambda m: f"{m.group(1)}:{m.group(2)}:{m.group(3)};{m.group(5)}", line)
        out.append(line)
    return "\n".join(out) + "\n"


def read_edl(path: Path, report: ImportReport, *, frame_rate: str | float | None = None) -> TimelineIR:
    """Read a CMX 3600 EDL through OTIO's adapter (with its drop-frame and #1385 quirks undone)."""
    otio = _otio()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    rate = _edl_rate(text, frame_rate, report)
    drop = bool(re.search(r"FCM:\s*DROP\s+FRAME", text, re.I)) and round(rate) in (30, 60) and rate.denominator != 1
    if drop:
        text = _mark_drop_frame(text)
    try:
        tl = otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=float(rate))
    except Exception as exc:
        try:
            tl = otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=float(rate),
                                                ignore_timecode_mismatch=True)
            report.add("approximated", "timecode mismatch",
                       f"source and record durations disagree ({exc}); clips keep their source length")
        except Exception as exc2:
            raise TimelineError(f"cannot read EDL: {exc2}", file=path) from None
    ir = _convert_or_refuse(tl, report, path=path, edl=True, rate=rate, drop=drop)
    for line in text.splitlines():
        if re.match(r"^\s*(AUD|\*\s*AUD)\b", line, re.I):
            report.add("approximated", "audio channels", f"EDL audio channel line {line.strip()!r}: "
                       "the clips are imported on tracks A1..An by event channel")
            break
    return ir


def _convert(tl, report: ImportReport, *, path: Path, edl: bool, rate: Fraction | None = None,
             drop: bool = False) -> TimelineIR:
    otio = _otio()
    meta = _Meta(tl, "the timeline")
    gst = tl.global_start_time
    if rate is None:
        if meta.d.get("frame_rate"):
            rate = parse_rate(meta.d["frame_rate"])
        elif gst is not None:
            rate = _rate(gst.rate)
        else:
            rate = None
            for c in tl.find_clips():
                if c.source_range is not None:
                    rate = _rate(c.source_range.start_time.rate)
                    break
            rate = rate or Fraction(25)
    if not edl:
        drop = meta.flag("drop_frame") if "drop_frame" in meta else (round(rate) in (30, 60) and rate.denominator == 1001)
        if "drop_frame" not in meta and drop:
            report.add("info", "timecode", "OTIO does not say whether timecode is drop-frame; 29.97/59.94 is "
                       "shown as drop-frame")
    sr_meta = int(meta.number("sample_rate", 0))
    if sr_meta < 0:
        raise meta._bad("sample_rate", "a sample rate in Hz")
    tracks: list[TrackIR] = []
    video_items = 0
    records: list[Fraction] = []
    if tl.tracks is None:
        raise TimelineError("the timeline has no tracks")
    for t in tl.tracks:
        if isinstance(t, otio.schema.Track) and t.kind == otio.schema.TrackKind.Video:
            n = len(list(t.find_clips()))
            video_items += n
            if edl:
                records += _record_starts(t)
            continue
        if not isinstance(t, otio.schema.Track):
            report.add("dropped", "nested stack", f"a nested stack {t.name!r} at the top level is not imported")
            continue
        tracks.append(_track(t, report, edl=edl, sr=sr_meta))
        if edl:
            records += _record_starts(t)
    start_frames = 0
    if edl:
        if records:
            from ..timebase import frames_to_tc, tc_to_frames

            first = round(min(records) * rate)
            hours = int(frames_to_tc(first, rate, drop).split(":")[0])
            start_frames = tc_to_frames(hours, 0, 0, 0, rate, drop)
            report.add("info", "start", "EDLs have no sequence start: the session starts at the hour of the first "
                       "record-in")
        shift = Fraction(start_frames) / rate
        for tr in tracks:
            for c in tr.clips:
                c.start -= shift
                ref, st, du, si = c.timing
                c.timing = (ref, st - shift, du, si)
                # an event on several channels (AA, A12...) is one clip taken on each: link them
                c.link = f"edl|{c.name}|{c.timing}"
    elif gst is not None:
        start_frames = round(_secs(gst) * rate)
    if video_items:
        report.add("dropped", "video track", f"{video_items} video clip(s) ignored (the session holds audio only)")
    duration = None
    if meta.d.get("duration") and sr_meta:
        duration = Fraction(meta.samples("duration"), sr_meta)
    else:
        try:
            d = tl.duration()
            duration = _secs(d) if d.value > 0 else None
        except Exception:
            duration = None
        if edl and records:
            duration = None
    return TimelineIR(format="edl" if edl else "otio", name=tl.name or None, frame_rate=rate, drop_frame=drop,
                      start_frames=start_frames, duration=duration, layout=meta.text("layout", "stereo"),
                      tracks=tracks)


def _record_starts(t) -> list[Fraction]:
    off = -_secs(t.source_range.start_time) if t.source_range is not None else Fraction(0)
    out = []
    for i, item in enumerate(t):
        r = t.range_of_child_at_index(i)
        out.append(_secs(r.start_time) + off)
    return out


def _track(t, report: ImportReport, *, edl: bool, sr: int) -> TrackIR:
    otio = _otio()
    tmeta = _Meta(t, f"track {t.name!r}")
    track = TrackIR(name=tmeta.text("name") or t.name or "Audio", role_hint=tmeta.text("role"),
                    mute=not t.enabled or tmeta.flag("mute", False))
    if sr:
        track.gain_db = tmeta.number("gain_db", 0.0)
        track.pan = tmeta.number("pan", 0.0)
        auto = tmeta.mapping("automation")
        track.gain_keys = auto.keys("gain_db", sr)
        track.pan_keys = auto.keys("pan", sr)
        track.auto = _auto_ir(tmeta, sr)
    # Items are placed at (position inside the track - the track's source start): for an EDL
    # the reader stores minus the first record-in there (OTIO #1385), so this gives record time.
    track_start = _secs(t.source_range.start_time) if t.source_range is not None else Fraction(0)
    window = None
    if t.source_range is not None and not edl:
        window = (Fraction(0), _secs(t.source_range.duration))
    items = list(t)
    made: list[ClipIR | None] = []
    for i, item in enumerate(items):
        r = t.range_of_child_at_index(i)
        pos = _secs(r.start_time) - track_start
        if isinstance(item, otio.schema.Clip):
            made.append(_clip(item, pos, _secs(r.duration), t.name, report, edl=edl, sr=sr, window=window))
        else:
            made.append(None)
            if isinstance(item, otio.schema.Stack) or isinstance(item, otio.schema.Track):
                report.add("dropped", "nested sequence", f"nested stack {item.name!r} is not imported",
                           f"track {t.name!r}")
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Transition):
            continue
        r = t.range_of_child_at_index(i)
        t0 = _secs(r.start_time) - track_start
        t1 = t0 + _secs(r.duration)
        m = _Meta(item, f"track {t.name!r}, transition {item.name!r}")
        shape_in = m.text("shape_in") or fade_shape_from_name(item.name or "")
        shape_out = m.text("shape_out") or shape_in
        a = made[i - 1] if i > 0 else None
        b = made[i + 1] if i + 1 < len(made) else None
        where = f"track {t.name!r}, transition {item.name or item.transition_type!r}"
        crossfade(a, b, t0, t1, shape_in, report, where)
        if a is not None and a.fade_out is not None:
            a.fade_out = FadeIR(a.fade_out.length, shape_out)
        if item.transition_type not in (otio.schema.TransitionTypes.SMPTE_Dissolve, "SMPTE_Dissolve") and not m.d:
            report.add("approximated", "transition", f"{item.transition_type} read as an audio crossfade", where)
    track.clips = [c for c in made if c is not None and c.duration > 0]
    return track


def _clip(item, pos: Fraction, dur: Fraction, track_name: str, report: ImportReport, *, edl: bool, sr: int,
          window) -> ClipIR | None:
    otio = _otio()
    name = item.name or "clip"
    where = f"track {track_name!r}, clip {name!r}"
    ref = item.media_reference
    cm = _Meta(item, where)
    url = None
    extra: list[str] = []
    if isinstance(ref, otio.schema.ExternalReference):
        url = ref.target_url
    elif isinstance(ref, otio.schema.GeneratorReference):
        report.add("dropped", "generator", f"generator {ref.generator_kind or name!r} is not imported", where)
        return None
    elif isinstance(ref, otio.schema.ImageSequenceReference):
        report.add("dropped", "image sequence", f"{name!r} is an image sequence (no audio)", where)
        return None
    cmx = dict(item.metadata.get("cmx_3600", {}) or {})
    for c in cmx.get("comments", []) or []:
        m = re.match(r"^\s*SOURCE FILE:\s*(.+)$", str(c), re.I)
        if m and url is None:
            url = m.group(1).strip()
    if edl:
        if name and not name.isdigit():
            extra.append(name)
        if cmx.get("reel"):
            extra.append(str(cmx["reel"]))
    if url is None and not extra:
        extra.append(name)
    sr_in = item.source_range or (ref.available_range if ref is not None else None)
    if sr_in is None:
        report.add("dropped", "clip", f"{name!r} has no source range", where)
        return None
    source_in = _secs(sr_in.start_time)
    media_tc = False
    if not edl and ref is not None and getattr(ref, "available_range", None) is not None:
        source_in -= _secs(ref.available_range.start_time)
    elif edl:
        media_tc = True
    clip = ClipIR(name=name, ref=url, start=pos, duration=dur, source_in=source_in, mute=not item.enabled,
                  extra_names=tuple(extra), source_is_timecode=media_tc, where=where)
    for eff in item.effects:
        if isinstance(eff, otio.schema.LinearTimeWarp):
            report.add("dropped", "speed change", f"{name!r} plays at {eff.time_scalar * 100:g}%; imported at 100%",
                       where)
        elif isinstance(eff, otio.schema.FreezeFrame):
            report.add("dropped", "freeze frame", f"{name!r} is a freeze frame; imported as moving audio", where)
        else:
            report.add("dropped", "effect", f"effect {eff.effect_name or eff.name!r} on {name!r} is not imported", where)
    if item.markers:
        report.add("dropped", "marker", f"{len(item.markers)} marker(s) on {name!r} not imported", where)
    if cm.d and sr:
        clip.gain_db = cm.number("gain_db", 0.0)
        clip.gain_keys = cm.mapping("automation").keys("gain_db", sr)
        clip.auto = _auto_ir(cm, sr)
        for which in ("fade_in", "fade_out"):
            if cm.d.get(which):
                f = cm.mapping(which)
                shape = f.text("shape", "equal-power")
                if shape not in ("linear", "equal-power", "log", "s-curve"):
                    raise f._bad("shape", "one of linear, equal-power, log, s-curve")
                setattr(clip, which, FadeIR(Fraction(f.samples("length"), sr), shape))
        if cm.d.get("stream") is not None:
            stream = cm.number("stream")
            if stream != int(stream) or stream < 0:
                raise cm._bad("stream", "a stream index (0, 1, ...)")
            clip.stream = int(stream)
        if cm.d.get("name"):
            clip.name = cm.text("name")
    if window is not None:
        if clip.end <= window[0] or clip.start >= window[1]:
            return None
        if clip.start < window[0]:
            clip.move_start(window[0])
        if clip.end > window[1]:
            clip.duration = window[1] - clip.start
    clip.timing = (clip.ref, clip.start, clip.duration, clip.source_in)
    return clip


# ---------------------------------------------------------------------------------------------
# writing


def _timeline(session: Session, name: str, *, notes: list[str]):
    """An OTIO timeline of the session, times in samples (exact)."""
    from .plan import plan

    otio = _otio()
    ot = otio.opentime
    tb = session.timebase
    sr = session.sample_rate
    rate = tb.frame_rate
    lanes_by_track = plan(session, snap=lambda p: p, notes=notes, typed_tracks=False)

    def rt(samples: int):
        return ot.RationalTime(samples, sr)

    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = ot.RationalTime(tb.start_frames, float(rate))
    rate_text = f"{rate.numerator}" if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"
    tl.metadata[NS] = {"version": 1, "sample_rate": sr, "frame_rate": rate_text, "drop_frame": session.drop_frame,
                       "layout": session.layout}
    if session.duration is not None:
        tl.metadata[NS]["duration"] = f"{tb.samples(session.duration)}s"
    for track, lanes in lanes_by_track:
        for li, lane in enumerate(lanes or [None]):
            t = otio.schema.Track(name=track.name, kind=otio.schema.TrackKind.Audio)
            t.enabled = not track.mute
            tm: dict[str, Any] = {"name": track.name, "role": track.role}
            if li == 0:
                if track.gain_db:
                    tm["gain_db"] = track.gain_db
                if track.pan:
                    tm["pan"] = track.pan
                auto = {k: [_kf(session, kf) for kf in v] for k, v in track.automation.items()}
                if auto:
                    tm["automation"] = auto
                layer = _auto_meta(session, track.auto)
                if layer:
                    tm["auto"] = layer
            t.metadata[NS] = tm
            cursor = 0
            items = lane.items if lane is not None else []
            for j, p in enumerate(items):
                # a crossfade of length L is cut at L // 2 into it: the transition's in_offset and
                # out_offset reach back to the overlap's start and on to its end
                cut_in = p.start + p.xfade_in // 2
                cut_out = p.end - (p.xfade_out - p.xfade_out // 2)
                if cut_in > cursor:
                    t.append(otio.schema.Gap(source_range=ot.TimeRange(rt(cursor), rt(cut_in - cursor))))
                if p.xfade_in:
                    prev = items[j - 1]
                    tr = otio.schema.Transition(
                        name="Cross Fade", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                        in_offset=rt(cut_in - p.start), out_offset=rt(prev.end - cut_in))
                    tr.metadata[NS] = {"shape_in": p.xshape_in, "shape_out": prev.xshape_out}
                    t.append(tr)
                c = otio.schema.Clip(name=p.name)
                c.media_reference = otio.schema.ExternalReference(target_url=_file_url(p.path))
                c.source_range = ot.TimeRange(rt(p.src_in + (cut_in - p.start)), rt(cut_out - cut_in))
                c.enabled = not p.clip.mute
                cm: dict[str, Any] = {"name": p.clip.name} if p.clip.name else {}
                shift = cut_in - p.start  # keyframes count from the written clip's start
                if p.clip.gain_db:
                    cm["gain_db"] = p.clip.gain_db
                auto = {k: [_kf(session, kf, -shift) for kf in v] for k, v in p.clip.automation.items()}
                if auto:
                    cm["automation"] = auto
                layer = _auto_meta(session, p.clip.auto, -shift)
                if layer:
                    cm["auto"] = layer
                if p.fade_in:
                    cm["fade_in"] = {"length": f"{p.fade_in[0]}s", "shape": p.fade_in[1]}
                if p.fade_out:
                    cm["fade_out"] = {"length": f"{p.fade_out[0]}s", "shape": p.fade_out[1]}
                if p.clip.stream is not None:
                    cm["stream"] = p.clip.stream
                if cm:
                    c.metadata[NS] = cm
                t.append(c)
                cursor = cut_out
            tl.tracks.append(t)
    return tl


def _kf(session: Session, kf, shift: int = 0) -> list:
    t = session.timebase.samples(kf.t) + shift
    return [f"{t}s", kf.v] if kf.interp == "linear" else [f"{t}s", kf.v, kf.interp]


def _file_url(path: Path) -> str:
    from urllib.parse import quote

    return "file://" + quote(Path(path).as_posix(), safe="/:")


def write_otio(session: Session, path: Path, *, name: str) -> list[str]:
    """Write a session as ``.otio`` (exact: times in samples, levels in ``mixdown`` metadata)."""
    from ..session.io import write_text_atomic
    from .plan import unsupported_notes

    otio = _otio()
    notes = unsupported_notes(session, "this .otio export")
    tl = _timeline(session, name, notes=notes)
    notes.append("levels, keyframes, fades and pan are stored in OTIO metadata ('mixdown'); other OTIO tools "
                 "show the cut and crossfades but not the levels")
    text = otio.adapters.write_to_string(tl, adapter_name="otio_json")
    write_text_atomic(path, text)
    return notes


def write_edl(session: Session, path: Path, *, name: str) -> list[str]:
    """Write a CMX 3600 EDL of the session's audio: one channel (A, A2, A3...) per track lane,
    cuts and crossfades (dissolves); no levels. Source timecodes count from the media's
    embedded start timecode, as editors expect."""
    from ..session.io import write_text_atomic
    from ..timebase import frames_to_tc
    from .plan import frames_grid, plan, unsupported_notes

    notes = unsupported_notes(session, "an EDL")
    tb = session.timebase
    rate = tb.frame_rate
    drop = session.drop_frame
    sr = session.sample_rate
    to_frame, _, snap = frames_grid(session)
    # an EDL writes source in-points in whole frames too
    lanes_by_track = plan(session, snap=snap, notes=notes, typed_tracks=False, in_grid=snap)
    from .gaincurve import has_gain

    if any(has_gain(t) or t.automation or t.pan for t in session.tracks) or any(
            has_gain(c) for t in session.tracks for c in t.clips):
        notes.append("an EDL cannot carry levels, pan or keyframes: not exported")

    def tc(frames: int) -> str:
        return frames_to_tc(frames, rate, drop)

    def src_tc(p, samples: int) -> str:
        start = p.info.start_seconds if p.info else Fraction(0)
        return tc(round((start + Fraction(samples, sr)) * rate))

    channels = []
    for track, lanes in lanes_by_track:
        for lane in lanes:
            channels.append((track, lane))
    if len(channels) > 4:
        notes.append(f"CMX 3600 has four audio channels; this EDL uses {len(channels)} (A5 and up are an extension "
                     "some editors do not read)")
    names = ", ".join(f"{'A' if i == 0 else f'A{i + 1}'}={t.name}" for i, (t, _) in enumerate(channels))
    if channels:
        notes.append(f"an EDL has no track names or roles: channels are {names}")
    events: list[tuple[int, str]] = []
    for ci, (track, lane) in enumerate(channels):
        chan = "A" if ci == 0 else f"A{ci + 1}"
        for j, p in enumerate(lane.items):
            s_f, e_f = to_frame(p.start), to_frame(p.end)
            if p.fade_in or p.fade_out:
                notes.append("fades from and to silence cannot be written in an EDL: left out")
            clip_name = p.path.name
            comments = [f"* FROM CLIP NAME: {clip_name}", f"* SOURCE FILE: {p.path}"]
            if p.xfade_in:
                prev = lane.items[j - 1]
                d = to_frame(prev.end) - s_f
                a_src = prev.src_in + (p.start - prev.start)
                line_a = (f"{{n:03d}}  AX       {chan:<5} C        {src_tc(prev, a_src)} {src_tc(prev, a_src)} "
                          f"{tc(tb.start_frames + s_f)} {tc(tb.start_frames + s_f)}")
                line_b = (f"{{n:03d}}  AX       {chan:<5} D    {d:03d} {src_tc(p, p.src_in)} "
                          f"{src_tc(p, p.src_in + p.end - p.start)} {tc(tb.start_frames + s_f)} "
                          f"{tc(tb.start_frames + e_f)}")
                events.append((tb.start_frames + s_f, "\n".join([line_a, line_b] +
                              [f"* FROM CLIP NAME: {prev.path.name}", f"* TO CLIP NAME: {clip_name}",
                               f"* SOURCE FILE: {p.path}"])))
                continue
            end_f = e_f if not p.xfade_out else to_frame(lane.items[j + 1].start)
            src_out = p.src_in + (round(Fraction(end_f, 1) * sr / rate) - p.start) if p.xfade_out else \
                p.src_in + p.end - p.start
            line = (f"{{n:03d}}  AX       {chan:<5} C        {src_tc(p, p.src_in)} {src_tc(p, src_out)} "
                    f"{tc(tb.start_frames + s_f)} {tc(tb.start_frames + end_f)}")
            events.append((tb.start_frames + s_f, "\n".join([line] + comments)))
    events.sort(key=lambda e: e[0])
    rate_txt = str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"
    out = [f"TITLE: {name}", f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}", ""]
    for n, (_, text) in enumerate(events, start=1):
        if n == 1:
            # CMX 3600 states no frame rate; a comment on the first event says it (readers keep event
            # comments as notes; before the first event some refuse them), so an import need not guess
            text += f"\n* FRAME RATE: {rate_txt}"
        out.append(text.replace("{n:03d}", f"{n:03d}"))
    write_text_atomic(path, "\n".join(out) + "\n")
    return list(dict.fromkeys(notes))
