"""Streaming loudness meter: ITU-R BS.1770-4/-5, EBU Tech 3341 (EBU Mode) and 3342 (LRA).

What is measured
----------------
- **K-weighting** for any sample rate: the two biquads (high-frequency shelf and
  RLB high-pass) are derived from their analog prototypes by the bilinear
  transform, as libebur128 does; at 48 kHz this reproduces the coefficient tables
  of BS.1770 to within 1e-15.
- **Momentary** (400 ms) and **short-term** (3 s) loudness. The K-weighted mean
  square is accumulated per 10 ms bin, so both are evaluated on a 10 ms grid and
  their maxima are taken on that grid.
- **Integrated** loudness: 400 ms gating blocks every 100 ms (75 % overlap), an
  absolute gate at -70 LUFS and a relative gate 10 LU below the absolute-gated
  loudness.
- **Loudness range** (EBU Tech 3342): short-term values every 100 ms, absolute
  gate -70 LUFS, relative gate 20 LU below their energy mean, then the spread
  between the 10th and the 95th percentile.
- **True peak** (BS.1770 Annex 2 polyphase interpolator, see
  :mod:`mixdown.analysis.truepeak`) and **sample peak**.

Undefined is ``None``: a programme shorter than one window, or one whose every
block falls below the gate, has no integrated loudness -- never ``-70``. Digital
silence has no loudness and no peak level either, so those are ``None`` as well.

Streaming: every piece of state (filter memories, the partial 10 ms bin, the last
3 s of bins, the true-peak filter history) is carried between blocks, and every
sum is taken over the same samples in the same order whatever the block size, so
feeding a programme in blocks of any size gives the same numbers as one pass.
Memory grows only by two floats per 100 ms (the gating-block and short-term
energies that integrated loudness, LRA and :meth:`LoudnessMeter.integrated_over`
need): about 3 MB for ten hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AnalysisError, MediaError

__all__ = [
    "LAYOUT_WEIGHTS",
    "LoudnessMeter",
    "LoudnessResult",
    "LoudnessSeries",
    "k_weighting_sos",
    "measure_array",
]

#: Channel weights G_i of BS.1770 by layout, in channel order. LFE has weight 0
#: (excluded); surround channels 1.41 (+1.5 dB).
#:
#: 7.1 is FFmpeg's ``FL FR FC LFE BL BR SL SR``. BS.1770-4 weighs a channel by its
#: position: 1.41 from 60 to 120 degrees azimuth (below 30 degrees elevation), 1.0
#: elsewhere. The side surrounds (SL SR, +-90 degrees) are inside that range; the
#: back surrounds (BL BR) sit at +-135 to +-150 degrees in the 7.1 of ITU-R BS.2051
#: and get 1.0 -- as libebur128 weighs its M+-135 channels. (FFmpeg's ``ebur128``
#: filter gives every back and side channel 1.41, so it reads back-channel content
#: up to 1.5 dB louder.)
LAYOUT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "mono": (1.0,),
    "stereo": (1.0, 1.0),
    "5.0": (1.0, 1.0, 1.0, 1.41, 1.41),  # L R C Ls Rs
    "5.1": (1.0, 1.0, 1.0, 0.0, 1.41, 1.41),  # L R C LFE Ls Rs
    "7.1": (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41),  # FL FR FC LFE BL BR SL SR
}
_DEFAULT_LAYOUT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}

_LOUDNESS_OFFSET = -0.691  # BS.1770: L = -0.691 + 10 log10(sum G_i z_i)
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_LRA_RELATIVE_GATE_LU = -20.0
_LRA_LOW, _LRA_HIGH = 0.10, 0.95

# Everything is counted in 10 ms bins.
_BINS_PER_STEP = 10  # 100 ms: hop of gating blocks and of the plotted series
_MOMENTARY_BINS = 40  # 400 ms
_SHORT_TERM_BINS = 300  # 3 s
_MIN_SAMPLE_RATE = 8000

# Size of the pieces measure_array feeds the meter: large enough that per-call
# overhead vanishes, small enough to keep the float64 work arrays in cache-ish sizes.
_CHUNK_FRAMES = 1 << 16


def _energy_to_lufs(energy: np.ndarray | float) -> Any:
    with np.errstate(divide="ignore"):
        return _LOUDNESS_OFFSET + 10.0 * np.log10(energy)


def _lufs_to_energy(lufs: float) -> float:
    return 10.0 ** ((lufs - _LOUDNESS_OFFSET) / 10.0)


_ABSOLUTE_GATE_ENERGY = _lufs_to_energy(_ABSOLUTE_GATE_LUFS)


_HP_F0, _HP_Q = 38.13547087602444, 0.5003270373238773


def _highpass_gain(fs: float) -> float:
    """Passband gain of the RLB high-pass with an unnormalised [1, -2, 1] numerator."""
    k = math.tan(math.pi * _HP_F0 / fs)
    return 1.0 + k / _HP_Q + k * k


def _highpass_poles(fs: float) -> list[float]:
    k = math.tan(math.pi * _HP_F0 / fs)
    a0 = 1.0 + k / _HP_Q + k * k
    return [2.0 * (k * k - 1.0) / a0, (1.0 - k / _HP_Q + k * k) / a0]


def k_weighting_sos(sample_rate: float) -> np.ndarray:
    """K-weighting filter of BS.1770 as second-order sections for ``sample_rate``.

    Parameters
    ----------
    sample_rate : float
        Sample rate in Hz.

    Returns
    -------
    ndarray, shape (2, 6)
        ``[b0, b1, b2, 1, a1, a2]`` for the high-frequency shelf (stage 1) and
        the RLB high-pass (stage 2), for :func:`scipy.signal.sosfilt`.

    Notes
    -----
    The analog prototypes (shelf: f0 = 1681.97 Hz, +4.0 dB, Q = 0.7072;
    high-pass: f0 = 38.135 Hz, Q = 0.5003) are the ones libebur128 fits to the
    48 kHz tables; the bilinear transform with pre-warping at f0 maps them to any
    rate, and at 48 kHz gives the tabulated coefficients back.

    One deliberate difference from libebur128: the table's high-pass numerator is
    ``[1, -2, 1]`` unnormalised, which gives it a passband gain of
    ``1 + K/Q + K**2`` (+0.043 dB at 48 kHz) that the -0.691 dB constant of
    BS.1770 is calibrated with. That gain depends on the rate (+0.022 dB at
    96 kHz), so the numerator is scaled to keep the 48 kHz passband gain at every
    rate. This holds the response to within 0.01 dB of the 48 kHz filter from
    20 Hz to 15 kHz at 32 to 192 kHz (libebur128's drifts by up to 0.04 dB), as
    BS.1770 asks of other rates; libebur128 reads 0.004 LU higher at 44.1 kHz
    and 0.02 LU lower at 96 kHz.
    """
    fs = float(sample_rate)
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    highpass = [1.0, -2.0, 1.0, 1.0, *_highpass_poles(fs)]
    if fs != 48000.0:
        g = _highpass_gain(48000.0) / _highpass_gain(fs)
        highpass[:3] = [g, -2.0 * g, g]
    return np.array([shelf, highpass], dtype=np.float64)


class _Growable:
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


def _empty_series() -> LoudnessSeries:
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
    momentary_series: LoudnessSeries = field(default_factory=_empty_series, repr=False)
    short_term_series: LoudnessSeries = field(default_factory=_empty_series, repr=False)
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


def _gated_mean_energy(energies: np.ndarray, relative_gate_lu: float) -> float | None:
    """Mean energy of the blocks passing the absolute and relative gates (BS.1770)."""
    above = energies[energies > _ABSOLUTE_GATE_ENERGY]
    if above.size == 0:
        return None
    relative = float(np.mean(above)) * 10.0 ** (relative_gate_lu / 10.0)
    kept = above[above > relative]
    if kept.size == 0:  # pragma: no cover - the mean of a set always has members above -10 LU
        return None
    return float(np.mean(kept))


def _loudness_range(short_term_energies: np.ndarray) -> float | None:
    """EBU Tech 3342 loudness range of short-term energies, LU."""
    above = short_term_energies[short_term_energies > _ABSOLUTE_GATE_ENERGY]
    if above.size == 0:
        return None
    relative = float(np.mean(above)) * 10.0 ** (_LRA_RELATIVE_GATE_LU / 10.0)
    kept = np.sort(above[above > relative])
    n = kept.size
    # Tech 3342's reference: value at round((n-1)*p) of the sorted list (round half up).
    lo = kept[int(math.floor((n - 1) * _LRA_LOW + 0.5))]
    hi = kept[int(math.floor((n - 1) * _LRA_HIGH + 0.5))]
    return float(_energy_to_lufs(hi) - _energy_to_lufs(lo))


class LoudnessMeter:
    """BS.1770 / EBU R 128 loudness meter fed block by block.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (at least 8000).
    channels : int
        Number of channels in every block.
    layout : str, optional
        ``"mono"``, ``"stereo"``, ``"5.0"`` (L R C Ls Rs) or ``"5.1"``
        (L R C LFE Ls Rs). Default: taken from ``channels`` when that is 1, 2, 5
        or 6; any other channel count needs an explicit layout.
    true_peak : bool
        Measure the true peak (4x oversampling below 96 kHz, 2x above). Costs
        about as much as everything else together; off, ``true_peak_dbtp`` is
        ``None``.

    Raises
    ------
    MediaError
        If the sample rate is too low, or the layout is unknown or does not
        match ``channels``.

    Examples
    --------
    >>> meter = LoudnessMeter(48000, 2)
    >>> for block in blocks:            # float32, shape (2, frames)  # doctest: +SKIP
    ...     meter.process(block)
    >>> meter.result().integrated_lufs  # doctest: +SKIP
    -23.0
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        *,
        layout: str | None = None,
        true_peak: bool = True,
    ) -> None:
        if int(sample_rate) != sample_rate or sample_rate < _MIN_SAMPLE_RATE:
            raise MediaError(
                f"loudness meter: sample rate {sample_rate} Hz is not supported "
                f"(need an integer rate of at least {_MIN_SAMPLE_RATE} Hz)"
            )
        if int(channels) != channels or channels < 1:
            raise MediaError(f"loudness meter: channel count must be >= 1, got {channels}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        if layout is None:
            if self.channels not in _DEFAULT_LAYOUT:
                raise MediaError(
                    f"loudness meter: {self.channels} channels has no default layout; "
                    f"say which one it is ({', '.join(LAYOUT_WEIGHTS)})"
                )
            layout = _DEFAULT_LAYOUT[self.channels]
        if layout not in LAYOUT_WEIGHTS:
            raise MediaError(
                f"loudness meter: unknown channel layout {layout!r} "
                f"(known: {', '.join(LAYOUT_WEIGHTS)})"
            )
        weights = LAYOUT_WEIGHTS[layout]
        if len(weights) != self.channels:
            raise MediaError(
                f"loudness meter: layout {layout!r} has {len(weights)} channels "
                f"but the audio has {self.channels}"
            )
        self.layout = layout
        self.weights = weights
        # Samples per 10 ms bin; rates that are not a multiple of 100 Hz get the
        # nearest whole number (22050 Hz: 221 samples, 0.2 % long windows).
        self.bin_frames = int(self.sample_rate / 100 + 0.5)
        self.measures_true_peak = bool(true_peak)

        from ..dsp import _kernels  # lazily (numba): keeps `import mixdown` light

        self._sos_run = _kernels.sos_run
        self._sos = k_weighting_sos(self.sample_rate)
        self._tp = None
        if self.measures_true_peak:
            from .truepeak import TruePeakDetector

            self._tp = TruePeakDetector(self.sample_rate, self.channels)
        self.reset()

    # -- state ---------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything measured, as for a new programme."""
        self._zi = np.zeros((self._sos.shape[0], self.channels, 2), dtype=np.float64)
        self._pending = np.zeros((self.channels, 0), dtype=np.float64)  # partial bin
        self._frames = 0
        self._nbins = 0  # complete 10 ms bins so far
        self._bin_tail = np.zeros(0)  # last 9 bin energies
        self._g_tail = np.zeros(0)  # last 290 10-bin sums
        self._momentary_max = -math.inf  # energies (linear)
        self._short_term_max = -math.inf
        self._blocks = _Growable()  # momentary energy every 100 ms = gating blocks
        self._short = _Growable()  # short-term energy every 100 ms
        self._peak = 0.0
        if self._tp is not None:
            self._tp.reset()

    @property
    def frames_processed(self) -> int:
        """Number of frames fed so far."""
        return self._frames

    # -- feeding -------------------------------------------------------------------

    def process(self, block: np.ndarray) -> None:
        """Measure the next block of the programme.

        Parameters
        ----------
        block : ndarray, shape (channels, frames)
            Audio, float32 (any float dtype is accepted); any number of frames,
            including zero.

        Raises
        ------
        ValueError
            If the block is not a 2-D float array with ``channels`` rows.
        mixdown.errors.AnalysisError
            If the block contains NaN or infinity (they would poison the filter
            state for the rest of the programme).
        """
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(
                f"LoudnessMeter.process expects shape ({self.channels}, frames), "
                f"got {block.shape}"
            )
        if not np.issubdtype(block.dtype, np.floating):
            raise ValueError(
                f"LoudnessMeter.process expects float samples in [-1, 1], got {block.dtype}"
            )
        frames = block.shape[1]
        if frames == 0:
            return
        peak = float(np.max(np.abs(block)))
        if not math.isfinite(peak):
            bad = int(np.flatnonzero(~np.isfinite(block).all(axis=0))[0])
            raise AnalysisError(
                "loudness meter: the audio contains NaN or infinite samples "
                f"(first at sample {self._frames + bad})"
            )
        self._peak = max(self._peak, peak)
        if self._tp is not None:
            self._tp.process(block, peak)

        squares = np.empty((self.channels, frames), dtype=np.float64)
        self._sos_run(np.ascontiguousarray(block), self._sos, self._zi, squares, 0, frames, True)
        self._frames += frames
        self._add_squares(squares)

    def _add_squares(self, squares: np.ndarray) -> None:
        """Turn K-weighted squares into 10 ms bin energies and update the windows."""
        hop = self.bin_frames
        pieces = []
        start = 0
        if self._pending.shape[1]:
            need = hop - self._pending.shape[1]
            if squares.shape[1] < need:
                self._pending = np.concatenate([self._pending, squares], axis=1)
                return
            first = np.concatenate([self._pending, squares[:, :need]], axis=1)
            pieces.append(first.reshape(self.channels, 1, hop).sum(axis=2))
            start = need
        whole = (squares.shape[1] - start) // hop
        if whole:
            body = squares[:, start : start + whole * hop]
            pieces.append(body.reshape(self.channels, whole, hop).sum(axis=2))
        self._pending = squares[:, start + whole * hop :].copy()
        if not pieces:
            return
        per_channel = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)
        # Weighted sum over channels, always in channel order, so that the
        # rounding does not depend on how the stream was cut into blocks.
        energy = None
        for c, w in enumerate(self.weights):
            if w == 0.0:
                continue
            term = per_channel[c] * w if w != 1.0 else per_channel[c]
            energy = term.copy() if energy is None else energy + term
        if energy is None:  # only an LFE: nothing counts towards loudness
            energy = np.zeros(per_channel.shape[1])
        self._add_bins(energy / hop)

    def _add_bins(self, bins: np.ndarray) -> None:
        """Append 10 ms mean-square bins; update maxima, gating blocks and series.

        Every window sum is an explicit chain of vector additions in a fixed
        order, so a window's value is bit-identical however the bins arrived.
        """
        n0 = self._nbins
        nb = bins.shape[0]
        self._nbins += nb

        # g[k]: sum of the 10 bins ending at bin k, defined for k >= 9.
        ext = np.concatenate([self._bin_tail, bins])
        base = n0 - self._bin_tail.shape[0]  # global index of ext[0]
        k_first = max(9, n0)
        k_end = n0 + nb
        self._bin_tail = ext[-9:].copy() if ext.shape[0] > 9 else ext.copy()
        if k_end <= k_first:
            return
        lo, hi = k_first - base, k_end - base
        g = ext[lo:hi].copy()
        for i in range(1, 10):
            g += ext[lo - i : hi - i]

        # Momentary (40 bins) and short-term (300 bins) windows ending at bin k are
        # sums of 4 and 30 g's spaced 10 bins apart.
        gext = np.concatenate([self._g_tail, g])
        gbase = k_first - self._g_tail.shape[0]  # global bin index of gext[0]
        keep = _SHORT_TERM_BINS - _BINS_PER_STEP  # 290 g's of history suffice
        self._g_tail = gext[-keep:].copy() if gext.shape[0] > keep else gext.copy()

        self._windows(gext, gbase, k_first, k_end, _MOMENTARY_BINS)
        self._windows(gext, gbase, k_first, k_end, _SHORT_TERM_BINS)

    def _windows(self, gext: np.ndarray, gbase: int, k_first: int, k_end: int, span: int) -> None:
        k_lo = max(k_first, span - 1)
        if k_end <= k_lo:
            return
        lo, hi = k_lo - gbase, k_end - gbase
        total = gext[lo:hi].copy()
        for m in range(1, span // _BINS_PER_STEP):
            total += gext[lo - _BINS_PER_STEP * m : hi - _BINS_PER_STEP * m]
        energy = total / span
        top = float(np.max(energy))
        # Series and gating blocks: windows ending on a 100 ms boundary.
        first = k_lo + (-(k_lo + 1)) % _BINS_PER_STEP
        stepped = energy[first - k_lo :: _BINS_PER_STEP]
        if span == _MOMENTARY_BINS:
            self._momentary_max = max(self._momentary_max, top)
            self._blocks.extend(stepped)
        else:
            self._short_term_max = max(self._short_term_max, top)
            self._short.extend(stepped)

    # -- reading -------------------------------------------------------------------

    def result(self) -> LoudnessResult:
        """Everything measured so far; the meter keeps running."""
        blocks = self._blocks.values
        short = self._short.values
        integrated = _gated_mean_energy(blocks, _RELATIVE_GATE_LU)
        tp = None
        if self._tp is not None:
            linear = self._tp.peak()
            tp = 20.0 * math.log10(linear) if linear > 0.0 else None
        bin_s = self.bin_frames / self.sample_rate
        m_times = (np.arange(blocks.shape[0]) * _BINS_PER_STEP + _MOMENTARY_BINS) * bin_s
        s_times = (np.arange(short.shape[0]) * _BINS_PER_STEP + _SHORT_TERM_BINS) * bin_s
        return LoudnessResult(
            integrated_lufs=None if integrated is None else float(_energy_to_lufs(integrated)),
            loudness_range_lu=_loudness_range(short),
            true_peak_dbtp=tp,
            sample_peak_dbfs=(
                20.0 * math.log10(self._peak) if self._peak > 0.0 else None
            ),
            momentary_max_lufs=(
                float(_energy_to_lufs(self._momentary_max)) if self._momentary_max > 0 else None
            ),
            short_term_max_lufs=(
                float(_energy_to_lufs(self._short_term_max)) if self._short_term_max > 0 else None
            ),
            duration_s=self._frames / self.sample_rate,
            momentary_series=LoudnessSeries(m_times, _energy_to_lufs(blocks)),
            short_term_series=LoudnessSeries(s_times, _energy_to_lufs(short)),
        )

    def gating_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """The 400 ms gating blocks of integrated loudness so far.

        Returns
        -------
        start : ndarray of int64
            First sample of each block (blocks start every 100 ms).
        lufs : ndarray of float64
            Loudness of each block, LUFS (``-inf`` for silence).
        """
        blocks = self._blocks.values
        start = np.arange(blocks.shape[0], dtype=np.int64) * (_BINS_PER_STEP * self.bin_frames)
        return start, _energy_to_lufs(blocks)

    def integrated_over(self, regions: list[tuple[int, int]]) -> float | None:
        """Gated integrated loudness of the parts of the programme in ``regions``.

        Used for dialogue-gated loudness: pass the speech regions. A 400 ms
        gating block is kept when at least half of it lies inside the union of
        the regions; the kept blocks are then gated (-70 LUFS absolute, -10 LU
        relative) exactly as for integrated loudness.

        Parameters
        ----------
        regions : list of (int, int)
            Half-open ``[start, end)`` sample ranges from the stream start, at
            this meter's sample rate. Overlaps and any order are fine.

        Returns
        -------
        float or None
            LUFS, or ``None`` when no block is kept or none passes the gates.
        """
        blocks = self._blocks.values
        if blocks.shape[0] == 0 or not regions:
            return None
        spans = np.array(sorted((int(a), int(b)) for a, b in regions if b > a), dtype=np.int64)
        if spans.size == 0:
            return None
        # Union of the regions as disjoint sorted intervals.
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], int(b))
            else:
                merged.append([int(a), int(b)])
        starts = np.array([m[0] for m in merged], dtype=np.int64)
        lengths = np.array([m[1] - m[0] for m in merged], dtype=np.int64)
        covered_before = np.concatenate([[0], np.cumsum(lengths)])

        def coverage(x: np.ndarray) -> np.ndarray:
            """Samples of the union that lie before position x."""
            i = np.searchsorted(starts, x, side="right") - 1
            inside = np.clip(x - starts[np.maximum(i, 0)], 0, lengths[np.maximum(i, 0)])
            return np.where(i >= 0, covered_before[np.maximum(i, 0)] + inside, 0)

        block_len = _MOMENTARY_BINS * self.bin_frames
        begin = np.arange(blocks.shape[0], dtype=np.int64) * (_BINS_PER_STEP * self.bin_frames)
        overlap = coverage(begin + block_len) - coverage(begin)
        chosen = blocks[2 * overlap >= block_len]
        energy = _gated_mean_energy(chosen, _RELATIVE_GATE_LU)
        return None if energy is None else float(_energy_to_lufs(energy))


def measure_array(
    audio: np.ndarray,
    sample_rate: int,
    *,
    layout: str | None = None,
    true_peak: bool = True,
) -> LoudnessResult:
    """Measure a whole programme held in memory.

    Parameters
    ----------
    audio : ndarray, shape (channels, frames) or (frames,)
        The programme; a 1-D array is mono.
    sample_rate : int
        Sample rate in Hz.
    layout : str, optional
        Channel layout, see :class:`LoudnessMeter`.
    true_peak : bool
        Also measure the true peak.

    Returns
    -------
    LoudnessResult
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[np.newaxis, :]
    if audio.ndim != 2:
        raise ValueError(f"measure_array expects (channels, frames) audio, got shape {audio.shape}")
    meter = LoudnessMeter(sample_rate, audio.shape[0], layout=layout, true_peak=true_peak)
    for start in range(0, audio.shape[1], _CHUNK_FRAMES):
        meter.process(audio[:, start : start + _CHUNK_FRAMES])
    return meter.result()
