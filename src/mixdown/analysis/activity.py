"""Speech activity: the per-frame speech scores of a signal, and the streaming detector that makes them.

See :mod:`mixdown.analysis.vad` for the two methods and how regions follow from
the scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from . import _energy, _silero

__all__ = ["ALGO_VERSION", "METHODS", "RATE", "Detector", "SpeechActivity", "check_method",
           "regions_from_probability"]

METHODS = ("silero", "energy")
RATE = 16000  # analysis rate of both detectors
ALGO_VERSION = "vad-1"  # bump when framing, segmentation or levels change (cache keys)
_LEVEL_HP_HZ = 150.0


# ------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class SpeechActivity:
    """Per-frame speech scores of one source, from which regions are derived.

    Attributes
    ----------
    method : str
        ``"silero"`` or ``"energy"``.
    model : str
        Identity of the model or algorithm (part of cache keys).
    frame : int
        Samples per frame at :data:`RATE` (16 kHz): 512 (silero) or 256 (energy).
        Frame ``i`` covers ``[i * frame, (i + 1) * frame)`` at 16 kHz.
    probability : numpy.ndarray
        float32 speech score in [0, 1] per frame.
    level_db : numpy.ndarray
        float32 frame level, dBFS (mean square of the 150 Hz high-passed mono signal).
    source_frames : int
        Length of the source in samples at ``source_rate``.
    source_rate : int
        Rate the source was given at, Hz.
    """

    method: str
    model: str
    frame: int
    probability: np.ndarray = field(repr=False)
    level_db: np.ndarray = field(repr=False)
    source_frames: int
    source_rate: int

    def hop(self, sample_rate: int) -> float:
        """Frame hop in samples at ``sample_rate`` (e.g. 1536.0 at 48 kHz for silero)."""
        return self.frame * sample_rate / RATE

    def length(self, sample_rate: int) -> int:
        """Length of the source in samples at ``sample_rate`` (rounded up)."""
        if sample_rate == self.source_rate:
            return self.source_frames
        return -(-self.source_frames * sample_rate // self.source_rate)

    def regions(
        self,
        sample_rate: int,
        *,
        threshold: float = 0.5,
        min_speech_ms: float = 250.0,
        min_silence_ms: float = 100.0,
        pad_ms: float = 30.0,
        min_relative_db: float | None = 15.0,
    ) -> list[tuple[int, int]]:
        """Speech regions at ``sample_rate``; see :func:`regions_from_probability`."""
        return regions_from_probability(
            self.probability,
            self.hop(sample_rate),
            sample_rate=sample_rate,
            length=self.length(sample_rate),
            level_db=self.level_db,
            threshold=threshold,
            min_speech_ms=min_speech_ms,
            min_silence_ms=min_silence_ms,
            pad_ms=pad_ms,
            min_relative_db=min_relative_db,
        )


# ------------------------------------------------------------------- region logic


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _hysteresis(p: np.ndarray, on: float, off: float) -> np.ndarray:
    """True from a frame >= ``on`` until the next frame < ``off`` (vectorised)."""
    hi, lo = p >= on, p < off
    idx = np.where(hi | lo, np.arange(len(p)), -1)
    last = np.maximum.accumulate(idx) if len(p) else idx
    return np.where(last >= 0, hi[np.maximum(last, 0)], False)


def regions_from_probability(
    probability: np.ndarray,
    hop: float,
    *,
    sample_rate: int,
    length: int | None = None,
    level_db: np.ndarray | None = None,
    threshold: float = 0.5,
    min_speech_ms: float = 250.0,
    min_silence_ms: float = 100.0,
    pad_ms: float = 30.0,
    min_relative_db: float | None = 15.0,
) -> list[tuple[int, int]]:
    """Turn per-frame speech scores into half-open sample ranges.

    Parameters
    ----------
    probability : numpy.ndarray
        Speech score per frame, in [0, 1].
    hop : float
        Frame hop in samples at ``sample_rate`` (may be fractional, e.g. 1411.2).
    sample_rate : int
        Rate of the returned positions, Hz.
    length : int, optional
        Length of the audio in samples at ``sample_rate``; regions are clipped to it
        (default: frames x hop).
    level_db : numpy.ndarray, optional
        Frame levels in dB; required when ``min_relative_db`` is not None.
    threshold : float
        Score at which speech starts; it ends below ``threshold - 0.15``.
    min_speech_ms, min_silence_ms, pad_ms : float
        Shortest region kept, shortest gap kept, padding on each side (ms).
    min_relative_db : float or None
        Drop runs this many dB below the track's speech level (None: keep all).

    Returns
    -------
    list of (int, int)
        Sorted, disjoint ``(start, end)`` sample ranges at ``sample_rate``.
    """
    if not 0.0 < threshold < 1.0:
        raise AnalysisError(f"VAD threshold must be between 0 and 1 (exclusive), got {threshold}")
    for name, v in (("min_speech_ms", min_speech_ms), ("min_silence_ms", min_silence_ms), ("pad_ms", pad_ms)):
        if v < 0:
            raise AnalysisError(f"VAD option {name} must be >= 0 ms, got {v}")
    if min_relative_db is not None and min_relative_db < 0:
        raise AnalysisError(f"VAD option min_relative_db must be >= 0 dB or None, got {min_relative_db}")
    p = np.asarray(probability, dtype=np.float32)
    if length is None:
        length = int(round(len(p) * hop))
    speech = _hysteresis(p, threshold, max(threshold - 0.15, 0.0))
    starts, ends = _runs(speech)
    if min_relative_db is not None and len(starts):
        if level_db is None:
            raise AnalysisError("min_relative_db needs the frame levels (level_db)")
        lv = np.asarray(level_db, dtype=np.float64)
        reference = np.percentile(lv[speech], 95)
        run_level = np.array([np.percentile(lv[a:b], 95) for a, b in zip(starts, ends)])
        keep = run_level >= reference - float(min_relative_db)
        starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return []
    s = np.round(starts * hop).astype(np.int64)
    e = np.minimum(np.round(ends * hop).astype(np.int64), length)
    ms = sample_rate / 1000.0
    # Close short gaps: a gap is kept only when it is at least min_silence long.
    gap_ok = (s[1:] - e[:-1]) >= min_silence_ms * ms
    first = np.concatenate([[True], gap_ok])
    last = np.concatenate([gap_ok, [True]])
    s, e = s[first], e[last]
    keep = (e - s) >= min_speech_ms * ms
    s, e = s[keep], e[keep]
    if not len(s):
        return []
    pad = int(round(pad_ms * ms))
    s = np.maximum(s - pad, 0)
    e = np.minimum(e + pad, length)
    # Padding may make neighbours touch or overlap: merge them.
    touch = s[1:] <= e[:-1]
    first = np.concatenate([[True], ~touch])
    last = np.concatenate([~touch, [True]])
    return [(int(a), int(b)) for a, b in zip(s[first], e[last]) if b > a]


# ------------------------------------------------------------------- the streams


class _LevelMeter:
    """Frame levels (dBFS) of the 150 Hz high-passed 16 kHz stream, zero-padded tail."""

    def __init__(self, frame: int) -> None:
        from scipy.signal import butter, sosfilt_zi

        self._sos = butter(2, _LEVEL_HP_HZ, "highpass", fs=RATE, output="sos")
        self._zi = sosfilt_zi(self._sos) * 0.0
        self._frame = frame
        self._carry = np.zeros(0, dtype=np.float64)
        self._out: list[np.ndarray] = []

    def push(self, x: np.ndarray) -> None:
        from scipy.signal import sosfilt

        y, self._zi = sosfilt(self._sos, x.astype(np.float64), zi=self._zi)
        y = np.concatenate([self._carry, y**2])
        n = len(y) // self._frame
        if n:
            self._out.append(y[: n * self._frame].reshape(n, self._frame).mean(1))
        self._carry = y[n * self._frame :]

    def finish(self) -> np.ndarray:
        if len(self._carry):
            self._out.append(np.array([self._carry.sum() / self._frame]))
            self._carry = np.zeros(0)
        ms = np.concatenate(self._out) if self._out else np.zeros(0)
        return (10 * np.log10(ms + 1e-12)).astype(np.float32)


class Detector:
    """One method's stream: push 16 kHz mono blocks, then finish()."""

    def __init__(self, method: str, *, backend: str | None = None) -> None:
        self.method = method
        if method == "silero":
            self.frame = _silero.FRAME
            self.model = f"{_silero.model_version()}/{ALGO_VERSION}"
            self._silero = _silero.SileroStream(backend=backend)
            self._probs: list[np.ndarray] = []
        else:
            self.frame = _energy.HOP
            self.model = f"{_energy.VERSION}/{ALGO_VERSION}"
            self._energy = _energy.EnergyStream()
        self._level = _LevelMeter(self.frame)

    def push(self, x: np.ndarray) -> None:
        self._level.push(x)
        if self.method == "silero":
            self._probs.append(self._silero.push(x))
        else:
            self._energy.push(x)

    def finish(self, source_frames: int, source_rate: int) -> SpeechActivity:
        if self.method == "silero":
            self._probs.append(self._silero.finish())
            prob = np.concatenate(self._probs)
        else:
            prob = _energy.probability(self._energy.finish())
        level = self._level.finish()
        n = min(len(prob), len(level))
        return SpeechActivity(
            method=self.method,
            model=self.model,
            frame=self.frame,
            probability=prob[:n],
            level_db=level[:n],
            source_frames=int(source_frames),
            source_rate=int(source_rate),
        )


def check_method(method: str) -> None:
    if method not in METHODS:
        raise AnalysisError(f"unknown VAD method {method!r}; choose one of {', '.join(METHODS)}")
