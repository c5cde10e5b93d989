"""BS.1770 gating: loudness of mean squares, the -70 LUFS / -10 LU gates, EBU Tech 3342 loudness range."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ABSOLUTE_GATE_ENERGY", "ABSOLUTE_GATE_LUFS", "LOUDNESS_OFFSET", "RELATIVE_GATE_LU", "energy_to_lufs",
           "gated_mean_energy", "loudness_range", "lufs_to_energy"]

LOUDNESS_OFFSET = -0.691  # BS.1770: L = -0.691 + 10 log10(sum G_i z_i)
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_LRA_LOW, _LRA_HIGH = 0.10, 0.95


def energy_to_lufs(energy: np.ndarray | float) -> Any:
    """BS.1770 loudness (LUFS) of a channel-weighted mean square; -inf for 0."""
    with np.errstate(divide="ignore"):
        return LOUDNESS_OFFSET + 10.0 * np.log10(energy)


def lufs_to_energy(lufs: float) -> float:
    """The channel-weighted mean square of a loudness in LUFS."""
    return 10.0 ** ((lufs - LOUDNESS_OFFSET) / 10.0)


ABSOLUTE_GATE_ENERGY = lufs_to_energy(ABSOLUTE_GATE_LUFS)


def gated_mean_energy(energies: np.ndarray, relative_gate_lu: float) -> float | None:
    """Mean energy of the blocks passing the absolute and relative gates (BS.1770)."""
    above = energies[energies > ABSOLUTE_GATE_ENERGY]
    if above.size == 0:
        return None
    relative = float(np.mean(above)) * 10.0 ** (relative_gate_lu / 10.0)
    kept = above[above > relative]
    if kept.size == 0:  # pragma: no cover - the mean of a set always has members above -10 LU
        return None
    return float(np.mean(kept))


def loudness_range(short_term_energies: np.ndarray) -> float | None:
    """EBU Tech 3342 loudness range of short-term energies, LU."""
    above = short_term_energies[short_term_energies > ABSOLUTE_GATE_ENERGY]
    if above.size == 0:
        return None
    relative = float(np.mean(above)) * 10.0 ** (LRA_RELATIVE_GATE_LU / 10.0)
    kept = np.sort(above[above > relative])
    n = kept.size
    # Tech 3342's reference: value at round((n-1)*p) of the sorted list (round half up).
    lo = kept[int(math.floor((n - 1) * _LRA_LOW + 0.5))]
    hi = kept[int(math.floor((n - 1) * _LRA_HIGH + 0.5))]
    return float(energy_to_lufs(hi) - energy_to_lufs(lo))
