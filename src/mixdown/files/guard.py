"""The one guard every output goes through: never over an input, never into nowhere.

A command opens a :func:`job_guard` for its run and registers its inputs (the session
file, the timeline, every clip's media, the video, a report's JSON...). Every writer
of mixdown -- audio writers, encoders, muxers, sessions, timelines, reports -- calls
:func:`check_output` before it creates its temporary file, so no output replaces an
input, whichever path names it: paths are compared resolved (symlinks, ``..``) and
by file identity (device and inode: hard links, case-insensitive file systems).

:func:`check_outputs` is what a command runs *before any work*: every output
location exists (or will be created), is a writable folder, is not an input and is
not named twice; and stale temporary files of dead runs in those folders are
removed (:func:`mixdown.files.temp.clean_stale`).

Without an active guard (library use), :func:`check_output` checks the ``protect``
paths its caller passes, as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MediaError
from .temp import clean_stale


def _resolve(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _ident(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class JobGuard:
    """The inputs of one job: what no output may replace."""

    def __init__(self) -> None:
        self._inputs: dict[Path, str] = {}
        self._idents: dict[tuple[int, int], tuple[Path, str]] = {}
        self._lock = threading.Lock()

    def add(self, path: str | os.PathLike[str] | None, what: str = "input") -> None:
        """Register one input (a file that may not exist yet is registered by name)."""
        if not isinstance(path, (str, os.PathLike)):  # None, or audio in memory: no file to protect
            return
        p = Path(path)
        resolved = _resolve(p)
        ident = _ident(resolved)
        with self._lock:
            self._inputs.setdefault(resolved, what)
            if ident is not None:
                self._idents.setdefault(ident, (p, what))

    def add_session(self, session: Any) -> None:
        """Register a session's file and the media of every clip (muted ones too)."""
        if getattr(session, "file", None) is not None:
            self.add(session.file, "the session file")
        for track in getattr(session, "tracks", []):
            for clip in track.clips:
                self.add(session.resolve(clip.source), f"media of track {track.name!r}")
        for d in getattr(session, "deliverables", []) or []:
            if getattr(d, "video", None):
                self.add(session.resolve(d.video), "the video of a deliverable")

    def match(self, path: str | os.PathLike[str]) -> tuple[Path, str] | None:
        """The input ``path`` would replace, and what it is; None if it is no input."""
        resolved = _resolve(path)
        with self._lock:
            if resolved in self._inputs:
                return resolved, self._inputs[resolved]
            ident = _ident(resolved)
            if ident is not None and ident in self._idents:
                return self._idents[ident]
        return None

    @property
    def inputs(self) -> list[Path]:
        with self._lock:
            return list(self._inputs)


_STACK: list[JobGuard] = []


@contextlib.contextmanager
def job_guard() -> Iterator[JobGuard]:
    """Activate a fresh guard for the duration of a job (nested jobs get their own)."""
    guard = JobGuard()
    _STACK.append(guard)
    try:
        yield guard
    finally:
        _STACK.remove(guard)


def current() -> JobGuard | None:
    """The active guard, if a job opened one."""
    return _STACK[-1] if _STACK else None


def register(*paths: str | os.PathLike[str] | None, what: str = "input") -> None:
    """Register inputs with the active guard (nothing happens without one)."""
    guard = current()
    if guard is not None:
        for p in paths:
            guard.add(p, what)


def check_output(path: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = (), *,
                 what: str | None = None) -> None:
    """Raise :class:`MediaError` if writing ``path`` would replace an input.

    The inputs are the active guard's and ``protect`` (the caller's own list);
    ``what`` names the output in the message (``--report``).
    """
    target = Path(path)
    local = JobGuard()
    for q in protect:
        local.add(q, "input")
    for guard in (local, *_STACK):  # nested jobs: the outer job's inputs are inputs too
        hit = guard.match(target)
        if hit is not None:
            q, what = hit
            desc = str(q) if what == "input" else f"{what}: {q}"
            head = f"{what}: " if what else ""
            raise MediaError(f"{head}refusing to overwrite an input file ({desc}); nothing was written", file=target)


@dataclass(frozen=True)
class Output:
    """One output a command is going to write, for :func:`check_outputs`.

    Attributes
    ----------
    path : Path
    what : str
        How the user named it (``-o``, ``--report``, ``deliverables[2].path``), for messages.
    folder : bool
        The output is a folder of files (``--stems``): it may exist, as a folder.
    create : bool
        Missing folders on the way are created by the command: the nearest existing
        one must be writable.
    """

    path: Path
    what: str
    folder: bool = False
    create: bool = False


def _writable_folder(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def _check_location(out: Output) -> Path:
    """The folder the output lands in, after checking it (raises ``MediaError``)."""
    p = Path(out.path)
    if p.is_dir() and not out.folder:
        raise MediaError(f"{out.what}: is a folder; give a file name", file=p)
    if out.folder and p.exists() and not p.is_dir():
        raise MediaError(f"{out.what}: is a file, not a folder", file=p)
    folder = p if out.folder else (p.parent if str(p.parent) else Path("."))
    if not folder.is_dir():
        if folder.exists():
            raise MediaError(f"{out.what}: {folder} is not a folder", file=p)
        if not out.create:
            raise MediaError(f"{out.what}: output folder does not exist: {folder}", file=p)
        anc = folder
        while not anc.exists() and anc != anc.parent:
            anc = anc.parent
        if not anc.is_dir() or not _writable_folder(anc):
            raise MediaError(f"{out.what}: cannot create {folder} ({anc} is not a writable folder)", file=p)
        return anc
    if not _writable_folder(folder):
        raise MediaError(f"{out.what}: cannot write in {folder} (permission denied)", file=p)
    return folder


def check_outputs(outputs: Iterable[Output | None]) -> list[str]:
    """Check every output location before a job starts (see the module docstring).

    Returns
    -------
    list of str
        Notes on stale temporary files removed from those folders.

    Raises
    ------
    MediaError
        Naming the first output that cannot be written, and why.
    """
    seen: dict[Path, Output] = {}
    folders: list[Path] = []
    for out in outputs:
        if out is None:
            continue
        folder = _check_location(out)
        if not out.folder:
            check_output(out.path, what=out.what)
        else:
            hit = next((h for h in (g.match(out.path) for g in _STACK) if h is not None), None)
            if hit is not None:
                raise MediaError(f"{out.what}: refusing to write into an input ({hit[1]}: {hit[0]})", file=out.path)
        key = _resolve(out.path)
        if key in seen:
            raise MediaError(f"{out.what} and {seen[key].what} name the same file", file=out.path)
        seen[key] = out
        if folder not in folders:
            folders.append(folder)
    notes: list[str] = []
    for folder in folders:
        notes += clean_stale(folder)
    return notes
