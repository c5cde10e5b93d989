"""Writing a session as FCPXML 1.9 (``.fcpxml``, or a ``.fcpxmld`` bundle).

One gap spans the project; every session clip is a connected ``asset-clip`` on
its own lane group (one lane per overlap layer of each track), its audio role
``<role>.<track name>``; clip and track levels become one ``adjust-volume`` per
clip (keyframes linear in dB, exact times in samples), fades ``fadeIn``/``fadeOut``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

from ..session.io import write_text_atomic
from ..session.model import Session, Track
from .fcpxml_levels import fade_type
from .gaincurve import (
    Curve,
    approximate,
    clip_gain,
    has_gain,
    track_pan,
    trim_flat_ends,
)
from .media import path_to_url
from .plan import Lane, Placed, dedupe_notes, plan, unsupported_notes
from .timing import fmt_time
from .xmlutil import document

_AUDIO_RATES = {32000: "32k", 44100: "44.1k", 48000: "48k", 88200: "88.2k", 96000: "96k", 176400: "176.4k",
                192000: "192k"}
_ROLE_OUT = {"dialogue": "dialogue", "music": "music", "sfx": "effects", "ambience": "ambience", "other": "other"}


def _db_text(v: float) -> str:
    # short where the value is short, else the shortest text that reads back as the same float
    text = f"{v:.4f}".rstrip("0").rstrip(".") if abs(v - round(v, 4)) < 1e-12 else repr(float(v))
    return f"{text or '0'}dB"


def write_fcpxml(session: Session, path: Path, *, name: str) -> list[str]:
    """Write a session as FCPXML 1.9 (a ``.fcpxmld`` bundle when the suffix says so).

    Returns
    -------
    list of str
        Notes on what FCPXML could not hold as such.
    """
    notes: list[str] = unsupported_notes(session, "FCPXML")
    tb = session.timebase
    sr = session.sample_rate
    rate = tb.frame_rate
    lanes_by_track = plan(session, snap=lambda p: p, notes=notes, typed_tracks=False, crossfades=False)

    root = ET.Element("fcpxml", version="1.9")
    res = ET.SubElement(root, "resources")
    ET.SubElement(res, "format", id="r1", frameDuration=fmt_time(1 / rate), width="1920", height="1080")
    assets = _assets(res, lanes_by_track, sr)
    lib = ET.SubElement(root, "library")
    event = ET.SubElement(lib, "event", name="mixdown")
    project = ET.SubElement(event, "project", name=name)
    tc_start = Fraction(tb.start_frames) / rate
    total = 0
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                total = max(total, p.end)
    if session.duration is not None:
        total = max(total, tb.samples(session.duration))
    layout = {"mono": "mono", "stereo": "stereo", "5.1": "surround"}[session.layout]
    seq = ET.SubElement(project, "sequence", format="r1", duration=fmt_time(Fraction(total, sr)),
                        tcStart=fmt_time(tc_start), tcFormat="DF" if session.drop_frame else "NDF",
                        audioLayout=layout, audioRate=_AUDIO_RATES.get(sr, "48k"))
    if sr not in _AUDIO_RATES:
        notes.append(f"FCPXML has no project audio rate of {sr} Hz: written as 48k")
    spine = ET.SubElement(seq, "spine")
    gap = ET.SubElement(spine, "gap", name="Gap", offset=fmt_time(tc_start), start=fmt_time(tc_start),
                        duration=fmt_time(Fraction(total, sr)))
    _clips(gap, session, lanes_by_track, assets, tc_start, notes)
    text = document(root, "fcpxml", space="    ", gap="\n")
    if path.suffix.lower() == ".fcpxmld":
        path.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path / "Info.fcpxml", text)
    else:
        write_text_atomic(path, text)
    return dedupe_notes(notes)


def _assets(res: ET.Element, lanes_by_track: list[tuple[Track, list[Lane]]], sr: int) -> dict[str, tuple[str, Fraction]]:
    """One ``asset`` per media file, in first-use order: path -> (resource id, the asset's start time)."""
    assets: dict[str, tuple[str, Fraction]] = {}
    extents: dict[str, int] = {}
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                key = str(p.path)
                extents[key] = max(extents.get(key, 0), p.src_in + (p.end - p.start))
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                key = str(p.path)
                if key in assets:
                    continue
                rid = f"r{len(assets) + 2}"
                info = p.info
                start = info.start_seconds if info else Fraction(0)
                assets[key] = (rid, start)
                dur = info.duration if info and info.duration else Fraction(extents[key], sr)
                attrs = {"id": rid, "name": p.path.stem, "start": fmt_time(start), "duration": fmt_time(dur),
                         "hasAudio": "1", "audioSources": "1", "audioChannels": str(p.channels),
                         "audioRate": str(info.sample_rate if info and info.sample_rate else sr)}
                if info and info.has_video:
                    attrs.update(hasVideo="1", format="r1")
                a = ET.SubElement(res, "asset", attrs)
                ET.SubElement(a, "media-rep", kind="original-media", src=path_to_url(p.path).replace(
                    "file://localhost/", "file:///"))
    return assets


def _clips(gap: ET.Element, session: Session, lanes_by_track: list[tuple[Track, list[Lane]]],
           assets: dict[str, tuple[str, Fraction]], tc_start: Fraction, notes: list[str]) -> None:
    """Every placed clip as an ``asset-clip`` connected to the gap, a lane (counting down) per track lane."""
    lane_no = 0
    worst = 0.0
    folded: list[str] = []
    muted: list[str] = []
    for track, lanes in lanes_by_track:
        if has_gain(track):
            folded.append(track.name)
        if track.mute:
            muted.append(track.name)
        role = f"{_ROLE_OUT[track.role]}.{track.name}"
        pan_curve = track_pan(session, track)
        for lane in lanes:
            lane_no -= 1
            for p in lane.items:
                worst = max(worst, _asset_clip(gap, session, track, p, assets[str(p.path)], lane_no=lane_no,
                                               role=role, tc_start=tc_start, pan_curve=pan_curve))
    if folded:
        notes.append("FCPXML has no track volume: the fader and keyframes of "
                     f"{', '.join(repr(n) for n in folded)} were folded into their clips' volume keyframes")
    if muted:
        notes.append(f"FCPXML has no track mute: the clips of {', '.join(repr(n) for n in muted)} were disabled")
    if worst > 0.01:
        notes.append(f"volume keyframes follow the session's gain within {worst:.3f} dB")


def _asset_clip(gap: ET.Element, session: Session, track: Track, p: Placed, asset: tuple[str, Fraction], *,
                lane_no: int, role: str, tc_start: Fraction, pan_curve: Curve) -> float:
    """One ``asset-clip`` with its ``adjust-volume`` and ``adjust-panner``; returns the gain error, dB."""
    sr = session.sample_rate
    rid, asset_start = asset
    local0 = asset_start + Fraction(p.src_in, sr)  # the clip's local time at its first sample
    attrs = {"ref": rid, "lane": str(lane_no), "offset": fmt_time(tc_start + Fraction(p.start, sr)),
             "name": p.clip.name or p.path.stem, "start": fmt_time(local0),
             "duration": fmt_time(Fraction(p.end - p.start, sr)), "audioRole": role}
    if p.clip.mute or track.mute:
        attrs["enabled"] = "0"
    ac = ET.SubElement(gap, "asset-clip", attrs)

    def at(pos: int) -> str:
        return fmt_time(local0 + Fraction(pos - p.start, sr))

    curve = clip_gain(session, track, p.clip, with_track=True)
    keys: list[tuple[int, float]] = []
    err = 0.0
    if curve.constant is None:
        keys, err = approximate(curve, p.start, p.end, rep="db", snap=lambda x: x)
        keys = trim_flat_ends(keys)
    fades = [(w, f) for w, f in (("fadeIn", p.fade_in), ("fadeOut", p.fade_out)) if f]
    if curve.constant is not None and curve.constant != 0.0 or keys or fades:
        vol = ET.SubElement(ac, "adjust-volume")
        if curve.constant is not None and curve.constant != 0.0:
            vol.set("amount", _db_text(curve.constant))
        if keys or fades:
            param = ET.SubElement(vol, "param", name="amount")
            for w, (n, shape) in fades:
                ET.SubElement(param, w, type=fade_type(shape), duration=fmt_time(Fraction(n, sr)))
            if keys:
                anim = ET.SubElement(param, "keyframeAnimation")
                for pos, v in keys:
                    ET.SubElement(anim, "keyframe", time=at(pos), value=_db_text(v))
    if pan_curve.constant is None or pan_curve.constant != 0.0:
        pan = ET.SubElement(ac, "adjust-panner")
        if pan_curve.constant is not None:
            pan.set("amount", f"{pan_curve.constant * 100:.6g}")
        else:
            pkeys, _ = approximate(pan_curve, p.start, p.end, rep="lin", snap=lambda x: x, tol=0.001)
            pkeys = trim_flat_ends(pkeys)
            param = ET.SubElement(pan, "param", name="amount")
            anim = ET.SubElement(param, "keyframeAnimation")
            for pos, v in pkeys:
                ET.SubElement(anim, "keyframe", time=at(pos), value=f"{v * 100:.6g}")
    return err
