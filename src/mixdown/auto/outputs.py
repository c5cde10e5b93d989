"""auto's role stems, written at the mix's gain so that they sum to the mix.

The stems are tapped post-fader in the premaster pass (their sum is the master's
input) and kept as float scratch files; once the master stage has found its
loudness gain, each is written times that gain and the master fader (with its
automation), as ``deliver`` writes its stems: without the limiter and without the
master chain's other processors. So the stems sum to the mix up to what the
limiter (and any processor of a person's on the master) did; that residual is
measured against the mix and reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..media.scratch import ScratchAudio

BLOCK = 65536


@dataclass
class StemsReport:
    """What was written, at which gain, and how far the stems' sum is from the mix.

    Attributes
    ----------
    files : dict of str to str
        Role -> file.
    gain_db : float
        Loudness gain the stems are written at (the mix's), dB.
    residual_peak_dbfs : float or None
        Largest difference between the mix and the sum of the stems, dBFS (None: identical).
    residual_db : float or None
        RMS of that difference against the mix's RMS, dB.
    clipped : list of str
        Roles whose stem goes over full scale (clipped in the 24-bit file).
    """

    files: dict[str, str] = field(default_factory=dict)
    gain_db: float = 0.0
    residual_peak_dbfs: float | None = None
    residual_db: float | None = None
    clipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 2)

        return {"gain_db": round(self.gain_db, 3), "residual_peak_dbfs": r(self.residual_peak_dbfs),
                "residual_db": r(self.residual_db), "clipped": self.clipped,
                "what": "post-fader role stems at the mix's loudness gain and master fader, before the limiter; "
                        "the residual is the mix minus the stems' sum"}


def write_stems(stems: dict[str, ScratchAudio], folder: Path, *, gain_db: float, fader: Callable, frames: int,
                sample_rate: int, channels: int, protect: set[Path], mix: ScratchAudio | None,
                format: str = "wav24") -> StemsReport:
    """Write ``<role>.wav`` (``wav24`` or ``wav32f``) for every stem at the mix's gain; measure the residual.

    The residual is the mix (``mix``, float) less the sum of the stems before they are quantised.
    """
    from ..media.write import AudioWriter

    rep = StemsReport(gain_db=gain_db)
    folder.mkdir(parents=True, exist_ok=True)
    amp = np.float32(10.0 ** (gain_db / 20.0))
    writers = {role: AudioWriter(folder / f"{role}.wav", sample_rate=sample_rate, channels=channels,
                                 format=format, protect=protect, frames=frames) for role in stems}
    readers = {role: raw.reader() for role, raw in stems.items()}
    mix_reader = mix.reader() if mix is not None else None
    worst, err_e, mix_e, peaks = 0.0, 0.0, 0.0, dict.fromkeys(stems, 0.0)
    try:
        for pos in range(0, frames, BLOCK):
            n = min(BLOCK, frames - pos)
            f = fader(pos, n)
            total = np.zeros((channels, n), dtype=np.float32)
            for role, rd in readers.items():
                x = rd.read(pos, n) * amp
                if f is not None:
                    x = x * f
                writers[role].write(x)
                peaks[role] = max(peaks[role], float(np.abs(x).max()) if x.size else 0.0)
                total += x
            if mix_reader is not None:
                y = mix_reader.read(pos, n)
                d = (y - total).astype(np.float64)
                worst = max(worst, float(np.abs(d).max()) if d.size else 0.0)
                err_e += float(np.sum(d * d))
                mix_e += float(np.sum(y.astype(np.float64) ** 2))
        for w in writers.values():
            w.commit()
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    finally:
        for rd in [*readers.values(), *([mix_reader] if mix_reader else [])]:
            rd.close()
    rep.files = {role: str(folder / f"{role}.wav") for role in stems}
    rep.clipped = [role for role, p in peaks.items() if p >= 1.0] if format != "wav32f" else []
    if mix_reader is not None:
        rep.residual_peak_dbfs = 20 * math.log10(worst) if worst > 0 else None
        rep.residual_db = 10 * math.log10(err_e / mix_e) if err_e > 0 and mix_e > 0 else None
    return rep
