"""Sync: line up an external recording (a lavalier, a recorder) with the camera's audio.

The offset is found by generalized cross-correlation with phase transform
(GCC-PHAT, Knapp & Carter 1976): the cross-spectrum of the two signals is divided
by its magnitude, so every frequency votes with its *phase* only. That makes the
peak sharp (a few samples wide) and insensitive to the two microphones'
different frequency responses and levels; only the shared delay remains.
``beta`` < 1 (PHAT-beta) keeps a little of the magnitude so bins with no shared
signal (above one microphone's bandwidth) vote less.

Two stages keep it exact and cheap on long recordings: the whole of both
signals at a low rate (``coarse_rate``, 4 kHz) finds the offset to a few
samples, then a window of up to ``fine_seconds`` at the full rate, searched
only around that estimate, finds it to the sample.

Confidence is the height of the correlation peak over the spread of the rest of
the correlation (a robust z-score: (peak - median) / (1.4826 MAD)). Two unrelated
recordings give ~5 (the largest of many random values); the same sound through
two microphones gives tens to hundreds. Below ``min_confidence``, or when a
second peak is nearly as high (repetitive audio: a steady beat, a test tone), the
match is refused with an :class:`~mixdown.errors.AnalysisError` instead of
guessing.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AnalysisError, SessionError
from .decisions import Decision

__all__ = ["SyncResult", "find_offset", "gcc_phat", "sync_clip", "sync_files"]


@dataclass(frozen=True)
class SyncResult:
    """Where an external recording sits against a reference.

    Attributes
    ----------
    offset : int
        External sample 0 lines up with reference sample ``offset`` (at
        ``sample_rate``; negative when the external recording started first).
    sample_rate : int
        Hz.
    confidence : float
        Robust z-score of the correlation peak (>= ``min_confidence`` when accepted).
    peak_ratio : float
        Main peak over the strongest other peak (more than 2 ms away).
    polarity : int
        +1, or -1 when one microphone is wired inverted.
    subsample : float
        Fractional refinement of ``offset`` from the peak's shape (reported, not applied).
    """

    offset: int
    sample_rate: int
    confidence: float
    peak_ratio: float
    polarity: int = 1
    subsample: float = 0.0

    @property
    def offset_s(self) -> float:
        return self.offset / self.sample_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "offset_samples": self.offset,
            "offset_s": round(self.offset_s, 6),
            "sample_rate": self.sample_rate,
            "confidence": round(self.confidence, 1),
            "peak_ratio": round(self.peak_ratio, 2),
            "polarity": self.polarity,
            "subsample": round(self.subsample, 3),
        }


def _mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=0) if x.ndim == 2 else x


def gcc_phat(reference: np.ndarray, external: np.ndarray, *, beta: float = 0.8) -> np.ndarray:
    """GCC-PHAT-beta correlation of two mono signals, indexed by lag.

    Returns ``c`` of length ``n >= len(reference) + len(external) - 1`` where
    ``c[lag % n]`` is large when ``reference[i + lag] ~ external[i]``.
    """
    from scipy import fft as sfft

    n = sfft.next_fast_len(reference.shape[0] + external.shape[0] - 1, real=True)
    r = sfft.rfft(reference, n)
    e = sfft.rfft(external, n)
    g = r * np.conj(e)
    mag = np.abs(g)
    floor = 1e-12 * float(mag.max()) if mag.size and mag.max() > 0 else 1e-30
    g = g / np.power(np.maximum(mag, floor), beta)
    return sfft.irfft(g, n)


def _lags_in(n: int, lo: int, hi: int) -> np.ndarray:
    """Lags lo..hi (inclusive) as integers."""
    return np.arange(lo, hi + 1, dtype=np.int64)


def _score(c: np.ndarray, lags: np.ndarray, *, exclude: int) -> tuple[int, float, float, int]:
    """Best lag, z-score, ratio to the second peak, polarity among ``lags`` of correlation ``c``."""
    vals = c[lags % c.shape[0]]
    mag = np.abs(vals)
    i = int(np.argmax(mag))
    med = float(np.median(mag))
    mad = float(np.median(np.abs(mag - med))) * 1.4826
    z = (mag[i] - med) / mad if mad > 0 else math.inf
    far = np.abs(lags - lags[i]) > exclude
    second = float(mag[far].max()) if np.any(far) else 0.0
    ratio = float(mag[i] / second) if second > 0 else math.inf
    return int(lags[i]), float(z), ratio, 1 if vals[i] >= 0 else -1


def _resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    if rate == to:
        return x
    import soxr

    return np.asarray(soxr.resample(x, rate, to, quality="HQ"), dtype=np.float64)


def find_offset(
    reference: np.ndarray,
    external: np.ndarray,
    sample_rate: int,
    *,
    max_offset: int | None = None,
    min_confidence: float = 30.0,
    min_peak_ratio: float = 1.5,
    coarse_rate: int = 4000,
    fine_seconds: float = 30.0,
    beta: float = 0.8,
    names: tuple[str, str] = ("reference", "external"),
) -> SyncResult:
    """Offset of ``external`` against ``reference`` (both at ``sample_rate``), to the sample.

    Parameters
    ----------
    reference, external : ndarray
        ``(channels, frames)`` or mono; channels are averaged.
    sample_rate : int
        Hz, of both.
    max_offset : int, optional
        Largest |offset| searched, samples (default: any that overlaps).
    min_confidence, min_peak_ratio : float
        Acceptance thresholds (see the module docstring).
    coarse_rate : int
        Rate of the whole-signal search, Hz.
    fine_seconds : float
        Length of the full-rate window for the exact lag, s.
    names : (str, str)
        How to call the two signals in error messages (file names).

    Raises
    ------
    AnalysisError
        When either signal is silent or too short, or the correlation is not convincing.
    """
    ref = _mono(reference)
    ext = _mono(external)
    sr = int(sample_rate)
    crate = min(coarse_rate, sr)
    return _search(
        _resample(ref, sr, crate), _resample(ext, sr, crate), crate, sr, ref.shape[0], ext.shape[0],
        lambda a, b: ref[a:b], lambda a, b: ext[a:b], max_offset=max_offset, min_confidence=min_confidence,
        min_peak_ratio=min_peak_ratio, fine_seconds=fine_seconds, beta=beta, names=names)


def _search(rc: np.ndarray, ec: np.ndarray, crate: int, sr: int, ref_len: int, ext_len: int,
            read_ref: Any, read_ext: Any, *, max_offset: int | None, min_confidence: float,
            min_peak_ratio: float, fine_seconds: float, beta: float, names: tuple[str, str]) -> SyncResult:
    """The two stages: the whole of both at ``crate`` (given), then a full-rate window read on demand."""
    for x, n, nm in ((rc, ref_len, names[0]), (ec, ext_len, names[1])):
        if n < sr // 10:
            raise AnalysisError(f"{nm}: too short to sync ({n / sr:.3f} s; need at least 0.1 s)")
        if not np.any(x):
            raise AnalysisError(f"{nm}: digital silence, nothing to sync on")
    lo_all, hi_all = -(ext_len - 1), ref_len - 1
    if max_offset is not None:
        lo_all, hi_all = max(lo_all, -int(max_offset)), min(hi_all, int(max_offset))
    # -- coarse: everything at a low rate
    c = gcc_phat(rc, ec, beta=beta)
    scale = crate / sr
    lags = _lags_in(c.shape[0], int(math.floor(lo_all * scale)), int(math.ceil(hi_all * scale)))
    lag_c, z, ratio, pol = _score(c, lags, exclude=max(2, int(0.002 * crate)))
    why = (f"{names[1]} does not match {names[0]}: the best correlation peak is {z:.1f} times the noise of the "
           f"correlation (need {min_confidence:g})")
    if z < min_confidence:
        raise AnalysisError(why + "; are they recordings of the same scene?")
    if ratio < min_peak_ratio:
        raise AnalysisError(f"{names[1]} against {names[0]}: ambiguous, a second correlation peak is "
                            f"{1 / ratio:.0%} as high as the best (repetitive audio?); give --max-offset to narrow "
                            "the search")
    if crate == sr:
        return SyncResult(lag_c, sr, z, ratio, pol, _subsample(c, lag_c))
    # -- fine: a window at the full rate, searched around the coarse lag
    guess = int(round(lag_c / scale))
    margin = int(math.ceil(3 / scale)) + 32
    # the external's window: its loudest fine_seconds inside the part that overlaps the reference
    e0 = max(0, -guess + margin)
    e1 = min(ext_len, ref_len - guess - margin)
    if e1 - e0 < sr // 10:
        e0, e1 = 0, ext_len
    w = int(min(fine_seconds * sr, e1 - e0))
    c0, c1 = int(e0 * scale), int(e1 * scale)
    start = min(e0 + int(round(_loudest(ec[c0:c1], int(w * scale), crate) / scale)), e1 - w)
    seg_e = read_ext(start, start + w)
    r0 = max(0, start + guess - margin)
    r1 = min(ref_len, start + guess + w + margin)
    seg_r = read_ref(r0, r1)
    cf = gcc_phat(seg_r, seg_e, beta=beta)
    # lag within the segments: ref[r0 + i + L'] ~ ext[start + i] means offset = r0 + L' - start
    lo = max(lo_all, guess - margin) - (r0 - start)
    hi = min(hi_all, guess + margin) - (r0 - start)
    lag_f, _, _, pol_f = _score(cf, _lags_in(cf.shape[0], lo, hi), exclude=max(2, int(0.002 * sr)))
    return SyncResult(r0 - start + lag_f, sr, z, ratio, pol_f, _subsample(cf, lag_f))


def _loudest(x: np.ndarray, w: int, sr: int) -> int:
    """Start of the ``w``-sample window of ``x`` with the most energy (on a 0.1 s grid)."""
    if w >= x.shape[0]:
        return 0
    hop = max(1, sr // 10)
    nh = x.shape[0] // hop
    energy = np.concatenate([[0.0], np.cumsum((x[: nh * hop].reshape(nh, hop) ** 2).sum(axis=1))])
    k = max(1, w // hop)
    if energy.shape[0] <= k:
        return 0
    return int(np.argmax(energy[k:] - energy[:-k])) * hop


def _subsample(c: np.ndarray, lag: int) -> float:
    n = c.shape[0]
    a, b, d = abs(c[(lag - 1) % n]), abs(c[lag % n]), abs(c[(lag + 1) % n])
    den = a - 2 * b + d
    return float(0.5 * (a - d) / den) if den < 0 else 0.0


def sync_files(
    reference: str | os.PathLike[str],
    external: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    reference_stream: int | None = None,
    external_stream: int | None = None,
    max_offset_s: float | None = None,
    **options: Any,
) -> SyncResult:
    """Offset of an external recording against a reference file (audio or video).

    Parameters
    ----------
    reference, external : path
        Anything :func:`mixdown.media.open_source` reads (the camera file's audio,
        a WAV from a recorder).
    sample_rate : int, optional
        Rate of the returned offset (e.g. the session rate); default: the external file's.
    max_offset_s : float, optional
        Largest offset searched, s.
    **options
        ``min_confidence``, ``min_peak_ratio``, ``coarse_rate``, ``fine_seconds``,
        ``beta`` as in :func:`find_offset`.

    Memory: both files at the coarse rate (mono, 4 kHz) plus one full-rate
    window; never a whole file at the full rate.

    Raises
    ------
    MediaError
        For unreadable files.
    AnalysisError
        When the match is not convincing.
    """
    from ..media.decode import open_source, probe

    ref_info = probe(reference, stream=reference_stream)
    ext_info = probe(external, stream=external_stream)
    sr = int(sample_rate or ext_info.sample_rate)
    crate = min(int(options.pop("coarse_rate", 4000)), sr)

    def length(info: Any, rate: int) -> int:
        return -(-info.frames * rate // info.sample_rate)

    def read(path: Any, stream: int | None, rate: int, start: int, n: int) -> np.ndarray:
        out = np.zeros(n)
        with open_source(path, stream=stream, sample_rate=rate, start=start) as reader:
            done = 0
            while done < n:  # in pieces: only the mono sum is kept
                k = min(1 << 18, n - done)
                out[done : done + k] = reader.read(k).mean(axis=0, dtype=np.float64)
                done += k
        return out

    # the whole of both at the coarse rate (4 kHz: 58 MB for an hour), then only a window at the full rate
    rc = read(reference, reference_stream, crate, 0, length(ref_info, crate))
    ec = read(external, external_stream, crate, 0, length(ext_info, crate))
    max_offset = None if max_offset_s is None else int(round(max_offset_s * sr))
    opts = {"min_confidence": 30.0, "min_peak_ratio": 1.5, "fine_seconds": 30.0, "beta": 0.8, **options}
    return _search(
        rc, ec, crate, sr, length(ref_info, sr), length(ext_info, sr),
        lambda a, b: read(reference, reference_stream, sr, a, b - a),
        lambda a, b: read(external, external_stream, sr, a, b - a),
        max_offset=max_offset, names=(Path(reference).name, Path(external).name), **opts)


def sync_clip(
    session: Any,
    track: str,
    clip: int = 0,
    *,
    reference_track: str,
    reference_clip: int = 0,
    **options: Any,
) -> tuple[SyncResult, Decision]:
    """Move a clip so that its source lines up with a reference clip's source (in place).

    The clip's ``start`` is set to the sample (written as ``"<n>s"``). When the
    external recording started before the reference clip's timeline position
    allows, the clip's in-point is advanced instead (and its duration shortened).

    Parameters
    ----------
    session : Session
        Edited in place.
    track, clip : str, int
        The external recording's track and clip index.
    reference_track, reference_clip : str, int
        The camera audio's track and clip index.
    **options
        Passed to :func:`sync_files` / :func:`find_offset` (``max_offset_s``, ...).

    Returns
    -------
    (SyncResult, Decision)

    Raises
    ------
    SessionError
        For unknown tracks or clips.
    AnalysisError
        When the match is not convincing.
    """
    sr = session.sample_rate

    def get(name: str, index: int) -> Any:
        try:
            t = session.track(name)
        except KeyError:
            raise SessionError(f"no track named {name!r} to sync") from None
        if not 0 <= index < len(t.clips):
            raise SessionError(f"track {name!r} has no clip {index + 1} (it has {len(t.clips)})")
        return t.clips[index]

    ext_clip = get(track, clip)
    ref_clip = get(reference_track, reference_clip)
    res = sync_files(session.resolve(ref_clip.source), session.resolve(ext_clip.source), sample_rate=sr,
                     reference_stream=ref_clip.stream, external_stream=ext_clip.stream, **options)
    ref_start = session.samples(ref_clip.start, position=True)
    ref_in = session.samples(ref_clip.in_)
    ext_in = session.samples(ext_clip.in_)
    start = ref_start + ext_in + res.offset - ref_in
    old = session.samples(ext_clip.start, position=True)
    trimmed = 0
    if start < 0:
        trimmed = -start
        ext_clip.in_ = f"{ext_in + trimmed}s"
        if ext_clip.duration is not None:
            dur = session.samples(ext_clip.duration) - trimmed
            if dur <= 0:
                raise AnalysisError(f"{track}/clip {clip + 1}: once synced, the clip lies wholly before the "
                                    "timeline's start")
            ext_clip.duration = f"{dur}s"
        start = 0
    ext_clip.start = f"{start}s"
    action = f"moved to {start / sr:.6f} s ({start} samples)" + (
        f", in-point advanced {trimmed / sr:.3f} s" if trimmed else "")
    reason = (f"its audio matches {reference_track}/clip {reference_clip + 1} at an offset of {res.offset} samples "
              f"({res.offset_s:+.6f} s), confidence {res.confidence:.0f} (peak {res.peak_ratio:.1f}x the next)"
              + ("; polarity inverted" if res.polarity < 0 else ""))
    dec = Decision("sync", f"{track}/clip {clip + 1}", action, reason, start_s=start / sr,
                   value_db=None, data={**res.to_json(), "moved_by_samples": start - old})
    return res, dec
