"""Atomic audio writers: a finished file or nothing, never an input overwritten.

Every output is written to a hidden temporary file in the destination folder and
renamed over the destination only when it is complete (``os.replace`` is atomic on
one file system), so a crash, an exception or Ctrl-C leaves either the old file or
no file, and never a temporary one. Paths listed in ``protect`` (a render's inputs)
are refused as destinations.

Formats
-------
===========  =====================================================================
``wav16``    16-bit PCM WAV, TPDF-dithered (see below)
``wav24``    24-bit PCM WAV, rounded without dither
``wav32f``   32-bit float WAV, written as is (no clipping, no dither)
``flac``     = ``flac24``
``flac24``   24-bit FLAC, rounded without dither
``flac16``   16-bit FLAC, TPDF-dithered
===========  =====================================================================

Integer formats clip to ``[-1, 1)`` (the largest code is ``1 - 2**-(bits-1)``).
Quantisation is done here, not by libsndfile (whose float->int scaling uses
``2**(bits-1) - 1`` on write but ``2**(bits-1)`` on read), so a value written and read
back is off by at most half a step (24-bit) or by the dither (16-bit).

Dither: 16-bit output adds triangular (TPDF) noise of +-1 LSB peak (the difference
of two uniform variates of 1 LSB) before rounding, which decorrelates the rounding
error from the signal (no distortion on fades, -101 dBFS RMS noise floor). Its
generator is seeded with a fixed value (:data:`DITHER_SEED`) and consumed in sample
order, so the same audio gives the same bytes, however it is split into blocks.
24-bit output is not dithered: its rounding error (-146 dBFS RMS) is below the noise
of any converter, and skipping it keeps 24-bit files bit-identical to the rounding
of the mix.

Long files: the sizes in a RIFF/WAVE header are 32-bit, so a WAV holds at most
4 GiB (:data:`RIFF_LIMIT`; 4.14 h of stereo 24-bit at 48 kHz, 3.1 h of float). A
writer told its length (``frames=``; every render passes it) writes a WAV that
would be larger as RF64 (EBU Tech 3306: 64-bit sizes, read by libsndfile, FFmpeg,
and every DAW); one that is not told refuses to write past 4 GiB rather than
write a file whose header lies. Mono and stereo WAVs under the limit are plain
RIFF/WAVE; more channels are written as RF64 that libsndfile downgrades to
WAVE_FORMAT_EXTENSIBLE (with its channel mask) when the file ends up under 4 GiB.

A full disk while writing is a :class:`~mixdown.errors.MediaError` that says so
(with the space written and needed); the partial file is removed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
# atomic_path and DITHER_SEED stay importable from here (encoders, muxer, report, tests)
from ..files.atomic import atomic_path, publish, reserve, unlink  # noqa: F401 - atomic_path re-exported
from ..files.guard import check_output
from ..files.space import disk_full, is_disk_full
from . import sndfile
from .probe import probe
from .quantise import DITHER_SEED, Quantiser  # noqa: F401 - DITHER_SEED re-exported
from .reader import open_source

#: format name -> (libsndfile major format, subtype, bits or None for float)
FORMATS: dict[str, tuple[str, str, int | None]] = {
    "wav16": ("WAV", "PCM_16", 16),
    "wav24": ("WAV", "PCM_24", 24),
    "wav32f": ("WAV", "FLOAT", None),
    "flac": ("FLAC", "PCM_24", 24),
    "flac24": ("FLAC", "PCM_24", 24),
    "flac16": ("FLAC", "PCM_16", 16),
}

_DEFAULT_BY_SUFFIX = {".wav": "wav24", ".wave": "wav24", ".flac": "flac24"}

# libsndfile's SFC_RF64_AUTO_DOWNGRADE (soundfile does not name it).
_SFC_SET_ADD_PEAK_CHUNK = 0x1050
_SFC_RF64_AUTO_DOWNGRADE = 0x1210
#: Largest value of a RIFF header's size fields (4 GiB - 1); a WAV whose file would be
#: larger is written as RF64. A module constant, so that tests can lower it.
RIFF_LIMIT = 0xFFFFFFFF
# bytes before the audio in the WAV headers libsndfile writes (44 for PCM, more for
# float's fact chunk): kept free under RIFF_LIMIT
_RIFF_HEADER = 512


def check_not_protected(path: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Raise :class:`MediaError` if ``path`` is (or links to) an input: one of ``protect``
    or an input of the active job (see :mod:`mixdown.files.guard`).

    Compares resolved paths (symlinks followed) and file identities (hard links,
    case-insensitive file systems).
    """
    check_output(path, protect)


class AtomicWriter:
    """Lifecycle of a writer that builds its file beside the destination, then renames it.

    Subclasses set ``path``, ``_tmp`` (the reserved temporary file) and ``_done``,
    implement ``commit()`` (finish the file, then return :meth:`_publish`) and
    ``_close_handle()`` (close whatever is writing ``_tmp``). On any failure, on
    :meth:`abort`, or when an unfinished writer is dropped, nothing is left behind and
    the destination keeps what it had.
    """

    path: Path
    _tmp: Path | None
    _done: bool

    def _close_handle(self) -> None:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    def _accept(self, block: np.ndarray, dtype: type | None = None) -> np.ndarray:
        """The block as an array, after checking the writer is open and the shape is ``(channels, n)``."""
        if self._done:
            raise ValueError(f"write to a committed or aborted {type(self).__name__}")
        block = np.asarray(block, dtype=dtype)
        if block.ndim != 2 or block.shape[0] != self.channels:  # type: ignore[attr-defined]
            raise ValueError(f"block must be ({self.channels}, frames), got shape {block.shape}")  # type: ignore[attr-defined]
        return block

    def _publish(self) -> Path:
        """Move the finished temporary file onto the destination; returns the destination."""
        self._done = True
        assert self._tmp is not None
        tmp, self._tmp = self._tmp, None
        return publish(tmp, self.path)

    def _fail(self, exc: BaseException, *, needed: int | None = None) -> BaseException:
        """Abort, and the error to raise for ``exc``: a full disk is said as such (a
        :class:`MediaError` naming the output), anything else is ``exc`` itself."""
        written = 0
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                written = os.stat(self._tmp).st_size
        # judged before the partial file is removed (which frees the space again)
        full = isinstance(exc, Exception) and not isinstance(exc, MediaError) and is_disk_full(exc, self.path.parent)
        self.abort()
        if isinstance(exc, MediaError) or not isinstance(exc, Exception):
            return exc
        if full:
            return disk_full(self.path, written=written, needed=needed)
        # libsndfile's and FFmpeg's write errors are the output's, not bugs
        if isinstance(exc, OSError) or type(exc).__name__ == "LibsndfileError" or \
                type(exc).__module__.split(".")[0] == "av":
            return MediaError(f"cannot write the output ({exc})", file=self.path)
        return exc

    def abort(self) -> None:
        """Drop the partial file; the destination is left as it was. Idempotent."""
        if self._done and self._tmp is None:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self._close_handle()
        if self._tmp is not None:
            unlink(self._tmp)
            self._tmp = None

    def __enter__(self) -> "AtomicWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()  # type: ignore[attr-defined]
        else:
            self.abort()

    def __del__(self) -> None:  # an abandoned writer leaves nothing behind
        # no module globals here: at interpreter exit they may already be gone
        if getattr(self, "_done", True):
            return
        try:
            self.abort()
        except Exception:  # noqa: BLE001, S110 - nothing to report to during garbage collection
            pass


class AudioWriter(AtomicWriter):
    """Stream float32 blocks into an audio file that appears only when complete.

    Parameters
    ----------
    path : str or PathLike
        Destination. Its folder must exist.
    sample_rate : int
        Hz.
    channels : int
    format : str, optional
        One of :data:`FORMATS` (``wav16``, ``wav24``, ``wav32f``, ``flac``/``flac24``,
        ``flac16``); default from the suffix: ``.wav`` -> ``wav24``, ``.flac`` ->
        ``flac24``.
    protect : iterable of path
        Files that must not be overwritten (the inputs).
    frames : int, optional
        How many frames will be written, when known: a WAV that will not fit the
        4 GiB of a RIFF header is written as RF64 (see the module docstring).

    Notes
    -----
    Use as a context manager: on normal exit the file is committed, on an exception
    it is aborted (nothing left behind). Or call :meth:`commit` / :meth:`abort`.
    16-bit formats are TPDF-dithered with a fixed seed (deterministic bytes); see the
    module docstring. :meth:`mirror` gives a :class:`~mixdown.media.quantise.Quantiser`
    that reproduces what is written, for measuring the file as it will be read.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int,
        channels: int,
        format: str | None = None,  # noqa: A002 - the natural name
        protect: Iterable[str | os.PathLike[str]] = (),
        frames: int | None = None,
    ) -> None:
        import soundfile as sf

        self.path = Path(path)
        if format is None:
            format = _DEFAULT_BY_SUFFIX.get(self.path.suffix.lower())
            if format is None:
                raise MediaError(
                    f"cannot tell the audio format from the suffix {self.path.suffix!r}; "
                    f"give format= one of {', '.join(FORMATS)}",
                    file=self.path,
                )
        if format not in FORMATS:
            raise MediaError(f"unknown audio format {format!r}; use one of {', '.join(FORMATS)}", file=self.path)
        if int(channels) < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.format = format
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.frames_written = 0
        major, subtype, bits = FORMATS[format]
        self._bits = bits
        self._frame_bytes = self.channels * (bits or 32) // 8
        self._expected = None if frames is None else int(frames)
        check_not_protected(self.path, protect)
        self._tmp: Path | None = reserve(self.path)
        self._done = False
        big = major == "WAV" and self._expected is not None and self._riff_overflows(self._expected)
        use_rf64 = major == "WAV" and (self.channels > 2 or big)
        # RF64 is written as such past 4 GiB; under it, libsndfile turns it back into
        # WAVE_FORMAT_EXTENSIBLE (multichannel: the channel mask is kept)
        self._rf64 = use_rf64
        self._riff = major == "WAV" and not use_rf64
        try:
            self._file: Any = sf.SoundFile(
                str(self._tmp),
                mode="w",
                samplerate=self.sample_rate,
                channels=self.channels,
                format="RF64" if use_rf64 else major,
                subtype=subtype,
            )
        except Exception as exc:  # noqa: BLE001
            unlink(self._tmp)
            self._tmp = None
            self._done = True
            if is_disk_full(exc, self.path.parent):
                raise disk_full(self.path, needed=self._needed()) from exc
            raise MediaError(f"cannot write {format} ({exc})", file=self.path) from exc
        if use_rf64 or bits is None:
            if use_rf64 and not big:
                sndfile.sf_command(self._file, _SFC_RF64_AUTO_DOWNGRADE, 1)
            if bits is None and major == "WAV":
                # libsndfile's PEAK chunk carries a timestamp: without it, float WAVs are deterministic too
                sndfile.sf_command(self._file, _SFC_SET_ADD_PEAK_CHUNK, 0)
        self._quant = Quantiser(bits)
        # 24-bit and float WAV: we pack the file's bytes and libsndfile only appends
        # them (see mixdown.media._pack); both formats are little-endian
        # (RF64 float keeps libsndfile's own path: its RF64 writer always adds a
        # PEAK chunk, whose values only that path fills in)
        self._raw = major == "WAV" and (bits == 24 or (bits is None and not use_rf64)) and sys.byteorder == "little"
        self._peak_stamp = bits is None and use_rf64
        self._buf = np.zeros(0, dtype=np.uint8)

    def _riff_overflows(self, frames: int) -> bool:
        # the sizes of a RIFF header are 32-bit: the whole file less 8 bytes must fit
        return frames * self._frame_bytes + _RIFF_HEADER > RIFF_LIMIT

    def _needed(self) -> int | None:
        if self._expected is None:
            return None
        return self._expected * self._frame_bytes + _RIFF_HEADER

    def mirror(self) -> Quantiser:
        """A fresh quantiser that, fed the same blocks in the same order, gives what this
        writer stores (``written``) and counts the samples it clips."""
        return Quantiser(self._bits)

    def write(self, block: np.ndarray) -> None:
        """Append a float ``(channels, frames)`` block (any length, including 0)."""
        block = self._accept(block)
        n = block.shape[1]
        if n == 0:
            return
        if self._riff and self._riff_overflows(self.frames_written + n):
            self.abort()
            raise MediaError(
                f"a RIFF WAV holds at most 4 GiB ({RIFF_LIMIT / 2**30:.0f} GiB of header sizes) and this one would "
                f"be larger: pass its length up front (frames=) so that it is written as RF64, or write FLAC",
                file=self.path)
        try:
            if self._raw:
                self._write_raw(block)
            else:
                self._file.write(self._quant.codes(block))
        except BaseException as exc:
            raise self._fail(exc, needed=self._needed()) from None
        self.frames_written += n

    def _write_raw(self, block: np.ndarray) -> None:
        from . import _pack

        x = np.asarray(block, dtype=np.float32)
        size = 3 * x.size if self._bits == 24 else 4 * x.size
        if self._buf.size < size:
            self._buf = np.empty(size, dtype=np.uint8)
        buf = self._buf[:size]
        if self._bits == 24:
            _pack.pcm24(x, buf)
        else:
            _pack.interleave(x, buf.view(np.float32))
        written = sndfile.write_raw(self._file, buf)
        if written != size:
            # libsndfile keeps no errno: the free space left tells a full disk from the rest
            raise OSError(None, f"wrote {written} of {size} bytes")

    def commit(self) -> Path:
        """Finish the file and move it into place; returns the destination."""
        if self._done:
            raise ValueError("AudioWriter already committed or aborted")
        try:
            # soundfile syncs before closing: a power cut leaves the old file or all of the new one
            self._file.close()
            if self._peak_stamp:
                _clear_peak_timestamp(self._tmp)
        except BaseException as exc:
            raise self._fail(exc, needed=self._needed()) from None
        return self._publish()

    def _close_handle(self) -> None:
        # the file is being dropped: closed without the sync soundfile's close() does
        if not self._file.closed:
            sndfile.close_raw(self._file)

    def __enter__(self) -> "AudioWriter":
        return self


def _clear_peak_timestamp(path: Path) -> None:
    """Zero the creation time libsndfile writes into a PEAK chunk, so the bytes depend on the audio only."""
    with open(path, "r+b") as f:
        head = f.read(4096)
        at = head.find(b"PEAK")
        if at >= 0:
            f.seek(at + 12)  # id, size, version, then the timestamp (4 bytes)
            f.write(b"\0\0\0\0")


def write_audio(
    path: str | os.PathLike[str],
    audio: np.ndarray,
    sample_rate: int,
    *,
    format: str | None = None,  # noqa: A002
    protect: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write a whole ``(channels, frames)`` array atomically (see :class:`AudioWriter`).

    A 1-D array is written as mono. Returns the destination path.
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[None, :]
    with AudioWriter(path, sample_rate=sample_rate, channels=audio.shape[0], format=format, protect=protect,
                     frames=audio.shape[1]) as w:
        step = 1 << 18
        for i in range(0, audio.shape[1], step):
            w.write(audio[:, i : i + step])
    return Path(path)


def read_audio(path: str | os.PathLike[str], *, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a whole file (any format :func:`~mixdown.media.decode.open_source` reads).

    For tests and small files; the render engine streams with ``open_source``.

    Parameters
    ----------
    sample_rate : int, optional
        Resample to this rate (soxr HQ); default: the file's own rate.

    Returns
    -------
    audio : ndarray
        float32 ``(channels, frames)``.
    sample_rate : int
    """
    p = Path(path)
    info = sndfile.sf_info(p) if p.is_file() else None
    if info is not None and (sample_rate is None or sample_rate == info.samplerate):
        import soundfile as sf

        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), int(sr)
    rate = sample_rate if sample_rate is not None else probe(p).sample_rate
    with open_source(p, sample_rate=rate) as reader:
        return reader.read_to_end(), int(rate)
