"""Reading OpenTimelineIO (``.otio``) into the exact intermediate form (also the second half of reading an EDL).

OTIO times are ``RationalTime(value, rate)`` with float fields; values are frame or
sample counts, so they are read back as exact Fractions with the rate snapped to
its exact ratio (29.97... -> 30000/1001). Audio tracks become session tracks;
transitions become crossfades (OTIO's ``in_offset``/``out_offset`` around the
cut); clip source ranges are in media time, measured from the media reference's
``available_range`` start when it has one. mixdown's ``metadata["mixdown"]``
(:mod:`~mixdown.interchange.otio_meta`) is read back, so a session survives ``.otio``
exactly.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import TimelineError
from ..timebase import frames_to_tc, parse_rate, tc_to_frames
from .ir import ClipIR, FadeIR, TimelineIR, TrackIR, crossfade, fade_shape_from_name
from .otio_meta import Meta, auto_ir, load_otio
from .report import ImportReport
from .timing import exact_rate, seconds


def read_otio(path: Path, report: ImportReport) -> TimelineIR:
    """Read an ``.otio`` file."""
    otio = load_otio()
    try:
        tl = otio.adapters.read_from_file(str(path), adapter_name="otio_json")
    except Exception as exc:
        raise TimelineError(f"cannot read OTIO file: {exc}", file=path) from None
    if not isinstance(tl, otio.schema.Timeline):
        raise TimelineError(f"the file holds a {type(tl).__name__}, not a Timeline", file=path)
    return convert_timeline(tl, report, path=path, edl=False)


def convert_timeline(tl, report: ImportReport, **kw: Any) -> TimelineIR:
    """:func:`_convert`, with OTIO's own complaints about a malformed timeline as TimelineErrors."""
    otio = load_otio()
    try:
        return _convert(tl, report, **kw)
    except (otio.exceptions.OTIOError, NotImplementedError) as exc:  # e.g. a clip with no range at all
        raise TimelineError(f"cannot read the timeline: {exc or type(exc).__name__}", file=kw["path"]) from None


def _convert(tl, report: ImportReport, *, path: Path, edl: bool, rate: Fraction | None = None,
             drop: bool = False) -> TimelineIR:
    otio = load_otio()
    meta = Meta(tl, "the timeline")
    gst = tl.global_start_time
    if rate is None:
        if meta.d.get("frame_rate"):
            rate = parse_rate(meta.d["frame_rate"])
        elif gst is not None:
            rate = exact_rate(gst.rate)
        else:
            rate = None
            for c in tl.find_clips():
                if c.source_range is not None:
                    rate = exact_rate(c.source_range.start_time.rate)
                    break
            rate = rate or Fraction(25)
    if not edl:
        drop = meta.flag("drop_frame") if "drop_frame" in meta else (round(rate) in (30, 60) and rate.denominator == 1001)
        if "drop_frame" not in meta and drop:
            report.add("info", "timecode", "OTIO does not say whether timecode is drop-frame; 29.97/59.94 is "
                       "shown as drop-frame")
    sr_meta = int(meta.number("sample_rate", 0))
    if sr_meta < 0:
        raise meta.bad("sample_rate", "a sample rate in Hz")
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
        start_frames = round(seconds(gst) * rate)
    if video_items:
        report.add("dropped", "video track", f"{video_items} video clip(s) ignored (the session holds audio only)")
    duration = None
    if meta.d.get("duration") and sr_meta:
        duration = Fraction(meta.samples("duration"), sr_meta)
    else:
        try:
            d = tl.duration()
            duration = seconds(d) if d.value > 0 else None
        except Exception:
            duration = None
        if edl and records:
            duration = None
    return TimelineIR(format="edl" if edl else "otio", name=tl.name or None, frame_rate=rate, drop_frame=drop,
                      start_frames=start_frames, duration=duration, layout=meta.text("layout", "stereo"),
                      tracks=tracks)


def _record_starts(t) -> list[Fraction]:
    off = -seconds(t.source_range.start_time) if t.source_range is not None else Fraction(0)
    out = []
    for i, item in enumerate(t):
        r = t.range_of_child_at_index(i)
        out.append(seconds(r.start_time) + off)
    return out


def _track(t, report: ImportReport, *, edl: bool, sr: int) -> TrackIR:
    otio = load_otio()
    tmeta = Meta(t, f"track {t.name!r}")
    track = TrackIR(name=tmeta.text("name") or t.name or "Audio", role_hint=tmeta.text("role"),
                    mute=not t.enabled or tmeta.flag("mute", False))
    if sr:
        track.gain_db = tmeta.number("gain_db", 0.0)
        track.pan = tmeta.number("pan", 0.0)
        auto = tmeta.mapping("automation")
        track.gain_keys = auto.keys("gain_db", sr)
        track.pan_keys = auto.keys("pan", sr)
        track.auto = auto_ir(tmeta, sr)
    # Items are placed at (position inside the track - the track's source start): for an EDL
    # the reader stores minus the first record-in there (OTIO #1385), so this gives record time.
    track_start = seconds(t.source_range.start_time) if t.source_range is not None else Fraction(0)
    window = None
    if t.source_range is not None and not edl:
        window = (Fraction(0), seconds(t.source_range.duration))
    items = list(t)
    made: list[ClipIR | None] = []
    for i, item in enumerate(items):
        r = t.range_of_child_at_index(i)
        pos = seconds(r.start_time) - track_start
        if isinstance(item, otio.schema.Clip):
            made.append(_clip(item, pos, seconds(r.duration), t.name, report, edl=edl, sr=sr, window=window))
        else:
            made.append(None)
            if isinstance(item, otio.schema.Stack) or isinstance(item, otio.schema.Track):
                report.add("dropped", "nested sequence", f"nested stack {item.name!r} is not imported",
                           f"track {t.name!r}")
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Transition):
            continue
        r = t.range_of_child_at_index(i)
        t0 = seconds(r.start_time) - track_start
        t1 = t0 + seconds(r.duration)
        m = Meta(item, f"track {t.name!r}, transition {item.name!r}")
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
    otio = load_otio()
    name = item.name or "clip"
    where = f"track {track_name!r}, clip {name!r}"
    ref = item.media_reference
    cm = Meta(item, where)
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
    source_in = seconds(sr_in.start_time)
    media_tc = False
    if not edl and ref is not None and getattr(ref, "available_range", None) is not None:
        source_in -= seconds(ref.available_range.start_time)
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
        clip.auto = auto_ir(cm, sr)
        for which in ("fade_in", "fade_out"):
            if cm.d.get(which):
                f = cm.mapping(which)
                shape = f.text("shape", "equal-power")
                if shape not in ("linear", "equal-power", "log", "s-curve"):
                    raise f.bad("shape", "one of linear, equal-power, log, s-curve")
                setattr(clip, which, FadeIR(Fraction(f.samples("length"), sr), shape))
        if cm.d.get("stream") is not None:
            stream = cm.number("stream")
            if stream != int(stream) or stream < 0:
                raise cm.bad("stream", "a stream index (0, 1, ...)")
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
