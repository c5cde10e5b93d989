"""Explicit channel-layout rules: no layout is ever guessed.

Channel order of 5.1 everywhere in mixdown: ``L R C LFE Ls Rs`` (SMPTE / WAVE /
FFmpeg order).

=========  ===============================================================
from->to   rule
=========  ===============================================================
n -> n     identity (a copy)
1 -> 2     constant power: each side ``x * cos(pi/4)`` (-3 dB), so the
           acoustic power of a centred mono source is unchanged
2 -> 1     ``(L + R) * sqrt(0.5)`` (-3 dB sum): a centred source keeps its
           level, uncorrelated L/R keep their power
1 -> 6     the centre channel (C), all others silent
2 -> 6     L, R to front left/right, all others silent
6 -> 2     ITU-R BS.775 downmix: ``L + 0.7071 C + 0.7071 Ls``,
           ``R + 0.7071 C + 0.7071 Rs``; LFE dropped (as BS.775 recommends)
=========  ===============================================================

Anything else raises :class:`~mixdown.errors.MediaError`. The 6->2 downmix may
exceed full scale on hot material; mixdown's master stage measures and limits after
it, so no hidden gain is applied here.

For *measuring* (never for mixing), a file that names no layout is read with the
default layout of its channel count, and :func:`measuring_layout` says so: 8
channels are 7.1 in FFmpeg's order ``FL FR FC LFE BL BR SL SR`` (what FFmpeg itself
guesses for 8 channels).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.layouts import LAYOUT_WEIGHTS
from ..errors import MediaError

#: -3 dB, the pan-law and downmix coefficient (= cos(pi/4) = 1/sqrt(2)).
MINUS_3DB = math.sqrt(0.5)

L, R, C, LFE, LS, RS = range(6)


def _downmix_51(block: np.ndarray) -> np.ndarray:
    out = np.empty((2, block.shape[1]), np.float32)
    k = np.float32(MINUS_3DB)
    np.multiply(block[C] + block[LS], k, out=out[0])
    out[0] += block[L]
    np.multiply(block[C] + block[RS], k, out=out[1])
    out[1] += block[R]
    return out


def can_map(from_channels: int, to_channels: int) -> bool:
    """Whether :func:`map_channels` has a rule for this pair of channel counts."""
    return from_channels == to_channels or (from_channels, to_channels) in {
        (1, 2),
        (2, 1),
        (1, 6),
        (2, 6),
        (6, 2),
    }


def map_channels(block: np.ndarray, to_channels: int) -> np.ndarray:
    """Convert a block to another channel count by the rules above.

    Parameters
    ----------
    block : ndarray
        float32 ``(channels, frames)``.
    to_channels : int
        Wanted channel count: 1, 2 or 6 (or the block's own count).

    Returns
    -------
    ndarray
        float32 ``(to_channels, frames)``, a new array (never a view of ``block``).

    Raises
    ------
    MediaError
        No rule for this pair of channel counts.
    """
    if block.ndim != 2:
        raise ValueError(f"block must be (channels, frames), got shape {block.shape}")
    n = block.shape[0]
    block = np.asarray(block, dtype=np.float32)
    if n == to_channels:
        return block.copy()
    frames = block.shape[1]
    if (n, to_channels) == (1, 2):
        side = block[0] * np.float32(MINUS_3DB)
        return np.stack([side, side])
    if (n, to_channels) == (2, 1):
        return ((block[0] + block[1]) * np.float32(MINUS_3DB))[None, :]
    if (n, to_channels) == (1, 6):
        out = np.zeros((6, frames), np.float32)
        out[C] = block[0]
        return out
    if (n, to_channels) == (2, 6):
        out = np.zeros((6, frames), np.float32)
        out[L] = block[0]
        out[R] = block[1]
        return out
    if (n, to_channels) == (6, 2):
        return _downmix_51(block)
    raise MediaError(
        f"no channel rule from {_name(n)} to {_name(to_channels)}; mixdown maps "
        "mono<->stereo, mono/stereo->5.1 and 5.1->stereo (ITU-R BS.775); "
        "convert the source first"
    )


def _name(n: int) -> str:
    return {1: "mono (1 channel)", 2: "stereo (2 channels)", 6: "5.1 (6 channels)"}.get(n, f"{n} channels")


#: Layout assumed for measuring a file that names none, by channel count.
DEFAULT_MEASURING_LAYOUT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}
#: Channel order of the layouts the loudness meter weights (FFmpeg's names).
LAYOUT_ORDER = {
    "mono": "FC", "stereo": "FL FR", "5.0": "FL FR FC BL BR", "5.1": "FL FR FC LFE BL BR",
    "7.1": "FL FR FC LFE BL BR SL SR",
}


def measuring_layout(channels: int, name: str, *, file: object = None) -> tuple[str, bool]:
    """The loudness meter's layout for a stream, and whether it was assumed.

    Parameters
    ----------
    channels : int
    name : str
        The layout the file names (``MediaInfo.layout``: ``stereo``, ``5.1``,
        ``7.1``, or a bare count such as ``8ch`` when it names none).
    file : path, optional
        For the error message.

    Returns
    -------
    (layout, assumed)
        ``assumed`` is True when the file names no layout and it has more than two
        channels (mono and stereo are what one and two channels are).

    Raises
    ------
    MediaError
        A named layout the meter has no weights for, or a channel count with no default.
    """
    if name in LAYOUT_WEIGHTS and len(LAYOUT_WEIGHTS[name]) == channels:
        return name, False
    if name in ("5.1(side)",) and channels == 6:
        return "5.1", False
    generic = not name or name.endswith(("ch", "channels"))  # "8ch", "8 channels": only a count
    if generic and channels in DEFAULT_MEASURING_LAYOUT:
        return DEFAULT_MEASURING_LAYOUT[channels], channels > 2
    where = f"{file}: " if file is not None else ""
    known = ", ".join(f"{k} ({v})" for k, v in LAYOUT_ORDER.items())
    raise MediaError(f"{where}cannot measure a {channels}-channel stream laid out as {name!r}: "
                     f"mixdown weighs {known}")

