"""CMX 3600 EDL (``.edl``): read through OTIO's cmx_3600 adapter, written directly.

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

import re
from fractions import Fraction
from pathlib import Path

from ..errors import TimelineError
from ..session.io import write_text_atomic
from ..session.model import Session
from ..timebase import frames_to_tc, parse_rate
from .gaincurve import has_gain
from .ir import TimelineIR
from .otio_meta import load_otio
from .otio_read import convert_timeline
from .plan import dedupe_notes, frames_grid, plan, unsupported_notes
from .report import ImportReport
from .timing import rate_text

_TC = re.compile(r"\b(\d\d):(\d\d):(\d\d)([:;.])(\d\d)\b")


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
    otio = load_otio()
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
    ir = convert_timeline(tl, report, path=path, edl=True, rate=rate, drop=drop)
    for line in text.splitlines():
        if re.match(r"^\s*(AUD|\*\s*AUD)\b", line, re.I):
            report.add("approximated", "audio channels", f"EDL audio channel line {line.strip()!r}: "
                       "the clips are imported on tracks A1..An by event channel")
            break
    return ir


def write_edl(session: Session, path: Path, *, name: str) -> list[str]:
    """Write a CMX 3600 EDL of the session's audio: one channel (A, A2, A3...) per track lane,
    cuts and crossfades (dissolves); no levels. Source timecodes count from the media's
    embedded start timecode, as editors expect."""
    notes = unsupported_notes(session, "an EDL")
    tb = session.timebase
    rate = tb.frame_rate
    drop = session.drop_frame
    sr = session.sample_rate
    to_frame, _, snap = frames_grid(session)
    # an EDL writes source in-points in whole frames too
    lanes_by_track = plan(session, snap=snap, notes=notes, typed_tracks=False, in_grid=snap)
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
    out = [f"TITLE: {name}", f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}", ""]
    for n, (_, text) in enumerate(events, start=1):
        if n == 1:
            # CMX 3600 states no frame rate; a comment on the first event says it (readers keep event
            # comments as notes; before the first event some refuse them), so an import need not guess
            text += f"\n* FRAME RATE: {rate_text(rate)}"
        out.append(text.replace("{n:03d}", f"{n:03d}"))
    write_text_atomic(path, "\n".join(out) + "\n")
    return dedupe_notes(notes)
