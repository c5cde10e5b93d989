"""Waveform peaks: a pyramid of min/max per bin, computed in one pass and cached by source.

The studio never sends audio to draw a waveform. Each source is decoded once, at
the session rate (through the same reader the renderer uses, so a bin lines up
with the samples a clip plays), into min/max over bins of :data:`BASE_BIN` samples
(the extremes over every channel); coarser levels, each :data:`FACTOR` times
wider, are reductions of that one array. The pyramid is cached beside the VAD and
level caches, keyed by the source's path, size, modification time and the rate.

A lane's peaks are then composed on the timeline from its clips' pyramids: for a
view of ``bin`` samples per column the level with the widest bins that fit is
reduced to columns. Below :data:`BASE_BIN` samples per column (zoomed to samples)
the few samples on screen are read from the source directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BASE_BIN = 64
FACTOR = 4
LEVELS = 7                      # 64 .. 262144 samples per bin
VERSION = 1
READ = 1 << 20                  # frames per decode read
MAX_COLUMNS = 16384             # columns one request may ask for
MAX_DIRECT = 1 << 18            # samples read directly for sub-base-bin views


@dataclass
class Pyramid:
    """Min/max peaks of one source at the session rate.

    Attributes
    ----------
    frames : int
        Source length in session-rate samples.
    levels : list of (ndarray, ndarray)
        ``(lo, hi)`` float32 per level; level ``k`` has bins of ``BASE_BIN * FACTOR**k`` samples.
    """

    frames: int
    levels: list[tuple[np.ndarray, np.ndarray]]

    def bin_size(self, level: int) -> int:
        return BASE_BIN * FACTOR ** level


def _reduce(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = -(-lo.shape[0] // FACTOR)
    pad = n * FACTOR - lo.shape[0]
    if pad:
        lo = np.concatenate([lo, np.full(pad, lo[-1] if lo.size else 0, np.float32)])
        hi = np.concatenate([hi, np.full(pad, hi[-1] if hi.size else 0, np.float32)])
    return lo.reshape(n, FACTOR).min(axis=1), hi.reshape(n, FACTOR).max(axis=1)


def compute(path: Path, *, sample_rate: int, stream: int | None = None) -> Pyramid:
    """Decode ``path`` once and build its pyramid.

    Raises
    ------
    MediaError
        When the file cannot be read.
    """
    from ..media.decode import open_source, probe

    info = probe(path, stream=stream)
    frames = info.frames * sample_rate // info.sample_rate
    nbins = -(-frames // BASE_BIN)
    lo = np.zeros(nbins, np.float32)
    hi = np.zeros(nbins, np.float32)
    with open_source(path, stream=stream, sample_rate=sample_rate) as reader:
        done = 0
        while done < frames:
            n = min(READ, frames - done)
            block = reader.read(n)
            b0 = done // BASE_BIN            # READ is a multiple of BASE_BIN: blocks start on a bin
            whole = n // BASE_BIN
            if whole:
                seg = block[:, :whole * BASE_BIN].reshape(block.shape[0], whole, BASE_BIN)
                lo[b0:b0 + whole] = seg.min(axis=(0, 2))
                hi[b0:b0 + whole] = seg.max(axis=(0, 2))
            if n % BASE_BIN:
                tail = block[:, whole * BASE_BIN:]
                lo[b0 + whole] = tail.min()
                hi[b0 + whole] = tail.max()
            done += n
    levels = [(lo, hi)]
    for _ in range(1, LEVELS):
        levels.append(_reduce(*levels[-1]))
    return Pyramid(frames, levels)


class PeakStore:
    """Pyramids by source, computed once each (in memory and in the on-disk cache).

    Parameters
    ----------
    sample_rate : int
        The session rate.
    cache_dir : Path or None
        Folder of the cache files; None keeps pyramids in memory only.
    """

    def __init__(self, sample_rate: int, cache_dir: Path | None) -> None:
        self.sample_rate = int(sample_rate)
        self.cache_dir = cache_dir
        self._mem: dict[tuple[Path, int | None], Pyramid] = {}
        self._locks: dict[tuple[Path, int | None], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, path: Path, stream: int | None = None) -> Pyramid:
        """The pyramid of a source, computing and caching it on first use."""
        key = (Path(path).resolve(), stream)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            pyr = self._mem.get(key)
            if pyr is None:
                pyr = self._load(key) or self._compute(key)
                self._mem[key] = pyr
            return pyr

    def _file_key(self, key: tuple[Path, int | None]) -> tuple[Path, dict]:
        from ..analysis.cache import file_key

        assert self.cache_dir is not None
        digest, k = file_key(key[0], stream=key[1], rate=self.sample_rate, base=BASE_BIN, factor=FACTOR,
                             levels=LEVELS, version=VERSION)
        return self.cache_dir / f"{digest}.npz", k

    def _load(self, key: tuple[Path, int | None]) -> Pyramid | None:
        if self.cache_dir is None:
            return None
        from ..analysis import cache

        file, k = self._file_key(key)
        hit = cache.load(file, k)
        if hit is None:
            return None
        meta, arrays = hit
        levels = [(arrays[f"lo{i}"].astype(np.float32), arrays[f"hi{i}"].astype(np.float32))
                  for i in range(LEVELS)]
        return Pyramid(int(meta["frames"]), levels)

    def _compute(self, key: tuple[Path, int | None]) -> Pyramid:
        pyr = compute(key[0], sample_rate=self.sample_rate, stream=key[1])
        if self.cache_dir is not None:
            from ..analysis import cache

            file, k = self._file_key(key)
            arrays = {}
            for i, (lo, hi) in enumerate(pyr.levels):
                # float16 keeps 3 significant digits: far finer than a pixel
                arrays[f"lo{i}"], arrays[f"hi{i}"] = lo.astype(np.float16), hi.astype(np.float16)
            cache.store(file, k, {"frames": pyr.frames}, arrays, what="peaks")
        return pyr


@dataclass
class ClipSpan:
    """Where a clip's source samples land on the timeline (session-rate samples)."""

    path: Path
    stream: int | None
    start: int
    source_in: int
    length: int


def lane_peaks(store: PeakStore, clips: list[ClipSpan], *, start: int, bin: int, count: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Min/max of a lane's clips over ``count`` columns of ``bin`` samples from ``start``.

    Columns with no clip are 0. Overlapping clips take the extremes of both.

    Returns
    -------
    (lo, hi) : ndarray of float32, shape (count,)
    """
    lo = np.zeros(count, np.float32)
    hi = np.zeros(count, np.float32)
    end = start + bin * count
    for c in clips:
        a, b = max(start, c.start), min(end, c.start + c.length)
        if a >= b:
            continue
        j0, j1 = (a - start) // bin, -(-(b - start) // bin)
        if bin < BASE_BIN:
            col_lo, col_hi = _direct(c, start + j0 * bin, bin, j1 - j0, store.sample_rate)
        else:
            col_lo, col_hi = _from_pyramid(store.get(c.path, c.stream), c, start + j0 * bin, bin, j1 - j0)
        lo[j0:j1] = np.minimum(lo[j0:j1], col_lo)
        hi[j0:j1] = np.maximum(hi[j0:j1], col_hi)
    return lo, hi


def _from_pyramid(pyr: Pyramid, c: ClipSpan, t0: int, bin: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    level = 0
    while level + 1 < LEVELS and pyr.bin_size(level + 1) <= bin:
        level += 1
    size = pyr.bin_size(level)
    plo, phi = pyr.levels[level]
    # column j covers source samples [s0 + j*bin, s0 + (j+1)*bin), clamped to the clip
    s0 = t0 - c.start + c.source_in
    edges = s0 + np.arange(count + 1, dtype=np.int64) * bin
    edges = np.clip(edges, c.source_in, c.source_in + c.length)
    i0 = np.minimum(edges[:-1] // size, plo.shape[0] - 1)
    i1 = np.maximum(np.minimum(-(-edges[1:] // size), plo.shape[0]), i0 + 1)
    # the bins of consecutive columns are contiguous ranges: reduceat over their starts
    idx = np.arange(i0[0], i1[-1])
    low = np.minimum.reduceat(plo[idx], i0 - i0[0])
    high = np.maximum.reduceat(phi[idx], i0 - i0[0])
    empty = edges[1:] <= edges[:-1]
    low[empty], high[empty] = 0.0, 0.0
    return low, high


def _direct(c: ClipSpan, t0: int, bin: int, count: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max of columns narrower than the pyramid's base, from the samples themselves."""
    from ..media.decode import open_source

    lo = np.zeros(bin * count, np.float32)
    hi = np.zeros(bin * count, np.float32)
    lead = max(c.start - t0, 0)                      # columns' samples before the clip begins
    s0 = c.source_in + max(t0 - c.start, 0)
    n = min(bin * count - lead, c.source_in + c.length - s0, MAX_DIRECT)
    if n > 0:
        with open_source(c.path, stream=c.stream, sample_rate=sample_rate, start=s0) as reader:
            block = reader.read(n)
        lo[lead:lead + n] = block.min(axis=0)
        hi[lead:lead + n] = block.max(axis=0)
    return lo.reshape(count, bin).min(axis=1), hi.reshape(count, bin).max(axis=1)
