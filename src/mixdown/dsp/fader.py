"""A strip's fader: its gain (static + automation, dB) and its panner, as a processor."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .automation import db_to_amp
from .base import Param, Processor
from .panlaw import pan_gains, static_pan_gains

__all__ = ["Fader"]


class Fader(Processor):
    """Gain then pan: the last stage of a track, bus or master strip.

    Parameters
    ----------
    gain_db : float
        Static gain, dB (hand + auto layer).
    gain_env : Envelope or EnvelopeSum, optional
        Gain automation, dB, on the timeline (added to ``gain_db``).
    pan : float
        -1 .. 1; a mono strip is placed into stereo, a stereo one balanced (see
        :func:`~mixdown.dsp.panlaw.pan_gains`).
    pan_env : Envelope, optional
        Pan automation, on the timeline.
    out_channels : int, optional
        Channels after the panner (default: the strip's own).
    delay : int
        Samples by which the audio reaching the fader lags the timeline (the
        strip's input compensation plus its inserts' latency): the automation is
        read that much earlier, so a keyframe at ``t`` acts on the audio of ``t``.
    """

    kind = ""  # not registered: a strip's gain and pan are fields of the session, not an insert
    PARAMS: ClassVar[dict[str, Param]] = {}

    def __init__(self, *, gain_db: float = 0.0, gain_env: Any = None, pan: float = 0.0, pan_env: Any = None,
                 out_channels: int | None = None, delay: int = 0) -> None:
        super().__init__()
        self.gain_db = float(gain_db)
        self.gain_env = gain_env
        self.pan = float(pan)
        self.pan_env = pan_env
        self.out_channels = out_channels
        self.delay = int(delay)

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        x = block
        n = x.shape[1]
        at = position - self.delay
        db: np.ndarray | float = self.gain_db
        if self.gain_env is not None:
            env = self.gain_env
            db = db + (env.evaluate(at, n) if env.changes_within(at, n) else env.at(at))
        if np.ndim(db) or db != 0.0:
            x = x * np.asarray(db_to_amp(db), dtype=np.float32)
        if (self.out_channels or self.channels) == 2 and self.channels in (1, 2):
            x = self._pan(x, at, n)
        return x

    def _pan(self, x: np.ndarray, at: int, n: int) -> np.ndarray:
        pan: np.ndarray | float = self.pan
        if self.pan_env is not None:
            env = self.pan_env
            pan = env.evaluate(at, n) if env.changes_within(at, n) else env.at(at)
        mono = self.channels == 1
        if not (mono or np.ndim(pan) or pan != 0.0):
            return x
        gl, gr = pan_gains(pan, mono_source=mono) if np.ndim(pan) else static_pan_gains(float(pan), mono)
        src_l = x[0]
        src_r = x[0] if mono else x[1]
        return np.stack([src_l * np.float32(gl) if np.ndim(gl) == 0 else src_l * gl.astype(np.float32),
                         src_r * np.float32(gr) if np.ndim(gr) == 0 else src_r * gr.astype(np.float32)])
