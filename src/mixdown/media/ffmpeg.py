"""FFmpeg (PyAV) behind public functions: open a container, pick its audio stream,
describe it, and turn decoded frames into float32 arrays.

Used by the probe, the compressed-stream producer and the muxer (``deliver.mux``),
so that nothing outside this module needs PyAV's details. ``av`` is imported by
the functions that use it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from .info import check_stream_index, layout_name


def open_container(path: Path) -> Any:
    """Open a file with FFmpeg (PyAV), refusing what it cannot read with one :class:`MediaError`."""
    import av

    try:
        return av.open(str(path), mode="r")
    except av.error.FileNotFoundError as exc:
        raise MediaError("file not found", file=path) from exc
    except av.error.PermissionError as exc:
        raise MediaError("file is not readable (permission denied)", file=path) from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"not a media file FFmpeg can read, or a damaged or cut-short one ({exc.__class__.__name__}: "
                         f"{exc})", file=path) from exc


def audio_stream(container: Any, path: Path, stream: int | None) -> tuple[Any, int]:
    """The audio stream ``stream`` (index among audio streams) of an open container, and its index."""
    audio = list(container.streams.audio)
    if not audio:
        what = "has a video stream but no audio stream" if has_video(container) else "has no audio stream"
        raise MediaError(what, file=path)
    index = check_stream_index(path, stream, len(audio))
    st = audio[index]
    if not st.codec_context.sample_rate or not st.codec_context.channels:
        raise MediaError(f"audio stream {index} has no sample rate or channel count (damaged file?)", file=path)
    return st, index


def has_video(container: Any) -> bool:
    """Whether an open container has a video stream (attached cover pictures excluded)."""
    import av

    # A cover picture in an MP3/M4A is a video stream with the attached-pic flag.
    pic = av.stream.Disposition.attached_pic
    return any(not (st.disposition & pic) for st in container.streams.video)


def stream_layout(st: Any) -> str:
    """Layout name of an audio stream (see :attr:`MediaInfo.layout`)."""
    n = st.codec_context.channels
    name = st.codec_context.layout.name if st.codec_context.layout is not None else ""
    if n == 6 and name in ("5.1", "5.1(side)"):
        return "5.1"
    if n in (1, 2) or not name or "channels" in name:
        return layout_name(n)
    return name


def stream_origin(st: Any) -> int:
    """The stream's start time in its time base (where sample 0 sits), 0 when unknown."""
    return int(st.start_time) if st.start_time is not None else 0


def stream_frames(container: Any, st: Any, path: Path, exact: bool) -> tuple[int, bool]:
    """Length of an audio stream in samples, and whether the count is exact (decoded) rather than announced."""
    sr = st.codec_context.sample_rate
    if not exact:
        if st.duration is not None and st.duration > 0:
            n = int(round(Fraction(st.duration) * st.time_base * sr))
            if container.format.name == "ogg":
                # Ogg's last granule position counts the Opus pre-skip, which the
                # decoder drops (codec delay).
                n -= int(getattr(st.codec_context, "delay", 0) or 0)
            return max(n, 0), False
        if container.duration is not None and container.duration > 0:
            start = 0
            if container.start_time is not None and st.start_time is not None:
                # The container spans all streams; count from this stream's start.
                start = Fraction(st.start_time) * st.time_base - Fraction(container.start_time, 1_000_000)
            seconds = Fraction(container.duration, 1_000_000) - max(start, Fraction(0))
            return max(0, int(round(seconds * sr))), False
    # Count by decoding: exact, and the only way when the container does not say.
    n = 0
    try:
        for frame in container.decode(st):
            n += frame.samples
    except Exception as exc:  # noqa: BLE001 - av raises many FFmpegError kinds
        raise MediaError(f"cannot decode audio ({exc})", file=path) from exc
    return n, True


def frame_to_array(frame: Any, channels: int) -> np.ndarray:
    """A decoded AVFrame as float32 (channels, samples)."""
    fmt = frame.format.name
    if fmt == "fltp":  # what most FFmpeg audio decoders give: one plane per channel
        n = frame.samples
        out = np.empty((channels, n), np.float32)
        for ch, plane in enumerate(frame.planes):
            out[ch] = np.frombuffer(plane, np.float32, n)
        return out
    a = frame.to_ndarray()
    if not frame.format.is_planar:
        a = a.reshape(-1, channels).T
    base = fmt.rstrip("p")
    if base == "flt":
        out = a
    elif base == "dbl":
        out = a.astype(np.float32)
    elif base == "s16":
        out = a.astype(np.float32) * np.float32(1 / 32768)
    elif base == "s32":
        out = (a * (1.0 / 2147483648.0)).astype(np.float32)
    elif base == "s64":
        out = (a * (1.0 / 9223372036854775808.0)).astype(np.float32)
    elif base == "u8":
        out = (a.astype(np.float32) - 128.0) * np.float32(1 / 128)
    else:  # pragma: no cover - FFmpeg has no other audio sample formats
        raise MediaError(f"unsupported decoded sample format {fmt!r}")
    return np.ascontiguousarray(out, dtype=np.float32)
