"""Writing a session as OpenTimelineIO (``.otio``): exact, times in samples, levels in ``mixdown`` metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..session.io import write_text_atomic
from ..session.model import Session
from .otio_meta import NS, auto_meta, keyframe_meta, load_otio
from .plan import plan, unsupported_notes
from .timing import rate_text


def _timeline(session: Session, name: str, *, notes: list[str]):
    """An OTIO timeline of the session, times in samples (exact)."""
    otio = load_otio()
    ot = otio.opentime
    tb = session.timebase
    sr = session.sample_rate
    rate = tb.frame_rate
    lanes_by_track = plan(session, snap=lambda p: p, notes=notes, typed_tracks=False)

    def rt(samples: int):
        return ot.RationalTime(samples, sr)

    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = ot.RationalTime(tb.start_frames, float(rate))
    tl.metadata[NS] = {"version": 1, "sample_rate": sr, "frame_rate": rate_text(rate), "drop_frame": session.drop_frame,
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
                auto = {k: [keyframe_meta(session, kf) for kf in v] for k, v in track.automation.items()}
                if auto:
                    tm["automation"] = auto
                layer = auto_meta(session, track.auto)
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
                auto = {k: [keyframe_meta(session, kf, -shift) for kf in v] for k, v in p.clip.automation.items()}
                if auto:
                    cm["automation"] = auto
                layer = auto_meta(session, p.clip.auto, -shift)
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


def _file_url(path: Path) -> str:
    return "file://" + quote(Path(path).as_posix(), safe="/:")


def write_otio(session: Session, path: Path, *, name: str) -> list[str]:
    """Write a session as ``.otio`` (exact: times in samples, levels in ``mixdown`` metadata)."""
    otio = load_otio()
    notes = unsupported_notes(session, "this .otio export")
    tl = _timeline(session, name, notes=notes)
    notes.append("levels, keyframes, fades and pan are stored in OTIO metadata ('mixdown'); other OTIO tools "
                 "show the cut and crossfades but not the levels")
    text = otio.adapters.write_to_string(tl, adapter_name="otio_json")
    write_text_atomic(path, text)
    return notes
