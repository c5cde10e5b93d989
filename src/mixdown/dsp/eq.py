"""Equalisers: RBJ Audio-EQ-Cookbook biquads, alone or as a multi-band parametric EQ.

Every filter is a cascade of second-order sections (scipy's ``sosfilt`` recursion
and state layout, run by a numba kernel that is 1.5-2x faster per block and has no
per-call overhead) with its state (``zi``) carried from block to block, so blocks of
any size give the one-pass result. Coefficients come from Robert Bristow-Johnson's cookbook formulas
(bilinear transform with the centre frequency pre-warped), vectorised so that the
coefficients of all control periods of a block are computed at once.

Automated coefficient parameters (frequency, gain, Q, shelf slope) take one value
per control segment (:meth:`~mixdown.dsp.base.Processor.control_plan`): segments end
on the absolute grid of :data:`~mixdown.dsp.base.CONTROL_PERIOD` samples and at every
keyframe, and take the value at their middle sample, so a step keyframe at sample
*k* changes the filter exactly at *k* and a ramp is followed within half a period.
A block in which they change runs through the same kernel, switching coefficients
at the segment boundaries with the same filter state.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..errors import SessionError
from .base import Param, Processor

SQRT_HALF = math.sqrt(0.5)
FILTER_TYPES = ("highpass", "lowpass", "low_shelf", "high_shelf", "bell", "notch")
SLOPES = (12, 24, 36, 48)


# -- helpers shared by the processors of this package ------------------------------------
def check_block(proc: Processor, block: np.ndarray) -> None:
    """Raise ``ValueError`` if ``block`` is not (channels, frames) with the prepared channel count."""
    if block.ndim != 2 or block.shape[0] != proc.channels:
        raise ValueError(
            f"{proc.kind}: expected a block of shape ({proc.channels}, frames), got {block.shape}"
        )


def envelope_extremes(proc: Processor, name: str) -> tuple[float, float]:
    """Smallest and largest value parameter ``name`` takes: its keyframes when automated, else its value."""
    env = proc.envelopes.get(name)
    vals = [float(v) for v in env.values] if env is not None else [float(proc.params[name])]
    return min(vals), max(vals)


# -- coefficient design --------------------------------------------------------------------
def butterworth_qs(order: int) -> list[float]:
    """Q of each second-order section of an even-order Butterworth filter, ascending."""
    return [1.0 / (2.0 * math.cos((2 * k - 1) * math.pi / (2 * order))) for k in range(1, order // 2 + 1)]


def rbj_biquad(
    ftype: str,
    sample_rate: float,
    freq_hz: Any,
    gain_db: Any = 0.0,
    q: Any = SQRT_HALF,
    *,
    shelf_slope: Any = 0.0,
) -> np.ndarray:
    """Cookbook biquad coefficients, vectorised over the parameters.

    Parameters
    ----------
    ftype : str
        One of :data:`FILTER_TYPES`.
    sample_rate : float
        Hz.
    freq_hz, gain_db, q : float or ndarray
        Centre/corner frequency (Hz, below Nyquist), gain in dB (shelves and bell),
        and Q; broadcast against each other.
    shelf_slope : float or ndarray
        Shelves only: the cookbook's shelf slope S in (0, 1] replaces ``q`` when
        positive (S = 1 is the steepest slope without overshoot); an array (one
        value per control segment) must be positive throughout.

    Returns
    -------
    ndarray of float64, shape (..., 6)
        ``[b0, b1, b2, 1, a1, a2]`` normalised by a0, as ``sosfilt`` wants them.
    """
    f, g, qq, slope = np.broadcast_arrays(
        np.asarray(freq_hz, dtype=np.float64), np.asarray(gain_db, dtype=np.float64), np.asarray(q, dtype=np.float64),
        np.asarray(shelf_slope, dtype=np.float64),
    )
    w0 = 2.0 * np.pi * f / sample_rate
    cw = np.cos(w0)
    sw = np.sin(w0)
    amp = np.power(10.0, g / 40.0)
    if ftype in ("low_shelf", "high_shelf") and np.all(slope > 0):
        alpha = sw / 2.0 * np.sqrt((amp + 1.0 / amp) * (1.0 / slope - 1.0) + 2.0)
    else:
        alpha = sw / (2.0 * qq)
    one = np.ones_like(f)
    if ftype == "lowpass":
        b0 = (1.0 - cw) / 2.0
        b = (b0, 1.0 - cw, b0)
        a = (1.0 + alpha, -2.0 * cw, 1.0 - alpha)
    elif ftype == "highpass":
        b0 = (1.0 + cw) / 2.0
        b = (b0, -(1.0 + cw), b0)
        a = (1.0 + alpha, -2.0 * cw, 1.0 - alpha)
    elif ftype == "notch":
        b = (one, -2.0 * cw, one)
        a = (1.0 + alpha, -2.0 * cw, 1.0 - alpha)
    elif ftype == "bell":
        b = (1.0 + alpha * amp, -2.0 * cw, 1.0 - alpha * amp)
        a = (1.0 + alpha / amp, -2.0 * cw, 1.0 - alpha / amp)
    elif ftype == "low_shelf":
        sq = 2.0 * np.sqrt(amp) * alpha
        b = (
            amp * ((amp + 1.0) - (amp - 1.0) * cw + sq),
            2.0 * amp * ((amp - 1.0) - (amp + 1.0) * cw),
            amp * ((amp + 1.0) - (amp - 1.0) * cw - sq),
        )
        a = (
            (amp + 1.0) + (amp - 1.0) * cw + sq,
            -2.0 * ((amp - 1.0) + (amp + 1.0) * cw),
            (amp + 1.0) + (amp - 1.0) * cw - sq,
        )
    elif ftype == "high_shelf":
        sq = 2.0 * np.sqrt(amp) * alpha
        b = (
            amp * ((amp + 1.0) + (amp - 1.0) * cw + sq),
            -2.0 * amp * ((amp - 1.0) + (amp + 1.0) * cw),
            amp * ((amp + 1.0) + (amp - 1.0) * cw - sq),
        )
        a = (
            (amp + 1.0) - (amp - 1.0) * cw + sq,
            2.0 * ((amp - 1.0) - (amp + 1.0) * cw),
            (amp + 1.0) - (amp - 1.0) * cw - sq,
        )
    else:
        raise ValueError(f"unknown filter type {ftype!r} (one of {', '.join(FILTER_TYPES)})")
    a0 = a[0]
    return np.stack((b[0] / a0, b[1] / a0, b[2] / a0, one, a[1] / a0, a[2] / a0), axis=-1)


def pass_sections(
    ftype: str, sample_rate: float, freq_hz: Any, q: Any = SQRT_HALF, slope_db_oct: int = 12
) -> np.ndarray:
    """High- or low-pass of ``slope_db_oct`` dB/octave as cascaded biquads, shape (..., sections, 6).

    12 dB/oct is one biquad of quality ``q``. Steeper slopes cascade the sections of
    a Butterworth filter of order ``slope_db_oct / 6``; ``q`` then scales the Q of
    its most resonant section by ``q / 0.7071``, so the default 1/sqrt(2) gives the
    maximally flat Butterworth response, -3 dB at ``freq_hz``, at every slope.
    """
    qs = butterworth_qs(slope_db_oct // 6)
    qarr = np.asarray(q, dtype=np.float64)
    secs = []
    for i, qb in enumerate(qs):
        qi = qb * qarr / SQRT_HALF if i == len(qs) - 1 else qb + 0.0 * qarr
        secs.append(rbj_biquad(ftype, sample_rate, freq_hz, 0.0, qi))
    return np.stack(secs, axis=-2)


# -- processors ------------------------------------------------------------------------------
def _freq(default: float) -> Param:
    return Param(float(default), 10.0, 40000.0, "Hz", doc="corner/centre frequency in Hz (below Nyquist)",
                 rate="control")


def _q(default: float = SQRT_HALF, doc: str = "quality factor (bandwidth); 0.7071 = Butterworth") -> Param:
    return Param(default, 0.1, 40.0, "", doc=doc, rate="control")


def _gain() -> Param:
    return Param(0.0, -36.0, 36.0, "dB", doc="boost (+) or cut (-) in dB", rate="control")


class _Biquads(Processor):
    """A fixed cascade of biquads whose coefficients follow automatable parameters.

    Subclasses give ``COEF_PARAMS`` (the parameters coefficients depend on),
    ``FREQ_PARAMS`` (checked against Nyquist) and :meth:`_design`.
    """

    COEF_PARAMS: ClassVar[tuple[str, ...]] = ()
    FREQ_PARAMS: ClassVar[tuple[str, ...]] = ()

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        """Sections for parameter values (floats, or arrays of one value per period): (..., sections, 6)."""
        raise NotImplementedError

    def _sections(self) -> int:
        return int(self._design({k: self.params[k] for k in self.COEF_PARAMS}).shape[-2])

    def _prepare(self) -> None:
        nyq = self.sample_rate / 2.0
        for name in self.FREQ_PARAMS:
            hi = envelope_extremes(self, name)[1]
            if hi >= nyq:
                raise SessionError(
                    f"{self.kind}.{name} = {hi:g} Hz is not below the Nyquist frequency "
                    f"({nyq:g} Hz) of a {self.sample_rate} Hz stream"
                )
        from ..core import kernels as _kernels

        self._k = _kernels
        self._nsec = self._sections()
        self._cache_key: tuple[float, ...] | None = None
        self._cache_sos: np.ndarray | None = None

    def _reset(self) -> None:
        self._zi = np.zeros((self._nsec, self.channels, 2), dtype=np.float64)

    def _sos_for(self, vals: dict[str, Any]) -> np.ndarray:
        key = tuple(float(vals[k]) for k in self.COEF_PARAMS)
        if key != self._cache_key:
            self._cache_sos = np.ascontiguousarray(self._design(vals))
            self._cache_key = key
        assert self._cache_sos is not None
        return self._cache_sos

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        if n == 0 or self._nsec == 0:
            return np.array(block, dtype=np.float32, copy=True)
        bounds, vals = self.control_plan(self.COEF_PARAMS, position, n)
        x = np.ascontiguousarray(block, dtype=np.float32)
        out = np.empty(x.shape, dtype=np.float32)
        if bounds is not None and len(bounds) == 2:  # one segment (small blocks): the cached design serves
            bounds, vals = None, {k: (float(v[0]) if np.ndim(v) else v) for k, v in vals.items()}
        if bounds is None:
            self._k.sos_run(x, self._sos_for(vals), self._zi, out, 0, n)
            return out
        nseg = len(bounds) - 1
        sos = self._design(vals)
        sos = np.ascontiguousarray(np.broadcast_to(sos, (nseg,) + sos.shape[-2:]), dtype=np.float64)
        self._k.sos_time_varying(x, sos, bounds, self._zi, out)
        return out


class _Pass(_Biquads):
    PARAMS = {}
    COEF_PARAMS = ("freq_hz", "q")
    FREQ_PARAMS = ("freq_hz",)
    FTYPE: ClassVar[str] = ""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        slope = self.params["slope_db_oct"]
        if slope not in SLOPES:
            raise ValueError(f"{self.kind}.slope_db_oct must be 12, 24, 36 or 48, not {slope:g}")
        self._slope = int(slope)

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        return pass_sections(self.FTYPE, self.sample_rate, vals["freq_hz"], vals["q"], self._slope)


def _pass_params(freq: float) -> dict[str, Param]:
    return {
        "freq_hz": _freq(freq),
        "q": _q(doc="resonance: Q of the (most resonant) section; 0.7071 = Butterworth, -3 dB at freq_hz"),
        "slope_db_oct": Param(12.0, 12.0, 48.0, "dB", automatable=False, doc="12, 24, 36 or 48 dB/octave",
                              fixed="it sets the number of filter sections"),
    }


class HighPass(_Pass):
    """High-pass filter, 12 to 48 dB/octave (Butterworth cascade above 12).

    Parameters
    ----------
    freq_hz : float
        Corner frequency in Hz (-3 dB with the default ``q``).
    q : float
        Resonance, see :func:`pass_sections`.
    slope_db_oct : {12, 24, 36, 48}
        Steepness in dB per octave.
    """

    kind = "highpass"
    FTYPE = "highpass"
    PARAMS = _pass_params(80.0)


class LowPass(_Pass):
    """Low-pass filter, 12 to 48 dB/octave (Butterworth cascade above 12); parameters as :class:`HighPass`."""

    kind = "lowpass"
    FTYPE = "lowpass"
    PARAMS = _pass_params(12000.0)


class _Shelf(_Biquads):
    COEF_PARAMS = ("freq_hz", "gain_db", "q", "slope")
    FREQ_PARAMS = ("freq_hz",)
    FTYPE: ClassVar[str] = ""

    def automate(self, name: str, envelope: Any) -> None:
        if name == "slope" and np.any(np.asarray(envelope.values) <= 0):
            # 0 switches to q, which no slope value reaches continuously
            raise ValueError(f"{self.kind}.slope automation needs values above 0 (0 means: use q instead)")
        super().automate(name, envelope)

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        sos = rbj_biquad(
            self.FTYPE, self.sample_rate, vals["freq_hz"], vals["gain_db"], vals["q"], shelf_slope=vals["slope"],
        )
        return sos[..., None, :]


def _shelf_params(freq: float) -> dict[str, Param]:
    return {
        "freq_hz": _freq(freq),
        "gain_db": _gain(),
        "q": _q(doc="shelf Q; 0.7071 = steepest without overshoot (used when slope is 0)"),
        "slope": Param(0.0, 0.0, 1.0, "", rate="control",
                       doc="cookbook shelf slope S in (0, 1] instead of q (0 = use q; automated: above 0)"),
    }


class LowShelf(_Shelf):
    """Low shelf: ``gain_db`` below ``freq_hz`` (half the gain in dB at ``freq_hz``).

    Parameters
    ----------
    freq_hz : float
        Shelf midpoint in Hz.
    gain_db : float
        Shelf gain in dB.
    q : float
        Shelf Q (0.7071, equivalently slope 1, is the steepest without overshoot).
    slope : float
        Cookbook shelf slope S; when > 0 it replaces ``q``.
    """

    kind = "low_shelf"
    FTYPE = "low_shelf"
    PARAMS = _shelf_params(100.0)


class HighShelf(_Shelf):
    """High shelf: ``gain_db`` above ``freq_hz``; parameters as :class:`LowShelf`."""

    kind = "high_shelf"
    FTYPE = "high_shelf"
    PARAMS = _shelf_params(8000.0)


class Bell(_Biquads):
    """Peaking (bell) filter: ``gain_db`` at ``freq_hz``, bandwidth set by ``q``.

    Parameters
    ----------
    freq_hz : float
        Centre frequency in Hz.
    gain_db : float
        Gain at the centre in dB.
    q : float
        Quality factor (higher = narrower).
    """

    kind = "bell"
    PARAMS = {"freq_hz": _freq(1000.0), "gain_db": _gain(), "q": _q(1.0, doc="quality factor (higher = narrower)")}
    COEF_PARAMS = ("freq_hz", "gain_db", "q")
    FREQ_PARAMS = ("freq_hz",)

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        return rbj_biquad("bell", self.sample_rate, vals["freq_hz"], vals["gain_db"], vals["q"])[..., None, :]


class Notch(_Biquads):
    """Notch (band-reject): silence at ``freq_hz``, width set by ``q`` (e.g. mains hum).

    Parameters
    ----------
    freq_hz : float
        Notch frequency in Hz.
    q : float
        Quality factor: centre frequency over the -3 dB bandwidth.
    """

    kind = "notch"
    PARAMS = {"freq_hz": _freq(1000.0), "q": _q(10.0, doc="centre frequency / -3 dB bandwidth")}
    COEF_PARAMS = ("freq_hz", "q")
    FREQ_PARAMS = ("freq_hz",)

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        return rbj_biquad("notch", self.sample_rate, vals["freq_hz"], 0.0, vals["q"])[..., None, :]


BANDS = 8
_BAND_FREQS = (60.0, 150.0, 400.0, 1000.0, 2500.0, 5000.0, 8000.0, 12000.0)


def _eq_params() -> dict[str, Param]:
    params: dict[str, Param] = {}
    for i in range(1, BANDS + 1):
        params[f"band{i}_type"] = Param(
            "off", automatable=False, choices=("off",) + FILTER_TYPES, doc=f"band {i}: filter type (off = unused)",
            fixed="a filter type is a choice, not a quantity",
        )
        params[f"band{i}_freq_hz"] = Param(_BAND_FREQS[i - 1], 10.0, 40000.0, "Hz", doc=f"band {i}: frequency in Hz",
                                           rate="control")
        params[f"band{i}_gain_db"] = Param(0.0, -36.0, 36.0, "dB", doc=f"band {i}: gain in dB (shelves, bell)",
                                           rate="control")
        params[f"band{i}_q"] = Param(SQRT_HALF, 0.1, 40.0, "", doc=f"band {i}: Q", rate="control")
    return params


class ParametricEQ(_Biquads):
    """Parametric EQ of up to 8 bands in one cascade (one kernel call per block).

    Parameters
    ----------
    bandN_type : {'off', 'highpass', 'lowpass', 'low_shelf', 'high_shelf', 'bell', 'notch'}
        Filter type of band N (1..8); ``off`` bands cost nothing. High- and low-pass
        bands are 12 dB/octave with the band's Q.
    bandN_freq_hz : float
        Frequency in Hz.
    bandN_gain_db : float
        Gain in dB (shelves and bell; ignored by the other types).
    bandN_q : float
        Q (shelves: 0.7071 = steepest without overshoot).
    """

    kind = "eq"
    PARAMS = _eq_params()

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._bands = [i for i in range(1, BANDS + 1) if self.params[f"band{i}_type"] != "off"]
        names: list[str] = []
        for i in self._bands:
            names += [f"band{i}_freq_hz", f"band{i}_gain_db", f"band{i}_q"]
        self.COEF_PARAMS = tuple(names)  # type: ignore[misc]  # per instance: only active bands
        self.FREQ_PARAMS = tuple(f"band{i}_freq_hz" for i in self._bands)  # type: ignore[misc]

    def _band(self, i: int, f: Any, g: Any, q: Any) -> np.ndarray:
        ftype = self.params[f"band{i}_type"]
        if np.ndim(f) or np.ndim(g) or np.ndim(q):
            return rbj_biquad(ftype, self.sample_rate, f, g, q)
        # while one band is automated the others keep their coefficients
        key = (i, float(f), float(g), float(q))
        sos = self._band_cache.get(key)
        if sos is None:
            if len(self._band_cache) > 4 * BANDS:
                self._band_cache.clear()
            sos = self._band_cache[key] = rbj_biquad(ftype, self.sample_rate, f, g, q)
        return sos

    def _prepare(self) -> None:
        self._band_cache: dict[tuple[float, ...], np.ndarray] = {}
        super()._prepare()

    def _design(self, vals: dict[str, Any]) -> np.ndarray:
        secs = [
            self._band(i, vals[f"band{i}_freq_hz"], vals[f"band{i}_gain_db"], vals[f"band{i}_q"])
            for i in self._bands
        ]
        if not secs:
            return np.zeros((0, 6))
        shape = np.broadcast_shapes(*(s.shape for s in secs))
        return np.stack([np.broadcast_to(s, shape) for s in secs], axis=-2)
