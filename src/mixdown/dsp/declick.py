"""Click and pop repair (part of the cleanup, see :mod:`mixdown.dsp.cleanup`).

``declick``
    Detects clicks as outliers of the residual of a linear-prediction (AR) model
    fitted to each 20 ms frame, and repairs them by least-squares AR
    interpolation (Vaseghi & Rayner; Godsill & Rayner, *Digital Audio
    Restoration*, 1998) over the few samples of each click. Latency
    ``frame + lookahead`` (about 25 ms).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Param, Processor
from .eq import check_block, envelope_extremes
from .stream import Ring


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
        self._x = Ring(self.channels, a, 8 * f)
        self._y = Ring(self.channels, a, 8 * f)
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
        for g0, g1, c, ev_row in events:
            self._repair(c, g0 - self._MARGIN, g1 + self._MARGIN, a[ev_row])

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
