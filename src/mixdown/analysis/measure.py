"""Measure a file's loudness by streaming it through the meter (never loading it whole)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .loudness import LoudnessMeter, LoudnessResult

READ_BLOCK = 65536


def measure_file(path: str | Path, *, stream: int | None = None) -> LoudnessResult:
    """Loudness of an audio file or of a video file's audio stream, at its native rate.

    A file that names no channel layout is measured with the default layout of its
    channel count (8 channels: 7.1); the result's ``layout`` says which, and
    ``layout_assumed`` that it was assumed.

    Parameters
    ----------
    path : str or Path
        Anything FFmpeg reads.
    stream : int, optional
        Index among the file's audio streams (default: the first).

    Raises
    ------
    MediaError
        If the file is missing, unreadable or has no audio, or its layout cannot be weighted.
    """
    from ..media.channels import measuring_layout
    from ..media.decode import open_source, probe

    info = probe(path)
    layout, assumed = measuring_layout(info.channels, info.layout, file=path)
    meter = LoudnessMeter(info.sample_rate, info.channels, layout=layout)
    remaining = info.frames
    with open_source(path, stream=stream, sample_rate=info.sample_rate, start=0) as reader:
        while remaining > 0:
            n = min(READ_BLOCK, remaining)
            meter.process(reader.read(n))
            remaining -= n
    return replace(meter.result(), layout=layout, layout_assumed=assumed)
