"""The -6 dB premaster: the mix as it is handed to a mastering engineer.

A 24-bit WAV at the session's rate, with no limiting and no loudness
normalisation of mixdown's (``auto-loudness`` and ``auto-limiter`` are left out;
the session's own master chain and fader stay): one static gain puts its
**true peak** at -6 dBTP. True peak (BS.1770-4 Annex 2, 4x oversampled) rather
than sample peak, because it is the stricter of the two (the sample peak is then
at most -6 dBFS too) and the headroom is there for the mastering chain's
processing, which sees the reconstructed signal, not the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.truepeak import TruePeakDetector
from ..errors import MediaError
from ..media.write import AudioWriter
from ..render.engine import DEFAULT_BLOCK

#: Where the premaster's true peak is put, dBTP.
PEAK_DBTP = -6.0
#: The premaster's file format.
FORMAT = "wav24"


def premaster_gain(true_peak: float, *, file: Path | None = None) -> float:
    """Gain (dB) that moves a linear true peak to :data:`PEAK_DBTP`.

    Raises
    ------
    MediaError
        For a silent mix (no peak to set).
    """
    if not true_peak > 0.0:
        raise MediaError("the premaster is silent: there is no peak to set at -6 dBTP", file=file)
    return PEAK_DBTP - 20.0 * math.log10(true_peak)


def write_premaster(
    read: Callable[[int, int], np.ndarray],
    *,
    frames: int,
    channels: int,
    sample_rate: int,
    path: Path,
    gain_db: float,
    protect: Iterable[Path] = (),
    block: int = DEFAULT_BLOCK,
) -> dict[str, Any]:
    """Write ``frames`` of ``read(pos, n)`` times ``gain_db`` as the premaster file, and measure it.

    Returns
    -------
    dict
        ``path``, ``format``, ``gain_db``, and the file's ``true_peak_dbtp`` and
        ``sample_peak_dbfs``, read back from it (after 24-bit quantisation).
    """
    import soundfile as sf

    amp = np.float32(10.0 ** (gain_db / 20.0))
    with AudioWriter(path, sample_rate=sample_rate, channels=channels, format=FORMAT, protect=protect,
                     frames=frames) as w:
        for pos in range(0, frames, block):
            w.write(read(pos, min(block, frames - pos)) * amp)
    tp = TruePeakDetector(sample_rate, channels)
    peak = 0.0
    with sf.SoundFile(path) as f:
        for x in f.blocks(blocksize=block, dtype="float32", always_2d=True):
            peak = max(peak, float(np.abs(x).max()))
            tp.process(np.ascontiguousarray(x.T))
    def db(v: float) -> float | None:
        return round(20.0 * math.log10(v), 3) if v > 0 else None

    return {"path": str(path), "format": FORMAT, "gain_db": round(gain_db, 3), "true_peak_dbtp": db(tp.peak()),
            "sample_peak_dbfs": db(peak)}
