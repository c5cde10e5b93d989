"""Streaming encoders for every delivery format, all atomic, none over an input.

:func:`open_encoder` returns a writer with one interface whatever the format::

    with open_encoder("mix.m4a", format="aac", sample_rate=48000, channels=2) as enc:
        for block in blocks:          # float32 (channels, frames), any sizes
            enc.write(block)
    # committed on a clean exit; on an exception nothing is left behind

- PCM WAV and FLAC: :class:`~mixdown.media.write.AudioWriter`.
- BWF: :class:`~mixdown.deliver.bwf.BwfWriter` (loudness in ``bext``).
- MP3, AAC, Opus: :class:`LossyWriter`, FFmpeg's encoders through PyAV (LAME,
  FFmpeg's native AAC, libopus), fed in blocks; the float samples go to the encoder
  as float (no 16-bit step in between). Rates the codec cannot take are resampled
  with soxr (HQ) in the writer: Opus always runs at 48 kHz.

Encoder delay: the MP4 edit list (AAC), the LAME/Xing header (MP3) and the Ogg
pre-skip (Opus) record the codec's priming, so FFmpeg -- and
:func:`mixdown.media.decode.open_source` -- decode the file's first sample where the
mix's first sample was.

AAC coder: :data:`AAC_CODER` = ``twoloop``, the default of the FFmpeg that PyAV
bundles (its developers made ``fast`` the default in 2018, then went back to
``twoloop`` once it had been improved). ``fast`` encodes about twice as fast --
measured on stereo noise at 256 kb/s, per hour of audio: twoloop 48 s, fast 22 s
(and 144 s vs 84 s on a busier machine) -- with a simpler quantiser search; a
deliverable is encoded once, so quality wins. Set ``encode.AAC_CODER = "fast"``
for drafts.

AAC perceptual noise substitution (PNS) is switched off: it replaces noisy bands
by noise the *decoder* generates, with random phase, so the decoded peaks are
not controlled by anything the master stage did. Measured on a generated hour
with hard-gated noise hits: with PNS, clicks up to +10 dB over the PCM at hit
onsets (a 0.35 sample decoded as 1.13) and 460 samples more than 0.3 off in five
minutes; without, the largest overshoot was +0.7 dB and 8 samples -- at the same
speed. PNS saves bits at low rates; at delivery rates (>= 128 kb/s per channel
pair) it buys nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import MediaError
from ..files.atomic import reserve
from ..media.write import AtomicWriter, check_not_protected
from .formats import (
    CODECS,
    check_channels,
    default_bitrate,
    encode_rate,
    is_lossy,
    resolve_format,
)

#: Quantiser search of FFmpeg's AAC encoder (see the module docstring).
AAC_CODER = "twoloop"
#: Perceptual noise substitution: off (see the module docstring).
AAC_PNS = False
_CONTAINERS = {".m4a": "ipod", ".mp4": "mp4", ".mp3": "mp3", ".ogg": "ogg", ".opus": "opus"}
_SAMPLE_FORMATS = {"aac": "fltp", "mp3": "fltp", "opus": "flt", "flac": "s32", "wav16": "s16", "wav24": "s32",
                   "wav32f": "flt"}
#: FFmpeg encoder per format, also for the PCM/FLAC tracks of a video.
STREAM_CODECS = {**CODECS, "flac": "flac", "wav16": "pcm_s16le", "wav24": "pcm_s24le", "wav32f": "pcm_f32le"}
_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
_FRAME_CHUNK = 8192  # frames per AudioFrame handed to the encoder


class Encoder(Protocol):
    """What every writer :func:`open_encoder` returns can do."""

    path: Path
    format: str
    frames_written: int

    def write(self, block: np.ndarray) -> None: ...
    def commit(self) -> Path: ...
    def abort(self) -> None: ...


class StreamEncoder:
    """Encode float32 blocks into one audio stream of an open PyAV output container.

    Shared by :class:`LossyWriter` (an audio file) and :func:`mixdown.deliver.mux.mux_video`
    (a new track next to copied video). Blocks come at ``sample_rate``; they are
    resampled (soxr HQ, streaming) when the codec runs at another rate, and handed
    to FFmpeg as planar float with timestamps counted from ``start_pts`` (in
    ``1/rate`` units), so the first sample lands at ``start_pts / rate`` seconds.

    Parameters
    ----------
    container : av.container.OutputContainer
    format : str
        ``mp3``, ``aac``, ``opus``, ``flac`` or ``wav16``/``wav24``/``wav32f`` (PCM
        in a video container).
    sample_rate : int
    channels : int
    bitrate : int, optional
    start_pts : int
        Timestamp of the first sample, in samples at the codec's rate.
    """

    def __init__(self, container: Any, *, format: str, sample_rate: int, channels: int,
                 bitrate: int | None = None, start_pts: int = 0, path: Path | None = None) -> None:
        self.format = format
        self.channels = int(channels)
        if self.channels not in _LAYOUTS:
            raise MediaError(f"{format}: {self.channels} channels; mixdown encodes mono, stereo or 5.1", file=path)
        check_channels(format, self.channels, path or "")
        self.sample_rate = int(sample_rate)
        self.rate = encode_rate(format, self.sample_rate) if is_lossy(format) else self.sample_rate
        self.bitrate = (
            (int(bitrate) if bitrate else default_bitrate(format, self.channels)) if is_lossy(format) else None
        )
        self._out = container
        self._pts = int(start_pts)
        self._tb = Fraction(1, self.rate)
        self._rs = None
        if self.rate != self.sample_rate:
            import soxr

            self._rs = soxr.ResampleStream(self.sample_rate, self.rate, self.channels, dtype="float32", quality="HQ")
        options = {"aac_coder": AAC_CODER, "aac_pns": "1" if AAC_PNS else "0"} if format == "aac" else {}
        st = container.add_stream(STREAM_CODECS[format], rate=self.rate, layout=_LAYOUTS[self.channels],
                                  options=options)
        st.codec_context.format = _SAMPLE_FORMATS[format]
        if self.bitrate:
            st.bit_rate = self.bitrate
        self.stream = st
        self.frames_in = 0

    def encode(self, block: np.ndarray) -> None:
        """Encode and mux a float ``(channels, frames)`` block at ``sample_rate``."""
        if block.shape[1] == 0:
            return
        self.frames_in += block.shape[1]
        if self._rs is not None:
            block = np.ascontiguousarray(self._rs.resample_chunk(np.ascontiguousarray(block.T)).T)
        self._encode(block)

    def _encode(self, block: np.ndarray) -> None:
        import av

        layout = _LAYOUTS[self.channels]
        for a in range(0, block.shape[1], _FRAME_CHUNK):
            part = np.ascontiguousarray(block[:, a:a + _FRAME_CHUNK], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
            frame.sample_rate = self.rate
            frame.pts = self._pts
            frame.time_base = self._tb
            self._pts += part.shape[1]
            for packet in self.stream.encode(frame):
                self._out.mux(packet)

    @property
    def time_s(self) -> float:
        """Container time just after the last sample encoded so far, seconds."""
        return float(self._pts * self._tb)

    def flush(self) -> None:
        """Drain the resampler and the encoder (call once, after the last block)."""
        if self._rs is not None:
            tail = self._rs.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
            if tail.shape[0]:
                self._encode(np.ascontiguousarray(tail.T))
        for packet in self.stream.encode(None):
            self._out.mux(packet)


class LossyWriter(AtomicWriter):
    """Stream float32 blocks into an MP3, AAC (``.m4a``/``.mp4``) or Opus (``.ogg``/``.opus``) file.

    Parameters
    ----------
    path : str or PathLike
        Destination; the suffix picks the container.
    format : {"mp3", "aac", "opus"}
    sample_rate : int
        Rate of the blocks given to :meth:`write`, Hz (resampled when the codec
        needs another: see :func:`~mixdown.deliver.formats.encode_rate`).
    channels : int
        1, 2 or 6 (5.1, L R C LFE Ls Rs); MP3 takes 1 or 2.
    bitrate : int, optional
        Bits per second; default :func:`~mixdown.deliver.formats.default_bitrate`.
    protect : iterable of path
        Files that must not be overwritten.
    metadata : dict, optional
        Container tags (``title``, ``language``, ``comment``...).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: str,
        sample_rate: int,
        channels: int,
        bitrate: int | None = None,
        protect: Iterable[str | os.PathLike[str]] = (),
        metadata: dict[str, str] | None = None,
    ) -> None:
        import av

        self.path = Path(path)
        self.format = resolve_format(self.path, format)
        if not is_lossy(self.format):
            raise ValueError(f"LossyWriter writes mp3, aac or opus, not {format}")
        self.channels = int(channels)
        self.sample_rate = int(sample_rate)
        self.frames_written = 0
        if self.channels not in _LAYOUTS:
            raise MediaError(f"{self.format}: {self.channels} channels; mixdown encodes mono, stereo or 5.1",
                             file=self.path)
        check_channels(self.format, self.channels, self.path)
        check_not_protected(self.path, protect)
        self._done = False
        self._tmp: Path | None = reserve(self.path)
        try:
            # bitexact: no random Ogg serial number, no library version tag -- same mix, same bytes
            self._out: Any = av.open(str(self._tmp), mode="w", format=_CONTAINERS[self.path.suffix.lower()],
                                     options={"fflags": "+bitexact"})
            for k, v in (metadata or {}).items():
                if v:
                    self._out.metadata[k] = str(v)
            self._enc = StreamEncoder(self._out, format=self.format, sample_rate=self.sample_rate,
                                      channels=self.channels, bitrate=bitrate, path=self.path)
        except (av.error.FFmpegError, ValueError, KeyError) as exc:
            self.abort()
            raise MediaError(f"cannot open the {self.format} encoder ({exc})", file=self.path) from exc
        self.rate = self._enc.rate
        self.bitrate = self._enc.bitrate

    def write(self, block: np.ndarray) -> None:
        """Append a float ``(channels, frames)`` block (any length, including 0)."""
        block = self._accept(block, np.float32)
        try:
            self._enc.encode(block)
        except BaseException as exc:
            raise self._fail(exc) from None
        self.frames_written += block.shape[1]

    def commit(self) -> Path:
        """Flush the encoder, finish the container and move the file into place."""
        import av

        if self._done:
            raise ValueError("LossyWriter already committed or aborted")
        try:
            self._enc.flush()
            self._out.close()
        except BaseException as exc:
            err = self._fail(exc)
            if err is exc and isinstance(exc, av.error.FFmpegError):
                err = MediaError(f"{self.format} encoding failed ({exc})", file=self.path)
            raise err from None
        return self._publish()

    def _close_handle(self) -> None:
        self._out.close()

    def __enter__(self) -> LossyWriter:
        return self


def open_encoder(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    sample_rate: int,
    channels: int,
    bitrate: int | None = None,
    protect: Iterable[str | os.PathLike[str]] = (),
    metadata: dict[str, str] | None = None,
    bext_description: str = "",
    time_reference: int = 0,
    measure_bwf: bool = True,
    frames: int | None = None,
) -> Any:
    """A streaming writer for any delivery format (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
    format : str, optional
        One of :data:`~mixdown.deliver.formats.FORMATS`; default from the suffix.
    sample_rate : int
        Rate of the blocks written, Hz.
    channels : int
    bitrate : int, optional
        Lossy formats only, bits per second.
    protect : iterable of path
        Inputs that must not be overwritten.
    metadata : dict, optional
        Lossy containers' tags.
    bext_description, time_reference, measure_bwf
        BWF only: see :class:`~mixdown.deliver.bwf.BwfWriter`.
    frames : int, optional
        Frames that will be written, when known (a WAV past 4 GiB is then written as
        RF64; see :class:`~mixdown.media.write.AudioWriter`).

    Returns
    -------
    AudioWriter, BwfWriter or LossyWriter
        With ``write(block)``, ``commit()``, ``abort()``; a context manager.
    """
    from ..media.write import AudioWriter

    fmt = resolve_format(Path(path), format)
    if fmt == "bwf":
        from .bwf import BwfWriter

        return BwfWriter(path, sample_rate=sample_rate, channels=channels, protect=protect,
                         description=bext_description, time_reference=time_reference, measure=measure_bwf)
    if is_lossy(fmt):
        return LossyWriter(path, format=fmt, sample_rate=sample_rate, channels=channels, bitrate=bitrate,
                           protect=protect, metadata=metadata)
    return AudioWriter(path, sample_rate=sample_rate, channels=channels, format=fmt, protect=protect, frames=frames)


def encode_array(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, *, format: str | None = None,
                 bitrate: int | None = None, protect: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Encode a whole ``(channels, frames)`` array (for tests and the Python API)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    with open_encoder(path, format=format, sample_rate=sample_rate, channels=audio.shape[0], bitrate=bitrate,
                      protect=protect, frames=audio.shape[1]) as enc:
        for a in range(0, audio.shape[1], 1 << 16):
            enc.write(audio[:, a:a + (1 << 16)])
    return Path(path)
