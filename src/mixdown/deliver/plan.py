"""What a delivery will write: every deliverable checked (format, target, layout, path, video) up front.

Nothing is rendered before every deliverable is known to be writable; two
deliverables that share a spec (target, layout, true-peak ceiling) share a master
stage (:class:`StageKey`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MediaError, MixdownError, SessionError, TargetError
from ..master import layout_name
from ..master.premaster import FORMAT as PREMASTER_FORMAT
from ..media.channels import can_map
from ..session.model import LAYOUT_CHANNELS, Deliverable, Session
from ..targets import Target, get_target
from .formats import FORMATS, SUFFIXES, is_lossy, lossy_ceiling, resolve_format
from .mux import check_video_audio, check_video_copy, container_for, default_video_audio
from .results import OutputReport

__all__ = ["ME_ROLES", "Item", "StageKey", "located", "resolve_items"]

ME_ROLES = ("music", "sfx", "ambience")
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class StageKey:
    """What makes two deliverables share a master stage."""

    target: Target | None
    channels: int
    ceiling: float | None  # spec or lossy ceiling, dBTP (None: the session's own stage)


@dataclass
class Item:
    """One deliverable, resolved: its path, format, target and layout, and its report."""

    index: int
    d: Deliverable
    kind: str
    path: Path
    fmt: str
    target: Target | None
    channels: int
    lossy: bool
    report: OutputReport
    roles: list[str] = field(default_factory=list)
    video: Path | None = None

    @property
    def key(self) -> StageKey:
        if self.target is None:
            return StageKey(None, self.channels, None)
        c = lossy_ceiling(self.target) if self.lossy else self.target.true_peak_dbtp
        return StageKey(self.target, self.channels, c)

    @property
    def loc(self) -> Loc:
        return ("deliverables", self.index)


def located(exc: MixdownError, session: Session | None, loc: Loc) -> MixdownError:
    """``exc`` with the deliverable's place in the session file."""
    exc.loc = exc.loc or loc
    if session is not None:
        exc.located(file=session.file, lines=session.lines)
    return exc


def resolve_items(session: Session | None, deliverables: list[Deliverable], *, base: Callable[[str], Path],
                  channels: int, find_video: Callable[[], Path | None]) -> list[Item]:
    """Check every deliverable (formats, targets, layouts, paths) before anything is rendered.

    Raises
    ------
    SessionError, MediaError, TargetError
        Located at the deliverable's field.
    """
    items: list[Item] = []
    seen: dict[Path, int] = {}
    for i, d in enumerate(deliverables):
        loc: Loc = ("deliverables", i)
        try:
            item = _resolve(i, d, loc, base=base, channels=channels, find_video=find_video)
            if item.path in seen:
                raise SessionError(f"deliverables {seen[item.path]} and {i} write the same path {item.path}",
                                   loc=loc + ("path",))
            seen[item.path] = i
            items.append(item)
        except MixdownError as exc:
            raise located(exc, session, loc) from None
    return items


def _resolve(i: int, d: Deliverable, loc: Loc, *, base: Callable[[str], Path], channels: int,
             find_video: Callable[[], Path | None]) -> Item:
    target = _target(d, loc)
    ch = LAYOUT_CHANNELS[d.layout] if d.layout else channels
    if not can_map(channels, ch):
        raise SessionError(f"cannot make {layout_name(ch)} from a {layout_name(channels)} mix", loc=loc + ("layout",))
    path = base(d.path)
    video = None
    roles: list[str] = []
    if d.kind == "stems":
        fmt = d.format or "wav24"
        if fmt not in FORMATS:
            raise SessionError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", loc=loc + ("format",))
        roles = list(d.roles or [])
    elif d.kind == "video":
        fmt, video = _video(d, path, loc, base=base, find_video=find_video)
    elif d.kind == "premaster":
        _check_premaster(d, path, loc)
        fmt = PREMASTER_FORMAT
    else:
        try:
            fmt = resolve_format(path, d.format)
        except MediaError as exc:
            raise SessionError(exc.message, loc=loc + ("format" if d.format else "path",)) from None
        if d.kind == "me":
            roles = list(d.roles or ME_ROLES)
    if fmt == "mp3" and ch > 2:
        raise SessionError("MP3 carries mono or stereo only; add layout: stereo for a downmix", loc=loc + ("format",))
    if d.kind == "stems" and d.roles is not None and not d.roles:
        raise SessionError("roles is empty", loc=loc + ("roles",))
    report = OutputReport(kind=d.kind, path=str(path), format=fmt, target=target.name if target else None,
                          layout=layout_name(ch))
    return Item(index=i, d=d, kind=d.kind, path=path, fmt=fmt, target=target, channels=ch, lossy=is_lossy(fmt),
                report=report, roles=roles, video=video)


def _target(d: Deliverable, loc: Loc) -> Target | None:
    if d.target is not None or d.lufs is not None:
        try:
            return get_target(d.target, lufs=d.lufs, true_peak=d.true_peak)
        except TargetError as exc:
            exc.loc = loc + ("target" if d.target is not None else "lufs",)
            raise
    if d.true_peak is not None:
        raise SessionError("true_peak needs a target or lufs to normalise to", loc=loc + ("true_peak",))
    return None


def _video(d: Deliverable, path: Path, loc: Loc, *, base: Callable[[str], Path],
           find_video: Callable[[], Path | None]) -> tuple[str, Path]:
    """A video deliverable's audio format and source video, both checked."""
    try:
        fmt = d.format or default_video_audio(container_for(path))
        check_video_audio(path, fmt)
    except MediaError as exc:
        raise SessionError(exc.message, loc=loc + ("format" if d.format else "path",)) from None
    if d.video is not None:
        video = base(d.video)
        if not video.is_file():
            raise MediaError(f"video not found: {video}", loc=loc + ("video",))
    else:
        found = find_video()
        if found is None:
            raise SessionError("a video deliverable needs `video:` (no clip source has a video stream)",
                               loc=loc + ("video",))
        video = found
    try:
        check_video_copy(video, path)
    except MediaError as exc:
        raise SessionError(exc.message, loc=loc + ("path",)) from None
    return fmt, video


def _check_premaster(d: Deliverable, path: Path, loc: Loc) -> None:
    """A premaster is a 24-bit WAV with no target (its level is set by its peak)."""
    if d.format not in (None, PREMASTER_FORMAT):
        raise SessionError(f"a premaster is a 24-bit WAV ({PREMASTER_FORMAT}), not {d.format}", loc=loc + ("format",))
    if path.suffix.lower() not in SUFFIXES[PREMASTER_FORMAT]:
        raise SessionError(f"a premaster is a .wav file, not {path.suffix or '(no suffix)'!r}", loc=loc + ("path",))
    for name in ("target", "lufs", "true_peak"):
        if getattr(d, name) is not None:
            raise SessionError("a premaster is not normalised to a target: its true peak is put at -6 dBTP",
                               loc=loc + (name,))
