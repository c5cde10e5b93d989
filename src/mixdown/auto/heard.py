"""What the mix hears of each track: one measuring render after the chains.

auto's analysis measures the sources (clips and their gains), before any insert: a
compressor, a de-esser, a denoiser or a person's EQ then changes what reaches the
mix. The second decision pass needs the tracks as processed, so this module renders
the session once with a tap on each track it is asked about (post-chain, post-fader,
latency-aligned with the timeline, :class:`~mixdown.render.engine.Renderer`) and keeps
per 100 ms hop only what the decisions need: the K-weighted energy (BS.1770's filter
and channel weights) and the energy in the speech-presence band (1–4 kHz, a 4th-order
Butterworth band-pass, channels summed), and for pairs of tracks the cross terms that
make the energy of their sum exact (two mics hear one voice: their sum is not the sum of
their energies). Memory does not grow with the programme: a few numbers per track per hop.

Tracks not asked about are muted in the measuring copy (nothing else is changed), so
the render costs what the tapped tracks' chains cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.levels import LevelSeries
from ..render.engine import DEFAULT_BLOCK, Renderer
from ..render.graph import check
from ..session.model import Session

PRESENCE_HZ = (1000.0, 4000.0)


@dataclass
class Heard:
    """Per tapped track, every 100 ms: K-weighted energy and presence-band energy.

    Attributes
    ----------
    levels : dict of str to LevelSeries
        K-weighted mean square per hop (BS.1770 channel weights), as the mix hears the track.
    band : dict of str to ndarray
        Mean square per hop in :data:`PRESENCE_HZ`, channels summed (unweighted).
    cross, band_cross : dict of (str, str) to ndarray
        For the pairs asked for, the mean of the product of the two tracks' K-weighted
        (channel-weighted) and band-passed signals per hop: with them the energy of a sum
        of tracks with gains ``a_i`` is exact, ``sum a_i a_j x_ij``, correlated parts
        (one voice on two mics) included.
    sample_rate, hop : int
    """

    levels: dict[str, LevelSeries]
    band: dict[str, np.ndarray]
    cross: dict[tuple[str, str], np.ndarray]
    band_cross: dict[tuple[str, str], np.ndarray]
    sample_rate: int
    hop: int

    def sum_energy(self, amp: dict[str, np.ndarray], *, band: bool = False) -> np.ndarray:
        """Energy per hop of the sum of the tracks in ``amp``, each times its amplitude per hop."""
        own = self.band if band else {n: s.energy for n, s in self.levels.items()}
        pairs = self.band_cross if band else self.cross
        n = min(len(own[k]) for k in amp)
        total = sum(own[k][:n] * amp[k][:n] ** 2 for k in amp)
        for (i, j), x in pairs.items():
            if i in amp and j in amp:
                total = total + 2.0 * amp[i][:n] * amp[j][:n] * x[:n]
        return np.maximum(total, 0.0)


class _Hops:
    """Means of a per-sample series over consecutive hops, streamed."""

    def __init__(self, hop: int) -> None:
        self.hop = hop
        self._carry = np.zeros(0)
        self._bins: list[np.ndarray] = []

    def add(self, power: np.ndarray) -> None:
        power = np.concatenate([self._carry, power])
        whole = power.size // self.hop
        if whole:
            self._bins.append(power[: whole * self.hop].reshape(whole, self.hop).mean(axis=1))
        self._carry = power[whole * self.hop:]

    def series(self) -> np.ndarray:
        bins = np.concatenate(self._bins) if self._bins else np.zeros(0)
        return np.append(bins, self._carry.mean()) if self._carry.size else bins


class _Filter:
    """A streaming second-order-section filter over (channels, n) blocks."""

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        self.sos = sos
        self.zi = np.zeros((sos.shape[0], channels, 2))

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from scipy.signal import sosfilt

        y, self.zi = sosfilt(self.sos, block.astype(np.float64), axis=-1, zi=self.zi)
        return y


def measure_heard(session: Session, names: list[str], *, pairs: Sequence[tuple[str, str]] = (),
                  block_size: int = DEFAULT_BLOCK, band: tuple[float, float] = PRESENCE_HZ) -> Heard:
    """Render ``session`` once and measure the tracks ``names`` as the mix hears them.

    Parameters
    ----------
    session : Session
        Rendered as it is (take off beforehand what must not be heard); tracks not in
        ``names`` are muted in a copy.
    names : list of str
        Tracks to tap (post-chain, post-fader and pan, at the session's width).
    pairs : list of (str, str)
        Pairs of ``names`` whose cross terms are kept (:attr:`Heard.cross`).
    block_size : int
    band : (float, float)
        Presence band, Hz.

    Returns
    -------
    Heard
    """
    from scipy.signal import butter

    from ..analysis.loudness import LAYOUT_WEIGHTS, k_weighting_sos

    s = session.copy_session()
    wanted = set(names)
    for t in s.tracks:
        if t.name not in wanted:
            t.mute = True
    graph = check(s)
    sr, ch = graph.sample_rate, graph.channels
    hop = round(sr / 10)
    w = np.asarray(LAYOUT_WEIGHTS.get(s.layout, [1.0] * ch), dtype=np.float64)[:ch, None]
    kf = {n: _Filter(k_weighting_sos(sr), ch) for n in names}
    bf = {n: _Filter(butter(2, band, btype="bandpass", fs=sr, output="sos"), ch) for n in names}
    acc: dict[tuple[str, Any], _Hops] = {key: _Hops(hop) for n in names for key in (("k", n), ("b", n))}
    acc.update({key: _Hops(hop) for p in pairs for key in (("kx", p), ("bx", p))})
    length = graph.length
    for pos, _, taps in Renderer(graph, block_size=block_size, taps={n: [n] for n in names}).blocks():
        keep = max(0, min(next(iter(taps.values())).shape[1], length - pos))
        if keep == 0:
            continue
        k = {n: kf[n](taps[n][:, :keep]) for n in names}
        b = {n: bf[n](taps[n][:, :keep]) for n in names}
        for n in names:
            acc[("k", n)].add((w * k[n] * k[n]).sum(axis=0))
            acc[("b", n)].add((b[n] * b[n]).sum(axis=0))
        for i, j in pairs:
            acc[("kx", (i, j))].add((w * k[i] * k[j]).sum(axis=0))
            acc[("bx", (i, j))].add((b[i] * b[j]).sum(axis=0))
    return Heard(levels={n: LevelSeries(acc[("k", n)].series(), sr, hop) for n in names},
                 band={n: acc[("b", n)].series() for n in names},
                 cross={p: acc[("kx", p)].series() for p in pairs},
                 band_cross={p: acc[("bx", p)].series() for p in pairs}, sample_rate=sr, hop=hop)
