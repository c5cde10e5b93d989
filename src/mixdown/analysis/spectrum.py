"""Spectra: long-term average spectra, third-octave band levels, mains hum detection.

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

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AnalysisError

__all__ = [
    "THIRD_OCTAVE_HZ",
    "THIRD_OCTAVE_NOMINAL",
    "HumResult",
    "SpectrumMeter",
    "band_levels",
    "band_levels_to_psd",
    "detect_hum",
    "detect_hum_array",
    "frame_size",
    "hann_periodic",
    "hum_meter",
    "noise_profile",
    "pause_meter",
    "region_mask",
    "welch_psd",
]

#: Exact base-2 third-octave centres, 25 Hz .. 20 kHz (30 bands).
THIRD_OCTAVE_HZ: tuple[float, ...] = tuple(1000.0 * 2.0 ** (k / 3.0) for k in range(-16, 14))
#: Their nominal names (IEC 61260 / ISO 266), used in parameter names.
THIRD_OCTAVE_NOMINAL: tuple[str, ...] = (
    "25", "31_5", "40", "50", "63", "80", "100", "125", "160", "200", "250", "315", "400", "500", "630",
    "800", "1k", "1k25", "1k6", "2k", "2k5", "3k15", "4k", "5k", "6k3", "8k", "10k", "12k5", "16k", "20k",
)
_EDGE = 2.0 ** (1.0 / 6.0)


def frame_size(sample_rate: int, seconds: float = 0.043) -> int:
    """Power-of-two FFT length nearest to ``seconds`` at ``sample_rate`` (2048 at 48 kHz, 512 at 16 kHz)."""
    return int(2 ** round(math.log2(max(sample_rate * seconds, 16.0))))


def hann_periodic(n: int) -> np.ndarray:
    """Periodic Hann window (the one whose shifts by n/4 sum to a constant), float64."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def region_mask(regions: list[tuple[int, int]], start: int, n: int) -> np.ndarray:
    """Boolean mask of samples ``start .. start+n`` lying inside any half-open region."""
    m = np.zeros(n, dtype=bool)
    for a, b in regions:
        lo, hi = max(a - start, 0), min(b - start, n)
        if lo < hi:
            m[lo:hi] = True
    return m


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
        self._band_matrix = _band_matrix(self.freqs) if keep_frames else None
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
                    assert self._band_matrix is not None
                    self._kept.append(power @ self._band_matrix)
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


# ------------------------------------------------------------------ band levels


def _band_matrix(freqs: np.ndarray) -> np.ndarray:
    """(bins, 30) matrix: PSD row vector @ matrix = band power (PSD integrated over each band).

    Bin ``k`` stands for the frequencies within half a bin of it; each band takes
    each bin in proportion to how much of that stretch lies inside the band, so
    a flat PSD integrates exactly whatever the bin width.
    """
    df = freqs[1] - freqs[0] if freqs.shape[0] > 1 else 1.0
    nyq = freqs[-1]
    lo_bin = np.maximum(freqs - df / 2.0, 0.0)
    hi_bin = np.minimum(freqs + df / 2.0, nyq)
    m = np.zeros((freqs.shape[0], len(THIRD_OCTAVE_HZ)))
    for b, fc in enumerate(THIRD_OCTAVE_HZ):
        lo, hi = fc / _EDGE, min(fc * _EDGE, nyq)
        if lo >= nyq:
            continue
        m[:, b] = np.clip(np.minimum(hi_bin, hi) - np.maximum(lo_bin, lo), 0.0, None)
    return m


def band_levels(freqs: np.ndarray, psd: np.ndarray) -> np.ndarray:
    """Third-octave band levels (dB re mean square 1) of a PSD; NaN for bands above Nyquist."""
    power = np.asarray(psd, dtype=np.float64) @ _band_matrix(np.asarray(freqs, dtype=np.float64))
    out = np.full(len(THIRD_OCTAVE_HZ), np.nan)
    valid = np.array([fc / _EDGE < freqs[-1] for fc in THIRD_OCTAVE_HZ])
    with np.errstate(divide="ignore"):
        out[valid] = 10.0 * np.log10(np.maximum(power[valid], 1e-30))
    return out


def band_levels_to_psd(levels_db: np.ndarray | list[float], freqs: np.ndarray) -> np.ndarray:
    """PSD (FS^2/Hz) at ``freqs`` of a third-octave band profile, interpolated in log frequency.

    Each band's power is spread evenly over its width; between band centres the
    density is interpolated linearly in dB over log frequency, and held flat below
    25 Hz and above 20 kHz.
    """
    lv = np.asarray(levels_db, dtype=np.float64)
    centres = np.asarray(THIRD_OCTAVE_HZ)
    density_db = lv - 10.0 * np.log10(centres * (_EDGE - 1.0 / _EDGE))
    f = np.maximum(np.asarray(freqs, dtype=np.float64), 1.0)
    d = np.interp(np.log2(f), np.log2(centres), density_db)
    return np.power(10.0, d / 10.0)


# ------------------------------------------------------------------------- hum


@dataclass(frozen=True)
class HumResult:
    """Mains hum found in a spectrum.

    Attributes
    ----------
    fundamental_hz : float
        Measured frequency of the fundamental (e.g. 49.93), from all harmonics found.
    mains_hz : int
        50 or 60: the mains family it belongs to.
    harmonics : list of int
        Harmonic numbers (1 = fundamental) standing out of the spectrum.
    prominence_db : list of float
        For each of ``harmonics``, its line above the local spectrum floor, dB.
    level_db : list of float
        For each of ``harmonics``, the line's power, dB re mean square 1 (in the
        pauses when they were measured).
    """

    fundamental_hz: float
    mains_hz: int
    harmonics: list[int] = field(default_factory=list)
    prominence_db: list[float] = field(default_factory=list)
    level_db: list[float] = field(default_factory=list)

    @property
    def highest(self) -> int:
        """The highest harmonic found (0 when none)."""
        return max(self.harmonics, default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "fundamental_hz": round(self.fundamental_hz, 3),
            "mains_hz": self.mains_hz,
            "harmonics": list(self.harmonics),
            "prominence_db": [round(v, 1) for v in self.prominence_db],
            "level_db": [round(v, 1) for v in self.level_db],
        }


MAINS = (50, 60)
_TOL = 0.015  # mains frequency tolerance searched, +-1.5 %


def hum_meter(
    sample_rate: int,
    *,
    regions: list[tuple[int, int]] | None = None,
    exclude: list[tuple[int, int]] | None = None,
    max_hz: float = 4000.0,
) -> SpectrumMeter:
    """A :class:`SpectrumMeter` set up for :func:`detect_hum`.

    Frames of about one second (``frame_size(rate, 1.0)``: 16384 samples at
    16 kHz, 65536 at 48 kHz), not overlapping (so the phase coherence of frame
    pairs is not inflated by shared samples), with phase tracking on the bins
    around every harmonic of 50 and 60 Hz up to ``max_hz``.
    """
    nfft = frame_size(sample_rate, 1.0)
    df = sample_rate / nfft
    top = min(max_hz, 0.95 * sample_rate / 2.0)
    bins: set[int] = set()
    for mains in MAINS:
        k = 1
        while k * mains * (1 - _TOL) < top:
            lo = int(math.floor(k * mains * (1 - _TOL) / df)) - 2
            hi = int(math.ceil(k * mains * (1 + _TOL) / df)) + 2
            bins.update(range(max(lo, 1), min(hi, nfft // 2) + 1))
            k += 1
    return SpectrumMeter(sample_rate, nfft=nfft, hop=nfft, regions=regions, exclude=exclude,
                         phase_bins=np.array(sorted(bins), dtype=np.int64))


def _peak(psd_db: np.ndarray, lo: int, hi: int) -> tuple[int, float, float] | None:
    """Strongest local maximum in bins [lo, hi): (bin, interpolated bin, interpolated dB)."""
    lo, hi = max(lo, 1), min(hi, psd_db.shape[0] - 1)
    if hi - lo < 3:
        return None
    i = lo + int(np.argmax(psd_db[lo:hi]))
    if i <= lo or i >= hi - 1:
        return None  # the maximum is at the edge: a slope, not a line
    a, b, c = psd_db[i - 1], psd_db[i], psd_db[i + 1]
    den = a - 2 * b + c
    d = 0.5 * (a - c) / den if den < 0 else 0.0
    return i, i + d, b - 0.25 * (a - c) * d


def pause_meter(sample_rate: int, *, regions: list[tuple[int, int]] | None = None) -> SpectrumMeter:
    """A :class:`SpectrumMeter` for the hum harmonics in short pauses: 1/8 s frames, half overlapping."""
    nfft = frame_size(sample_rate, 0.125)
    return SpectrumMeter(sample_rate, nfft=nfft, hop=nfft // 2, regions=regions)


def _floor_around(values: np.ndarray, lo: int, hi: int, i: int) -> float:
    """Median of ``values[lo:hi]`` without the line's own main lobe (bins ``i - 2 .. i + 2``)."""
    around = np.concatenate([values[lo : max(i - 2, lo)], values[min(i + 3, hi) : hi]])
    return float(np.median(around if around.size else values[lo:hi]))


def _pause_line(meter: SpectrumMeter, freq: float, mains: int) -> tuple[float, float] | None:
    """(prominence dB, level dB) of the line at ``freq`` (+-1 bin) against the median around it."""
    psd = meter.psd()
    df = meter.sample_rate / meter.nfft
    i = int(round(freq / df))
    if meter.frames == 0 or i < 2 or i + 2 >= psd.shape[0]:
        return None
    lo = max(int((freq - 0.5 * mains) / df), 1)
    hi = min(int((freq + 0.5 * mains) / df), psd.shape[0] - 1)
    floor = _floor_around(psd, lo, hi, i)
    peak = float(psd[i - 1 : i + 2].max())
    if floor <= 0 or peak <= 0:
        return None
    level = 10.0 * math.log10(max(float(psd[i - 2 : i + 3].sum() * df), 1e-30))
    return 10.0 * math.log10(peak / floor), level


def detect_hum(
    meter: SpectrumMeter,
    *,
    pauses: SpectrumMeter | None = None,
    min_prominence_db: float = 10.0,
    harmonic_prominence_db: float = 6.0,
    min_coherence: float = 0.5,
    min_level_db: float = -80.0,
    max_harmonics: int = 40,
) -> HumResult | None:
    """Find mains hum (50 or 60 Hz and harmonics) in what a :func:`hum_meter` measured.

    A family (50 or 60 Hz) needs an *anchor*: its fundamental or second harmonic
    (rectifier buzz has little fundamental) as a line within +-1.5 % of nominal,
    ``min_prominence_db`` above the median of the spectrum around it (half a
    fundamental either side), and steady: its phase turns by the same angle from
    one frame to the next (coherence >= ``min_coherence``), which a sung or spoken
    harmonic does not do for long. Further harmonics count when they stand
    ``harmonic_prominence_db`` out and sit at ``k`` times the anchor's
    fundamental (within a quarter of a bin), a coincidence a voice or an
    instrument rarely keeps up. Hum is loudest against the quiet of the pauses:
    with ``pauses`` (a :func:`pause_meter` restricted to the pauses between
    words) a harmonic also counts when it stands out there (and is louder than
    ``min_level_db``, dB re mean square 1: below that it is inaudible).

    Frequencies come from those phase increments: the angle of the summed
    products of consecutive frames is ``2 pi f hop / fs``, with the whole turns
    taken from the interpolated spectrum peak. That is precise to a few mHz on a
    few seconds of steady hum, where the spectrum's own bins are ~1 Hz wide, and
    the depth of a narrow notch depends on it (see :class:`mixdown.dsp.cleanup.Dehum`).
    The fundamental is the mean of ``f_k / k`` weighted by ``k**2 c / (1 - c)``
    (``c``: the line's phase coherence, so ``c / (1 - c)`` is about its SNR in its
    bin: the inverse variance of its phase increments); a line whose coherence is
    low (it shares its bin with the voice) counts as present but does not vote.

    Returns
    -------
    HumResult or None
        The family with the most total prominence, or None when neither has an anchor.
    """
    if meter.frames == 0 or meter.phase_bins is None:
        return None
    psd = meter.psd()
    if not np.any(psd > 0):
        return None
    fs = meter.sample_rate
    df = fs / meter.nfft
    period = fs / meter.hop  # phase increments repeat every fs/hop Hz
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(np.maximum(psd, 1e-30))
    pp, pq = meter.phase_products()
    where = {int(b): i for i, b in enumerate(meter.phase_bins)}
    top = min(0.95 * fs / 2.0, df * (meter.phase_bins.max() - 2))

    def line(k: int, mains: int, centre: float, half: float) -> tuple[float, float, float, float, float] | None:
        """(frequency, prominence, level, coherence, strength) of the line near ``centre``."""
        pk = _peak(db, int(math.floor((centre - half) / df)), int(math.ceil((centre + half) / df)) + 1)
        if pk is None:
            return None
        i, pos, level = pk
        lo = max(int((k * mains - 0.5 * mains) / df), 1)
        hi = min(int((k * mains + 0.5 * mains) / df), db.shape[0] - 1)
        prom = level - _floor_around(db, lo, hi, i)
        j = where.get(i)
        if j is None or pq[j] <= 0:
            return None
        coherence = float(abs(pp[j]) / pq[j])
        frac = (np.angle(pp[j]) / (2.0 * math.pi)) % 1.0
        coarse = pos * df
        f = (round(coarse / period - frac) + frac) * period
        if abs(f - coarse) > 0.5 * df:
            f = coarse  # two tones in one bin: the phase is not one line's
        power = float(psd[max(i - 2, 0) : i + 3].sum() * df)
        # inverse variance of the phase-derived frequency: the line's SNR in its bin, c / (1 - c)
        snr = coherence / max(1.0 - coherence, 1e-3)
        return f, prom, 10.0 * math.log10(max(power, 1e-30)), coherence, snr

    best: tuple[float, HumResult] | None = None
    for mains in MAINS:
        found: dict[int, tuple[float, float, float, float]] = {}  # k -> f, prominence, level, weight
        for k in (1, 2):
            if k * mains * (1 + _TOL) >= top:
                continue
            ln = line(k, mains, k * mains, _TOL * k * mains)
            if ln is None or ln[1] < min_prominence_db or ln[3] < min_coherence:
                continue
            if pauses is not None and pauses.frames:
                # hum does not stop when people do: the anchor must be in the pauses too
                pl = _pause_line(pauses, ln[0], mains)
                if pl is None or pl[0] < harmonic_prominence_db or pl[1] < min_level_db:
                    continue
            found[k] = (ln[0], ln[1], ln[2], ln[4] * k * k)
        if not found:
            continue
        if len(found) == 2 and abs(found[2][0] / 2 - found[1][0]) > 0.25 * df:
            del found[2 if found[1][1] >= found[2][1] else 1]  # not one family: keep the stronger
        for k in range(1, max_harmonics + 1):
            f0 = sum(v[0] / kk * v[3] for kk, v in found.items()) / sum(v[3] for v in found.values())
            if k in found:
                continue
            if k * f0 + 0.5 * df >= top:
                break
            ln = line(k, mains, k * f0, 0.5 * df + 2 * df)
            if ln is not None and ln[1] >= harmonic_prominence_db and abs(ln[0] - k * f0) <= 0.25 * df:
                if ln[3] >= min_coherence:
                    found[k] = (ln[0], ln[1], ln[2], ln[4] * k * k)
                else:  # a line shared with the voice: present, but its phase does not measure f0
                    found[k] = (k * f0, ln[1], ln[2], 0.0)
            elif pauses is not None:
                pl = _pause_line(pauses, k * f0, mains)
                if pl is not None and pl[0] >= harmonic_prominence_db and pl[1] >= min_level_db:
                    # found in the pauses only: at k f0, and it does not move the fundamental
                    found[k] = (k * f0, pl[0], pl[1], 0.0)
        ks = sorted(found)
        if pauses is not None and pauses.frames:
            # the lines' levels where they are heard: in the pauses (in speech the voice shares their bins)
            for k in ks:
                pl = _pause_line(pauses, k * found[k][0] / k, mains)
                if pl is not None:
                    found[k] = (found[k][0], found[k][1], pl[1], found[k][3])
        w = np.array([found[k][3] for k in ks]) + 1e-300
        fund = float(np.sum(w * np.array([found[k][0] / k for k in ks])) / np.sum(w))
        res = HumResult(
            fundamental_hz=fund,
            mains_hz=mains,
            harmonics=ks,
            prominence_db=[float(found[k][1]) for k in ks],
            level_db=[float(found[k][2]) for k in ks],
        )
        score = float(sum(found[k][1] for k in ks))
        if best is None or score > best[0]:
            best = (score, res)
    return None if best is None else best[1]


def detect_hum_array(audio: np.ndarray, sample_rate: int, **options: Any) -> HumResult | None:
    """:func:`detect_hum` on an in-memory ``(channels, frames)`` array (or mono 1-D)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    meter = hum_meter(sample_rate)
    meter.process(x, 0)
    return detect_hum(meter, **options)


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
    above = np.array([fc / _EDGE >= meter.sample_rate / 2.0 for fc in THIRD_OCTAVE_HZ])
    levels[above] = np.nan
    return levels, float(10.0 * np.log10(np.median(total[quiet])))


def require_frames(meter: SpectrumMeter, what: str, minimum: int = 1) -> None:
    """Raise :class:`AnalysisError` when ``meter`` counted fewer than ``minimum`` frames."""
    if meter.frames < minimum:
        raise AnalysisError(f"{what}: not enough audio to measure a spectrum ({meter.frames} frames)")
