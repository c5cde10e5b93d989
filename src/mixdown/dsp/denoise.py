"""Broadband noise reduction for dialogue (part of the cleanup, see :mod:`mixdown.dsp.cleanup`).

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
"""

from __future__ import annotations

import math

import numpy as np

from ..core.bands import THIRD_OCTAVE_HZ, THIRD_OCTAVE_NOMINAL, band_levels_to_psd, frame_size, hann_periodic
from .base import Param, Processor
from .eq import check_block, envelope_extremes
from .stream import Ring, envelope_per_frame

#: Names of the noise-profile parameters, one per third-octave band (25 Hz .. 20 kHz).
def _profile_names() -> tuple[str, ...]:
    return tuple(f"noise_{n}_db" for n in THIRD_OCTAVE_NOMINAL)


PROFILE_PARAMS: tuple[str, ...] = _profile_names()
PROFILE_FLOOR_DB = -160.0  # a band at this level holds no noise
_KNEE_DB = 6.0
_TIME_KERNEL = np.array([1.0, 2.0, 2.0, 2.0, 1.0]) / 8.0  # frames j-2 .. j+2
_LOOK = 2  # frames of lookahead the centred smoothing needs


def _denoise_params() -> dict[str, Param]:
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
    :func:`mixdown.core.bands.frame_size` (2048 at 44.1/48 kHz, 512 at 16 kHz)
    and ``hop = nfft / 4``.
    """

    kind = "denoise"
    PARAMS = _denoise_params()
    FRAME_RATE = "one STFT hop, nfft/4 samples (512 at 44.1/48 kHz, 128 at 16 kHz); value at the frame's centre"

    def profile_db(self) -> np.ndarray:
        """The 30 band levels of the profile, dB."""
        return np.array([self.params[n] for n in PROFILE_PARAMS], dtype=np.float64)

    def _prepare(self) -> None:
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
            levels[:, PROFILE_PARAMS.index(k)] = envelope_per_frame(self, k, centres)
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
        rel = np.asarray(envelope_per_frame(self, "release_ms", centres))
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
        self._x = Ring(self.channels, self._next, 4 * n)
        self._x.append_zeros(p0 - self._next)
        # history: powers of frames j0-4 .. j0-1, spectra of frames j0-2, j0-1 (zero input)
        self._p_hist = np.zeros((4, self._bins))
        self._x_hist = np.zeros((self.channels, 2, self._bins), dtype=np.complex128)
        self._ola = np.zeros((self.channels, n - h))  # pending overlap of the next applied frame
        self._ola_pos = (j0 - _LOOK) * h  # start of the next frame to apply
        self._out = Ring(self.channels, p0 - lat, 4 * n)
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
        amount = envelope_per_frame(self, "amount_db", centres)
        thr = envelope_per_frame(self, "threshold_db", centres)
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
