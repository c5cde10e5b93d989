"""Mains hum: find 50/60 Hz and their harmonics as steady spectral lines, to the mHz.

Measuring only. :func:`hum_meter` sets a :class:`~mixdown.analysis.spectrum.SpectrumMeter`
up for :func:`detect_hum` (one-second frames, phase tracked around every harmonic);
:func:`pause_meter` looks at the short pauses between words, where hum is loudest
against the quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.bands import frame_size
from .spectrum import SpectrumMeter

__all__ = ["MAINS", "HumResult", "detect_hum", "detect_hum_array", "hum_meter", "pause_meter"]


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
    lines = _Lines(meter, psd)
    opts = _Options(min_prominence_db, harmonic_prominence_db, min_coherence, min_level_db, max_harmonics)
    best: tuple[float, HumResult] | None = None
    for mains in MAINS:
        found = _anchors(lines, mains, pauses, opts)
        if not found:
            continue
        _harmonics(lines, mains, pauses, opts, found)
        res, score = _family(found, mains, pauses)
        if best is None or score > best[0]:
            best = (score, res)
    return None if best is None else best[1]


@dataclass(frozen=True)
class _Options:
    min_prominence_db: float
    harmonic_prominence_db: float
    min_coherence: float
    min_level_db: float
    max_harmonics: int


class _Lines:
    """Spectral lines of a :func:`hum_meter`: where they are, how far they stand out, how steady they are."""

    def __init__(self, meter: SpectrumMeter, psd: np.ndarray) -> None:
        fs = meter.sample_rate
        self.psd = psd
        self.df = fs / meter.nfft
        self.period = fs / meter.hop  # phase increments repeat every fs/hop Hz
        with np.errstate(divide="ignore"):
            self.db = 10.0 * np.log10(np.maximum(psd, 1e-30))
        self.pp, self.pq = meter.phase_products()
        assert meter.phase_bins is not None
        self.where = {int(b): i for i, b in enumerate(meter.phase_bins)}
        self.top = min(0.95 * fs / 2.0, self.df * (meter.phase_bins.max() - 2))

    def line(self, k: int, mains: int, centre: float, half: float) -> tuple[float, float, float, float, float] | None:
        """(frequency, prominence, level, coherence, strength) of the line near ``centre``."""
        db, df = self.db, self.df
        pk = _peak(db, int(math.floor((centre - half) / df)), int(math.ceil((centre + half) / df)) + 1)
        if pk is None:
            return None
        i, pos, level = pk
        lo = max(int((k * mains - 0.5 * mains) / df), 1)
        hi = min(int((k * mains + 0.5 * mains) / df), db.shape[0] - 1)
        prom = level - _floor_around(db, lo, hi, i)
        j = self.where.get(i)
        if j is None or self.pq[j] <= 0:
            return None
        coherence = float(abs(self.pp[j]) / self.pq[j])
        frac = (np.angle(self.pp[j]) / (2.0 * math.pi)) % 1.0
        coarse = pos * df
        f = (round(coarse / self.period - frac) + frac) * self.period
        if abs(f - coarse) > 0.5 * df:
            f = coarse  # two tones in one bin: the phase is not one line's
        power = float(self.psd[max(i - 2, 0) : i + 3].sum() * df)
        # inverse variance of the phase-derived frequency: the line's SNR in its bin, c / (1 - c)
        snr = coherence / max(1.0 - coherence, 1e-3)
        return f, prom, 10.0 * math.log10(max(power, 1e-30)), coherence, snr


_Found = dict[int, tuple[float, float, float, float]]  # harmonic k -> f, prominence, level, weight


def _anchors(lines: _Lines, mains: int, pauses: SpectrumMeter | None, opts: _Options) -> _Found:
    """The family's anchor lines (fundamental, second harmonic), one family only."""
    found: _Found = {}
    for k in (1, 2):
        if k * mains * (1 + _TOL) >= lines.top:
            continue
        ln = lines.line(k, mains, k * mains, _TOL * k * mains)
        if ln is None or ln[1] < opts.min_prominence_db or ln[3] < opts.min_coherence:
            continue
        if pauses is not None and pauses.frames:
            # hum does not stop when people do: the anchor must be in the pauses too
            pl = _pause_line(pauses, ln[0], mains)
            if pl is None or pl[0] < opts.harmonic_prominence_db or pl[1] < opts.min_level_db:
                continue
        found[k] = (ln[0], ln[1], ln[2], ln[4] * k * k)
    if len(found) == 2 and abs(found[2][0] / 2 - found[1][0]) > 0.25 * lines.df:
        del found[2 if found[1][1] >= found[2][1] else 1]  # not one family: keep the stronger
    return found


def _harmonics(lines: _Lines, mains: int, pauses: SpectrumMeter | None, opts: _Options, found: _Found) -> None:
    """Add to ``found`` the further harmonics at ``k`` times the fundamental measured so far."""
    df = lines.df
    for k in range(1, opts.max_harmonics + 1):
        f0 = sum(v[0] / kk * v[3] for kk, v in found.items()) / sum(v[3] for v in found.values())
        if k in found:
            continue
        if k * f0 + 0.5 * df >= lines.top:
            break
        ln = lines.line(k, mains, k * f0, 0.5 * df + 2 * df)
        if ln is not None and ln[1] >= opts.harmonic_prominence_db and abs(ln[0] - k * f0) <= 0.25 * df:
            if ln[3] >= opts.min_coherence:
                found[k] = (ln[0], ln[1], ln[2], ln[4] * k * k)
            else:  # a line shared with the voice: present, but its phase does not measure f0
                found[k] = (k * f0, ln[1], ln[2], 0.0)
        elif pauses is not None:
            pl = _pause_line(pauses, k * f0, mains)
            if pl is not None and pl[0] >= opts.harmonic_prominence_db and pl[1] >= opts.min_level_db:
                # found in the pauses only: at k f0, and it does not move the fundamental
                found[k] = (k * f0, pl[0], pl[1], 0.0)


def _family(found: _Found, mains: int, pauses: SpectrumMeter | None) -> tuple[HumResult, float]:
    """The family's result and its score (total prominence)."""
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
    return res, float(sum(found[k][1] for k in ks))


def detect_hum_array(audio: np.ndarray, sample_rate: int, **options: Any) -> HumResult | None:
    """:func:`detect_hum` on an in-memory ``(channels, frames)`` array (or mono 1-D)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    meter = hum_meter(sample_rate)
    meter.process(x, 0)
    return detect_hum(meter, **options)
