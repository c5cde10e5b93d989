"""Damaged and misleading media: a file cut short, a header that lies, a wrong suffix.

Decoders read what is there and stop, so a file cut in half (a copy that died, a
download that stopped) or one whose header claims more than it holds would be
mixed and measured short without a word. :func:`inspect` compares what a file
*promises* with what it *has*, per container, cheaply (headers and the last page,
never a whole decode unless something is missing):

==============  ==========================================================  ===========================
container       the promise                                                 what is there
==============  ==========================================================  ===========================
WAV/RF64/AIFF   the data chunk's size (RF64: ``ds64``; AIFF: ``COMM``)       the bytes after the chunk header
FLAC            STREAMINFO's total samples                                  the last sample decodes, or a count
Ogg (Vorbis,    an end-of-stream page, complete (Ogg records no length:     the last complete page's granule
Opus)           the promise is that the stream is closed)
MP3             the Xing/Info/VBRI header's byte count                      the file's bytes; a decode count
==============  ==========================================================  ===========================

Other containers (MP4/MOV, Matroska) carry their index at one end: cut short they
either fail to open (a :class:`MediaError` already) or fail to decode where the data
stops (the reader raises). Streamed files that never knew their length (a WAV data
size of 0 or 0xFFFFFFFF, FLAC with 0 total samples) promise nothing and pass.

What happens to damage is the :class:`Policy`: by default a truncated file is
refused (:class:`MediaError` naming the file and where it ends); with
``allow_truncated`` (``--allow-truncated``) it is read as far as it goes -- silence
after -- with one warning per file that says how much is missing. A file whose
suffix names another format (a FLAC called ``.mp3``) is read by what it is, with a
note. Results are cached per file (path, size, modification time).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MediaError

Notify = Callable[[str, str], None]  # (level: "warning" | "note", message)

# suffix -> container names probe reports for it (libsndfile's major format or FFmpeg's demuxer)
_WAV = {"WAV", "WAVEX", "RF64"}
_MP4 = {"mov,mp4,m4a,3gp,3g2,mj2"}
SUFFIX_CONTAINERS: dict[str, set[str]] = {
    ".wav": _WAV, ".wave": _WAV, ".bwf": _WAV, ".rf64": _WAV, ".w64": {"W64"}, ".flac": {"FLAC", "flac"},
    ".aif": {"AIFF"}, ".aiff": {"AIFF"}, ".aifc": {"AIFF"}, ".caf": {"CAF"}, ".ogg": {"OGG", "ogg"},
    ".oga": {"OGG", "ogg"}, ".opus": {"ogg"}, ".mp3": {"mp3"}, ".m4a": _MP4, ".mp4": _MP4, ".mov": _MP4,
    ".m4v": _MP4, ".mkv": {"matroska,webm"}, ".mka": {"matroska,webm"}, ".webm": {"matroska,webm"},
    ".aac": {"aac"}, ".ac3": {"ac3"},
}
_NAMES = {"WAV": "WAV", "WAVEX": "WAV", "RF64": "RF64 WAV", "W64": "Wave64", "FLAC": "FLAC", "flac": "FLAC",
          "AIFF": "AIFF", "CAF": "CAF", "OGG": "Ogg", "ogg": "Ogg", "mp3": "MP3", "matroska,webm": "Matroska/WebM",
          "aac": "ADTS AAC", "ac3": "AC-3", **{k: "MP4/MOV" for k in _MP4}}


@dataclass(frozen=True)
class Damage:
    """A file that holds less than it promises.

    Attributes
    ----------
    path : Path
    rate : int
        Native sample rate, Hz.
    available : int
        Native frames that are there (what a reader gets).
    promised : int or None
        Native frames the header promises; None when the container records no length
        (Ogg: the stream stops without its end-of-stream page).
    how : str
        Where the promise comes from, in words (``"its WAV header (data chunk)"``).
    detail : str
        The numbers behind it (``"2880000 bytes of audio, the file has 1439978"``).
    """

    path: Path
    rate: int
    available: int
    promised: int | None
    how: str
    detail: str = ""

    @property
    def missing_s(self) -> float | None:
        return None if self.promised is None else (self.promised - self.available) / self.rate

    def describe(self) -> str:
        end = _t(self.available / self.rate)
        more = f"; {self.detail}" if self.detail else ""
        if self.promised is None:
            return f"cut short: {self.how}; the audio stops at {end} (how much is missing is not recorded{more})"
        return (
            f"shorter than its header says: the audio ends at {end}, "
            f"but {self.how} promises {_t(self.promised / self.rate)} "
            f"({_t(self.missing_s or 0.0)} missing{more})"
        )


def _t(seconds: float) -> str:
    if seconds < 600:
        return f"{seconds:.2f} s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h)}:{int(m):02d}:{s:05.2f}"


# --------------------------------------------------------------------------- policy


class Policy:
    """What to do with damaged files, and where notes go (one per file and kind)."""

    def __init__(self, *, allow_truncated: bool = False, notify: Notify | None = None) -> None:
        self.allow_truncated = allow_truncated
        self.notify = notify
        self._said: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def say(self, path: Path, kind: str, level: str, message: str) -> None:
        key = (os.path.realpath(path), kind)
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        if self.notify is not None:
            self.notify(level, message)
        elif level == "warning":
            warnings.warn(message, stacklevel=3)


_POLICY = [Policy()]


def policy() -> Policy:
    return _POLICY[-1]


@contextlib.contextmanager
def media_policy(*, allow_truncated: bool = False, notify: Notify | None = None) -> Iterator[Policy]:
    """Use this policy for everything read inside the ``with`` (the CLI opens one per command)."""
    p = Policy(allow_truncated=allow_truncated, notify=notify)
    _POLICY.append(p)
    try:
        yield p
    finally:
        _POLICY.remove(p)


def set_allow_truncated(allow: bool) -> None:
    """Set ``allow_truncated`` on the current policy (a command's ``--allow-truncated``)."""
    policy().allow_truncated = bool(allow)


def handle(damage: Damage) -> None:
    """Refuse ``damage`` (``MediaError``), or warn once about it when the policy allows it."""
    if not policy().allow_truncated:
        raise MediaError(damage.describe() + " (--allow-truncated reads what is there)", file=damage.path)
    policy().say(damage.path, "truncated", "warning",
                 f"{damage.path}: {damage.describe()}; read as far as it goes, silence after")


def handle_read_end(path: Path, *, rate: int, delivered: int, promised: int | None, why: str) -> None:
    """A reader found the end of the data before the promised end (or a decode error there)."""
    how = "its header" if promised is not None else why
    handle(Damage(path=path, rate=rate, available=delivered, promised=promised, how=how,
                  detail=why if promised is not None else ""))


def note_suffix(path: Path, container: str) -> None:
    """A note when the file's suffix names another format than the one it holds."""
    want = SUFFIX_CONTAINERS.get(path.suffix.lower())
    if want is None or container in want:
        return
    what = _NAMES.get(container, container)
    said = " or ".join(sorted({_NAMES.get(c, c) for c in want}))
    policy().say(path, "misnamed", "note", f"{path} holds {what}, not {said} as its {path.suffix} suffix says; "
                                           f"read as {what}")


# --------------------------------------------------------------------------- inspection

_CACHE: dict[tuple[str, int, int], Damage | None] = {}


def inspect(path: Path, info: Any) -> Damage | None:
    """The damage of a probed file (see the module docstring), or None when it is whole."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key]
    found = _inspect(Path(path), info, st.st_size)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[key] = found
    return found


def damaged(path: Path) -> Damage | None:
    """The cached damage of a file already inspected (None if whole or never inspected)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _CACHE.get((os.path.realpath(path), st.st_size, st.st_mtime_ns))


def _inspect(path: Path, info: Any, size: int) -> Damage | None:
    from . import _containers as c

    fmt = info.container
    with open(path, "rb") as fh:
        magic = fh.read(4)
        fh.seek(0)
        if magic in (b"RIFF", b"RIFX", b"RF64", b"BW64"):
            return c.riff(fh, size, path, info.sample_rate)
        if magic == b"FORM":
            return c.aiff(fh, size, path, info.sample_rate)
        if magic == b"OggS":
            return c.ogg(fh, size, path, info)
        if fmt in ("FLAC", "flac") and magic == b"fLaC":
            return c.flac(path, info)
        if fmt == "mp3":
            return c.mp3(fh, size, path, info)
    return None



def reset() -> None:
    """Back to the default policy (refuse truncated files, no notes); the CLI calls it at exit."""
    del _POLICY[1:]
    _POLICY[0] = Policy()
