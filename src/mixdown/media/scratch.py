"""Scratch audio: a temporary file of raw interleaved float32 frames, written once, read many times.

For intermediate audio a run reads back itself (the premaster of ``auto``, the
premasters and stems of a delivery): no header, no encoder, no fsync, and the
floats come back bit for bit. The caller owns the file's folder and deletes it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np


class ScratchAudio:
    """A temporary file of interleaved float32 frames: written once, read many times."""

    def __init__(self, path: Path, channels: int) -> None:
        self.path = path
        self.channels = channels
        self.frames = 0
        self._fh: Any = open(path, "wb")

    def write(self, block: np.ndarray) -> None:
        if block.shape[1]:
            try:
                self._fh.write(np.ascontiguousarray(block.T, dtype=np.float32).tobytes())
            except OSError as exc:
                raise self._error(exc) from None
            self.frames += block.shape[1]

    def finish(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except OSError as exc:
                raise self._error(exc) from None

    def _error(self, exc: OSError) -> Exception:
        """A write error as the user's: a full disk says so (the scratch folder's owner removes the file)."""
        from ..errors import MediaError
        from ..files.space import disk_full, is_disk_full

        written = self.frames * self.channels * 4
        if is_disk_full(exc, self.path.parent):
            return disk_full(self.path.parent, written=written)
        return MediaError(f"cannot write scratch audio ({exc.strerror or exc})", file=self.path)

    def reader(self) -> ScratchReader:
        self.finish()
        return ScratchReader(self)

    def delete(self) -> None:
        self.finish()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class ScratchReader:
    """Random access to a finished :class:`ScratchAudio`."""

    def __init__(self, raw: ScratchAudio) -> None:
        self.raw = raw
        self._fh: Any = open(raw.path, "rb")
        self._at = 0

    def read(self, pos: int, n: int) -> np.ndarray:
        """``(channels, n)`` from frame ``pos``; zeros outside the file."""
        ch = self.raw.channels
        out = np.zeros((n, ch), dtype=np.float32)
        a = max(pos, 0)
        b = min(pos + n, self.raw.frames)
        if b > a:
            if a != self._at:
                self._fh.seek(a * ch * 4)
            view = out[a - pos:b - pos]
            self._fh.readinto(view.data.cast("B"))
            self._at = b
        return np.ascontiguousarray(out.T)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ScratchReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
