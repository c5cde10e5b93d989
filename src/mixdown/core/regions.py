"""Half-open sample regions ``(start, end)`` on an integer sample clock."""

from __future__ import annotations

import numpy as np

__all__ = ["Region", "complement", "region_mask"]

Region = tuple[int, int]


def region_mask(regions: list[tuple[int, int]], start: int, n: int) -> np.ndarray:
    """Boolean mask of samples ``start .. start+n`` lying inside any half-open region."""
    m = np.zeros(n, dtype=bool)
    for a, b in regions:
        lo, hi = max(a - start, 0), min(b - start, n)
        if lo < hi:
            m[lo:hi] = True
    return m


def complement(regions: list[Region], lo: int, hi: int) -> list[Region]:
    """The parts of ``[lo, hi)`` outside every region (regions may overlap and come in any order)."""
    out: list[Region] = []
    t = lo
    for a, b in sorted(regions):
        if b <= t:
            continue
        if a > t:
            out.append((t, min(a, hi)))
        t = max(t, b)
        if t >= hi:
            break
    if t < hi:
        out.append((t, hi))
    return [(a, b) for a, b in out if b > a]
