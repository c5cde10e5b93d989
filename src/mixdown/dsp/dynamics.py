"""Dynamics: compressor, gate/expander and lookahead limiter.

All three are feed-forward designs with the detector linked across channels (the
loudest channel decides, so the stereo image does not wander) and a gain computer
in dB. The sample-recursive parts (detector, smoothing, lookahead) run in numba
kernels (:mod:`mixdown.core.kernels`) that carry their state across blocks, so any
block split gives the one-pass output. Every time constant is the one-pole kind:
after ``attack_ms`` (or ``release_ms``) the gain has covered 1 - 1/e of a step.
"""

from __future__ import annotations

import math
import numpy as np

from .automation import db_to_amp
from ..core.truepeak import TAPS_PER_PHASE, interpolator_phases
from .base import Param, Processor
from .eq import check_block

_LN10_20 = math.log(10.0) / 20.0


def _key_or_block(proc: Processor, block: np.ndarray, key: np.ndarray | None) -> np.ndarray:
    if key is None:
        return np.ascontiguousarray(block, dtype=np.float32)
    key = np.asarray(key)
    if key.ndim != 2 or key.shape[1] != block.shape[1]:
        raise ValueError(
            f"{proc.kind}: the sidechain key must be (channels, {block.shape[1]}) like the block, got {key.shape}"
        )
    return np.ascontiguousarray(key, dtype=np.float32)


def _apply_gain(proc: Processor, block: np.ndarray, gdb: np.ndarray, position: int, makeup: str | None) -> np.ndarray:
    """Multiply ``block`` by ``gdb`` (dB per sample), with makeup gain and dry/wet ``mix`` if declared."""
    n = block.shape[1]
    g = np.exp(gdb * _LN10_20)
    if makeup is not None:
        g = g * db_to_amp(proc.value(makeup, position, n))
    if "mix" in proc.PARAMS:
        mix = proc.value("mix", position, n)
        if not (np.ndim(mix) == 0 and mix == 1.0):
            g = mix * g + (1.0 - mix)
    return (block * g).astype(np.float32)


class Compressor(Processor):
    """Feed-forward compressor with soft knee, parallel mix and sidechain input.

    Static curve (level ``x`` in dB, threshold ``T``, ratio ``R``, knee ``W``), after
    Giannoulis, Massberg & Reiss (JAES 2012): below ``T - W/2`` unchanged, above
    ``T + W/2`` the output is ``T + (x - T) / R``, in between the quadratic
    ``x + (1/R - 1) (x - T + W/2)^2 / (2 W)``. The gain (in dB) is smoothed by a
    one-pole filter with the attack time when reduction grows and the release time
    when it shrinks.

    Parameters
    ----------
    threshold_db : float
        Threshold in dBFS (of the detector level: sample peak, or RMS).
    ratio : float
        Compression ratio (1 = none, 100 ~ limiting).
    knee_db : float
        Width of the soft knee in dB (0 = hard knee).
    attack_ms, release_ms : float
        Smoothing time constants of the gain in ms.
    makeup_db : float
        Gain added to the compressed signal in dB.
    mix : float
        Share of the compressed signal, 0 (dry) to 1 (fully compressed): parallel
        compression.
    detector : {'peak', 'rms'}
        Level detector: instantaneous sample peak, or mean square averaged over
        ``rms_ms`` (a sine then reads 3 dB below its peak).
    rms_ms : float
        Averaging time constant of the RMS detector in ms.

    Notes
    -----
    ``process(block, position, key=k)`` detects on the sidechain ``k`` (any number of
    channels, same frames) instead of the input. Latency is 0.
    ``max_reduction_db`` holds the largest gain reduction so far (dB, >= 0).
    """

    kind = "compressor"
    SIDECHAIN = True
    PARAMS = {
        "threshold_db": Param(-20.0, -80.0, 0.0, "dB", doc="threshold in dBFS"),
        "ratio": Param(4.0, 1.0, 100.0, "ratio", doc="compression ratio above the threshold"),
        "knee_db": Param(6.0, 0.0, 48.0, "dB", doc="soft knee width in dB (0 = hard)"),
        "attack_ms": Param(10.0, 0.0, 1000.0, "ms", doc="attack time constant in ms"),
        "release_ms": Param(100.0, 1.0, 10000.0, "ms", doc="release time constant in ms"),
        "makeup_db": Param(0.0, -24.0, 48.0, "dB", doc="makeup gain of the compressed signal in dB"),
        "mix": Param(1.0, 0.0, 1.0, "", doc="compressed share: 0 = dry, 1 = fully compressed (parallel)"),
        "detector": Param("peak", automatable=False, choices=("peak", "rms"), doc="level detector",
                          fixed="a choice of detector, not a quantity"),
        "rms_ms": Param(10.0, 0.1, 1000.0, "ms", doc="RMS detector averaging time in ms"),
    }

    def _prepare(self) -> None:
        from ..core import kernels as _kernels

        self._k = _kernels

    def _reset(self) -> None:
        self._ms = np.zeros(max(self.channels, 8), dtype=np.float64)
        self._gs = np.zeros(1, dtype=np.float64)
        self.max_reduction_db = 0.0

    def _process(self, block: np.ndarray, position: int, key: np.ndarray | None = None) -> np.ndarray:
        check_block(self, block)
        det = _key_or_block(self, block, key)
        n = block.shape[1]
        if n == 0:
            return np.array(block, dtype=np.float32, copy=True)
        if det.shape[0] > self._ms.shape[0]:
            self._ms = np.concatenate((self._ms, np.zeros(det.shape[0] - self._ms.shape[0])))
        k = self._k
        fs = self.sample_rate
        thr, s_thr = k.per_sample(self.value("threshold_db", position, n))
        ratio, s_ratio = k.per_sample(self.value("ratio", position, n))
        knee, s_knee = k.per_sample(self.value("knee_db", position, n))
        att, s_att = k.per_sample(k.one_pole_coef(self.value("attack_ms", position, n), fs))
        rel, s_rel = k.per_sample(k.one_pole_coef(self.value("release_ms", position, n), fs))
        rms = self.params["detector"] == "rms"
        a_rms = k.one_pole_coef(self.value("rms_ms", position, n), fs)
        gdb = np.empty(n, dtype=np.float64)
        k.compressor_gain(det, rms, a_rms, thr, s_thr, ratio, s_ratio, knee, s_knee, att, s_att, rel, s_rel,
                          self._ms, self._gs, gdb)
        self.max_reduction_db = max(self.max_reduction_db, -float(gdb.min()))
        return _apply_gain(self, block, gdb, position, "makeup_db")


class Gate(Processor):
    """Gate / downward expander with hold and sidechain input.

    Below the threshold the gain falls ``ratio - 1`` dB for each dB the level is
    under it (ratio 2 = gentle expander, 100 ~ gate), never by more than
    ``range_db``. The level is the linked sample peak, held for ``hold_ms``: the gate
    stays open through a sound's zero crossings and for ``hold_ms`` after it ends,
    then closes with ``release_ms``; it opens with ``attack_ms``.

    Parameters
    ----------
    threshold_db : float
        Opening threshold in dBFS (sample peak).
    ratio : float
        Expansion ratio below the threshold.
    range_db : float
        Largest attenuation in dB (positive).
    attack_ms, hold_ms, release_ms : float
        Opening time constant, hold time, closing time constant, in ms.

    Notes
    -----
    ``process(block, position, key=k)`` detects on the sidechain ``k``. Latency is 0.
    """

    kind = "gate"
    SIDECHAIN = True
    PARAMS = {
        "threshold_db": Param(-50.0, -100.0, 0.0, "dB", doc="threshold in dBFS (sample peak)"),
        "ratio": Param(100.0, 1.0, 100.0, "ratio", doc="expansion ratio below the threshold (100 ~ gate)"),
        "range_db": Param(40.0, 0.0, 144.0, "dB", doc="largest attenuation in dB"),
        "attack_ms": Param(1.0, 0.0, 500.0, "ms", doc="opening time constant in ms"),
        "hold_ms": Param(20.0, 0.0, 5000.0, "ms", doc="time the gate stays open after the level drops, ms"),
        "release_ms": Param(100.0, 1.0, 10000.0, "ms", doc="closing time constant in ms"),
    }

    def _prepare(self) -> None:
        from ..core import kernels as _kernels

        self._k = _kernels

    def _reset(self) -> None:
        self._st = np.zeros(2, dtype=np.float64)  # held level, smoothed gain (open)
        self._cnt = np.zeros(1, dtype=np.int64)
        self.max_reduction_db = 0.0

    def _process(self, block: np.ndarray, position: int, key: np.ndarray | None = None) -> np.ndarray:
        check_block(self, block)
        det = _key_or_block(self, block, key)
        n = block.shape[1]
        if n == 0:
            return np.array(block, dtype=np.float32, copy=True)
        k = self._k
        fs = self.sample_rate
        thr, s_thr = k.per_sample(self.value("threshold_db", position, n))
        ratio, s_ratio = k.per_sample(self.value("ratio", position, n))
        rng, s_rng = k.per_sample(self.value("range_db", position, n))
        hold, s_hold = k.per_sample(np.round(np.asarray(self.value("hold_ms", position, n)) * fs / 1000.0))
        att, s_att = k.per_sample(k.one_pole_coef(self.value("attack_ms", position, n), fs))
        rel, s_rel = k.per_sample(k.one_pole_coef(self.value("release_ms", position, n), fs))
        gdb = np.empty(n, dtype=np.float64)
        k.gate_gain(det, thr, s_thr, ratio, s_ratio, rng, s_rng, hold, s_hold, att, s_att, rel, s_rel,
                    self._st, self._cnt, gdb)
        self.max_reduction_db = max(self.max_reduction_db, -float(gdb.min()))
        return _apply_gain(self, block, gdb, position, None)


TP_TAPS = TAPS_PER_PHASE  # taps per phase of the true-peak interpolator (the meter's, see Limiter._prepare)


class Limiter(Processor):
    """Lookahead peak limiter: the output never exceeds ``ceiling_db``.

    The gain needed by each sample (``ceiling / |x|``, loudest channel) is reached
    by a linear ramp over the lookahead before the sample arrives and released
    exponentially after it; the audio is delayed by the lookahead. In sample-peak
    mode every output sample satisfies ``|y| <= ceiling`` exactly. With
    ``true_peak`` the detector also sees the signal 4x oversampled by the same
    interpolator as :mod:`mixdown.analysis.truepeak` (BS.1770 Annex 2 structure),
    so the true peak that meter reads stays under the ceiling too (to within a
    few thousandths of a dB where the gain itself moves fast); the latency grows
    by the interpolator's delay (6 samples). Like every 4x meter, this can miss a
    few tenths of a dB of the analogue peak of content near Nyquist.

    An automated ceiling belongs to the samples: each input sample is held under
    the ceiling at its own position (on the timeline, after latency compensation),
    so a ceiling lowered at sample *k* is already met at *k*, the gain ramping down
    over the lookahead before it, exactly as for a peak.

    Parameters
    ----------
    ceiling_db : float
        Ceiling in dBFS; automatable per sample.
    lookahead_ms : float
        Lookahead (attack ramp) in ms; also the latency.
    release_ms : float
        Release time constant in ms.
    true_peak : bool
        Limit true (inter-sample) peaks instead of sample peaks.

    Attributes
    ----------
    max_reduction_db : float
        Largest gain reduction applied so far, in dB (>= 0).
    limited_samples : int
        Input samples (frames) whose peak exceeded the ceiling so far.

    Both statistics count the input processed since :meth:`reset`, including the
    last ``latency`` samples that are still in the delay line.
    """

    kind = "limiter"
    PARAMS = {
        "ceiling_db": Param(-1.0, -40.0, 0.0, "dB", doc="output ceiling in dBFS"),
        "lookahead_ms": Param(5.0, 0.0, 50.0, "ms", automatable=False, doc="lookahead (attack ramp, latency) in ms",
                              fixed="it sets the latency"),
        "release_ms": Param(50.0, 1.0, 5000.0, "ms", doc="release time constant in ms"),
        "true_peak": Param(False, automatable=False, doc="limit inter-sample (true) peaks, 4x oversampled detector",
                           fixed="a switch; it sets the latency"),
    }

    @property
    def ceiling(self) -> float:
        """The linear ceiling actually enforced: float32-representable, never above ``ceiling_db``.

        With automation: the lowest ceiling the envelope reaches.
        """
        if "ceiling_db" in self.envelopes:
            return float(self._ceilings(np.array([min(self.envelopes["ceiling_db"].values)])).min())
        c = float(10.0 ** (self.params["ceiling_db"] / 20.0))
        c32 = np.float32(c)
        if float(c32) > c:
            c32 = np.nextafter(c32, np.float32(0.0))
        return float(c32)

    @staticmethod
    def _ceilings(db: np.ndarray) -> np.ndarray:
        """Linear ceilings of dB values, each float32-representable and never above its dB value."""
        c = np.power(10.0, np.asarray(db, dtype=np.float64) / 20.0)
        c32 = c.astype(np.float32)
        c32 = np.where(c32.astype(np.float64) > c, np.nextafter(c32, np.float32(0.0)), c32)
        return c32.astype(np.float64)

    @property
    def lookahead(self) -> int:
        """Lookahead in samples."""
        return int(round(self.params["lookahead_ms"] * self.sample_rate / 1000.0))

    @property
    def latency(self) -> int:
        return self.lookahead + (TP_TAPS // 2 if self.params["true_peak"] else 0)

    def _prepare(self) -> None:
        from ..core import kernels as _kernels

        self._k = _kernels
        self._no_det = np.zeros(1)
        self._rtaps = np.zeros((4, TP_TAPS))
        self._tp_bound = 0.0
        if self.params["true_peak"]:
            # The meter's own interpolator (BS.1770 Annex 2 structure: 4 phases x 12
            # taps, points 1/8, 3/8, 5/8, 7/8 of a sample after each input sample), so
            # the limiter holds down exactly what the loudness report and the
            # compliance check will read.
            phases = np.asarray(interpolator_phases(4), dtype=np.float64)
            if phases.shape != (4, TP_TAPS):
                raise RuntimeError(f"limiter: unexpected true-peak interpolator shape {phases.shape}")
            self._rtaps = np.ascontiguousarray(phases[:, ::-1])
            # inputs at or below this cannot interpolate above the ceiling (the margin
            # covers the rounding of a 12-term float64 sum many times over)
            self._tp_bound = self.ceiling / (float(np.abs(phases).sum(axis=1).max()) * (1.0 + 1e-9))

    def _reset(self) -> None:
        look = self.lookahead
        ch = self.channels
        self._fst = np.array([1.0, float(look + 1), 0.0, 1.0])
        self._ist = np.zeros(6, dtype=np.int64)
        self._hist = np.zeros((ch, TP_TAPS - 1))  # the interpolator's window before the block
        self._delay = np.zeros((ch, self.latency))
        self._dq_val = np.ones(look + 1)
        self._dq_idx = np.zeros(look + 1, dtype=np.int64)
        self._box = np.ones(look + 1)

    @property
    def max_reduction_db(self) -> float:
        """Largest gain reduction so far in dB (0 when nothing was limited)."""
        if not self._prepared:
            return 0.0
        return max(0.0, -20.0 * math.log10(self._fst[3]))

    @property
    def limited_samples(self) -> int:
        """Frames whose (true) peak exceeded the ceiling so far."""
        return int(self._ist[5]) if self._prepared else 0

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        out = np.empty((block.shape[0], n), dtype=np.float32)
        if n == 0:
            return out
        k = self._k
        rel, s_rel = k.per_sample(k.one_pole_coef(self.value("release_ms", position, n), self.sample_rate))
        x = np.ascontiguousarray(block, dtype=np.float32)
        tp = bool(self.params["true_peak"])
        det = self._no_det
        if tp:
            ext = np.concatenate([self._hist, x], axis=1, dtype=np.float64)
            self._hist = ext[:, -(TP_TAPS - 1):].copy()
            det = np.empty(n, dtype=np.float64)
            k.tp_detect(ext, self._rtaps, det, self._tp_bound)
        if "ceiling_db" in self.envelopes:
            # ceilings of the samples whose requirement each step computes (the detector's
            # sample: TP_TAPS // 2 back in true-peak mode) and of the delayed samples it outputs
            dd = self.latency
            cs = self._ceilings(self.envelopes["ceiling_db"].evaluate(position - dd, n + dd))
            back = TP_TAPS // 2 if tp else 0
            c_req: float | np.ndarray = np.ascontiguousarray(cs[dd - back : dd - back + n])
            c_out: float | np.ndarray = np.ascontiguousarray(cs[:n])
        else:
            c_req = c_out = self.ceiling
        k.limiter(x, c_req, c_out, self.lookahead, tp, det, rel, s_rel, self._fst, self._ist,
                  self._delay, self._dq_val, self._dq_idx, self._box, out)
        return out
