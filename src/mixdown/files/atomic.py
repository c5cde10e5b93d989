"""Atomic outputs: a temporary file beside the destination, renamed over it when complete.

``os.replace`` is atomic on one file system, so a crash, an exception or a signal
leaves either the old file or no file -- never a half-written one -- and the
temporary file is removed on every way out (see :mod:`mixdown.files.temp` for the
ones a killed process cannot remove). Every destination goes through
:func:`mixdown.files.guard.check_output` first. Files are created with mode
``0o666`` less the umask: what any other program's new file gets (``mkstemp``'s
``0o600`` would hide a session from the rest of a team).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import MediaError
from .guard import check_output
from .space import disk_full, is_disk_full
from .temp import temp_name


def reserve(path: Path) -> Path:
    """Create an empty temporary file next to ``path`` and return its name."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"output folder does not exist: {folder}", file=path)
    for _ in range(100):
        tmp = temp_name(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full(path) from exc
            raise MediaError(f"cannot write in {folder} ({exc.strerror})", file=path) from exc
        os.close(fd)
        return tmp
    raise MediaError("cannot create a temporary file", file=path)  # pragma: no cover


def unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def publish(tmp: Path, target: Path) -> Path:
    """Rename a finished temporary file onto its destination (the temporary file goes either way)."""
    try:
        os.replace(tmp, target)
    except OSError as exc:
        unlink(tmp)
        raise MediaError(f"cannot write the output ({exc.strerror or exc})", file=target) from exc
    return target


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, protect: Iterable[str | os.PathLike[str]] = ()
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    For files written by other libraries (encoders, muxers, text). The temporary file
    exists (empty) when yielded and keeps ``path``'s suffix; on an exception it is
    deleted and ``path`` is left as it was. A full disk while the body writes becomes a
    :class:`MediaError` that says so.

    Raises
    ------
    MediaError
        ``path`` is an input (the active guard's or one of ``protect``), its folder is
        missing or not writable, or the disk is full.
    """
    target = Path(path)
    check_output(target, protect)
    tmp = reserve(target)
    try:
        yield tmp
    except OSError as exc:
        written = _size(tmp)
        unlink(tmp)
        if is_disk_full(exc):
            raise disk_full(target, written=written) from exc
        raise MediaError(f"cannot write the output ({exc.strerror or exc})", file=target) from exc
    except BaseException:
        unlink(tmp)
        raise
    publish(tmp, target)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def write_text_atomic(path: str | os.PathLike[str], text: str, *,
                      protect: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Write UTF-8 text atomically (sessions, timelines, reports); see :func:`atomic_path`."""
    target = Path(path)
    data = text.encode("utf-8")
    with atomic_path(target, protect=protect) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return target
