"""Laying a session's clips out for a track-based timeline format.

A session track may hold overlapping clips (they sum); timeline tracks may not,
except across a transition. :func:`plan` places each session track's clips on
one or more *lanes* (timeline tracks carrying the same name, which importers merge
back): a clip that overlaps the previous one by exactly its fade-in, while the
previous one fades out over the same span, is a crossfade and stays on the lane;
any other overlap opens another lane. Stereo and mono sources go to separate lanes
when the format types its tracks (Premiere's stereo/mono tracks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..errors import TimelineError
from ..session.model import Clip, Session, Track
from .media import MediaInfo, probe


@dataclass
class Placed:
    """A session clip as it will be written: absolute sample positions on the grid."""

    track: Track
    clip: Clip
    index: int
    start: int
    end: int
    src_in: int
    path: Path
    info: MediaInfo | None
    fade_in: tuple[int, str] | None = None  # a fade from silence, (samples, shape)
    fade_out: tuple[int, str] | None = None
    xfade_in: int = 0  # samples of crossfade with the previous clip on the lane
    xfade_out: int = 0
    xshape_in: str = "equal-power"
    xshape_out: str = "equal-power"
    exact_start: int = 0
    exact_end: int = 0

    @property
    def name(self) -> str:
        return self.clip.name or self.path.name

    @property
    def channels(self) -> int:
        return (self.info.channels if self.info and self.info.channels else 2)


@dataclass
class Lane:
    """One timeline track's worth of clips (no overlaps except crossfades)."""

    kind: str  # "mono" or "stereo"
    items: list[Placed] = field(default_factory=list)


def clip_extent(session: Session, track: Track, clip: Clip, where: str) -> tuple[int, int, int, Path, MediaInfo | None]:
    """Absolute start, end and in-point in samples, the source path and its media info."""
    tb = session.timebase
    start = tb.samples(clip.start, position=True)
    src_in = tb.samples(clip.in_)
    path = session.resolve(clip.source)
    info = probe(path)
    if clip.duration is not None:
        length = tb.samples(clip.duration)
    else:
        if info is None or info.duration is None:
            raise TimelineError(f"{where}: the clip has no duration and its source {str(path)!r} cannot be read to "
                                "find its length; give the clip a duration")
        length = round(info.duration * session.sample_rate) - src_in
    return start, start + length, src_in, path, info


def _down(snap: Callable[[int], int], x: int) -> int:
    """The grid position at or before ``x`` (``snap`` gives the nearest)."""
    g, k = snap(x), 1
    while g > x:  # the nearest lies after x: step back until the grid point before it
        g, k = snap(x - k), 2 * k
    return g


def _up(snap: Callable[[int], int], x: int) -> int:
    """The grid position at or after ``x``."""
    g, k = snap(x), 1
    while g < x:
        g, k = snap(x + k), 2 * k
    return g


def _fit_media(snap: Callable[[int], int], in_grid: Callable[[int], int], s: int, e: int, start: int, src_in: int,
               available: int | None) -> tuple[int, int]:
    """Grid edges that keep the clip inside its media: rounding to the nearest frame may not reach
    before the media's start or past its end (an importer then cannot find those samples)."""
    if in_grid(src_in + (s - start)) < 0:  # the head rounded before the media's first sample
        s = _up(snap, start - src_in)
    if available is not None and in_grid(src_in + (s - start)) + (e - s) > available:
        e = max(_down(snap, start + (available - src_in)), s)
    return s, e


def plan(session: Session, *, snap: Callable[[int], int], notes: list[str], typed_tracks: bool,
         crossfades: bool = True, in_grid: Callable[[int], int] | None = None) -> list[tuple[Track, list[Lane]]]:
    """Place every track's clips on lanes; positions snapped to the format's grid.

    Parameters
    ----------
    snap : callable
        Nearest position the format can hold (a frame boundary, or identity for samples).
    notes : list of str
        Receives a note for every clip moved to the grid and every extra lane.
    typed_tracks : bool
        Keep mono and stereo sources on separate lanes.
    crossfades : bool
        Keep crossfading clips on one lane (for formats with transitions); otherwise
        every overlap opens another lane.
    in_grid : callable, optional
        How the format writes a source in-point (default: exactly). Clip edges are
        snapped to the nearest grid position unless that would need media before the
        source's start or after its end; then they are rounded inwards, so that a
        round trip always renders.
    """
    out: list[tuple[Track, list[Lane]]] = []
    moved = 0
    worst_move = 0
    for ti, track in enumerate(session.tracks):
        placed: list[Placed] = []
        for ci, clip in enumerate(track.clips):
            where = f"track {track.name!r}, clip {clip.name or ci}"
            start, end, src_in, path, info = clip_extent(session, track, clip, where)
            s, e = snap(start), snap(end)
            available = int(info.duration * session.sample_rate) if info is not None and info.duration else None
            s, e = _fit_media(snap, in_grid or (lambda p: p), s, e, start, src_in, available)
            if e <= s:
                e = snap(s + max(1, end - start)) if snap(s + 1) > s else s + 1
            if (s, e) != (start, end):
                moved += 1
                worst_move = max(worst_move, abs(s - start), abs(e - end))
            p = Placed(track, clip, ci, s, e, src_in + (s - start), path, info, exact_start=start, exact_end=end)
            tb = session.timebase
            if clip.fade_in is not None:
                p.fade_in = (snap(s + tb.samples(clip.fade_in.length)) - s, clip.fade_in.shape)
            if clip.fade_out is not None:
                p.fade_out = (e - snap(e - tb.samples(clip.fade_out.length)), clip.fade_out.shape)
            placed.append(p)
        placed.sort(key=lambda p: (p.start, p.end, p.index))
        lanes: list[Lane] = []
        for p in placed:
            kind = "mono" if (typed_tracks and p.info is not None and p.info.channels == 1) else "stereo"
            for lane in lanes:
                if lane.kind != kind:
                    continue
                last = lane.items[-1]
                if p.start >= last.end:
                    lane.items.append(p)
                    break
                overlap = last.end - p.start
                tol = max(1, (snap(p.start + 4096) - snap(p.start)) // 2)  # half a grid step
                if (crossfades and last.fade_out and p.fade_in and not last.xfade_out and p.start > last.start
                        and abs(last.fade_out[0] - overlap) <= tol and abs(p.fade_in[0] - overlap) <= tol):
                    last.xfade_out = p.xfade_in = overlap
                    last.xshape_out, p.xshape_in = last.fade_out[1], p.fade_in[1]
                    last.fade_out = p.fade_in = None
                    lane.items.append(p)
                    break
            else:
                lanes.append(Lane(kind, [p]))
        kinds = {lane.kind for lane in lanes}
        per_kind = [sum(1 for lane in lanes if lane.kind == k) for k in kinds]
        if crossfades and any(n > 1 for n in per_kind):
            notes.append(f"track {track.name!r}: overlapping clips need {len(lanes)} timeline tracks; they carry the "
                         "same name and import back as one track")
        out.append((track, lanes))
    if moved:
        notes.append(f"{moved} clip edge(s) moved to the format's frame grid (by up to {worst_move} samples)")
    return out


def frames_grid(session: Session) -> tuple[Callable[[int], int], Callable[[int], int], Callable[[int], int]]:
    """(to_frame, frame_to_samples, snap) for the session's frame rate."""
    rate = session.timebase.frame_rate
    sr = session.sample_rate

    def to_frame(samples: int) -> int:
        return round(Fraction(samples) * rate / sr)

    def to_samples(frame: int) -> int:
        return round(Fraction(frame) * sr / rate)

    return to_frame, to_samples, (lambda p: to_samples(to_frame(p)))


def unsupported_notes(session: Session, fmt: str, *, keeps_track_gain: bool = False) -> list[str]:
    """What no timeline format here carries: processors, sends, buses, the master, solo."""
    notes: list[str] = []
    chains = [t.name for t in session.tracks if t.chain]
    if chains:
        notes.append(f"{fmt} cannot carry processor chains: not exported for {', '.join(chains)}")
    sends = [t.name for t in session.tracks if t.sends or t.output != "master"]
    if sends:
        notes.append(f"{fmt} cannot carry sends or bus routing: not exported for {', '.join(sends)}")
    if session.buses:
        notes.append(f"{fmt} cannot carry buses: {', '.join(b.name for b in session.buses)} not exported")
    m = session.master
    if m.chain or m.gain_db or m.automation or m.auto.gain_db or m.auto.automation:
        notes.append(f"{fmt} cannot carry the master's chain, gain or automation: not exported")
    solo = [t.name for t in session.tracks if t.solo]
    if solo:
        notes.append(f"{fmt} has no solo: tracks {', '.join(solo)} exported without it")
    return notes


def dedupe_notes(notes: list[str]) -> list[str]:
    """The notes in their first order, each once (a note per clip says the same thing many times)."""
    return list(dict.fromkeys(notes))
