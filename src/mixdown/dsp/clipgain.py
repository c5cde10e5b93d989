"""Clip gain and fades: the one gain curve a clip's audio gets before its track's inserts.

The render engine applies it block by block (:meth:`ClipGain.block`); the analysis
of ``auto`` reads it at the centres of its 100 ms hops (:meth:`ClipGain.at`). Both
evaluate the same function of the clip-relative position ``i`` (samples from the
clip's first sample):

- fade-in over ``fade_in`` samples: ``curve(i / fade_in)``, 1 from ``fade_in`` on;
- fade-out over the last ``fade_out`` samples: ``curve((length - 1 - i) / fade_out)``,
  so the clip's last sample is at 0 and the first faded one just under 1;
- times the clip gain (dB, plus its automation) as an amplitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .automation import db_to_amp

__all__ = ["FADE_SHAPES", "ClipGain", "fade_curve"]

FADE_SHAPES = ("linear", "equal-power", "log", "s-curve")


def fade_curve(x: np.ndarray, shape: str) -> np.ndarray:
    """Gain of a fade-in at progress ``x`` in [0, 1] (a fade-out uses ``1 - x``).

    ``linear`` is a straight amplitude ramp; ``equal-power`` a quarter sine (two
    crossfading equal-power fades keep constant power); ``s-curve`` a raised cosine;
    ``log`` rises linearly in dB from -60 dB (how a fader moved at constant speed sounds).
    """
    if shape == "linear":
        return x
    if shape == "equal-power":
        return np.sin(x * (np.pi / 2))
    if shape == "s-curve":
        return 0.5 - 0.5 * np.cos(np.pi * x)
    if shape == "log":
        return np.where(x > 0, np.power(10.0, 3.0 * (x - 1.0)), 0.0)
    raise ValueError(shape)


@dataclass(frozen=True)
class ClipGain:
    """A clip's gain curve (all times in samples, clip-relative).

    Attributes
    ----------
    length : int
        Clip length.
    gain_db : float
        Static clip gain, dB.
    envelope : Envelope or EnvelopeSum, optional
        Gain automation, dB, clip-relative positions.
    fade_in, fade_out : int
        Fade lengths.
    fade_in_shape, fade_out_shape : str
        One of :data:`FADE_SHAPES`.
    """

    length: int
    gain_db: float = 0.0
    envelope: Any = None
    fade_in: int = 0
    fade_in_shape: str = "linear"
    fade_out: int = 0
    fade_out_shape: str = "linear"

    def _fade_out(self, i: np.ndarray) -> np.ndarray:
        x = np.clip((self.length - 1 - i) / self.fade_out, 0.0, 1.0)
        return np.where(i >= self.length - self.fade_out, fade_curve(x, self.fade_out_shape), 1.0)

    def at(self, i: np.ndarray) -> np.ndarray:
        """Amplitude at clip-relative positions ``i`` (float64), e.g. the centres of analysis hops."""
        i = np.asarray(i)
        db = self.gain_db + (self.envelope.at_positions(i) if self.envelope is not None else 0.0)
        amp = np.asarray(db_to_amp(db)) * np.ones(i.shape)
        if self.fade_in:
            amp = amp * np.where(i < self.fade_in, fade_curve(np.clip(i / self.fade_in, 0.0, 1.0), self.fade_in_shape), 1.0)
        if self.fade_out:
            amp = amp * self._fade_out(i)
        return amp

    def block(self, offset: int, n: int) -> np.ndarray | None:
        """Amplitude over ``[offset, offset + n)`` (float64 (n,)), or None where it is unity throughout."""
        db: np.ndarray | float = self.gain_db
        if self.envelope is not None:
            env = self.envelope
            db = db + (env.evaluate(offset, n) if env.changes_within(offset, n) else env.at(offset))
        g = None
        if np.ndim(db) or db != 0.0:
            g = np.broadcast_to(db_to_amp(db), (n,)).astype(np.float64)
        idx = None
        if self.fade_in and offset < self.fade_in:
            idx = np.arange(offset, offset + n)
            f = fade_curve(np.clip(idx / self.fade_in, 0.0, 1.0), self.fade_in_shape)
            g = f if g is None else g * f
        if self.fade_out and offset + n > self.length - self.fade_out:
            idx = np.arange(offset, offset + n) if idx is None else idx
            f = self._fade_out(idx)
            g = f if g is None else g * f
        return g
