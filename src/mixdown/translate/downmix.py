"""Downmix matrices: 7.1 -> 5.1 -> stereo -> mono.

Channel orders are FFmpeg's: 5.1 ``FL FR FC LFE BL BR`` (mixdown's L R C LFE Ls Rs),
7.1 ``FL FR FC LFE BL BR SL SR``.

- 5.1 -> stereo is ITU-R BS.775's 3/2 -> 2/0 downmix:
  ``Lo = L + 0.7071 C + 0.7071 Ls``, ``Ro = R + 0.7071 C + 0.7071 Rs``; the LFE is
  not carried (BS.775 leaves it out of the downmix).
- 7.1 -> 5.1 folds each side/back pair into one surround at -3 dB each
  (``Ls = 0.7071 SL + 0.7071 BL``), the same -3 dB BS.775 gives a channel folded
  into another; front channels and the LFE pass unchanged.
- stereo -> mono is ``(L + R) / 2``: what a single-speaker device plays.

A downmix can overload (in-phase centre and surrounds add): deliverables made from
one are re-normalised and re-checked on their own.
"""

from __future__ import annotations

import numpy as np

from ..errors import MixdownError

M3DB = float(np.float32(0.7071067811865476))

#: rows: output channels, columns: input channels
MATRICES: dict[tuple[str, str], np.ndarray] = {
    ("5.1", "stereo"): np.array([
        [1.0, 0.0, M3DB, 0.0, M3DB, 0.0],
        [0.0, 1.0, M3DB, 0.0, 0.0, M3DB],
    ]),
    ("7.1", "5.1"): np.array([
        [1, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, M3DB, 0, M3DB, 0],
        [0, 0, 0, 0, 0, M3DB, 0, M3DB],
    ], dtype=np.float64),
    ("stereo", "mono"): np.array([[0.5, 0.5]]),
}
CHANNELS = {"mono": 1, "stereo": 2, "5.1": 6, "7.1": 8}
_ORDER = ("7.1", "5.1", "stereo", "mono")


def matrix(source: str, target: str) -> np.ndarray:
    """The matrix taking ``source`` to ``target`` (a product of the steps above).

    Raises
    ------
    MixdownError
        When ``target`` is not below ``source`` in 7.1 > 5.1 > stereo > mono.
    """
    if source not in _ORDER or target not in _ORDER or _ORDER.index(target) < _ORDER.index(source):
        raise MixdownError(f"cannot downmix {source} to {target} (downmixes go 7.1 > 5.1 > stereo > mono)")
    m = np.eye(CHANNELS[source])
    for a, b in zip(_ORDER[_ORDER.index(source):], _ORDER[_ORDER.index(source) + 1: _ORDER.index(target) + 1]):
        m = MATRICES[(a, b)] @ m
    return m


def layout_of(channels: int) -> str:
    """The layout a channel count is read as (8: 7.1 in FFmpeg's order)."""
    for name, n in CHANNELS.items():
        if n == channels:
            return name
    raise MixdownError(f"cannot downmix {channels} channels (mono, stereo, 5.1 or 7.1)")


def apply(block: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``m @ block`` in float64 (exact for the coefficients above), float32 out."""
    return (m @ np.asarray(block, dtype=np.float64)).astype(np.float32)
