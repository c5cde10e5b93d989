"""Audio held in memory as a source, and the one opener of a clip's source.

A clip's source is a file or an array (``mixdown.Clip(source=<ndarray>,
sample_rate=...)``). Everything that reads clips -- the renderer, auto's analysis --
goes through :func:`probe_clip_source` and :func:`open_clip_source`, which give an
array the same :class:`~.info.MediaInfo` and :class:`~.reader.SourceReader` a
decoded file gets: read at any rate (soxr HQ, the same in-point rule as files),
from any in-point, zeros past the end.

The array side is described by :class:`AudioArray`, a protocol (the session's
``ArraySource`` satisfies it), so this package does not import the session model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .info import MediaInfo, check_stream_index, layout_name
from .probe import probe
from .reader import SourceReader, open_source, reader_for

#: Frames an array source hands out per chunk (like libsndfile's block: fixed by the
#: source, not by the caller, so the output never depends on the read sizes).
ARRAY_CHUNK = 65536


@runtime_checkable
class AudioArray(Protocol):
    """Audio in memory: what an array source must offer.

    Attributes
    ----------
    data : ndarray
        float32 ``(channels, frames)``, finite.
    sample_rate : int
        Its rate, Hz.
    label : str
        How messages name it (e.g. ``"array of track 'Host' clip 0"``).
    """

    data: np.ndarray
    sample_rate: int
    label: str


class ArrayProducer:
    """Native-rate chunks of an in-memory ``(channels, frames)`` array from a native in-point."""

    def __init__(self, data: np.ndarray, rate: int) -> None:
        self._data = data
        self.channels = int(data.shape[0])
        self.rate = int(rate)
        self._at = 0

    def start(self, start: int) -> None:
        """Position at native sample ``start`` (call once, before reading)."""
        self._at = int(start)

    def next_chunk(self) -> np.ndarray | None:
        n = self._data.shape[1]
        if self._at >= n:
            return None
        chunk = self._data[:, self._at : self._at + ARRAY_CHUNK]
        self._at += chunk.shape[1]
        return np.ascontiguousarray(chunk, dtype=np.float32)

    def close(self) -> None:
        pass


def is_array_source(source: Any) -> bool:
    """Whether a clip source is audio in memory rather than a path."""
    return isinstance(source, AudioArray)


def array_info(source: AudioArray) -> MediaInfo:
    """A :class:`MediaInfo` for an in-memory source (``backend='memory'``)."""
    channels, frames = (int(v) for v in source.data.shape)
    rate = int(source.sample_rate)
    return MediaInfo(path=Path(source.label), sample_rate=rate, channels=channels, layout=layout_name(channels),
                     frames=frames, duration_s=frames / rate, codec="pcm_f32", has_video=False,
                     audio_stream_count=1, stream=0, container="memory", backend="memory")


def open_array(source: AudioArray, *, sample_rate: int, start: int = 0) -> SourceReader:
    """A :class:`SourceReader` over an in-memory source, at ``sample_rate`` from output sample ``start``."""
    return reader_for(ArrayProducer(source.data, source.sample_rate), path=Path(source.label),
                      sample_rate=sample_rate, start=start, backend="memory")


def probe_clip_source(source: str | os.PathLike[str] | AudioArray, *, stream: int | None = None) -> MediaInfo:
    """:func:`~.probe.probe` for a file, :func:`array_info` for audio in memory.

    Raises
    ------
    MediaError
        As :func:`~.probe.probe`; for an array, a ``stream`` other than 0.
    """
    if is_array_source(source):
        check_stream_index(Path(source.label), stream, 1)
        return array_info(source)
    return probe(source, stream=stream)


def open_clip_source(source: str | os.PathLike[str] | AudioArray, *, stream: int | None = None, sample_rate: int,
                     start: int = 0) -> SourceReader:
    """:func:`~.reader.open_source` for a file, :func:`open_array` for audio in memory.

    Parameters
    ----------
    source : str, PathLike or AudioArray
    stream : int, optional
        Audio stream of a file (an array has one, index 0).
    sample_rate : int
        Rate of the samples returned, Hz.
    start : int
        In-point, samples at ``sample_rate``, >= 0.
    """
    if is_array_source(source):
        check_stream_index(Path(source.label), stream, 1)
        return open_array(source, sample_rate=sample_rate, start=start)
    return open_source(source, stream=stream, sample_rate=sample_rate, start=start)
