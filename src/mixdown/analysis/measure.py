"""Measure a file's loudness by streaming it through the meter (never loading it whole)."""

from __future__ import annotations

from pathlib import Path

from .loudness import LoudnessMeter, LoudnessResult

READ_BLOCK = 65536


def measure_file(path: str | Path, *, stream: int | None = None) -> LoudnessResult:
    """Loudness of an audio file or of a video file's audio stream, at its native rate.

    Parameters
    ----------
    path : str or Path
        Anything FFmpeg reads.
    stream : int, optional
        Index among the file's audio streams (default: the first).

    Raises
    ------
    MediaError
        If the file is missing, unreadable or has no audio.
    """
    from ..media.decode import open_source, probe

    info = probe(path)
    layout = info.layout if info.layout in ("mono", "stereo", "5.1") else None
    meter = LoudnessMeter(info.sample_rate, info.channels, layout=layout)
    remaining = info.frames
    with open_source(path, stream=stream, sample_rate=info.sample_rate, start=0) as reader:
        while remaining > 0:
            n = min(READ_BLOCK, remaining)
            meter.process(reader.read(n))
            remaining -= n
    return meter.result()
