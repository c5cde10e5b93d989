"""Spectra: long-term average spectra, third-octave band levels, noise profiles.

Mains hum detection is :mod:`mixdown.analysis.hum`; the band tables are
:mod:`mixdown.core.bands`.

Measuring only (nothing here changes audio). Used by cleanup planning (the noise
profile of the pauses, hum and sibilance), by QC (noise floor) and by the report
(dialogue spectrum before and after cleanup).

Conventions
-----------
- A *power spectral density* (PSD) is one-sided, in full-scale units squared per
  Hz: a signal whose samples are ``x`` has ``mean(x**2) = integral of PSD df`` over
  0 .. Nyquist. White noise of RMS ``s`` at rate ``fs`` has PSD ``2 s**2 / fs``.
- A *band level* is the power in a band, ``10 log10(integral of PSD df)``, in dB
  re a mean square of 1 (a full-scale square wave is 0 dB, a full-scale sine -3 dB).
  Band levels do not depend on the sample rate, so a noise profile measured at
  16 kHz means the same at 48 kHz (below 8 kHz).
- Third-octave bands are the base-2 ones of IEC 61260: centres ``1000 * 2**(k/3)``,
  edges a sixth of an octave either side (:data:`THIRD_OCTAVE_HZ`, 25 Hz .. 20 kHz).

Streaming: :class:`SpectrumMeter` frames the input on the absolute sample clock
(frame ``j`` starts at ``j * hop``), so feeding a stream in blocks of any size gives
the same spectrum as one pass.
"""

from __future__ import annotations

import numpy as np

from ..core.bands import (
    EDGE,
    THIRD_OCTAVE_HZ,
    THIRD_OCTAVE_NOMINAL,
    band_levels,
    band_levels_to_psd,
    band_matrix,
    frame_size,
    hann_periodic,
)
from ..core.regions import region_mask
from ..errors import AnalysisError

__all__ = [
    "THIRD_OCTAVE_HZ",
    "THIRD_OCTAVE_NOMINAL",
    "SpectrumMeter",
    "band_levels",
    "band_levels_to_psd",
    "frame_size",
    "hann_periodic",
    "noise_profile",
    "region_mask",
    "welch_psd",
]

def _periodogram_scale(window: np.ndarray, sample_rate: int) -> np.ndarray:
    """Factors turning |rfft(w x)|**2 into a one-sided PSD (FS^2/Hz), per bin."""
    n = window.shape[0]
    scale = np.full(n // 2 + 1, 2.0 / (sample_rate * float(np.sum(window**2))))
    scale[0] /= 2.0
    if n % 2 == 0:
        scale[-1] /= 2.0
    return scale


def welch_psd(
    audio: np.ndarray,
    sample_rate: int,
    *,
    nfft: int | None = None,
    regions: list[tuple[int, int]] | None = None,
    exclude: list[tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Average PSD of ``audio`` over frames (Welch, Hann, 50 % overlap), channels averaged.

    Parameters
    ----------
    audio : ndarray, shape (channels, frames) or (frames,)
    sample_rate : int
        Hz.
    nfft : int, optional
        Frame length (default :func:`frame_size`).
    regions : list of (start, end), optional
        Only frames lying wholly inside these sample ranges count.
    exclude : list of (start, end), optional
        Frames touching these ranges do not count.

    Returns
    -------
    freqs : ndarray
        Bin frequencies, Hz.
    psd : ndarray
        One-sided PSD, FS^2/Hz (zeros when no frame counted).
    frames : int
        How many frames were averaged.
    """
    meter = SpectrumMeter(sample_rate, nfft=nfft, regions=regions, exclude=exclude)
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    meter.process(x, 0)
    return meter.freqs, meter.psd(), meter.frames


class SpectrumMeter:
    """Streaming long-term average spectrum (Welch), optionally restricted to regions.

    Frames of ``nfft`` samples start every ``hop`` samples on the absolute clock;
    a frame counts when it lies wholly inside ``regions`` (if given) and touches
    none of ``exclude`` (if given). Channels are averaged (the PSD per channel,
    then the mean), so a stereo and a dual-mono copy read the same.

    Parameters
    ----------
    sample_rate : int
        Hz.
    nfft : int, optional
        Frame length, samples (default :func:`frame_size`).
    hop : int, optional
        Frame step, samples (default ``nfft // 2``).
    regions, exclude : list of (start, end), optional
        Sample ranges on the same clock as the ``position`` given to :meth:`process`.
    keep_frames : bool
        Also keep each counted frame's third-octave band levels (for robust
        statistics such as a noise profile from the quietest frames). Costs 30
        floats per frame.

    Attributes
    ----------
    freqs : ndarray
        Bin frequencies, Hz.
    frames : int
        Frames counted so far.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        nfft: int | None = None,
        hop: int | None = None,
        regions: list[tuple[int, int]] | None = None,
        exclude: list[tuple[int, int]] | None = None,
        keep_frames: bool = False,
        phase_bins: np.ndarray | None = None,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.nfft = int(nfft or frame_size(self.sample_rate))
        self.hop = int(hop or self.nfft // 2)
        self.window = hann_periodic(self.nfft)
        self._scale = _periodogram_scale(self.window, self.sample_rate)
        self.freqs = np.fft.rfftfreq(self.nfft, 1.0 / self.sample_rate)
        self._regions = None if regions is None else _sorted_regions(regions)
        self._exclude = None if exclude is None else _sorted_regions(exclude)
        self.keep_frames = keep_frames
        self._bands = band_matrix(self.freqs) if keep_frames else None
        self.phase_bins = None if phase_bins is None else np.asarray(phase_bins, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget everything measured."""
        self._sum = np.zeros(self.freqs.shape[0])
        self.frames = 0
        self._buf: np.ndarray | None = None
        self._buf_start = 0
        self._next = 0
        self._kept: list[np.ndarray] = []
        self._kept_pos: list[np.ndarray] = []
        nb = 0 if self.phase_bins is None else self.phase_bins.shape[0]
        self._pp = np.zeros(nb, dtype=np.complex128)  # sum of X_j conj(X_{j-1}) over consecutive frames
        self._pq = np.zeros(nb)  # sum of |X_j| |X_{j-1}|
        self._last_x: np.ndarray | None = None
        self._last_start = -1

    def process(self, block: np.ndarray, position: int) -> None:
        """Add a ``(channels, n)`` block whose first sample is at absolute ``position``."""
        block = np.asarray(block)
        if block.ndim == 1:
            block = block[None, :]
        n = block.shape[1]
        if n == 0:
            return
        if self._buf is None or position != self._buf_start + self._buf.shape[1]:
            # a new stream (or a jump): start on the frame grid, zeros before the first sample
            first = (position // self.hop) * self.hop
            self._buf = np.zeros((block.shape[0], position - first))
            self._buf_start = first
            self._next = first
        self._buf = np.concatenate([self._buf, block.astype(np.float64)], axis=1)
        avail = self._buf_start + self._buf.shape[1]
        count = (avail - self.nfft - self._next) // self.hop + 1
        if count > 0:
            off = self._next - self._buf_start
            starts = self._next + self.hop * np.arange(count)
            keep = self._frame_ok(starts)
            if np.any(keep):
                view = np.lib.stride_tricks.sliding_window_view(self._buf[:, off:], self.nfft, axis=1)[
                    :, : count * self.hop : self.hop
                ][:, keep]
                spec = np.fft.rfft(view * self.window, axis=-1)
                power = (spec.real**2 + spec.imag**2).mean(axis=0) * self._scale  # (frames, bins)
                self._sum += power.sum(axis=0)
                self.frames += int(power.shape[0])
                if self.keep_frames:
                    assert self._bands is not None
                    self._kept.append(power @ self._bands)
                    self._kept_pos.append(starts[keep])
                if self.phase_bins is not None:
                    self._phases(spec[:, :, self.phase_bins].sum(axis=0), starts[keep])
            self._next += count * self.hop
        drop = self._next - self._buf_start
        if drop > 0:
            self._buf = self._buf[:, drop:]
            self._buf_start += drop

    def _phases(self, xb: np.ndarray, starts: np.ndarray) -> None:
        """Accumulate phase increments between frames exactly one hop apart."""
        if self._last_x is not None:
            xb = np.concatenate([self._last_x[None, :], xb], axis=0)
            starts = np.concatenate([[self._last_start], starts])
        consecutive = np.diff(starts) == self.hop
        if np.any(consecutive):
            a, b = xb[1:][consecutive], xb[:-1][consecutive]
            self._pp += np.sum(a * np.conj(b), axis=0)
            self._pq += np.sum(np.abs(a) * np.abs(b), axis=0)
        self._last_x = xb[-1].copy()
        self._last_start = int(starts[-1])

    def phase_products(self) -> tuple[np.ndarray, np.ndarray]:
        """For ``phase_bins``: sum of ``X_j conj(X_{j-1})`` and of ``|X_j| |X_{j-1}|`` over consecutive frames.

        A steady tone of frequency ``f`` near a bin turns its phase by
        ``2 pi f hop / fs`` from one frame to the next, so the angle of the first
        sum measures ``f`` modulo ``fs / hop``; the ratio of the two sums (the
        coherence, 0..1) says how steady that tone is.
        """
        return self._pp.copy(), self._pq.copy()

    def _frame_ok(self, starts: np.ndarray) -> np.ndarray:
        ends = starts + self.nfft
        ok = np.ones(starts.shape[0], dtype=bool)
        if self._regions is not None:
            ok &= _inside(self._regions, starts, ends)
        if self._exclude is not None:
            ok &= ~_touches(self._exclude, starts, ends)
        return ok

    def psd(self) -> np.ndarray:
        """Average one-sided PSD so far, FS^2/Hz (zeros if no frame counted)."""
        return self._sum / self.frames if self.frames else np.zeros_like(self._sum)

    def frame_band_power(self) -> tuple[np.ndarray, np.ndarray]:
        """Kept frames (``keep_frames=True``): start positions, and third-octave band powers (frames, 30)."""
        if not self._kept:
            return np.zeros(0, dtype=np.int64), np.zeros((0, len(THIRD_OCTAVE_HZ)))
        return np.concatenate(self._kept_pos), np.concatenate(self._kept)


def _sorted_regions(regions: list[tuple[int, int]]) -> np.ndarray:
    r = np.array(sorted((int(a), int(b)) for a, b in regions if b > a), dtype=np.int64).reshape(-1, 2)
    if r.shape[0] == 0:
        return r
    merged = [list(r[0])]
    for a, b in r[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged, dtype=np.int64)


def _inside(regions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each [start, end) lies wholly inside one of the merged ``regions``."""
    if regions.shape[0] == 0:
        return np.zeros(starts.shape[0], dtype=bool)
    i = np.searchsorted(regions[:, 0], starts, side="right") - 1
    ok = i >= 0
    j = np.maximum(i, 0)
    return ok & (ends <= regions[j, 1])


def _touches(regions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each [start, end) overlaps any of the merged ``regions``."""
    if regions.shape[0] == 0:
        return np.zeros(starts.shape[0], dtype=bool)
    # the last region starting before `end` overlaps iff it ends after `start`
    i = np.searchsorted(regions[:, 0], ends, side="left") - 1
    j = np.maximum(i, 0)
    return (i >= 0) & (regions[j, 1] > starts)


def noise_profile(meter: SpectrumMeter, *, quantile: float = 0.7) -> tuple[np.ndarray, float] | None:
    """Third-octave noise profile and noise floor from a meter run over pauses with ``keep_frames``.

    Frames of digital silence (an edit's gap is not the room) are ignored. Of the
    rest, the quietest ``quantile`` count (so a breath, a creak or a click in a
    pause is not taken for noise): the floor is their median total level, dB re
    mean square 1; the profile their mean band power, in dB, NaN for bands above
    Nyquist.

    Returns
    -------
    (levels_db, floor_db) or None
        None when no frame with sound was counted.
    """
    _, bp = meter.frame_band_power()
    total = bp.sum(axis=1)
    live = total > 1e-10  # below -100 dB: digital silence (an edit's gap) or nearly, not a room
    if not np.any(live):
        return None
    bp, total = bp[live], total[live]
    quiet = total <= np.quantile(total, quantile)
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(np.maximum(bp[quiet].mean(axis=0), 1e-30))
    above = np.array([fc / EDGE >= meter.sample_rate / 2.0 for fc in THIRD_OCTAVE_HZ])
    levels[above] = np.nan
    return levels, float(10.0 * np.log10(np.median(total[quiet])))


def require_frames(meter: SpectrumMeter, what: str, minimum: int = 1) -> None:
    """Raise :class:`AnalysisError` when ``meter`` counted fewer than ``minimum`` frames."""
    if meter.frames < minimum:
        raise AnalysisError(f"{what}: not enough audio to measure a spectrum ({meter.frames} frames)")
