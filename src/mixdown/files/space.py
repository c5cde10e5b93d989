"""Disk space: what a job will write, checked before it starts; a full disk said as such.

A command adds up what it is going to write on each file system -- its outputs and
its scratch (``auto`` writes a float premaster beside the mix, a delivery one per
stage and stem) -- and :func:`check_space` refuses before any work when a file system
has less free space than that. Sizes are exact for PCM and scratch audio; for
encoded formats they are estimates: lossy files from their bit rate, FLAC from
:data:`FLAC_FLOOR` (a low guess: FLAC of quiet material can be much smaller than
PCM, so the check must not refuse a file that would fit; if the guess was too low,
the writer meets a full disk and says so with :func:`disk_full`).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MediaError

#: FLAC is counted at this fraction of its 24-bit PCM size in the up-front check.
FLAC_FLOOR = 0.25
#: Free space kept on top of what a job needs, bytes (file system metadata, headers).
MARGIN = 1 << 20
_BYTES = {"wav16": 2, "wav24": 3, "bwf": 3, "wav32f": 4, "f32": 4}
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def human_bytes(n: float) -> str:
    """``1234567`` -> ``'1.2 MB'`` (decimal units, as disks are sold)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def audio_bytes(fmt: str, *, frames: int, channels: int, sample_rate: int, bitrate: int | None = None) -> int:
    """Bytes a file of ``frames`` x ``channels`` in ``fmt`` will take (see the module docstring)."""
    frames, channels = max(int(frames), 0), int(channels)
    if fmt in _BYTES:
        return frames * channels * _BYTES[fmt] + 4096
    if fmt.startswith("flac"):
        bits = 2 if fmt == "flac16" else 3
        return int(frames * channels * bits * FLAC_FLOOR) + 4096
    if bitrate:
        return int(bitrate / 8 * frames / max(sample_rate, 1) * 1.02) + 65536
    # a lossy format without a stated rate: 32 kb/s per channel is below any delivery default
    return int(32000 * channels / 8 * frames / max(sample_rate, 1)) + 65536


@dataclass(frozen=True)
class Need:
    """``bytes`` to be written at ``path`` (a file or a folder to be created), called ``what``."""

    path: Path
    bytes: int
    what: str


def _existing_folder(path: Path) -> Path:
    p = Path(os.path.abspath(path)).parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_space(needs: Iterable[Need]) -> None:
    """Refuse (``MediaError``) when a file system has less free space than the job needs on it."""
    by_dev: dict[int, tuple[Path, int, list[Need]]] = {}
    for need in needs:
        folder = _existing_folder(need.path)
        try:
            dev = os.stat(folder).st_dev
        except OSError:
            continue  # the output checks report a missing or unreadable folder
        f, total, items = by_dev.get(dev, (folder, 0, []))
        by_dev[dev] = (f, total + max(int(need.bytes), 0), items + [need])
    for folder, total, items in by_dev.values():
        try:
            free = shutil.disk_usage(folder).free
        except OSError:  # pragma: no cover
            continue
        if total + MARGIN > free:
            biggest = max(items, key=lambda n: n.bytes)
            parts = ", ".join(f"{n.what} {human_bytes(n.bytes)}" for n in sorted(items, key=lambda n: -n.bytes)[:4])
            raise MediaError(
                f"not enough disk space: this job writes about {human_bytes(total)} on the file system of "
                f"{folder} ({parts}), which has {human_bytes(free)} free; nothing was written", file=biggest.path)


def is_disk_full(exc: BaseException, folder: Path | None = None) -> bool:
    """Whether ``exc`` is a full disk (or quota): by errno, or -- for libraries that drop
    the errno, like libsndfile's ``System error`` -- by the free space left in ``folder``."""
    code = getattr(exc, "errno", None)  # OSError, and PyAV's errors too
    if code in _DISK_FULL:
        return True
    if isinstance(code, int):
        return False
    if folder is not None:
        try:
            return shutil.disk_usage(folder).free < MARGIN
        except OSError:  # pragma: no cover
            return False
    return False


def disk_full(path: Path, *, written: int = 0, needed: int | None = None) -> MediaError:
    """The error for an output that met a full disk (its partial file is removed by the caller)."""
    folder = _existing_folder(path)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # pragma: no cover
        free = 0
    need = f"; it needs about {human_bytes(needed)}" if needed else ""
    return MediaError(f"the disk is full: no space left on the file system of {folder} after writing "
                      f"{human_bytes(written)}{need} ({human_bytes(free)} free); nothing was written", file=path)
