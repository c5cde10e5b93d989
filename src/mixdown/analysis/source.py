"""What ``auto`` needs to know about a source file, computed once and cached.

Per source file: its K-weighted level every 100 ms (a :class:`LevelSeries` at the
file's own rate) and, for dialogue, its speech activity. Both come from one
streaming decode at the native rate; the speech detector gets a 16 kHz mono copy
made on the way. Results are cached beside the speech cache, keyed by the file's
path, size and modification time, so a re-run of ``auto`` on the same media decodes
nothing to decide (the render still decodes, of course).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..media.decode import open_clip_source, probe_clip_source
from ..media.memory import is_array_source
from . import cache
from .activity import RATE, Detector
from .levels import LevelMeter, LevelSeries
from .vad_cache import cache_directory, cache_key, load_cached, store_cached

LEVELS_VERSION = 1
_BLOCK = 1 << 16


@dataclass
class SourceAnalysis:
    """Levels (and speech activity, when asked) of one source file."""

    levels: LevelSeries
    activity: object | None  # mixdown.analysis.vad.SpeechActivity


def _levels_file(path: Path, stream: int | None, cache_dir: Path) -> tuple[Path, dict]:
    digest, key = cache.file_key(path, stream=stream, version=LEVELS_VERSION)
    return cache_dir / "levels" / f"{digest}.npz", key


def _load_levels(file: Path, key: dict) -> LevelSeries | None:
    hit = cache.load(file, key)
    if hit is None or "energy" not in hit[1]:
        return None
    meta, arrays = hit
    return LevelSeries(arrays["energy"], int(meta["sample_rate"]), int(meta["hop"]))


def _store_levels(file: Path, key: dict, series: LevelSeries) -> None:
    cache.store(file, key, {"sample_rate": series.sample_rate, "hop": series.hop}, {"energy": series.energy},
                what="level")


def compute(path: Path, *, stream: int | None, levels: bool, vad_method: str | None):
    """Decode once at the native rate; return (LevelSeries or None, SpeechActivity or None)."""
    import soxr

    info = probe_clip_source(path, stream=stream)
    layout = info.layout if info.layout in ("mono", "stereo", "5.0", "5.1") else None
    if levels and layout is None and info.channels not in (1, 2, 5, 6):
        raise MediaError(f"cannot measure a {info.channels}-channel layout ({info.layout})", file=path)
    meter = LevelMeter(info.sample_rate, info.channels, layout=layout) if levels else None
    det = Detector(vad_method) if vad_method else None
    rs = None
    if det is not None and info.sample_rate != RATE:
        rs = soxr.ResampleStream(info.sample_rate, RATE, info.channels, dtype="float32", quality="HQ")
    with open_clip_source(path, stream=stream, sample_rate=info.sample_rate, start=0) as reader:
        done = 0
        while done < info.frames:
            n = min(_BLOCK, info.frames - done)
            block = reader.read(n)
            done += n
            if meter is not None:
                meter.process(block)
            if det is not None:
                last = done >= info.frames
                x = rs.resample_chunk(np.ascontiguousarray(block.T), last=last) if rs is not None else block.T
                if x.size:
                    det.push(x.mean(axis=1, dtype=np.float32))
    act = det.finish(info.frames, info.sample_rate) if det is not None else None
    return (meter.series() if meter is not None else None), act


def analyse_source(path: str | os.PathLike[str], *, stream: int | None = None, vad_method: str | None = None,
                   cache_dir: str | os.PathLike[str] | None | bool = None) -> SourceAnalysis:
    """Levels (and speech activity with ``vad_method``) of a file, from the cache when possible.

    Parameters
    ----------
    path : str or Path
    stream : int, optional
        Audio stream index.
    vad_method : str, optional
        ``silero`` or ``energy`` to also detect speech.
    cache_dir : str, Path, None or False
        Cache root (None: ``$MIXDOWN_CACHE_DIR`` or ``~/.cache/mixdown``; False: no cache).
    """
    if is_array_source(path):  # audio in memory: nothing to key a cache by, and it is cheap to read
        return SourceAnalysis(*compute(path, stream=stream, levels=True, vad_method=vad_method))
    p = Path(path)
    if not p.is_file():
        raise MediaError("file not found", file=p)
    resolved = p.resolve()
    if cache_dir is False:
        series, act = compute(p, stream=stream, levels=True, vad_method=vad_method)
        return SourceAnalysis(series, act)
    vad_dir = cache_directory() if cache_dir in (None, True) else Path(cache_dir) / "vad"
    root = vad_dir.parent
    lfile, lkey = _levels_file(resolved, stream, root)
    series = _load_levels(lfile, lkey)
    act = None
    vfile = vkey = None
    if vad_method:
        digest, vkey = cache_key(resolved, vad_method, stream)
        vfile = vad_dir / f"{digest}.npz"
        act = load_cached(vfile, vkey)
    need_vad = bool(vad_method) and act is None
    if series is None or need_vad:
        new_series, new_act = compute(p, stream=stream, levels=series is None,
                                      vad_method=vad_method if need_vad else None)
        if series is None:
            series = new_series
            _store_levels(lfile, lkey, series)
        if need_vad:
            act = new_act
            store_cached(vfile, vkey, act)
    return SourceAnalysis(series, act)
