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

Mono and stereo WAV are plain RIFF/WAVE (limit 4 GiB: about 3.1 h of stereo
float at 48 kHz); more channels are written as RF64 that libsndfile downgrades to
WAVE_FORMAT_EXTENSIBLE (with its channel mask) when the file ends up under 4 GiB.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError

#: Seed of the TPDF dither generator (fixed: same input, same bytes).
DITHER_SEED = 0x6D6978646F776E  # "mixdown"

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


def _resolve(path: Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def check_not_protected(path: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Raise :class:`MediaError` if ``path`` is (or links to) one of ``protect``.

    Compares resolved paths (symlinks followed), and for existing files
    ``os.path.samefile`` (hard links, case-insensitive file systems).
    """
    target = Path(path)
    resolved = _resolve(target)
    exists = target.exists()
    for item in protect:
        q = Path(item)
        same = _resolve(q) == resolved
        if not same and exists and q.exists():
            try:
                same = os.path.samefile(target, q)
            except OSError:
                same = False
        if same:
            raise MediaError(f"refusing to overwrite an input file ({q})", file=target)


def _temp_name(path: Path) -> Path:
    # Hidden, in the same folder (so the rename stays on one file system), keeping
    # the suffix so libraries that pick a format from the name still can.
    return path.with_name(f".{path.stem}.mixdown-tmp-{secrets.token_hex(4)}{path.suffix}")


def _reserve(path: Path) -> Path:
    """Create an empty temporary file next to ``path`` and return its name."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"output folder does not exist: {folder}", file=path)
    for _ in range(100):
        tmp = _temp_name(path)
        try:
            # 0o666 so the umask, not mkstemp's 0o600, decides the final permissions.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise MediaError(f"cannot write in {folder} ({exc.strerror})", file=path) from exc
        os.close(fd)
        return tmp
    raise MediaError("cannot create a temporary file", file=path)  # pragma: no cover


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, protect: Iterable[str | os.PathLike[str]] = ()
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    For files written by other libraries (encoders, muxers). The temporary file
    exists (empty) when yielded and keeps ``path``'s suffix; on an exception it is
    deleted and ``path`` is left as it was.

    Raises
    ------
    MediaError
        ``path`` is one of ``protect``, or its folder is missing or not writable.
    """
    target = Path(path)
    check_not_protected(target, protect)
    tmp = _reserve(target)
    try:
        yield tmp
    except BaseException:
        _unlink(tmp)
        raise
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise MediaError(f"cannot write the output ({exc.strerror})", file=target) from exc


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
        try:
            os.replace(self._tmp, self.path)
        except OSError as exc:
            _unlink(self._tmp)
            raise MediaError(f"cannot write the output ({exc.strerror})", file=self.path) from exc
        finally:
            self._tmp = None
        return self.path

    def abort(self) -> None:
        """Drop the partial file; the destination is left as it was. Idempotent."""
        if self._done and self._tmp is None:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self._close_handle()
        if self._tmp is not None:
            _unlink(self._tmp)
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

    Notes
    -----
    Use as a context manager: on normal exit the file is committed, on an exception
    it is aborted (nothing left behind). Or call :meth:`commit` / :meth:`abort`.
    16-bit formats are TPDF-dithered with a fixed seed (deterministic bytes); see the
    module docstring.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int,
        channels: int,
        format: str | None = None,  # noqa: A002 - the natural name
        protect: Iterable[str | os.PathLike[str]] = (),
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
        check_not_protected(self.path, protect)
        self._tmp: Path | None = _reserve(self.path)
        self._done = False
        use_rf64 = major == "WAV" and self.channels > 2
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
            _unlink(self._tmp)
            self._tmp = None
            self._done = True
            raise MediaError(f"cannot write {format} ({exc})", file=self.path) from exc
        if use_rf64 or bits is None:
            from soundfile import _ffi, _snd

            if use_rf64:
                _snd.sf_command(self._file._file, _SFC_RF64_AUTO_DOWNGRADE, _ffi.NULL, 1)
            if bits is None and major == "WAV":
                # libsndfile's PEAK chunk carries a timestamp: without it, float WAVs are deterministic too
                _snd.sf_command(self._file._file, _SFC_SET_ADD_PEAK_CHUNK, _ffi.NULL, 0)
        self._rng = np.random.Generator(np.random.PCG64(DITHER_SEED)) if bits == 16 else None
        # 24-bit and float WAV: we pack the file's bytes and libsndfile only appends
        # them (see mixdown.media._pack); both formats are little-endian
        # (multichannel float keeps libsndfile's own path: its RF64 writer always adds a
        # PEAK chunk, whose values only that path fills in)
        self._raw = major == "WAV" and (bits == 24 or (bits is None and not use_rf64)) and sys.byteorder == "little"
        self._peak_stamp = bits is None and use_rf64
        self._buf = np.zeros(0, dtype=np.uint8)

    def write(self, block: np.ndarray) -> None:
        """Append a float ``(channels, frames)`` block (any length, including 0)."""
        block = self._accept(block)
        n = block.shape[1]
        if n == 0:
            return
        try:
            if self._raw:
                self._write_raw(block)
            else:
                self._file.write(self._encode(block))
        except BaseException:
            self.abort()
            raise
        self.frames_written += n

    def _write_raw(self, block: np.ndarray) -> None:
        from soundfile import _ffi, _snd

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
        written = _snd.sf_write_raw(self._file._file, _ffi.from_buffer(buf), size)
        if written != size:
            raise MediaError(f"cannot write the output (wrote {written} of {size} bytes: is the disk full?)",
                             file=self.path)

    def _encode(self, block: np.ndarray) -> np.ndarray:
        """Interleaved (frames, channels) array in the dtype libsndfile writes exactly."""
        x = block.T  # (frames, channels) view; the arithmetic below makes it contiguous
        if self._bits is None:
            return np.ascontiguousarray(x, dtype=np.float32)
        if self._bits == 16:
            scale = 32768.0
            # TPDF in LSB units, drawn in sample order so block splits do not matter.
            r = self._rng.random((x.shape[0], x.shape[1], 2), dtype=np.float32)  # type: ignore[union-attr]
            q = x * np.float32(scale) + (r[..., 0] - r[..., 1])
            np.rint(q, out=q)
            np.clip(q, -32768, 32767, out=q)
            return q.astype(np.int16)
        # 24-bit: round to the 24-bit grid, then place in the top bits of an int32,
        # which libsndfile stores by dropping the low byte (exact).
        # float32 is exact here: scaling by 2**23 keeps the 24-bit mantissa, and rint of a
        # float32 in [-2**23, 2**23] is exact, so this equals the float64 computation at half the cost
        q = np.asarray(x, dtype=np.float32) * np.float32(8388608.0)
        np.rint(q, out=q)
        np.clip(q, -8388608, 8388607, out=q)
        return q.astype(np.int32) << 8

    def commit(self) -> Path:
        """Finish the file and move it into place; returns the destination."""
        if self._done:
            raise ValueError("AudioWriter already committed or aborted")
        try:
            # soundfile syncs before closing: a power cut leaves the old file or all of the new one
            self._file.close()
            if self._peak_stamp:
                _clear_peak_timestamp(self._tmp)
        except BaseException:
            self.abort()
            raise
        return self._publish()

    def _close_handle(self) -> None:
        # the file is being dropped: closed without the sync soundfile's close() does
        if not self._file.closed:
            from soundfile import _snd

            _snd.sf_close(self._file._file)
            self._file._file = None

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
    with AudioWriter(path, sample_rate=sample_rate, channels=audio.shape[0], format=format, protect=protect) as w:
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
    from .decode import _sf_info, open_source, probe

    p = Path(path)
    info = _sf_info(p) if p.is_file() else None
    if info is not None and (sample_rate is None or sample_rate == info.samplerate):
        import soundfile as sf

        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), int(sr)
    rate = sample_rate if sample_rate is not None else probe(p).sample_rate
    with open_source(p, sample_rate=rate) as reader:
        return reader._read_to_end(), int(rate)
