"""Narrow-band cleanup: hum notches and the split-band de-esser (see :mod:`mixdown.dsp.cleanup`).

``dehum``
    A cascade of narrow notches (RBJ cookbook, one biquad each, ``scipy.signal.sosfilt``
    with carried state) at the fundamental ``freq_hz`` and its ``harmonics - 1``
    overtones below 0.95 x Nyquist. Constant Q, so a small error in the fundamental
    costs every harmonic the same depth. Latency 0.
``deesser``
    Split-band compressor: a band-pass around ``freq_hz`` is split off
    (``band = BP(x)``, ``rest = x - band``, so nothing changes while no gain is
    applied), its level drives a compressor (threshold, ratio, at most
    ``range_db``), and only the band is turned down: ``y = rest + g * band``.
    Latency 0.

Automated frequencies and Qs move the filters per control segment
(:meth:`~mixdown.dsp.base.Processor.control_plan`), run by the time-varying biquad
kernel; unautomated ones keep ``scipy.signal.sosfilt``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SessionError
from .base import Param, Processor
from .eq import check_block, envelope_extremes, rbj_biquad

class Dehum(Processor):
    """Mains hum removal: notches at ``freq_hz`` and its harmonics.

    Parameters
    ----------
    freq_hz : float
        Fundamental of the hum, Hz: measured (e.g. 49.93), not nominal, for the
        deepest notches (``auto`` writes the measured value).
    harmonics : float
        Number of notches: the fundamental and its overtones up to
        ``harmonics * freq_hz`` (those at or above 0.95 x Nyquist are skipped).
    q : float
        Quality of each notch (centre / -3 dB bandwidth). 40 gives 1.25 Hz at 50 Hz
        and 10 Hz at the 8th harmonic; with an error ``e`` in the fundamental each
        notch still removes about ``-20 log10(2 e Q / f0)`` dB (30 dB for e = 0.02 Hz
        at 50 Hz). Narrower notches take less of the voice (8 notches at Q 40 take
        0.2-0.6 dB of a voice whose harmonics sit near them) but need a steadier hum.

    Notes
    -----
    Latency 0. ``freq_hz`` and ``q`` can be automated (a generator whose speed
    drifts): the notches move per control segment, and the harmonics kept are
    those below 0.95 x Nyquist at the highest automated frequency. ``harmonics``
    cannot (it is the number of filters).
    """

    kind = "dehum"
    PARAMS = {
        "freq_hz": Param(50.0, 20.0, 1000.0, "Hz", doc="hum fundamental, Hz (measured)", rate="control"),
        "harmonics": Param(8.0, 1.0, 64.0, "", automatable=False,
                           doc="number of notches: the fundamental and its overtones",
                           fixed="it is the number of filters"),
        "q": Param(40.0, 2.0, 200.0, "", doc="quality of each notch (centre / bandwidth)", rate="control"),
    }
    _COEF = ("freq_hz", "q")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        h = self.params["harmonics"]
        if h != int(h):
            raise ValueError(f"dehum.harmonics must be a whole number, not {h:g}")

    def notch_frequencies(self) -> list[float]:
        """Frequencies notched at the prepared sample rate (at ``freq_hz``), Hz."""
        f0 = float(self.params["freq_hz"])
        return [k * f0 for k in self._orders(f0)]

    def _orders(self, f_max: float) -> list[int]:
        lim = 0.95 * self.sample_rate / 2.0
        return [k for k in range(1, int(self.params["harmonics"]) + 1) if k * f_max < lim]

    @property
    def _moving(self) -> bool:
        return any(k in self.envelopes for k in self._COEF)

    def _prepare(self) -> None:
        f0 = envelope_extremes(self, "freq_hz")[1]
        if f0 >= 0.95 * self.sample_rate / 2.0:
            raise SessionError(f"dehum.freq_hz = {f0:g} Hz is not below the Nyquist frequency of a "
                               f"{self.sample_rate} Hz stream")
        if self._moving:
            from ..core import kernels as _kernels

            self._k = _kernels
            self._ks = np.array(self._orders(f0), dtype=np.float64)
            nsec = self._ks.shape[0]
        else:
            self._sos = rbj_biquad("notch", self.sample_rate, np.array(self.notch_frequencies()), 0.0,
                                   float(self.params["q"]))
            nsec = self._sos.shape[0]
        self._nsec = nsec

    def _reset(self) -> None:
        self._zi = np.zeros((self._nsec, self.channels, 2), dtype=np.float64)

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        if n == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        if self._moving:
            return _time_varying(self, block, position, self._design)
        import scipy.signal as sig  # lazy: importing scipy.signal costs seconds

        y, self._zi = sig.sosfilt(self._sos, block, axis=-1, zi=self._zi)
        return y.astype(np.float32)

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        f = np.asarray(vals["freq_hz"], dtype=np.float64)[..., None] * self._ks
        q = np.asarray(vals["q"], dtype=np.float64)[..., None]
        return rbj_biquad("notch", self.sample_rate, f, 0.0, q)


def _time_varying(proc: Any, block: np.ndarray, position: int, design: Any, dtype: Any = np.float32) -> np.ndarray:
    """Run ``block`` through ``proc``'s biquad cascade, coefficients from ``design`` per control segment.

    ``design(values)`` gives (..., sections, 6) for the values of ``proc._COEF``
    (floats, or arrays of one value per segment); the state is ``proc._zi``. The
    result has ``dtype`` (float32, or float64 for a band that is processed further).
    """
    n = block.shape[1]
    bounds, vals = proc.control_plan(proc._COEF, position, n)
    x = np.ascontiguousarray(block, dtype=np.float32)
    out = np.empty(x.shape, dtype=dtype)
    sos = design(vals)
    if bounds is None:
        proc._k.sos_run(x, np.ascontiguousarray(sos), proc._zi, out, 0, n)
    else:
        sos = np.ascontiguousarray(np.broadcast_to(sos, (len(bounds) - 1,) + sos.shape[-2:]), dtype=np.float64)
        proc._k.sos_time_varying(x, sos, bounds, proc._zi, out)
    return out


class DeEsser(Processor):
    """Split-band de-esser: only the sibilance band is compressed.

    The band ``BP(x)`` (RBJ constant-0-dB-peak band-pass at ``freq_hz``, quality
    ``q``) is split off; its level (RMS over 1 ms, channels linked) drives a
    compressor with ``threshold_db`` and ``ratio`` whose gain reduction is at most
    ``range_db``; the output is ``x + (g - 1) * BP(x)``: exactly the input while
    ``g = 1``, the band alone turned down otherwise (at ``freq_hz`` by the full
    gain reduction).

    Parameters
    ----------
    freq_hz : float
        Centre of the sibilance band, Hz (typically 5-8 kHz; below Nyquist).
    q : float
        Band quality (1 = about 1.4 octaves wide).
    threshold_db : float
        Band level (RMS, dBFS) above which it is turned down.
    ratio : float
        Compression ratio of the band above the threshold.
    range_db : float
        Largest reduction of the band, dB.
    attack_ms, release_ms : float
        Gain smoothing time constants, ms.
    listen : bool
        Output only the band (to hear what is being detected and reduced).

    Notes
    -----
    ``freq_hz`` and ``q`` move the band per control segment when automated (a
    singer's sibilance follows the vowel); the detector settings move per sample.

    Attributes
    ----------
    max_reduction_db : float
        Largest band reduction so far, dB.
    """

    kind = "deesser"
    PARAMS = {
        "freq_hz": Param(6500.0, 1000.0, 20000.0, "Hz", doc="centre of the sibilance band, Hz", rate="control"),
        "q": Param(1.0, 0.3, 10.0, "", doc="quality of the band (higher = narrower)", rate="control"),
        "threshold_db": Param(-30.0, -80.0, 0.0, "dB", doc="band level (RMS dBFS) above which it is reduced"),
        "ratio": Param(4.0, 1.0, 100.0, "ratio", doc="compression ratio of the band"),
        "range_db": Param(10.0, 0.0, 40.0, "dB", doc="largest reduction of the band, dB"),
        "attack_ms": Param(1.0, 0.0, 100.0, "ms", doc="attack time constant, ms"),
        "release_ms": Param(60.0, 1.0, 2000.0, "ms", doc="release time constant, ms"),
        "listen": Param(False, automatable=False, doc="output the detected band only", fixed="a switch"),
    }

    _COEF = ("freq_hz", "q")

    def _prepare(self) -> None:
        from ..core import kernels as _kernels

        f = envelope_extremes(self, "freq_hz")[1]
        if f >= self.sample_rate / 2.0:
            raise SessionError(f"deesser.freq_hz = {f:g} Hz is not below the Nyquist frequency "
                               f"({self.sample_rate / 2:g} Hz) of a {self.sample_rate} Hz stream")
        self._k = _kernels
        self._moving = any(k in self.envelopes for k in self._COEF)
        f = float(self.params["freq_hz"])
        # RBJ band-pass, constant 0 dB peak gain: b = [alpha, 0, -alpha] / a0
        w0 = 2.0 * math.pi * f / self.sample_rate
        alpha = math.sin(w0) / (2.0 * float(self.params["q"]))
        a0 = 1.0 + alpha
        self._sos = np.array([[alpha / a0, 0.0, -alpha / a0, 1.0, -2.0 * math.cos(w0) / a0, (1.0 - alpha) / a0]])
        self._a_rms = float(_kernels.one_pole_coef(1.0, self.sample_rate))

    def _reset(self) -> None:
        self._zi = np.zeros((1, self.channels, 2), dtype=np.float64)
        self._ms = np.zeros(max(self.channels, 8), dtype=np.float64)
        self._gs = np.zeros(1, dtype=np.float64)
        self.max_reduction_db = 0.0

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        if n == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        if self._moving:
            band = _time_varying(self, block, position, self._design, np.float64)
        else:
            import scipy.signal as sig

            band, self._zi = sig.sosfilt(self._sos, block, axis=-1, zi=self._zi)
        if self.params["listen"]:
            return band.astype(np.float32)
        k = self._k
        fs = self.sample_rate
        thr, s_thr = k.per_sample(self.value("threshold_db", position, n))
        ratio, s_ratio = k.per_sample(self.value("ratio", position, n))
        knee, s_knee = k.per_sample(0.0)
        att, s_att = k.per_sample(k.one_pole_coef(self.value("attack_ms", position, n), fs))
        rel, s_rel = k.per_sample(k.one_pole_coef(self.value("release_ms", position, n), fs))
        gdb = np.empty(n, dtype=np.float64)
        k.compressor_gain(np.ascontiguousarray(band, dtype=np.float32), True, self._a_rms, thr, s_thr, ratio, s_ratio,
                          knee, s_knee, att, s_att, rel, s_rel, self._ms, self._gs, gdb)
        rng = np.asarray(self.value("range_db", position, n))
        gdb = np.maximum(gdb, -rng)
        self.max_reduction_db = max(self.max_reduction_db, float(-gdb.min()))
        g = np.power(10.0, gdb / 20.0)
        return (block + (g - 1.0) * band).astype(np.float32)

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        """RBJ constant-0-dB-peak band-passes, (..., 1, 6), for frequencies and Qs (floats or arrays)."""
        f, q = np.broadcast_arrays(np.asarray(vals["freq_hz"], dtype=np.float64),
                                   np.asarray(vals["q"], dtype=np.float64))
        w0 = 2.0 * np.pi * f / self.sample_rate
        alpha = np.sin(w0) / (2.0 * q)
        a0 = 1.0 + alpha
        zero, one = np.zeros_like(w0), np.ones_like(w0)
        sos = np.stack((alpha / a0, zero, -alpha / a0, one, -2.0 * np.cos(w0) / a0, (1.0 - alpha) / a0), axis=-1)
        return sos[..., None, :]
