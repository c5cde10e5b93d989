"""What the loudness meter reports: the result and the curves for plotting."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Growable", "LoudnessResult", "LoudnessSeries", "empty_series"]


class Growable:
    """Append-only float64 vector with amortised O(1) appends."""

    __slots__ = ("_buf", "_n")

    def __init__(self, capacity: int = 1024) -> None:
        self._buf = np.empty(capacity, dtype=np.float64)
        self._n = 0

    def extend(self, values: np.ndarray) -> None:
        k = values.shape[0]
        if self._n + k > self._buf.shape[0]:
            new = np.empty(max(2 * self._buf.shape[0], self._n + k), dtype=np.float64)
            new[: self._n] = self._buf[: self._n]
            self._buf = new
        self._buf[self._n : self._n + k] = values
        self._n += k

    @property
    def values(self) -> np.ndarray:
        return self._buf[: self._n]


@dataclass(frozen=True)
class LoudnessSeries:
    """A loudness curve for plotting.

    Attributes
    ----------
    time_s : ndarray of float64
        End time of each measurement window, in seconds from the stream start.
    lufs : ndarray of float64
        Loudness of the window ending there, LUFS; ``-inf`` for digital silence.
    """

    time_s: np.ndarray
    lufs: np.ndarray

    def __len__(self) -> int:
        return int(self.time_s.shape[0])


def empty_series() -> LoudnessSeries:
    return LoudnessSeries(np.empty(0), np.empty(0))


@dataclass(frozen=True)
class LoudnessResult:
    """What a :class:`LoudnessMeter` measured. ``None`` means undefined.

    Attributes
    ----------
    integrated_lufs : float or None
        Gated programme loudness, LUFS. ``None`` if shorter than 400 ms or if no
        gating block passes the gates.
    loudness_range_lu : float or None
        EBU Tech 3342 loudness range, LU. ``None`` if shorter than 3 s or if no
        short-term value passes the gates.
    true_peak_dbtp : float or None
        Maximum true-peak level over all channels, dBTP. ``None`` if not measured
        or for digital silence.
    sample_peak_dbfs : float or None
        Maximum absolute sample value over all channels, dBFS; ``None`` for
        digital silence.
    momentary_max_lufs, short_term_max_lufs : float or None
        Maximum momentary (400 ms) / short-term (3 s) loudness on a 10 ms grid,
        LUFS. ``None`` if shorter than the window or silent throughout.
    duration_s : float
        Length of the audio measured, in seconds.
    momentary_series, short_term_series : LoudnessSeries
        Momentary and short-term loudness every 100 ms, from the first full window.
    layout : str, optional
        The channel layout whose BS.1770 weights were used (set by file measurements).
    layout_assumed : bool
        The file named no layout and ``layout`` is the default for its channel count.
    """

    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    duration_s: float
    momentary_series: LoudnessSeries = field(default_factory=empty_series, repr=False)
    short_term_series: LoudnessSeries = field(default_factory=empty_series, repr=False)
    layout: str | None = None
    layout_assumed: bool = False

    def to_json(self) -> dict[str, float | None]:
        """The scalar results as a JSON-ready dict (no series, no file names)."""
        return {
            "duration_s": self.duration_s,
            "integrated_lufs": self.integrated_lufs,
            "loudness_range_lu": self.loudness_range_lu,
            "true_peak_dbtp": self.true_peak_dbtp,
            "sample_peak_dbfs": self.sample_peak_dbfs,
            "momentary_max_lufs": self.momentary_max_lufs,
            "short_term_max_lufs": self.short_term_max_lufs,
        }
