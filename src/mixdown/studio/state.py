"""What one running studio holds: the session being edited, its files, and the work behind the page.

The session is kept as data in the session file's schema (what ``GET/PUT
/api/session`` carry) together with its validated :class:`~mixdown.session.Session`
and compiled render graph. Every edit is validated exactly as ``mixdown render``
validates a file (the session loader, then the render graph's media and processor
checks), so a bad edit is refused with the same message and nothing changes.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MixdownError
from ..session.array_source import ArraySource
from .peaks import ClipSpan, PeakStore
from .preview import Preview

CURVE_HOP_S = 0.01              # grid on which an edit's effect on a gain curve is compared
EXPORT_SUFFIXES = {"xml": ".xml", "fcpxml": ".fcpxml", "otio": ".otio", "edl": ".edl"}


class StudioError(MixdownError):
    """A request the studio refuses (HTTP 4xx); ``status`` is the code."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def cache_root() -> Path:
    """``<mixdown cache>/peaks``, beside the VAD cache."""
    from ..analysis.vad import cache_directory

    return cache_directory().parent / "peaks"


class Studio:
    """One session opened in the studio.

    Parameters
    ----------
    path : Path
        A session file or an editor timeline (imported; it is never written).
    media_root : Path, optional
        Where a timeline's media live.
    tmp : Path
        A private folder for preview segments and render scratch; removed by the caller.
    target : str, optional
        Delivery preset for the loudness band and compliance.
    cache_dir : Path or None or False
        Peaks cache (default :func:`cache_root`; False keeps peaks in memory).
    """

    def __init__(self, path: Path, *, media_root: Path | None, tmp: Path, target: str | None = None,
                 cache_dir: Path | None | bool = None) -> None:
        from ..interchange import is_timeline, open_session
        from ..render.graph import check
        from ..session.io import session_to_data

        self.path = Path(path).resolve()
        self.tmp = tmp
        self.media_root = Path(media_root).resolve() if media_root else None
        self.imported = is_timeline(self.path)
        session, report = open_session(self.path, media_root=self.media_root)
        self.import_notes = [f"{i.severity} {i.what}: {i.detail}" for i in report.items] if report else []
        self.graph = check(session)
        self.session = session
        self.base_dir = Path(session.base_dir).resolve()
        self.data: dict[str, Any] = session_to_data(session)
        self.save_path = self.path.with_name(self.path.stem + ".mixdown.yaml") if self.imported else self.path
        # every file the session started with: none may be written, and new sources must live beside them
        self.inputs = {self.path} | {p.resolve() for p in self.graph.source_paths}
        self.roots = (
            {self.base_dir} | {p.parent for p in self.inputs} | ({self.media_root} if self.media_root else set())
        )
        from ..targets import get_target

        first = next((d.target for d in session.deliverables if d.target), None)
        self.target = get_target(target or first or "ebu-r128")
        self.lock = threading.RLock()
        self.version = 1
        self.saved_version = 1 if not self.imported else 0
        store_dir = None if cache_dir is False else (
            cache_root() if cache_dir is None or cache_dir is True else Path(cache_dir))
        self.peaks = PeakStore(session.sample_rate, store_dir)
        self.preview = Preview(tmp)
        self.preview.set_session(self.data, self.base_dir, None, version=self.version)
        self.decisions: list[dict[str, Any]] = []
        from .analysis import Analyses
        from .jobs import Jobs

        self.analyses = Analyses(self)
        self.jobs = Jobs(self)

    # -- the session ---------------------------------------------------------------

    def get(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.data)

    def put(self, data: Any) -> dict[str, Any]:
        """Replace the session with ``data`` after validating it; returns the new state's summary.

        Raises
        ------
        StudioError
            422 with the session error's message (nothing changes), 403 for a source
            outside the session's media folders.
        """
        from ..render.graph import check
        from ..session import session_from_data
        from ..session.io import session_to_data

        try:
            session = session_from_data(data, base_dir=self.base_dir)
            self._check_sources(session)
            graph = check(session)
        except StudioError:
            raise
        except MixdownError as exc:
            raise StudioError(str(exc), 422) from None
        new = session_to_data(session)
        with self.lock:
            affected = affected_range(self.graph, graph)
            self.session, self.graph, self.data = session, graph, new
            self.version += 1
            version = self.version
        if affected != (0, 0):
            self.preview.set_session(new, self.base_dir, affected, version=version)
            self.analyses.changed()
        return {"version": version, "affected": list(affected) if affected else None, "lanes": self.lanes()}

    def _check_sources(self, session: Any) -> None:
        for ti, track in enumerate(session.tracks):
            for ci, clip in enumerate(track.clips):
                p = session.resolve(clip.source).resolve()
                if p in self.inputs:
                    continue
                if not any(p.is_relative_to(r) for r in self.roots):
                    raise StudioError(f"tracks[{ti}].clips[{ci}].source: {clip.source!r} is outside the session's "
                                      "media folders", 403)
                if p == self.path or p == self.save_path:
                    raise StudioError(f"tracks[{ti}].clips[{ci}].source: {clip.source!r} is not media", 422)
        for di, d in enumerate(session.deliverables):
            # Render writes these: never outside the session's folders, never over an input
            for field in ("path", "video"):
                value = getattr(d, field)
                if value is None:
                    continue
                p = session.resolve(value).resolve()
                if not any(p.is_relative_to(r) for r in self.roots):
                    raise StudioError(f"deliverables[{di}].{field}: {value!r} is outside the session's folders", 403)
                if field == "path" and (p in self.inputs or p == self.save_path):
                    raise StudioError(
                        f"deliverables[{di}].path: {value!r} would overwrite an input of the session", 409
                    )

    def save(self) -> Path:
        """Write the session file atomically (never over the imported timeline or any media)."""
        from ..session import save_session

        with self.lock:
            session, version = self.session, self.version
        out = self.save_path
        if (
            out.resolve() in self.inputs
            and out.resolve() != self.path
            or (self.imported and out.resolve() == self.path)
        ):
            raise StudioError(f"{out}: refusing to write over an input of the session", 409)
        try:
            save_session(session, out)
        except (OSError, MixdownError) as exc:
            # the writer wraps the OS's reason (a full disk, a folder gone) in a MediaError
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
            why = (cause.strerror or cause) if isinstance(cause, OSError) else exc
            raise StudioError(f"{out}: not saved: {why}", 500) from None
        with self.lock:
            self.saved_version = version
        return out

    def export(self, fmt: str) -> tuple[Path, list[str]]:
        """Write the session as an editor timeline beside the session file."""
        from ..interchange import export_timeline

        suffix = EXPORT_SUFFIXES.get(fmt)
        if suffix is None:
            raise StudioError(f"export format {fmt!r} is not one of {', '.join(EXPORT_SUFFIXES)}", 422)
        out = self.save_path.with_name(self.path.stem + ".studio" + suffix)
        if out.resolve() in self.inputs:
            raise StudioError(f"{out}: refusing to write over an input of the session", 409)
        with self.lock:
            session = self.session
        try:
            notes = export_timeline(session, out)
        except MixdownError as exc:
            raise StudioError(str(exc), 422) from None
        return out, notes

    # -- what the page draws -------------------------------------------------------

    def lanes(self) -> dict[str, Any]:
        """Every strip as the page draws it, with times resolved to samples by the session's clock.

        Per track: its clips (as the graph places them), the keyframes of its gain lane
        (hand-made, and auto's where the session has an auto layer) and of each clip, its
        colour, routing and whether it is heard (mute and solo resolved as the renderer
        resolves them), and its effective gain in dB (fader + groups + the buses on its
        way to the master + the master), which the page uses to correct the preview
        bundle live while a fader moves.
        """
        with self.lock:
            session, graph, version = self.session, self.graph, self.version
        sr = session.sample_rate
        from ..session.model import MASTER

        def keys(kfs: list, *, position: bool = True) -> list[list[Any]]:
            return [[session.samples(k.t, position=position), k.v, k.interp] for k in kfs]

        def auto_layer(item: Any, position: bool = True) -> dict[str, Any] | None:
            # session format 2's auto layer (written by ``auto``), where the session has one
            layer = getattr(item, "auto", None)
            if layer is None:
                return None
            autos = getattr(layer, "automation", {}) or {}
            return {"gain_db": getattr(layer, "gain_db", 0.0),
                    "keyframes": keys(autos.get("gain_db", []), position=position),
                    "edited": list(getattr(layer, "edited", []) or [])}

        def effective(name: str) -> float:
            total = 0.0
            node: str | None = name
            while node is not None:
                strip = graph.strips[node]
                total += strip.gain_db          # groups folded in by the graph
                node = strip.output
            return round(total, 6)

        tracks = []
        for t in session.tracks:
            strip = graph.strips[t.name]
            nodes = {n.loc[-1]: n for n in strip.clips}
            clips = []
            for ci, c in enumerate(t.clips):
                n = nodes.get(ci)
                src = Path(c.source).name if isinstance(c.source, str) else c.source.label  # label: audio in memory
                clips.append({"index": ci, "name": c.name or src, "source": src,
                              "start": n.start if n else session.samples(c.start, position=True),
                              "end": n.end if n else None, "gain_db": c.gain_db, "mute": c.mute,
                              "effective_gain_db": n.gain_db if n else c.gain_db, "auto": auto_layer(c, False),
                              "keyframes": keys(c.automation.get("gain_db", []), position=False)})
            tracks.append(
                {
                    "name": t.name,
                    "role": t.role,
                    "color": t.display_color,
                    "output": t.output,
                    "gain_db": t.gain_db,
                    "pan": t.pan,
                    "mute": t.mute,
                    "solo": t.solo,
                    "heard": not strip.mute,
                    "effective_db": effective(t.name),
                    "strip_db": strip.gain_db,
                    "clips": clips,
                    "keyframes": keys(t.automation.get("gain_db", [])),
                    "auto": auto_layer(t),
                }
            )
        buses = [{"name": b.name, "role": b.role, "color": b.display_color, "output": b.output, "gain_db": b.gain_db,
                  "pan": b.pan, "mute": b.mute, "solo": b.solo, "auto": auto_layer(b),
                  "keyframes": keys(b.automation.get("gain_db", []))}
                 for b in session.buses]
        groups = [{"name": g.name, "members": g.members, "gain_db": g.gain_db, "mute": g.mute, "solo": g.solo,
                   "color": g.display_color} for g in session.groups]
        return {"version": version, "sample_rate": sr, "length": graph.length, "tracks": tracks, "buses": buses,
                "groups": groups, "master": {"name": MASTER, "gain_db": session.master.gain_db,
                                              "keyframes": keys(session.master.automation.get("gain_db", []))}}

    def media(self) -> list[Path]:
        """The media files the session references, in a stable order (their index is their id)."""
        with self.lock:
            return sorted(self.graph.source_paths)

    def spans(self, track: str) -> list[ClipSpan]:
        with self.lock:
            strip = self.graph.strips.get(track)
            if strip is None or strip.kind != "track":
                raise StudioError(f"no track {track!r}", 404)
            nodes = list(strip.clips)
        return [ClipSpan(_file(c.path), c.stream, c.start, c.source_in, c.length) for c in nodes]

    def lane_peaks(self, track: str, *, start: int, bin: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        from .peaks import MAX_COLUMNS, lane_peaks

        if bin < 1 or count < 1 or count > MAX_COLUMNS or start < 0:
            raise StudioError("peaks need bin >= 1, 1 <= count <= 16384 and start >= 0", 422)
        return lane_peaks(self.peaks, self.spans(track), start=start, bin=bin, count=count)

    def curve(self, track: str, *, start: int, bin: int, count: int) -> dict[str, Any]:
        """A track's gain in dB at column centres: fader + groups + automation, and clip gain inside clips.

        Evaluated with the renderer's own envelopes (the compiled graph's), so what the
        lane draws is what the render applies.
        """
        if bin < 1 or count < 1 or count > 16384:
            raise StudioError("curves need bin >= 1 and 1 <= count <= 16384", 422)
        with self.lock:
            strip = self.graph.strips.get(track)
            if strip is None:
                raise StudioError(f"no strip {track!r}", 404)
        pos = start + (np.arange(count) * bin + bin // 2)
        fader = np.full(count, float(strip.gain_db))
        if strip.gain_env is not None:
            fader += strip.gain_env.at_positions(pos)
        clip = np.full(count, np.nan)
        for c in strip.clips:
            inside = (pos >= c.start) & (pos < c.end)
            if not inside.any():
                continue
            g = np.full(int(inside.sum()), float(c.gain_db))
            if c.gain_env is not None:
                g += c.gain_env.at_positions(pos[inside] - c.start)
            clip[inside] = g
        return {"start": start, "bin": bin, "track_db": _listed(fader), "clip_db": _listed(clip),
                "offset_db": float(strip.gain_db)}


def _file(path: Path | ArraySource) -> Path:
    """A clip's source file: the studio opens session files, whose sources are paths."""
    assert isinstance(path, Path), "the studio's sessions come from files"
    return path


def _listed(x: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 6) for v in x]


def strip_gain(strip: Any, pos: np.ndarray) -> np.ndarray:
    """Fader + automation of a compiled strip at sample positions, dB."""
    g = np.full(pos.shape[0], float(strip.gain_db))
    if strip.gain_env is not None:
        g += strip.gain_env.at_positions(pos)
    return g


def affected_range(old: Any, new: Any) -> tuple[int, int] | None:
    """The timeline range an edit changes the sound of, in samples; None for everything, (0, 0) for nothing.

    Mutes, solos and colours change nothing the preview bundle holds (the page applies
    them). Gain automation changes only where its curve moved; clips only where they
    were or are now; anything else (an insert, a routing, a rate) the whole programme.
    """
    so, sn = old.session, new.session
    head = ("sample_rate", "layout", "frame_rate", "drop_frame", "start_timecode", "duration", "master", "buses")
    if any(getattr(so, k) != getattr(sn, k) for k in head if k != "buses"):
        return None
    if [_sound(b) for b in so.buses] != [_sound(b) for b in sn.buses]:
        return None
    if [(g.name, g.members, g.gain_db) for g in so.groups] != [(g.name, g.members, g.gain_db) for g in sn.groups]:
        return None
    if [t.name for t in so.tracks] != [t.name for t in sn.tracks]:
        return None
    lo: int | None = None
    hi: int | None = None
    for to, tn in zip(so.tracks, sn.tracks, strict=True):
        a, b = _sound(to), _sound(tn)
        if a == b:
            continue
        diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
        if diff - {"automation", "clips", "auto", "gain_db", "pan"}:
            return None
        spans = []
        if "clips" in diff:
            old_c = [c.model_dump() for c in to.clips]
            new_c = [c.model_dump() for c in tn.clips]
            changed = [i for i in range(max(len(old_c), len(new_c)))
                       if i >= len(old_c) or i >= len(new_c) or old_c[i] != new_c[i]]
            for strip, clips in ((old.strips[to.name], to.clips), (new.strips[tn.name], tn.clips)):
                by_loc = {n.loc[-1]: n for n in strip.clips}
                for i in changed:
                    n = by_loc.get(i)
                    if n is not None:
                        spans.append((n.start, n.end))
                    elif i < len(clips):  # a muted clip: not in the graph; its span is unknown, be safe
                        return None
        if diff & {"automation", "auto", "gain_db", "pan"}:
            span = _curve_diff(old.strips[to.name], new.strips[tn.name], max(old.length, new.length), old.sample_rate)
            if span is None:
                return None
            if span != (0, 0):
                spans.append(span)
        for s, e in spans:
            lo = s if lo is None else min(lo, s)
            hi = e if hi is None else max(hi, e)
    return (0, 0) if lo is None or hi is None else (lo, hi)  # both None or neither


def _sound(strip: Any) -> dict[str, Any]:
    """A strip's fields that change what it sounds like in the bundle (not mute, solo or colour)."""
    return strip.model_dump(exclude={"mute", "solo", "color"})


def _curve_diff(a: Any, b: Any, length: int, sr: int) -> tuple[int, int] | None:
    hop = max(int(sr * CURVE_HOP_S), 1)
    pos = np.arange(0, max(length, 1) + hop, hop)
    ga, gb = strip_gain(a, pos), strip_gain(b, pos)
    pa = a.pan_env.at_positions(pos) if a.pan_env is not None else np.full(pos.shape, a.pan)
    pb = b.pan_env.at_positions(pos) if b.pan_env is not None else np.full(pos.shape, b.pan)
    moved = np.flatnonzero((np.abs(ga - gb) > 1e-9) | (np.abs(pa - pb) > 1e-9))
    if moved.size == 0:
        return (0, 0)
    return int(max(pos[moved[0]] - hop, 0)), int(pos[moved[-1]] + hop)
