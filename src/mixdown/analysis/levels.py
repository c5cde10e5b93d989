"""Level series: K-weighted energy every 100 ms, for decisions that need *where* it is loud.

The loudness meter answers "how loud is the programme"; ``auto`` also asks "how
loud is this speaker over their own speech", "how loud is the music under the
dialogue" and "which track is talking here". A :class:`LevelSeries` keeps the
K-weighted mean square of each 100 ms hop (BS.1770 channel weights), from which
gated loudness over any set of regions follows with the same 400 ms blocks and
-70/-10 gates as integrated loudness. No true peak, no 10 ms grid: cheap enough
to run on every track.
"""

from __future__ import annotations

import numpy as np

from ..core.layouts import DEFAULT_LAYOUT, LAYOUT_WEIGHTS
from .gating import energy_to_lufs, gated_mean_energy
from .kweighting import k_weighting_sos

REL_GATE_LU = -10.0


class LevelMeter:
    """Streams audio into a :class:`LevelSeries`.

    Parameters
    ----------
    sample_rate : int
        Hz. Rates whose tenth of a second is not a whole number of samples use the
        nearest whole hop.
    channels : int
    layout : str, optional
        ``mono``, ``stereo`` or ``5.1`` for the BS.1770 channel weights.
    """

    def __init__(self, sample_rate: int, channels: int, *, layout: str | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.hop = round(sample_rate / 10)
        self.sos = k_weighting_sos(sample_rate)
        self.zi = np.zeros((self.sos.shape[0], channels, 2))
        self.weights = np.asarray(LAYOUT_WEIGHTS[layout or DEFAULT_LAYOUT[channels]], dtype=np.float64)
        self._acc = 0.0
        self._fill = 0
        self._bins: list[np.ndarray] = []

    def process(self, block: np.ndarray) -> None:
        """Add a (channels, n) block."""
        from ..core.kernels import sos_run

        n = block.shape[1]
        if n == 0:
            return
        sq = np.empty(block.shape, dtype=np.float64)
        sos_run(np.ascontiguousarray(block), self.sos, self.zi, sq, 0, n, True)
        power = self.weights @ sq
        i = 0
        if self._fill:
            take = min(self.hop - self._fill, n)
            self._acc += float(power[:take].sum())
            self._fill += take
            i = take
            if self._fill == self.hop:
                self._bins.append(np.array([self._acc / self.hop]))
                self._acc, self._fill = 0.0, 0
        whole = (n - i) // self.hop
        if whole:
            seg = power[i:i + whole * self.hop].reshape(whole, self.hop)
            self._bins.append(seg.mean(axis=1))
            i += whole * self.hop
        if i < n:
            self._acc += float(power[i:].sum())
            self._fill += n - i

    def series(self) -> "LevelSeries":
        """Everything so far (a trailing partial hop is averaged over its own length)."""
        bins = np.concatenate(self._bins) if self._bins else np.zeros(0)
        if self._fill:
            bins = np.append(bins, self._acc / self._fill)
        return LevelSeries(bins, self.sample_rate, self.hop)


class LevelSeries:
    """K-weighted energy per hop of 100 ms.

    Attributes
    ----------
    energy : ndarray of float64
        Weighted mean square of each hop; hop *k* covers samples ``[k*hop, (k+1)*hop)``.
    sample_rate, hop : int
    """

    def __init__(self, energy: np.ndarray, sample_rate: int, hop: int) -> None:
        self.energy = np.asarray(energy, dtype=np.float64)
        self.sample_rate = sample_rate
        self.hop = hop

    def __len__(self) -> int:
        return len(self.energy)

    def hop_lufs(self) -> np.ndarray:
        """Loudness of each 100 ms hop (-inf where silent)."""
        return energy_to_lufs(self.energy)

    def mask(self, regions: list[tuple[int, int]], *, min_fraction: float = 0.5) -> np.ndarray:
        """Boolean per hop: at least ``min_fraction`` of the hop lies inside ``regions``."""
        cover = np.zeros(len(self.energy) + 1)
        for a, b in regions:
            # fractional coverage of the hops a region touches, via a difference array
            a_h, b_h = a / self.hop, b / self.hop
            ia, ib = int(np.floor(a_h)), int(np.floor(b_h))
            if ia >= len(self.energy) or b <= a:
                continue
            ib = min(ib, len(self.energy))
            if ia == ib:
                cover[ia] += b_h - a_h
                continue
            cover[ia] += (ia + 1) - a_h
            cover[ia + 1:ib] += 1.0
            if ib < len(self.energy):
                cover[ib] += b_h - ib
        return cover[:-1] >= min_fraction - 1e-12

    def loudness(self, regions: list[tuple[int, int]] | None = None, *, gain_db: float = 0.0) -> float | None:
        """Gated loudness (BS.1770: 400 ms blocks, 75 % overlap, -70 LUFS and -10 LU gates).

        Parameters
        ----------
        regions : list of (start, end), optional
            Only blocks at least half inside these sample ranges count (dialogue gating).
        gain_db : float
            A gain to apply before gating (a fader move being considered).

        Returns
        -------
        float or None
            LUFS; None when no block passes the gates (undefined, never -70).
        """
        e = self.energy * 10 ** (gain_db / 10)
        if len(e) < 4:
            return None
        blocks = (e[:-3] + e[1:-2] + e[2:-1] + e[3:]) / 4.0
        if regions is not None:
            m = self.mask(regions).astype(np.float64)
            inside = (m[:-3] + m[1:-2] + m[2:-1] + m[3:]) >= 2.0
            blocks = blocks[inside]
        return gated_loudness(blocks)

    def shifted(self, gain_db: float) -> "LevelSeries":
        """The series after a static gain."""
        return LevelSeries(self.energy * 10 ** (gain_db / 10), self.sample_rate, self.hop)


def gated_loudness(block_energy: np.ndarray) -> float | None:
    """Integrated loudness of 400 ms block energies with the absolute and relative gates."""
    mean = gated_mean_energy(block_energy, REL_GATE_LU)
    return None if mean is None else float(energy_to_lufs(mean))
