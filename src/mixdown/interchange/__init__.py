"""Editor timelines in and out: FCP7 XML (Premiere, Resolve), FCPXML, CMX 3600 EDL and OpenTimelineIO.

>>> session, report = import_timeline("cut.xml", media_root="media/")    # doctest: +SKIP
>>> print(report.to_text())                                               # doctest: +SKIP
>>> notes = export_timeline(session, "mix.xml")                           # doctest: +SKIP

Import reads the timeline's audio exactly onto the session's sample clock
(positions, in-points, levels, keyframes, fades, pan) and lists in an
:class:`ImportReport` everything it could not carry. Export writes a session —
including the gain keyframes ``auto`` decided — back as a timeline an editor
opens, and returns notes on whatever the target format could not hold as such.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..errors import MixdownError, TimelineError, format_loc
from ..session.io import describe_validation_error, load_session
from ..session.model import Session
from .build import build_session
from .edl import read_edl, write_edl
from .fcp7_read import read_fcp7
from .fcp7_write import write_fcp7
from .fcpxml_read import read_fcpxml
from .fcpxml_write import write_fcpxml
from .ir import TimelineIR
from .media import MediaResolver
from .otio_read import read_otio
from .otio_write import write_otio
from .report import ImportReport, ReportItem

FORMATS = {
    ".xml": "fcp7",
    ".xmeml": "fcp7",
    ".fcpxml": "fcpxml",
    ".fcpxmld": "fcpxml",
    ".edl": "edl",
    ".otio": "otio",
}
IMPORT_SUFFIXES = tuple(FORMATS)
EXPORT_SUFFIXES = (".xml", ".fcpxml", ".fcpxmld", ".otio", ".edl")


def detect_format(path: str | Path) -> str:
    """The timeline format of a file: ``fcp7``, ``fcpxml``, ``edl`` or ``otio``.

    Decided by the suffix, and for ``.xml`` by the root element (an ``.xml`` that
    holds FCPXML is read as FCPXML).

    Raises
    ------
    TimelineError
        For a suffix that is not a timeline.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise TimelineError(
            f"unknown timeline format {p.suffix or '(no suffix)'!r}: use .xml (FCP7/Premiere/Resolve), "
            ".fcpxml/.fcpxmld (Final Cut Pro), .edl (CMX 3600) or .otio", file=p)
    if fmt == "fcp7" and p.is_file():
        with p.open("rb") as fh:
            head = fh.read(4096).lower()
        if b"<fcpxml" in head:
            return "fcpxml"
    return fmt


def is_timeline(path: str | Path) -> bool:
    """True when ``path`` looks like a timeline file mixdown can import (by suffix)."""
    return Path(path).suffix.lower() in FORMATS


def import_timeline(
    path: str | Path,
    *,
    media_root: str | Path | None = None,
    roles: dict[str, str] | None = None,
    sample_rate: int = 48000,
    frame_rate: str | float | None = None,
    sequence: str | None = None,
    missing_media: str = "error",
) -> tuple[Session, ImportReport]:
    """Read an editor's timeline into a session.

    Parameters
    ----------
    path : str or Path
        ``.xml`` (FCP7 XML from Premiere Pro, Resolve, FCP7), ``.fcpxml``/``.fcpxmld``
        (Final Cut Pro), ``.edl`` (CMX 3600) or ``.otio``.
    media_root : str or Path, optional
        Folder searched by file name for media whose written path is not on this machine.
    roles : dict, optional
        Track name (or ``A1``, ``A2``... by order) -> role, overriding the inferred roles.
    sample_rate : int
        The session's sample rate, Hz; positions are exact to its samples.
    frame_rate : str or float, optional
        Frame rate of an EDL (EDLs do not state it); ignored for other formats.
        Without it, 29.97 is used for drop-frame EDLs and otherwise a guess is made
        from the timecodes and reported.
    sequence : str, optional
        Name of the sequence/project to import when the file holds several.
    missing_media : {"error", "keep"}
        ``"error"`` raises :class:`~mixdown.errors.MediaError` listing every file
        not found; ``"keep"`` keeps the written paths and reports them.

    Returns
    -------
    (Session, ImportReport)
        The session has ``start_timecode`` set to the sequence start and clip
        times as ``"<N>s"`` samples relative to it; sources are absolute paths.

    Raises
    ------
    TimelineError
        For an unreadable or unsupported file, or a bad role override.
    MediaError
        For media that cannot be found (with ``missing_media="error"``).
    """
    if missing_media not in ("error", "keep"):
        raise ValueError("missing_media must be 'error' or 'keep'")
    p = Path(path)
    if not p.exists():
        raise TimelineError("timeline file not found", file=p)
    fmt = detect_format(p)
    root = Path(media_root) if media_root is not None else None
    if root is not None and not root.is_dir():
        raise TimelineError(f"media root {str(root)!r} is not a folder", file=p)
    try:
        session, report = _import(p, fmt, root, roles=roles, sample_rate=sample_rate, frame_rate=frame_rate,
                                  sequence=sequence, missing_media=missing_media)
    except MixdownError as exc:  # an error deep in a reader names the timeline it came from
        raise exc.located(file=p) from None
    # the session came from this file: later errors (a clip past its media's end) name it, and
    # outputs are kept from overwriting it like any input
    session._file = p
    return session, report


def _import(p: Path, fmt: str, root: Path | None, *, roles: dict[str, str] | None, sample_rate: int,
            frame_rate: str | float | None, sequence: str | None, missing_media: str) -> tuple[Session, ImportReport]:
    report = ImportReport(source=str(p), format=fmt)
    timeline_file = p
    ir: TimelineIR
    if fmt == "fcp7":
        ir = read_fcp7(p, report, sequence=sequence)
    elif fmt == "fcpxml":
        ir, timeline_file = read_fcpxml(p, report, sequence=sequence)
    elif fmt == "edl":
        ir = read_edl(p, report, frame_rate=frame_rate)
    else:
        ir = read_otio(p, report)
    resolver = MediaResolver(timeline_file.parent, root)
    try:
        session = build_session(ir, report, path=p, media_root=root, roles=roles, sample_rate=sample_rate,
                                missing_media=missing_media, resolver=resolver)
    except ValidationError as exc:  # a value the reader carried over that the session model refuses
        loc, msg = describe_validation_error(exc)
        raise TimelineError(f"imported timeline is not a valid session: {format_loc(loc) + ': ' if loc else ''}{msg}",
                            file=p) from None
    return session, report


def open_session(
    path: str | Path,
    *,
    media_root: str | Path | None = None,
    roles: dict[str, str] | None = None,
    sample_rate: int = 48000,
    frame_rate: str | float | None = None,
) -> tuple[Session, ImportReport | None]:
    """A session file as it is, or a timeline imported into a session.

    For commands that take "a session or a timeline" (``mixdown auto TIMELINE``):
    ``.yaml``/``.yml``/``.json`` load as session files, timeline suffixes are
    imported (the report is returned so it can be shown).
    """
    if is_timeline(path):
        return import_timeline(path, media_root=media_root, roles=roles, sample_rate=sample_rate,
                               frame_rate=frame_rate)
    return load_session(path), None


def export_timeline(session: Session, path: str | Path, *, name: str | None = None) -> list[str]:
    """Write a session as an editor's timeline.

    Parameters
    ----------
    session : Session
    path : str or Path
        ``.xml`` writes FCP7 XML in the structure Premiere Pro writes (Audio Levels
        keyframes on clip items), ``.fcpxml``/``.fcpxmld`` FCPXML 1.9 (adjust-volume
        keyframes, roles), ``.otio`` OpenTimelineIO (everything, exactly, in
        ``mixdown`` metadata), ``.edl`` a CMX 3600 EDL (cuts and crossfades only).
    name : str, optional
        Sequence/project name; default the file's stem.

    Returns
    -------
    list of str
        Notes on what the format could not hold as such and what was done instead
        (e.g. track automation folded into clip keyframes).

    Raises
    ------
    TimelineError
        For an unsupported suffix, or a session the format cannot hold at all.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise TimelineError(
            f"cannot export to {suffix or '(no suffix)'!r}: use .xml (FCP7/Premiere), .fcpxml, .otio or .edl", file=p)
    seq_name = name or p.stem
    if suffix == ".xml":
        return write_fcp7(session, p, name=seq_name)
    if suffix in (".fcpxml", ".fcpxmld"):
        return write_fcpxml(session, p, name=seq_name)
    if suffix == ".edl":
        return write_edl(session, p, name=seq_name)
    return write_otio(session, p, name=seq_name)


__all__ = [
    "EXPORT_SUFFIXES", "IMPORT_SUFFIXES", "ImportReport", "ReportItem", "detect_format", "export_timeline",
    "import_timeline", "is_timeline", "open_session",
]
