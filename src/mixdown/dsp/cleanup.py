"""Dialogue cleanup: broadband noise reduction, hum removal, click repair, de-essing.

Four processors, streaming and block-invariant like every processor:

``denoise``
    Spectral gating against a noise profile that is *data in the session*: 30
    third-octave band levels (``noise_25_db`` .. ``noise_20k_db``, dB re mean
    square 1, see :mod:`mixdown.analysis.spectrum`), measured by ``auto`` in the
    pauses between words. Streaming STFT on the absolute sample clock (frame ``j``
    starts at ``j * hop``), sqrt-Hann analysis and synthesis windows, 75 % overlap,
    overlap-add. To keep random noise peaks from opening single bins for a frame
    (the "warble" or musical noise of naive spectral subtraction), the power that
    is compared with the profile is smoothed over 5 frames (centred: 2 frames of
    lookahead) and 3 bins; the gain then opens fully on components ``threshold_db``
    above the profile, reaches ``-amount_db`` 6 dB lower, and closes no faster
    than ``release_ms``. Latency: ``nfft + 2 * hop`` samples (3072 at 44.1/48 kHz, 768 at 16 kHz).
``dehum``
    A cascade of narrow notches (RBJ cookbook, one biquad each, ``scipy.signal.sosfilt``
    with carried state) at the fundamental ``freq_hz`` and its ``harmonics - 1``
    overtones below 0.95 x Nyquist. Constant Q, so a small error in the fundamental
    costs every harmonic the same depth. Latency 0.
``declick``
    Detects clicks as outliers of the residual of a linear-prediction (AR) model
    fitted to each 20 ms frame, and repairs them by least-squares AR
    interpolation (Vaseghi & Rayner; Godsill & Rayner, *Digital Audio
    Restoration*, 1998) over the few samples of each click. Latency
    ``frame + lookahead`` (about 25 ms).
``deesser``
    Split-band compressor: a band-pass around ``freq_hz`` is split off
    (``band = BP(x)``, ``rest = x - band``, so nothing changes while no gain is
    applied), its level drives a compressor (threshold, ratio, at most
    ``range_db``), and only the band is turned down: ``y = rest + g * band``.
    Latency 0.

The gate/expander for room noise between words is :class:`mixdown.dsp.dynamics.Gate`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SessionError
from .base import Param, Processor
from .eq import check_block, envelope_extremes, rbj_biquad

# ------------------------------------------------------------------------- helpers


class _Ring:
    """The samples ``[start, end)`` of a stream on the absolute clock, growing at the end.

    Appending is amortised O(block); :meth:`drop_before` forgets the head. Reads of
    positions before ``start`` are an error (callers keep what they still need).
    """

    def __init__(self, channels: int, start: int, capacity: int = 4096) -> None:
        self.buf = np.zeros((channels, max(capacity, 16)), dtype=np.float64)
        self.lo = 0
        self.n = 0
        self.start = int(start)

    @property
    def end(self) -> int:
        return self.start + self.n

    def _room(self, k: int) -> None:
        cap = self.buf.shape[1]
        if self.lo + self.n + k <= cap:
            return
        if self.n + k <= cap // 2:
            self.buf[:, : self.n] = self.buf[:, self.lo : self.lo + self.n]
        else:
            new = np.zeros((self.buf.shape[0], 2 * (self.n + k)), dtype=np.float64)
            new[:, : self.n] = self.buf[:, self.lo : self.lo + self.n]
            self.buf = new
        self.lo = 0

    def append(self, x: np.ndarray) -> None:
        k = x.shape[1]
        self._room(k)
        self.buf[:, self.lo + self.n : self.lo + self.n + k] = x
        self.n += k

    def append_zeros(self, k: int) -> None:
        if k <= 0:
            return
        self._room(k)
        self.buf[:, self.lo + self.n : self.lo + self.n + k] = 0.0
        self.n += k

    def view(self, a: int, b: int) -> np.ndarray:
        """Writable view of samples ``[a, b)``; ``start <= a <= b <= end``."""
        if a < self.start or b > self.end or a > b:
            raise RuntimeError(f"ring read [{a}, {b}) outside [{self.start}, {self.end})")
        i = self.lo + a - self.start
        return self.buf[:, i : i + b - a]

    def drop_before(self, t: int) -> None:
        k = min(max(t - self.start, 0), self.n)
        self.lo += k
        self.n -= k
        self.start += k


def _envelope_per_frame(proc: Processor, name: str, starts: np.ndarray) -> np.ndarray | float:
    """A parameter's value at each frame start (absolute positions), or a float if not automated."""
    env = proc.envelopes.get(name)
    if env is None:
        return float(proc.params[name])
    if starts.shape[0] == 0:
        return np.zeros(0)
    first = int(starts[0])
    span = int(starts[-1]) - first + 1
    return env.evaluate(first, span)[starts - first]


# --------------------------------------------------------------------------- denoise

#: Names of the noise-profile parameters, one per third-octave band (25 Hz .. 20 kHz).
def _profile_names() -> tuple[str, ...]:
    from ..analysis.spectrum import THIRD_OCTAVE_NOMINAL

    return tuple(f"noise_{n}_db" for n in THIRD_OCTAVE_NOMINAL)


PROFILE_PARAMS: tuple[str, ...] = _profile_names()
PROFILE_FLOOR_DB = -160.0  # a band at this level holds no noise
_KNEE_DB = 6.0
_TIME_KERNEL = np.array([1.0, 2.0, 2.0, 2.0, 1.0]) / 8.0  # frames j-2 .. j+2
_LOOK = 2  # frames of lookahead the centred smoothing needs


def _denoise_params() -> dict[str, Param]:
    from ..analysis.spectrum import THIRD_OCTAVE_HZ

    params: dict[str, Param] = {
        "amount_db": Param(12.0, 0.0, 60.0, "dB", doc="largest reduction of the noise, dB", rate="frame"),
        "threshold_db": Param(6.0, 0.0, 30.0, "dB", rate="frame",
                              doc="components this far above the noise profile pass untouched, dB"),
        "release_ms": Param(80.0, 0.0, 1000.0, "ms", rate="frame",
                            doc="time constant of the gain closing after a sound ends, ms"),
    }
    for name, fc in zip(PROFILE_PARAMS, THIRD_OCTAVE_HZ):
        params[name] = Param(PROFILE_FLOOR_DB, PROFILE_FLOOR_DB, 0.0, "dB", rate="frame",
                             doc=f"noise profile: level of the third-octave band at {fc:.0f} Hz, dB re FS^2")
    return params


class Denoise(Processor):
    """Broadband noise reduction by spectral gating against a stored noise profile.

    Parameters
    ----------
    amount_db : float
        How far the noise is turned down where no wanted sound covers it, dB.
    threshold_db : float
        A component (smoothed over 5 frames and 3 bins) this many dB above the
        profile passes untouched; 6 dB lower it gets the full ``amount_db``; in
        between the gain moves linearly in dB.
    release_ms : float
        Time constant of the gain closing after a sound ends (word tails and
        room decay are not chopped), ms.
    noise_25_db ... noise_20k_db : float
        The noise profile: third-octave band levels of the noise, dB re mean
        square 1 (:data:`PROFILE_PARAMS`; bands at -160 hold no noise). Written by
        ``auto`` from the pauses of the track (:func:`noise_profile_params`).

    Notes
    -----
    With every band at -160 dB (the default) nothing is removed. Channels share one
    gain (computed from their mean power), so a stereo image does not wander.
    Every parameter, the profile too (a room whose noise changes), can be
    automated; each STFT frame takes the values at its centre sample.
    Latency: ``nfft + 2 * hop`` samples with ``nfft`` from
    :func:`mixdown.analysis.spectrum.frame_size` (2048 at 44.1/48 kHz, 512 at 16 kHz)
    and ``hop = nfft / 4``.
    """

    kind = "denoise"
    PARAMS = _denoise_params()
    FRAME_RATE = "one STFT hop, nfft/4 samples (512 at 44.1/48 kHz, 128 at 16 kHz); value at the frame's centre"

    def profile_db(self) -> np.ndarray:
        """The 30 band levels of the profile, dB."""
        return np.array([self.params[n] for n in PROFILE_PARAMS], dtype=np.float64)

    def _prepare(self) -> None:
        from ..analysis.spectrum import frame_size, hann_periodic

        fs = self.sample_rate
        self.nfft = frame_size(fs)
        self.hop = self.nfft // 4
        self._win = np.sqrt(hann_periodic(self.nfft))
        # sqrt-Hann analysis x synthesis = Hann, whose shifts by nfft/4 sum to 2
        self._norm = 1.0 / float(np.sum(hann_periodic(self.nfft)[:: self.hop]))
        self._freqs = np.fft.rfftfreq(self.nfft, 1.0 / fs)
        self._noise = self._noise_power(self.profile_db())
        self._bins = self._freqs.shape[0]
        self._noise_cache: dict[bytes, np.ndarray] = {}

    def _noise_power(self, levels_db: np.ndarray) -> np.ndarray:
        """Expected |X_k|^2 per bin of a windowed frame of noise with this profile (30 band levels, dB)."""
        from ..analysis.spectrum import band_levels_to_psd

        psd = band_levels_to_psd(levels_db, self._freqs)
        if levels_db.max() <= PROFILE_FLOOR_DB:
            psd[:] = 0.0
        return np.maximum(psd * self.sample_rate * float(np.sum(self._win**2)) / 2.0, 1e-30)

    def _noise_at(self, centres: np.ndarray) -> np.ndarray:
        """The noise power per bin for frames centred at ``centres``: (bins,) or, automated, (frames, bins)."""
        auto = [k for k in PROFILE_PARAMS if k in self.envelopes]
        if not auto:
            return self._noise
        levels = np.tile(self.profile_db(), (centres.shape[0], 1))
        for k in auto:
            levels[:, PROFILE_PARAMS.index(k)] = _envelope_per_frame(self, k, centres)
        rows = []
        for row in levels:
            key = row.tobytes()
            noise = self._noise_cache.get(key)
            if noise is None:
                if len(self._noise_cache) > 64:
                    self._noise_cache.clear()
                noise = self._noise_cache[key] = self._noise_power(row)
            rows.append(noise)
        return np.stack(rows)

    def _release(self, g_db: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Limit how fast the gain (frames, bins; dB) closes: no faster than ``release_ms``, per frame."""
        h = self.hop
        if "release_ms" not in self.envelopes:
            rel = float(self.params["release_ms"])
            if rel <= 0.0:
                return g_db
            # g[t] = max(raw[t], g[t-1] - delta) = cummax(raw[i] + delta i) - delta t
            delta = 20.0 / math.log(10.0) * h / (self.sample_rate * rel / 1000.0)
            idx = np.arange(-1, g_db.shape[0], dtype=np.float64)[:, None] * delta
            b = np.concatenate([self._g_prev[None, :], g_db], axis=0) + idx
            return np.maximum.accumulate(b, axis=0)[1:] - idx[1:]
        # an automated release: the recursion itself, frame by frame (delta differs per frame)
        rel = np.asarray(_envelope_per_frame(self, "release_ms", centres))
        out = np.empty_like(g_db)
        g = self._g_prev
        for t in range(g_db.shape[0]):
            if rel[t] > 0.0:
                delta = 20.0 / math.log(10.0) * h / (self.sample_rate * rel[t] / 1000.0)
                g = np.maximum(g_db[t], g - delta)
            else:
                g = g_db[t]
            out[t] = g
        return out

    @property
    def latency(self) -> int:
        if not self._prepared:
            from ..analysis.spectrum import frame_size

            n = frame_size(self.sample_rate or 48000)
            return n + 2 * (n // 4)
        return self.nfft + _LOOK * self.hop

    def _reset(self) -> None:
        self._started = False
        self.max_reduction_db = 0.0

    def _start(self, p0: int) -> None:
        n, h, lat = self.nfft, self.hop, self.latency
        j0 = (p0 - n) // h + 1  # first frame touching the stream
        self._next = j0 * h  # start of the next frame to transform
        self._x = _Ring(self.channels, self._next, 4 * n)
        self._x.append_zeros(p0 - self._next)
        # history: powers of frames j0-4 .. j0-1, spectra of frames j0-2, j0-1 (zero input)
        self._p_hist = np.zeros((4, self._bins))
        self._x_hist = np.zeros((self.channels, 2, self._bins), dtype=np.complex128)
        self._ola = np.zeros((self.channels, n - h))  # pending overlap of the next applied frame
        self._ola_pos = (j0 - _LOOK) * h  # start of the next frame to apply
        self._out = _Ring(self.channels, p0 - lat, 4 * n)
        self._out.append_zeros(self._ola_pos - (p0 - lat))
        amount = float(envelope_extremes(self, "amount_db")[0])
        self._g_prev = np.full(self._bins, -amount)
        self._started = True
        self._expect = p0

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n_in = block.shape[1]
        if n_in == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        if not self._started or position != self._expect:
            self._start(position)
        self._expect = position + n_in
        self._x.append(block)
        count = (self._x.end - self.nfft - self._next) // self.hop + 1
        while count > 0:
            step = min(count, 256)  # bounds the work arrays whatever the block size
            self._frames(step)
            count -= step
        out = self._out.view(position - self.latency, position - self.latency + n_in).astype(np.float32)
        self._out.drop_before(position - self.latency + n_in)
        return out

    def _frames(self, count: int) -> None:
        n, h = self.nfft, self.hop
        xs = self._x.view(self._next, self._next + (count - 1) * h + n)
        frames = np.lib.stride_tricks.sliding_window_view(xs, n, axis=1)[:, ::h][:, :count]  # (C, count, n)
        spec = np.fft.rfft(frames * self._win, axis=-1)  # (C, count, bins)
        power = (spec.real**2 + spec.imag**2).mean(axis=0)  # (count, bins)
        j_first_new = self._next // h
        self._next += count * h
        self._x.drop_before(self._next)

        # power of frames (first_new - 4) .. (first_new + count - 1); apply to (first_new - 2) .. (first_new + count - 3)
        p_all = np.concatenate([self._p_hist, power], axis=0)
        x_all = np.concatenate([self._x_hist, spec], axis=1)
        self._p_hist = p_all[-4:]
        self._x_hist = x_all[:, -2:]
        # 3-bin smoothing, then the centred 5-frame kernel
        pf = 0.5 * p_all
        pf[:, 1:] += 0.25 * p_all[:, :-1]
        pf[:, :-1] += 0.25 * p_all[:, 1:]
        pf[:, 0] += 0.25 * p_all[:, 0]
        pf[:, -1] += 0.25 * p_all[:, -1]
        k = _TIME_KERNEL
        ps = k[0] * pf[0:count] + k[1] * pf[1 : count + 1] + k[2] * pf[2 : count + 2] \
            + k[3] * pf[3 : count + 3] + k[4] * pf[4 : count + 4]
        # the frames applied now, by their centre samples (where automation is read)
        centres = (j_first_new - _LOOK + np.arange(count)) * h + n // 2
        amount = _envelope_per_frame(self, "amount_db", centres)
        thr = _envelope_per_frame(self, "threshold_db", centres)
        amount = np.reshape(amount, (-1, 1)) if np.ndim(amount) else amount
        thr = np.reshape(thr, (-1, 1)) if np.ndim(thr) else thr
        with np.errstate(divide="ignore"):
            snr_db = 10.0 * np.log10(np.maximum(ps, 1e-300) / self._noise_at(centres))
        openness = np.clip((snr_db - thr + _KNEE_DB) / _KNEE_DB, 0.0, 1.0)
        floor = np.power(10.0, -np.asarray(amount) / 20.0)
        g_db = 20.0 * np.log10(floor + (1.0 - floor) * openness)
        # release: the gain falls no faster than exp(-t / release), i.e. delta dB per frame
        g_db = self._release(g_db, centres)
        self._g_prev = g_db[-1].copy()
        self.max_reduction_db = max(self.max_reduction_db, float(-g_db.min()))
        gains = np.power(10.0, g_db / 20.0)
        y = np.fft.irfft(x_all[:, :count] * gains, n=n, axis=-1) * (self._win * self._norm)  # (C, count, n)
        # overlap-add: hop-sized pieces r of each frame land r hops after its start
        r_n = n // h
        acc = np.zeros((self.channels, count + r_n - 1, h))
        pieces = y.reshape(self.channels, count, r_n, h)
        for r in range(r_n):
            acc[:, r : r + count] += pieces[:, :, r]
        acc = acc.reshape(self.channels, -1)
        acc[:, : n - h] += self._ola
        self._out.append(acc[:, : count * h])
        self._ola = acc[:, count * h :].copy()
        self._ola_pos += count * h


def noise_profile_params(levels_db: np.ndarray | list[float], *, decimals: int = 1) -> dict[str, float]:
    """Denoise parameters from 30 third-octave band levels (NaN bands take the nearest valid one)."""
    lv = np.asarray(levels_db, dtype=np.float64).copy()
    if lv.shape != (len(PROFILE_PARAMS),):
        raise ValueError(f"a noise profile has {len(PROFILE_PARAMS)} band levels, got {lv.shape}")
    valid = np.flatnonzero(np.isfinite(lv))
    if valid.size == 0:
        raise ValueError("a noise profile needs at least one measured band")
    for i in np.flatnonzero(~np.isfinite(lv)):
        lv[i] = lv[valid[np.argmin(np.abs(valid - i))]]
    lv = np.clip(lv, PROFILE_FLOOR_DB, 0.0)
    return {name: round(float(v), decimals) for name, v in zip(PROFILE_PARAMS, lv)}


# ----------------------------------------------------------------------------- dehum


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
            from . import _kernels

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


# --------------------------------------------------------------------------- declick


def _ar_coefficients(r: np.ndarray, order: int) -> np.ndarray:
    """AR coefficients ``a`` (x[n] ~ sum a_k x[n-k]) from autocorrelations, one row per frame.

    ``r`` is (rows, order + 1). The Yule-Walker equations of every row are solved
    as one stack (each matrix on its own, so a row's result does not depend on
    the others); rows of silence (r[0] = 0) get zeros.
    """
    rows = r.shape[0]
    out = np.zeros((rows, order))
    live = r[:, 0] > 1e-30
    if np.any(live):
        idx = np.abs(np.arange(order)[:, None] - np.arange(order)[None, :])
        rl = r[live]
        try:
            out[live] = np.linalg.solve(rl[:, idx], rl[:, 1 : order + 1, None])[..., 0]
        except np.linalg.LinAlgError:  # a degenerate frame (a pure tone, a constant): least squares row by row
            out[live] = np.stack([np.linalg.lstsq(m[idx], m[1 : order + 1], rcond=None)[0] for m in rl])
    return out


_REL_EXTENT = 0.02  # a click's extent: contiguous residuals within 34 dB of its peak
_SIGMA_FLOOR = 1e-5  # smallest residual scale (-100 dBFS): clicks in digital silence are found too


def _click_span(rf: np.ndarray, rb: np.ndarray, thr: float) -> tuple[int, int] | None:
    """Start and end (exclusive) of the click in a cluster of residual outliers.

    A click makes the forward residual jump where it starts and the backward
    residual where it ends: the click runs from the first forward outlier to the
    last backward one, counting only outliers within 34 dB of the cluster's
    peak (a band-limited click rings on at a low level for a long way, which
    interpolation need not cover). When only one residual stands out, its
    outliers alone give the span.
    """
    lf = max(thr, _REL_EXTENT * float(rf.max()))
    lb = max(thr, _REL_EXTENT * float(rb.max()))
    fwd = np.flatnonzero(rf > lf) if rf.max() > thr else np.zeros(0, dtype=np.int64)
    bwd = np.flatnonzero(rb > lb) if rb.max() > thr else np.zeros(0, dtype=np.int64)
    if fwd.size == 0 and bwd.size == 0:
        return None
    if fwd.size == 0:
        fwd = bwd
    if bwd.size == 0:
        bwd = fwd
    start, end = int(fwd[0]), int(bwd[-1]) + 1
    if end <= start:
        start, end = min(int(fwd[0]), int(bwd[0])), max(int(fwd[-1]), int(bwd[-1])) + 1
    return start, end


class Declick(Processor):
    """Click and pop repair: AR-residual detection, least-squares AR interpolation.

    Each frame of 20 ms (on the absolute clock) gets an AR model of order ``order``
    (about 2/3 of a coefficient per kHz of sample rate, 16..40), fitted to the
    frame with outliers clipped. Where the prediction residual exceeds
    ``threshold`` times its robust scale (1.4826 x median absolute residual), a
    click starts; residual outliers closer than half the order belong to it. A
    click longer than ``max_click_ms`` is left alone (a plosive or a drum, not a
    click); shorter ones are replaced, together with 2 samples either side, by
    the samples that minimise the AR model's prediction error around them.
    Channels are repaired independently.

    Parameters
    ----------
    threshold : float
        Residual outlier threshold, in robust standard deviations (lower finds
        more, and touches more speech); automated, it applies per sample of the
        residual.
    max_click_ms : float
        Longest click repaired, ms; automated, each click is judged by the value
        at its start (the lookahead, hence the latency, is set by the largest value).

    Attributes
    ----------
    clicks : int
        Clicks repaired since the last reset (all channels).
    repaired_samples : int
        Samples replaced since the last reset (all channels).
    """

    kind = "declick"
    PARAMS = {
        "threshold": Param(8.0, 3.0, 50.0, "", doc="outlier threshold, robust standard deviations of the residual"),
        "max_click_ms": Param(2.0, 0.1, 10.0, "ms", doc="longest click repaired, ms (judged at the click's start)"),
    }
    _MARGIN = 2

    def _gap(self, ms: float | np.ndarray) -> Any:
        """Longest click in samples for ``max_click_ms`` values."""
        return np.maximum(1, np.round(np.asarray(ms) * self.sample_rate / 1000.0)).astype(np.int64)

    def _prepare(self) -> None:
        fs = self.sample_rate
        self.order = int(min(40, max(16, round(fs / 1500))))
        self.frame = int(round(fs * 0.02))
        # the largest value sets the lookahead, so the latency does not move
        self.max_gap = max(1, int(round(envelope_extremes(self, "max_click_ms")[1] * fs / 1000.0)))
        p = self.order
        # lookahead: a click starting at the frame's end, its longest extent plus the P samples of
        # outliers its end leaves in the residual, and P samples after it (predictor, interpolation)
        self.look = self.max_gap + 3 * p + 2 * self._MARGIN
        self._clip_window = np.hanning(self.frame)

    @property
    def latency(self) -> int:
        if not self._prepared:
            fs = self.sample_rate or 48000
            p = int(min(40, max(16, round(fs / 1500))))
            g = max(1, int(round(envelope_extremes(self, "max_click_ms")[1] * fs / 1000.0)))
            return int(round(fs * 0.02)) + g + 3 * p + 3 * self._MARGIN
        return self.frame + self.look + self._MARGIN

    def _reset(self) -> None:
        self._started = False
        self.clicks = 0
        self.repaired_samples = 0

    def _start(self, p0: int) -> None:
        f = self.frame
        self._next = (p0 // f) * f  # frame containing p0; earlier frames are all zero input
        a = self._next - 2 * self.order - self._MARGIN
        self._x = _Ring(self.channels, a, 8 * f)
        self._y = _Ring(self.channels, a, 8 * f)
        self._x.append_zeros(p0 - a)
        self._y.append_zeros(p0 - a)
        self._emit_from = p0 - self.latency
        self._started = True
        self._expect = p0

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n_in = block.shape[1]
        if n_in == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        if not self._started or position != self._expect:
            self._start(position)
        self._expect = position + n_in
        self._x.append(block)
        self._y.append(block)
        count = (self._x.end - self.look - self._next) // self.frame
        while count > 0:
            step = min(count, 64)  # bounds the work arrays whatever the block size
            self._frames(step)
            count -= step
        a, b = position - self.latency, position - self.latency + n_in
        out = np.zeros((self.channels, n_in), dtype=np.float32)
        lo = max(a, self._y.start)
        if lo < b:
            out[:, lo - a :] = self._y.view(lo, b)
        keep = min(b, self._next - 2 * self.order - self._MARGIN)
        self._x.drop_before(keep)
        self._y.drop_before(keep)
        return out

    def _frames(self, count: int) -> None:
        f, p, look = self.frame, self.order, self.look
        back = 2 * p  # residual look-back P, plus P samples for the forward predictor
        ch = self.channels
        s0 = self._next
        seg = self._x.view(s0 - back, s0 + count * f + look)  # raw input
        # rows: (channel, frame); AR fitted on the frame with outliers clipped
        fr = np.lib.stride_tricks.sliding_window_view(seg[:, back:back + count * f], f, axis=1)[:, ::f]
        fr = fr.reshape(ch * count, f)
        scale = 1.4826 * np.median(np.abs(fr), axis=1, keepdims=True)
        clipped = np.clip(fr, -8.0 * scale, 8.0 * scale) * self._clip_window
        spec = np.fft.rfft(clipped, n=2 * f, axis=1)
        r = np.fft.irfft(spec.real**2 + spec.imag**2, axis=1)[:, : p + 1]
        r[:, 0] *= 1.0 + 1e-9  # white-noise correction keeps the equations well conditioned
        a = _ar_coefficients(r, p)  # (rows, P)
        # forward residual e_f[n] = x[n] - sum a_k x[n-k] and backward e_b[n] = x[n] - sum a_k x[n+k]
        # (a stationary process has the same predictor both ways) for n = frame start - P ..
        # frame end + look - P: a click starts where e_f jumps and ends where e_b stops.
        n_res = f + look
        st0, st1 = seg.strides
        seg_len = n_res + 2 * p  # residual index t reads x[n - P .. n + P], n = frame start - P + t
        rows_x = np.lib.stride_tricks.as_strided(
            seg, shape=(ch, count, seg_len), strides=(st0, f * st1, st1), writeable=False
        ).reshape(ch * count, seg_len)
        h = np.concatenate([np.ones((a.shape[0], 1)), -a], axis=1)  # prediction-error filter [1, -a_1 .. -a_P]
        nfft = 1 << int(np.ceil(np.log2(seg_len + p + 1)))
        spec_x = np.fft.rfft(rows_x, nfft, axis=1)
        # each row is its own transform, so batching rows never changes a row's numbers
        e_f = np.fft.irfft(spec_x * np.fft.rfft(h, nfft, axis=1), nfft, axis=1)[:, p : p + n_res]
        e_b = np.fft.irfft(spec_x * np.fft.rfft(h[:, ::-1], nfft, axis=1), nfft, axis=1)[:, 2 * p : 2 * p + n_res]
        # robust scale of each frame's residual (its own samples only)
        sigma = 1.4826 * np.median(np.abs(e_f[:, p : p + f]), axis=1, keepdims=True)
        env = self.envelopes.get("threshold")
        if env is None:
            level: Any = self.params["threshold"]
        else:
            # per residual sample: row j covers s0 + j f - P .. + n_res (rows channel-major)
            lv = env.evaluate(s0 - p, (count - 1) * f + n_res)
            level = np.tile(np.lib.stride_tricks.sliding_window_view(lv, n_res)[::f][:count], (ch, 1))
        # floor: in digital silence (or near it) any click is an outlier
        thr = level * np.maximum(sigma, _SIGMA_FLOOR)
        over_f = np.abs(e_f) > thr
        over_b = np.abs(e_b) > thr
        over = over_f | over_b
        self._next += count * f
        if not np.any(over_f[:, p : p + f]):
            return
        events: list[tuple[int, int, int, int]] = []  # (abs start, abs end, channel, row)
        thr_rows = np.broadcast_to(thr, (ch * count, thr.shape[1]))
        gap_env = self.envelopes.get("max_click_ms")
        for row in np.flatnonzero(over_f[:, p : p + f].any(axis=1)):
            c, j = divmod(int(row), count)
            o = over[row]
            idx = np.flatnonzero(o)
            base = s0 + j * f - p
            th_row = thr_rows[row]
            i = 0
            while i < idx.size:
                t0 = t1 = int(idx[i])
                if t0 >= p + f:
                    break
                # outliers at most P apart form one cluster; a click starts in this frame only if
                # the P samples before it are clean (else it continues a sound already under way)
                i += 1
                while i < idx.size and idx[i] - t1 <= p:
                    t1 = int(idx[i])
                    i += 1
                if t0 < p or np.any(o[t0 - p : t0]):
                    continue
                th = float(th_row[min(t0, th_row.shape[0] - 1)])  # the threshold where the click starts
                span = _click_span(np.abs(e_f[row, t0 : t1 + 1]), np.abs(e_b[row, t0 : t1 + 1]), th)
                if span is None:
                    continue
                g0, g1 = t0 + span[0], t0 + span[1]
                gap = self.max_gap if gap_env is None else int(self._gap(gap_env.at(base + g0)))
                if g1 - g0 > gap or g1 > p + f + self.max_gap:
                    continue  # longer than a click: a plosive, a drum
                events.append((base + g0, base + g1, c, int(row)))
        events.sort()
        for g0, g1, c, row in events:
            self._repair(c, g0 - self._MARGIN, g1 + self._MARGIN, a[row])

    def _repair(self, c: int, g0: int, g1: int, a: np.ndarray) -> None:
        """Replace samples [g0, g1) of channel ``c`` by least-squares AR interpolation.

        With ``c = [1, -a_1 .. -a_P]`` the prediction error over the gap and P samples
        either side is ``e = A x``; minimising ``|e|^2`` over the unknown samples gives
        the normal equations ``T x_u = -A_u^T A x_0`` (``x_0``: the known samples, zeros
        in the gap), where ``T`` is the symmetric Toeplitz matrix of the
        autocorrelation of ``c`` (zero beyond lag P): solved by Levinson recursion.
        """
        from scipy.linalg import solve_toeplitz

        p = a.shape[0]
        x = self._y.view(g0 - p, g1 + p)[c]
        m = g1 - g0
        coef = np.concatenate(([1.0], -a))
        x0 = x.copy()
        x0[p : p + m] = 0.0
        e0 = np.convolve(x0, coef, mode="valid")  # prediction errors with the gap zeroed
        rhs = -np.correlate(e0, coef, mode="valid")  # -A_u^T e0
        rc = np.correlate(coef, coef, mode="full")[p:]  # autocorrelation, lags 0..P
        col = np.zeros(m)
        col[: min(m, p + 1)] = rc[: min(m, p + 1)]
        col[0] *= 1.0 + 1e-9
        x[p : p + m] = solve_toeplitz(col, rhs)
        self.clicks += 1
        self.repaired_samples += m


# --------------------------------------------------------------------------- deesser


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
        from . import _kernels

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
