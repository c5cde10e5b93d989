"""A stereo, 5.1 or 7.1 file rendered for headphones, streamed (``mixdown binaural``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..dsp.binaural import PARTITION, Binaural
from ..dsp.hrtf import load
from ..errors import MediaError
from ..media.decode import open_source, probe
from ..media.write import AudioWriter

BLOCK = 1 << 16


def binaural_file(path: str | os.PathLike[str], out: str | os.PathLike[str], *, hrtf: str | None = None,
                  azimuth: float = 0.0, elevation: float = 0.0, stream: int | None = None,
                  block: int = BLOCK, format: str | None = None) -> Path:
    """Write the binaural (two-ear) rendering of a mono, stereo, 5.1 or 7.1 file.

    Channels are virtual speakers at their layout's standard angles (8 channels are
    7.1 in FFmpeg's order FL FR FC LFE BL BR SL SR); a mono file is a source at
    ``azimuth``/``elevation``. The output has the input's length (the convolver's
    latency is compensated; the HRIRs' few-millisecond tail past the end is cut).

    Raises
    ------
    MediaError
        For a file that cannot be read, a channel count without a layout, or an
        output that would replace the input.
    """
    p = Path(path)
    info = probe(p, stream=stream)
    if info.channels not in (1, 2, 6, 8):
        raise MediaError(f"binaural needs mono, stereo, 5.1 or 7.1; the file has {info.channels} channels", file=p)
    proc = Binaural(azimuth=azimuth, elevation=elevation, hrtf=load(hrtf))
    proc.prepare(info.sample_rate, block, info.channels)
    skip = PARTITION
    with open_source(p, stream=stream, sample_rate=info.sample_rate) as reader, \
            AudioWriter(out, sample_rate=info.sample_rate, channels=2, format=format, protect=[p],
                        frames=info.frames) as w:
        done = 0
        total = info.frames + PARTITION  # zeros after the end flush the latency
        while done < total:
            n = min(block, total - done)
            x = reader.read(n) if done < info.frames else np.zeros((info.channels, n), np.float32)
            if x.shape[1] < n:
                x = np.concatenate([x, np.zeros((info.channels, n - x.shape[1]), np.float32)], axis=1)
            y = proc.process(x, done)
            done += n
            cut = min(skip, y.shape[1])
            skip -= cut
            y = y[:, cut:]
            keep = info.frames - w.frames_written
            w.write(y[:, :keep])
    return Path(out)
