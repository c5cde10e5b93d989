"""Names of temporary files and scratch folders, and the clean-up of those a dead run left.

Every temporary thing mixdown creates beside an output carries the host and the
process that made it::

    .mix.mixdown-tmp-<host>-<pid>-<random>.wav      a file being written, renamed into place when done
    .mixdown-<kind>-<host>-<pid>-<random>/          a scratch folder (premasters, stems), removed at the end

``<host>`` is 4 hex digits of a hash of the host name (a folder on a network share
may be written from several machines), ``<pid>`` the writing process. A run that is
killed outright (SIGKILL, power cut) cannot remove its own; the next run that writes
into the same folder removes those whose process is dead on this host
(:func:`clean_stale`) and says so. Temporary names of another host, or of a live
process, are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

from .space import human_bytes

TEMP_TAG = "mixdown-tmp"

_HOST = f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')) & 0xFFFF:04x}"
_FILE_RE = re.compile(rf"^\..*\.{TEMP_TAG}-(?P<host>[0-9a-f]{{4}})-(?P<pid>\d+)-[0-9a-f]+(\.[^.]*)?$")
_DIR_RE = re.compile(r"^\.mixdown-(?P<kind>[a-z]+)-(?P<host>[0-9a-f]{4})-(?P<pid>\d+)-[0-9a-f]+$")


def _tag() -> str:
    return f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"


def temp_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` (same folder, same suffix, host and pid in it)."""
    # same folder: the rename stays on one file system; same suffix: libraries that
    # pick a format from the name still can
    return path.with_name(f".{path.stem}.{TEMP_TAG}-{_tag()}{path.suffix}")


def make_scratch_dir(folder: Path, kind: str) -> Path:
    """Create an empty scratch folder ``.mixdown-<kind>-<host>-<pid>-<random>`` in ``folder``."""
    for _ in range(100):
        path = Path(folder) / f".mixdown-{kind}-{_tag()}"
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        return path
    raise FileExistsError(f"cannot create a scratch folder in {folder}")  # pragma: no cover


@contextlib.contextmanager
def scratch_dir(folder: Path, kind: str) -> Iterator[Path]:
    """A scratch folder in ``folder`` removed with everything in it on the way out (any way out)."""
    path = make_scratch_dir(folder, kind)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (another user's counts as alive)."""
    if pid <= 0:
        return True  # not a real pid: never treat it as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # pragma: no cover - be conservative
        return True
    return True


def stale(folder: Path) -> list[Path]:
    """Temporary files and scratch folders in ``folder`` left by dead mixdown runs of this host."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        if not name.startswith("."):
            continue
        m = _FILE_RE.match(name) or _DIR_RE.match(name)
        if m is None or m["host"] != _HOST:
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and not pid_alive(pid):
            found.append(Path(folder) / name)
    return sorted(found)


def clean_stale(folder: Path) -> list[str]:
    """Remove what :func:`stale` finds; one note per removed entry (for the user to read)."""
    notes = []
    for path in stale(folder):
        try:
            size = _size(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # another run cleaned it first
        except OSError as exc:
            notes.append(f"could not remove {path}, left by an interrupted mixdown run ({exc.strerror})")
            continue
        pid = (_FILE_RE.match(path.name) or _DIR_RE.match(path.name))["pid"]  # type: ignore[index]
        notes.append(f"removed {path} ({human_bytes(size)}), left by an interrupted mixdown run (process {pid})")
    return notes


def _size(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        total = 0
        for root, _, files in os.walk(path):
            for f in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(root, f)).st_size
        return total
    return os.lstat(path).st_size


def missing_folders(path: Path) -> list[Path]:
    """The folders of ``path`` (itself included) that do not exist yet, outermost first."""
    p = Path(path)
    return [q for q in reversed([p, *p.parents]) if not q.exists()]


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove folders a failed or interrupted job created, innermost first, if still empty."""
    for p in reversed(folders):
        with contextlib.suppress(OSError):
            p.rmdir()


@contextlib.contextmanager
def removed_if_failed(folders: list[Path]) -> Iterator[None]:
    """On an exception (a signal included), remove ``folders`` again if they are still empty."""
    try:
        yield
    except BaseException:
        remove_empty_folders(folders)
        raise
