"""Placing a mono source in 5.1 or 7.1 by azimuth, with a divergence (spread) control.

Speaker angles (degrees, positive to the left, 0 = front centre) are those of
ITU-R BS.2051 for FFmpeg's channel orders:

- 5.1 ``FL FR FC LFE BL BR``: +30, -30, 0, (LFE), +110, -110
- 7.1 ``FL FR FC LFE BL BR SL SR``: +30, -30, 0, (LFE), +135, -135, +90, -90

The source is panned between the two speakers either side of its azimuth with the
same constant-power sin/cos law as :func:`mixdown.dsp.spatial.pan_mono_to_stereo`
(a source at a speaker's angle plays from that speaker alone; halfway between two,
each gets -3 dB). ``divergence`` spreads it towards all the main (non-LFE) speakers
at equal power: the gains are ``sqrt((1 - d) g_i^2 + d / N)``, so the total power
stays that of the source for every ``d``. The LFE gets nothing (bass management
is a send, not a pan).
"""

from __future__ import annotations

import numpy as np

from ..errors import SessionError

#: (channel index, azimuth in degrees) of the main speakers of each layout
SPEAKERS: dict[str, tuple[tuple[int, float], ...]] = {
    "5.1": ((0, 30.0), (1, -30.0), (2, 0.0), (4, 110.0), (5, -110.0)),
    "7.1": ((0, 30.0), (1, -30.0), (2, 0.0), (4, 135.0), (5, -135.0), (6, 90.0), (7, -90.0)),
}
CHANNELS = {"5.1": 6, "7.1": 8}


def _ring(layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Speaker indices and angles in [0, 360), sorted by angle."""
    sp = sorted(((ch, az % 360.0) for ch, az in SPEAKERS[layout]), key=lambda s: s[1])
    return np.array([c for c, _ in sp]), np.array([a for _, a in sp])


def surround_gains(layout: str, azimuth: float | np.ndarray, divergence: float | np.ndarray = 0.0) -> np.ndarray:
    """Channel gains for a source at ``azimuth``.

    Parameters
    ----------
    layout : {"5.1", "7.1"}
    azimuth : float or ndarray of shape (n,)
        Degrees, positive to the left (+90 = hard left), any value (wrapped).
    divergence : float or ndarray of shape (n,)
        0 (a point source) .. 1 (equal power in every main speaker).

    Returns
    -------
    ndarray of float64, shape (channels, n) (n = 1 for scalars)
    """
    if layout not in SPEAKERS:
        raise SessionError(f"surround pan needs a 5.1 or 7.1 layout, got {layout!r}")
    az = np.atleast_1d(np.asarray(azimuth, dtype=np.float64)) % 360.0
    d = np.broadcast_to(np.atleast_1d(np.asarray(divergence, dtype=np.float64)), az.shape)
    if np.any((d < 0) | (d > 1)):
        raise SessionError("divergence must be within 0 .. 1")
    chans, angles = _ring(layout)
    nxt = np.searchsorted(angles, az, side="right") % len(angles)  # the speaker after (counter-clockwise)
    prv = (nxt - 1) % len(angles)
    span = (angles[nxt] - angles[prv]) % 360.0
    frac = ((az - angles[prv]) % 360.0) / span
    theta = frac * (np.pi / 2)  # the stereo law's theta between the pair
    g = np.zeros((CHANNELS[layout], az.shape[0]))
    cols = np.arange(az.shape[0])
    np.add.at(g, (chans[prv], cols), np.cos(theta))
    np.add.at(g, (chans[nxt], cols), np.sin(theta))
    main = chans
    g[main] = np.sqrt((1.0 - d) * g[main] ** 2 + d / len(main))
    return g


def pan_mono_to_surround(mono: np.ndarray, layout: str, azimuth: float | np.ndarray,
                         divergence: float | np.ndarray = 0.0) -> np.ndarray:
    """Place a mono signal in 5.1/7.1 (see the module docstring).

    Parameters
    ----------
    mono : ndarray, shape (1, n) or (n,)
    layout : {"5.1", "7.1"}
    azimuth, divergence : float or ndarray of shape (n,)
        Per sample when arrays (automation).

    Returns
    -------
    ndarray of float32, shape (6 or 8, n)
    """
    x = np.asarray(mono)
    if x.ndim == 2:
        if x.shape[0] != 1:
            raise ValueError(f"pan_mono_to_surround needs one channel, got {x.shape[0]}")
        x = x[0]
    g = surround_gains(layout, azimuth, divergence)
    return (g * x.astype(np.float64)).astype(np.float32)
