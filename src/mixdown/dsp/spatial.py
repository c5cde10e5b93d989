"""Spatial processors: pan/balance, stereo width (mid/side), delay and reverb.

Processors keep the channel count. Stereo operations act on the left/right pairs
of a layout (:func:`stereo_pairs`): on 5.1 (SMPTE order L R C LFE Ls Rs) the front
and surround pairs; centre and LFE are left alone. Placing a mono source in a
stereo mix is the render engine's job, with :func:`pan_mono_to_stereo`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SessionError
from .automation import db_to_amp
from .base import Param, Processor
from .eq import check_block, envelope_extremes
from .panlaw import pan_gains

SQRT2 = math.sqrt(2.0)

# left/right pairs per channel count (ITU/SMPTE orders: 3 = L R C, 4 = L R Ls Rs,
# 5 = L R C Ls Rs, 6 = 5.1, 7 = 6.1 with back centre, 8 = 7.1)
_PAIRS: dict[int, tuple[tuple[int, int], ...]] = {
    1: (),
    2: ((0, 1),),
    3: ((0, 1),),
    4: ((0, 1), (2, 3)),
    5: ((0, 1), (3, 4)),
    6: ((0, 1), (4, 5)),
    7: ((0, 1), (4, 5)),
    8: ((0, 1), (4, 5), (6, 7)),
}
_LFE = {6: 3, 7: 3, 8: 3}


def stereo_pairs(channels: int) -> tuple[tuple[int, int], ...]:
    """The (left, right) channel pairs of a layout of ``channels`` channels (front pair only above 8)."""
    return _PAIRS.get(channels, ((0, 1),) if channels >= 2 else ())


def pan_mono_to_stereo(mono: np.ndarray, pan: float | np.ndarray) -> np.ndarray:
    """Place a mono signal in stereo with the constant-power law of the strips' panners.

    Parameters
    ----------
    mono : ndarray, shape (1, n) or (n,)
        The mono signal.
    pan : float or ndarray of shape (n,)
        -1 = hard left, 0 = centre (each side -3 dB), +1 = hard right; an array pans
        per sample (automation).

    Returns
    -------
    ndarray of float32, shape (2, n)
        ``L = cos(theta) x``, ``R = sin(theta) x`` with ``theta = (pan + 1) pi / 4``
        (:func:`~mixdown.dsp.panlaw.pan_gains`), so ``L^2 + R^2 = x^2``.
    """
    x = np.asarray(mono)
    if x.ndim == 2:
        if x.shape[0] != 1:
            raise ValueError(f"pan_mono_to_stereo needs one channel, got {x.shape[0]}")
        x = x[0]
    p = np.asarray(pan, dtype=np.float64)
    if np.any(np.abs(p) > 1.0):
        raise ValueError("pan must be within -1 (left) .. 1 (right)")
    gl, gr = pan_gains(p, mono_source=True)
    out = np.empty((2, x.shape[0]), dtype=np.float32)
    out[0] = x * gl
    out[1] = x * gr
    return out


class Pan(Processor):
    """Stereo balance with the strips' constant-power law and unity gain at the centre.

    The law is :func:`~mixdown.dsp.panlaw.pan_gains` (the fader's). With ``theta = (pan + 1) pi / 4`` the left gain is ``min(1, sqrt(2) cos theta)`` and
    the right ``min(1, sqrt(2) sin theta)``: the centre leaves both sides unchanged, a
    side turned towards the other falls along the cosine to silence at +-1. On a
    mono stream there is nothing to balance and the signal passes unchanged; on 5.1
    the front and surround pairs are balanced, centre and LFE untouched.

    Parameters
    ----------
    pan : float
        -1 (left) .. 0 (centre) .. 1 (right), sample-accurately automatable.
    """

    kind = "pan"
    PARAMS = {"pan": Param(0.0, -1.0, 1.0, "", doc="balance: -1 left, 0 centre, 1 right")}

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        out = np.array(block, dtype=np.float32, copy=True)
        pairs = stereo_pairs(self.channels)
        if not pairs or block.shape[1] == 0:
            return out
        gl, gr = pan_gains(self.value("pan", position, block.shape[1]), mono_source=False)
        for left, right in pairs:
            out[left] = block[left] * gl
            out[right] = block[right] * gr
        return out


class Width(Processor):
    """Stereo width in mid/side: 0 = mono, 1 = unchanged, 2 = side doubled.

    ``M = (L + R) / 2``, ``S = (L - R) / 2``; then ``M *= mid gain``,
    ``S *= width * side gain`` and ``L = M + S``, ``R = M - S``. A mono stream is
    all mid (it gets the mid gain); on 5.1 the front and surround pairs are
    processed, centre and LFE untouched.

    Parameters
    ----------
    width : float
        Side scale, 0 .. 2.
    mid_db, side_db : float
        Gains of the mid and side signals in dB.
    """

    kind = "width"
    PARAMS = {
        "width": Param(1.0, 0.0, 2.0, "", doc="0 = mono, 1 = unchanged, 2 = twice the side signal"),
        "mid_db": Param(0.0, -144.0, 24.0, "dB", doc="mid (L+R) gain in dB"),
        "side_db": Param(0.0, -144.0, 24.0, "dB", doc="side (L-R) gain in dB"),
    }

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        out = np.array(block, dtype=np.float32, copy=True)
        if n == 0:
            return out
        gm = db_to_amp(self.value("mid_db", position, n))
        if self.channels == 1:
            return (block * gm).astype(np.float32)
        gs = self.value("width", position, n) * db_to_amp(self.value("side_db", position, n))
        for left, right in stereo_pairs(self.channels):
            lf = block[left].astype(np.float64)
            rt = block[right].astype(np.float64)
            mid = (lf + rt) * (0.5 * gm)
            side = (lf - rt) * (0.5 * gs)
            out[left] = mid + side
            out[right] = mid - side
        return out


class Delay(Processor):
    """Feedback delay (echo): ``out = (1 - mix) x + mix wet``.

    The delay line holds ``d[n] = x[n] + feedback d[n - D]`` and the wet signal is
    ``d[n - D]``: the first echo after ``time_ms``, each further one ``feedback``
    times the last. Channels have independent lines (no ping-pong).

    A fixed ``time_ms`` is rounded to whole samples. An automated one is followed
    per sample at its exact, fractional value: the line is read between samples by
    4-point (third-order) Lagrange interpolation
    (:func:`~mixdown.core.kernels.modulated_delay`). Lagrange rather than all-pass
    interpolation because it is an FIR without state: an all-pass interpolator
    carries its own recursion, which rings (a click) whenever the delay jumps and
    must be smoothed around every change. So a moving delay time changes the pitch,
    as a tape delay does (by the factor ``1 - dD/dt``), and never clicks; the price is
    a gentle treble loss between samples (at most 1.1 dB at a quarter of the sample
    rate, halfway between two samples; none on whole samples).

    Parameters
    ----------
    time_ms : float
        Delay time in ms (automated: at least 2 samples).
    feedback : float
        Echo gain, -0.99 .. 0.99 (negative flips each echo's polarity).
    mix : float
        Wet share, 0 (dry) .. 1 (echoes only).
    """

    kind = "delay"
    PARAMS = {
        "time_ms": Param(250.0, 1.0, 5000.0, "ms", doc="delay time in ms (moves smoothly when automated)"),
        "feedback": Param(0.3, -0.99, 0.99, "", doc="gain of each repeat (-0.99 .. 0.99)"),
        "mix": Param(0.3, 0.0, 1.0, "", doc="wet share: 0 = dry, 1 = echoes only"),
    }

    @property
    def delay_samples(self) -> int:
        """The delay in samples (at least 1): the fixed one, or the longest an automated time reaches."""
        ms = envelope_extremes(self, "time_ms")[1]
        return max(1, int(math.ceil(ms * self.sample_rate / 1000.0)) if "time_ms" in self.envelopes
                   else int(round(ms * self.sample_rate / 1000.0)))

    @property
    def tail(self) -> int:
        d = self.delay_samples
        lo, hi = envelope_extremes(self, "feedback")
        fb = max(abs(lo), abs(hi))
        if fb == 0.0:
            return d
        # echoes until they are 60 dB down
        return d * (1 + int(math.ceil(math.log(1e-3) / math.log(fb))))

    def _prepare(self) -> None:
        if "time_ms" in self.envelopes:
            lo = envelope_extremes(self, "time_ms")[0] * self.sample_rate / 1000.0
            if lo < 2.0:
                raise SessionError(
                    f"delay.time_ms automation reaches {lo * 1000.0 / self.sample_rate:g} ms, shorter than the "
                    f"2 samples a moving delay needs at {self.sample_rate} Hz"
                )

    def _reset(self) -> None:
        # a moving delay keeps 3 more samples for its interpolator
        extra = 3 if "time_ms" in self.envelopes else 0
        self._ring = np.zeros((self.channels, self.delay_samples + extra), dtype=np.float64)
        self._pos = np.zeros(1, dtype=np.int64)

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        if n == 0:
            return np.array(block, dtype=np.float32, copy=True)
        fb = self.value("feedback", position, n)
        if "time_ms" in self.envelopes:
            from ..core import kernels as _kernels

            fbs, s_fb = _kernels.per_sample(fb)
            dly = self.value("time_ms", position, n) * (self.sample_rate / 1000.0)
            wet = np.empty((self.channels, n), dtype=np.float64)
            x = np.ascontiguousarray(block, dtype=np.float32)
            _kernels.modulated_delay(x, dly, 1, fbs, s_fb, self._ring, self._pos, wet)
        elif np.ndim(fb) == 0 and fb == 0.0:
            # no recursion: the wet signal is the input D samples ago
            d = self._ring.shape[1]
            buf = np.concatenate((np.roll(self._ring, -int(self._pos[0]), axis=1), block.astype(np.float64)), axis=1)
            wet = buf[:, :n]
            self._ring = np.ascontiguousarray(buf[:, n : n + d])
            self._pos[0] = 0
        else:
            from ..core import kernels as _kernels

            fbs, s_fb = _kernels.per_sample(fb)
            wet = np.empty((self.channels, n), dtype=np.float64)
            x = np.ascontiguousarray(block, dtype=np.float32)
            _kernels.feedback_delay(x, fbs, s_fb, self._ring, self._pos, wet)
        mix = self.value("mix", position, n)
        return ((1.0 - mix) * block + mix * wet).astype(np.float32)


# Freeverb (JUCE juce::Reverb, which pedalboard.Reverb wraps): comb feedback is
# room_size * 0.28 + 0.7 and the longest comb is 1617 samples at 44.1 kHz.
_FREEVERB_LONGEST_COMB_S = 1617.0 / 44100.0
_JUCE_DRY_SCALE = 2.0
_PB_BUFFER = 8192  # pedalboard's internal block size (its default)


class Reverb(Processor):
    """Algorithmic room reverb: ``pedalboard.Reverb`` (JUCE's Freeverb), streamed.

    Parameters have pedalboard's meaning: with the same values the output equals
    ``pedalboard.Reverb(...)`` run on the whole signal. The dry and wet levels are
    applied here, per sample, so they automate sample-accurately; ``room_size``,
    ``damping`` and ``width`` change per control segment (JUCE then glides its
    internal gains over about 10 ms).

    Stereo pairs get a stereo reverb each (5.1: front and surround pairs), other
    channels a mono one, except the LFE which only gets the dry level.

    Parameters
    ----------
    room_size : float
        0 .. 1, the decay time (about 1.5 s at 0.5, 12 s at 1 at 48 kHz, to -60 dB).
    damping : float
        0 .. 1, high-frequency absorption.
    wet_level : float
        Level of the reverb, 0 .. 1 (pedalboard's scale: the wet gain is 3x this).
    dry_level : float
        Level of the direct sound, 0 .. 1 (pedalboard's scale: 0.5 = unity).
    width : float
        0 .. 1, stereo spread of the reverb.
    """

    kind = "reverb"
    PARAMS = {
        "room_size": Param(0.5, 0.0, 1.0, "", doc="room size / decay time, 0..1", rate="control"),
        "damping": Param(0.5, 0.0, 1.0, "", doc="high-frequency damping, 0..1", rate="control"),
        "wet_level": Param(0.33, 0.0, 1.0, "", doc="reverb level, 0..1 (pedalboard scale)"),
        "dry_level": Param(0.4, 0.0, 1.0, "", doc="direct level, 0..1 (pedalboard scale: 0.5 = unity)"),
        "width": Param(1.0, 0.0, 1.0, "", doc="stereo width of the reverb, 0..1", rate="control"),
    }
    _SHAPE = ("room_size", "damping", "width")

    @property
    def tail(self) -> int:
        room = envelope_extremes(self, "room_size")[1]
        fb = room * 0.28 + 0.7
        loops = math.log(1e-3) / math.log(fb)
        return int(math.ceil(loops * _FREEVERB_LONGEST_COMB_S * self.sample_rate)) + 1

    def _prepare(self) -> None:
        pairs = stereo_pairs(self.channels)
        paired = {c for p in pairs for c in p}
        lfe = _LFE.get(self.channels)
        self._groups: list[list[int]] = [list(p) for p in pairs]
        self._groups += [[c] for c in range(self.channels) if c not in paired and c != lfe]

    def _reset(self) -> None:
        import pedalboard  # lazy: loads JUCE

        # Fresh instances: JUCE's parameter smoothers and buffers start as new.
        # pedalboard re-prepares a plugin, clearing the reverb's buffers, whenever a
        # call brings more samples than any call before it (and guesses the channel
        # axis of a (2, 1) block wrongly on a first call). One silent call of the
        # full internal buffer size fixes both for the life of the instance; silence
        # in leaves the state at zero (Plugin.reset() would undo it).
        self._verbs = []
        for idx in self._groups:
            verb = pedalboard.Reverb(
                room_size=self.params["room_size"], damping=self.params["damping"], width=self.params["width"],
                wet_level=1.0, dry_level=0.0,
            )
            verb.process(np.zeros((len(idx), _PB_BUFFER), dtype=np.float32), float(self.sample_rate),
                         buffer_size=_PB_BUFFER, reset=False)
            self._verbs.append(verb)
        self._set = {k: float(self.params[k]) for k in self._SHAPE}

    def _wet(self, x: np.ndarray) -> np.ndarray:
        wet = np.zeros(x.shape, dtype=np.float32)
        for idx, verb in zip(self._groups, self._verbs):
            wet[idx] = verb.process(
                np.ascontiguousarray(x[idx]), float(self.sample_rate), buffer_size=_PB_BUFFER, reset=False
            )
        return wet

    def _configure(self, vals: dict[str, Any], j: int | None) -> None:
        for name in self._SHAPE:
            v = float(vals[name] if j is None or np.ndim(vals[name]) == 0 else vals[name][j])
            if v != self._set[name]:
                for verb in self._verbs:
                    setattr(verb, name, v)
                self._set[name] = v

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        if n == 0:
            return np.array(block, dtype=np.float32, copy=True)
        x = np.ascontiguousarray(block, dtype=np.float32)
        bounds, vals = self.control_plan(self._SHAPE, position, n)
        if bounds is None:
            self._configure(vals, None)
            wet = self._wet(x)
        else:
            wet = np.empty(x.shape, dtype=np.float32)
            for j in range(len(bounds) - 1):
                a, b = int(bounds[j]), int(bounds[j + 1])
                self._configure(vals, j)
                wet[:, a:b] = self._wet(x[:, a:b])
        dry = _JUCE_DRY_SCALE * np.asarray(self.value("dry_level", position, n))
        wl = self.value("wet_level", position, n)
        return (dry * block + wl * wet).astype(np.float32)
