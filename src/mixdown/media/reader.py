"""Stream float32 blocks of a source at a chosen rate from an in-point: :func:`open_source`.

Resampling
----------
When the source rate differs from the wanted rate, ``soxr`` (``HQ``) resamples in
a stream. For an exact in-point, the resampler starts a margin of at least
:data:`RESAMPLE_MARGIN` output samples earlier, at a source sample that is a whole
number of rate-ratio periods (``in_rate / gcd``) from the start of the file, so its
output samples fall on the same instants as those of a resampler run from the start
of the file; the margin (whose output differs while the filter fills) is discarded.
Measured: the filter transient lasts < 500 output samples even for 8 kHz -> 48 kHz;
after it, the samples equal those of a resampling of the whole file to ~3e-7 (soxr
uses FFT convolution, so equal up to float rounding, not bit for bit).

Determinism: a reader's output does not depend on the sizes passed to
:meth:`SourceReader.read` (sources are decoded and resampled in chunks fixed by the
file, not by the caller), and opening the same file at the same in-point gives the
same samples bit for bit.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import integrity
from .av_producer import AvProducer
from .info import check_file, check_stream_index
from .sndfile import SfProducer, sf_info

#: Minimum output samples the resampler runs (and discards) before an in-point.
RESAMPLE_MARGIN = 4096


class SourceReader:
    """Stream of float32 blocks from one audio stream, at a chosen rate, from an in-point.

    Made by :func:`open_source`. :meth:`read` always returns exactly ``n`` frames,
    with zeros after the end of the source.

    Attributes
    ----------
    path : Path
    channels : int
        Channels of the source (no channel mapping here; see :mod:`.channels`).
    sample_rate : int
        Output rate, Hz.
    source_rate : int
        Native rate of the source, Hz.
    position : int
        Output-rate sample index of the next frame :meth:`read` returns.
    backend : str
        ``'soundfile'`` or ``'ffmpeg'``.
    """

    def __init__(self, path: Path, producer: Any, *, sample_rate: int, start: int, skip: int, backend: str) -> None:
        self.path = path
        self._producer = producer
        self.channels = producer.channels
        self.source_rate = producer.rate
        self.sample_rate = sample_rate
        self.position = start
        self.backend = backend
        self._skip = skip  # output samples to discard before ``start``
        self._rs = None
        if self.source_rate != sample_rate:
            import soxr

            self._rs = soxr.ResampleStream(self.source_rate, sample_rate, self.channels, dtype="float32", quality="HQ")
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._off = 0
        self._done = False
        self._closed = False

    # -- internals

    def _pull(self) -> np.ndarray | None:
        """Next output-rate chunk (may be empty), or None at the end."""
        if self._done:
            return None
        chunk = self._producer.next_chunk()
        if self._rs is None:
            if chunk is None:
                self._done = True
                return None
            return chunk
        if chunk is None:
            self._done = True
            out = self._rs.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
        else:
            # soxr wants (frames, channels); a contiguous copy keeps it fast.
            out = self._rs.resample_chunk(np.ascontiguousarray(chunk.T))
        return np.ascontiguousarray(out.T)

    def _fill(self, n: int) -> None:
        avail = self._buf.shape[1] - self._off
        if avail >= n:
            return
        parts = [self._buf[:, self._off :]] if avail else []
        while avail < n:
            out = self._pull()
            if out is None:
                break
            if self._skip:
                k = min(self._skip, out.shape[1])
                out = out[:, k:]
                self._skip -= k
            if out.shape[1]:
                parts.append(out)
                avail += out.shape[1]
        if not parts:
            self._buf = np.zeros((self.channels, 0), np.float32)
        else:
            self._buf = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        self._off = 0

    # -- public

    def read(self, n: int) -> np.ndarray:
        """Return the next ``n`` frames as float32 ``(channels, n)`` (zeros past the end)."""
        if self._closed:
            raise ValueError("read from a closed SourceReader")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._fill(n)
        avail = self._buf.shape[1] - self._off
        if avail >= n:
            out = self._buf[:, self._off : self._off + n].copy()
            self._off += n
        else:
            out = np.zeros((self.channels, n), np.float32)
            out[:, :avail] = self._buf[:, self._off :]
            self._off += avail
        self.position += n
        return out

    def read_available(self, n: int) -> np.ndarray:
        """The next frames up to ``n``, without zero padding: fewer only at the real end
        of the source (which may come before a container's announced length), none after it."""
        if self._closed:
            raise ValueError("read from a closed SourceReader")
        self._fill(int(n))
        return self.read(min(self._buf.shape[1] - self._off, int(n)))

    def read_to_end(self) -> np.ndarray:
        """Everything left, without the zero padding (for whole-file reads)."""
        parts = [self._buf[:, self._off :]]
        while True:
            out = self._pull()
            if out is None:
                break
            if self._skip:
                k = min(self._skip, out.shape[1])
                out = out[:, k:]
                self._skip -= k
            parts.append(out)
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._off = 0
        res = np.concatenate(parts, axis=1) if len(parts) > 1 else np.ascontiguousarray(parts[0])
        self.position += res.shape[1]
        return res

    def close(self) -> None:
        """Release the file."""
        if not self._closed:
            self._closed = True
            self._producer.close()

    def __enter__(self) -> "SourceReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a reader dropped without close() must not leak the file
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def open_source(
    path: str | os.PathLike[str], *, stream: int | None = None, sample_rate: int, start: int = 0
) -> SourceReader:
    """Open an audio stream for streaming reads at ``sample_rate`` from sample ``start``.

    Parameters
    ----------
    path : str or PathLike
        Audio or video file.
    stream : int, optional
        Index among the file's audio streams (default 0).
    sample_rate : int
        Rate of the samples returned, Hz (the session rate). Resampled with soxr HQ
        when the source's rate differs.
    start : int
        In-point, in samples *at* ``sample_rate``, >= 0.

    Returns
    -------
    SourceReader
        Use as a context manager, or call :meth:`SourceReader.close`.

    Raises
    ------
    MediaError
        Same cases as :func:`probe`.
    """
    p = Path(path)
    start, sample_rate = _checked_args(start, sample_rate)
    check_file(p)
    info = sf_info(p)
    if info is not None and info.format == "FLAC" and _damaged(p):
        info = None  # libsndfile stops at the first broken frame; FFmpeg decodes every whole one
    if info is not None:
        check_stream_index(p, stream, 1)
        producer: Any = SfProducer(p)
    else:
        producer = AvProducer(p, stream)
    return reader_for(producer, path=p, sample_rate=sample_rate, start=start,
                      backend="soundfile" if info is not None else "ffmpeg")


def reader_for(producer: Any, *, path: Path, sample_rate: int, start: int, backend: str) -> SourceReader:
    """A :class:`SourceReader` over a producer, positioned at output sample ``start``.

    A producer has ``channels``, ``rate`` (its native rate, Hz), ``start(native)``
    (called once), ``next_chunk()`` (float32 ``(channels, k)`` chunks whose sizes depend
    only on the source, None at the end) and ``close()``. The resampler's in-point
    rule (module docstring) is applied here, so every kind of source is resampled alike.
    """
    start, sample_rate = _checked_args(start, sample_rate)
    try:
        native_start, skip = _native_start(producer.rate, sample_rate, start)
        producer.start(native_start)
    except BaseException:
        producer.close()
        raise
    return SourceReader(path, producer, sample_rate=sample_rate, start=start, skip=skip, backend=backend)


def _checked_args(start: int, sample_rate: int) -> tuple[int, int]:
    start = int(start)
    sample_rate = int(sample_rate)
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    return start, sample_rate


def _damaged(path: Path) -> bool:
    return integrity.damaged(path) is not None


def _native_start(rate: int, sample_rate: int, start: int) -> tuple[int, int]:
    """Native sample to start decoding at, and output samples to discard."""
    if rate == sample_rate:
        return start, 0
    g = math.gcd(rate, sample_rate)
    p_in, p_out = rate // g, sample_rate // g
    periods = max(0, (start - RESAMPLE_MARGIN) // p_out)
    return periods * p_in, start - periods * p_out
