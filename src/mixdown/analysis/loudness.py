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

import numpy as np

from ..core.layouts import DEFAULT_LAYOUT, LAYOUT_WEIGHTS
from ..errors import AnalysisError, MediaError
from .gating import (
    RELATIVE_GATE_LU,
    energy_to_lufs,
    gated_mean_energy,
    loudness_range,
)
from .kweighting import k_weighting_sos
from .loudness_result import Growable, LoudnessResult, LoudnessSeries
from .truepeak import TruePeakDetector

__all__ = [
    "LAYOUT_WEIGHTS",
    "LoudnessMeter",
    "LoudnessResult",
    "LoudnessSeries",
    "k_weighting_sos",
    "measure_array",
]

# Everything is counted in 10 ms bins.
_BINS_PER_STEP = 10  # 100 ms: hop of gating blocks and of the plotted series
_MOMENTARY_BINS = 40  # 400 ms
_SHORT_TERM_BINS = 300  # 3 s
_MIN_SAMPLE_RATE = 8000

# Size of the pieces measure_array feeds the meter: large enough that per-call
# overhead vanishes, small enough to keep the float64 work arrays in cache-ish sizes.
_CHUNK_FRAMES = 1 << 16


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
            if self.channels not in DEFAULT_LAYOUT:
                raise MediaError(
                    f"loudness meter: {self.channels} channels has no default layout; "
                    f"say which one it is ({', '.join(LAYOUT_WEIGHTS)})"
                )
            layout = DEFAULT_LAYOUT[self.channels]
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

        from ..core import kernels  # lazily (numba): keeps `import mixdown` light

        self._sos_run = kernels.sos_run
        self._sos = k_weighting_sos(self.sample_rate)
        self._tp = None
        if self.measures_true_peak:
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
        self._blocks = Growable()  # momentary energy every 100 ms = gating blocks
        self._short = Growable()  # short-term energy every 100 ms
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
        integrated = gated_mean_energy(blocks, RELATIVE_GATE_LU)
        tp = None
        if self._tp is not None:
            linear = self._tp.peak()
            tp = 20.0 * math.log10(linear) if linear > 0.0 else None
        bin_s = self.bin_frames / self.sample_rate
        m_times = (np.arange(blocks.shape[0]) * _BINS_PER_STEP + _MOMENTARY_BINS) * bin_s
        s_times = (np.arange(short.shape[0]) * _BINS_PER_STEP + _SHORT_TERM_BINS) * bin_s
        return LoudnessResult(
            integrated_lufs=None if integrated is None else float(energy_to_lufs(integrated)),
            loudness_range_lu=loudness_range(short),
            true_peak_dbtp=tp,
            sample_peak_dbfs=(
                20.0 * math.log10(self._peak) if self._peak > 0.0 else None
            ),
            momentary_max_lufs=(
                float(energy_to_lufs(self._momentary_max)) if self._momentary_max > 0 else None
            ),
            short_term_max_lufs=(
                float(energy_to_lufs(self._short_term_max)) if self._short_term_max > 0 else None
            ),
            duration_s=self._frames / self.sample_rate,
            momentary_series=LoudnessSeries(m_times, energy_to_lufs(blocks)),
            short_term_series=LoudnessSeries(s_times, energy_to_lufs(short)),
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
        return start, energy_to_lufs(blocks)

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
        energy = gated_mean_energy(chosen, RELATIVE_GATE_LU)
        return None if energy is None else float(energy_to_lufs(energy))


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
