"""Sample-recursive DSP kernels compiled with numba.

Only the loops numpy cannot vectorise live here: envelope followers, the lookahead
limiter, the biquad cascade (static and time-varying) and feedback delay lines
(fixed, and moving with fractional reads). Every kernel
keeps its state in arrays owned by the calling processor and updates them in
place, so a stream cut into blocks of any size runs through exactly the same
arithmetic as one pass.

This module imports numba (about half a second), so processors and meters import it
lazily (in ``_prepare`` or on first use). ``cache=True`` stores the machine code next to this file, so only
the first run on a machine pays for compilation.

Per-sample parameters are passed as an array plus a stride: stride 1 walks an
array of one value per sample, stride 0 reads element 0 for the whole block (a
constant), which avoids materialising constant parameters.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

# outputs per tile of the limiter's true-peak pass: small enough that quiet stretches
# between peaks are skipped, long enough that the multiply-adds vectorise
_TP_TILE = 128


def at(value, i):  # pragma: no cover - replaced in compiled code by the overload below
    """``value`` itself for a float, ``value[i]`` for an array: one kernel, compiled for each."""
    return value if np.ndim(value) == 0 else value[i]


@overload(at)
def _at(value, i):
    # a float compiles to the plain constant, so a static parameter costs what it did before
    # it could be automated; an array compiles to a per-sample load
    if isinstance(value, types.Float):
        return lambda value, i: value
    return lambda value, i: value[i]


def per_sample(value: float | np.ndarray) -> tuple[np.ndarray, int]:
    """Pack a parameter value (float or float64 (n,)) as ``(array, stride)`` for a kernel."""
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(value, dtype=np.float64)))
    return arr, (1 if arr.shape[0] > 1 else 0)


def one_pole_coef(time_ms: float | np.ndarray, sample_rate: int) -> float | np.ndarray:
    """Feedback coefficient of a one-pole smoother with time constant ``time_ms`` (0 = instant).

    After ``time_ms`` a step has covered 1 - 1/e (63.2 %) of its way.
    """
    t = np.asarray(time_ms, dtype=np.float64)
    with np.errstate(divide="ignore"):
        a = np.where(t > 0.0, np.exp(-1000.0 / np.maximum(t, 1e-300) / sample_rate), 0.0)
    return float(a) if a.ndim == 0 else a


@njit(cache=True, nogil=True)
def sos_run(x, sos, zi, out, lo, hi, square=False):  # pragma: no cover - compiled
    """Biquad cascade over frames ``lo:hi`` of every channel, state carried in ``zi``.

    Parameters
    ----------
    x : float32 (channels, n)
    sos : float64 (sections, 6), normalised so a0 = 1
    zi : float64 (sections, channels, 2)
        scipy.signal.sosfilt's state layout (transposed direct form II), updated.
    out : float32 (channels, n)
        May be ``x`` itself (in place). With ``square``: float64, the output's
        squares (what a loudness meter sums, for the meters' K-weighting).
    square : bool

    This is the recursion of ``sosfilt`` with ``(b1 x + z1) - a1 y`` in place of
    ``b1 x - a1 y + z1`` (one operation less on the loop-carried path). Speed comes
    from keeping the state in local variables (an array element on the loop-carried
    path adds a store-to-load round trip per sample) and from running sections in
    pairs, whose two recursions overlap in the CPU's pipeline: 2-2.5 ns per sample
    for one or two sections, about twice ``sosfilt``.
    """
    nch = x.shape[0]
    nsec = sos.shape[0]
    n = hi - lo
    buf = np.empty(n)
    for c in range(nch):
        for i in range(n):
            buf[i] = x[c, lo + i]
        s = 0
        while s < nsec:
            b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
            z0, z1 = zi[s, c, 0], zi[s, c, 1]
            if s + 1 < nsec:
                d0, d1, d2, e1, e2 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2], sos[s + 1, 4], sos[s + 1, 5]
                w0, w1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
                for i in range(n):
                    cur = buf[i]
                    new = b0 * cur + z0
                    z0 = (b1 * cur + z1) - a1 * new
                    z1 = b2 * cur - a2 * new
                    y = d0 * new + w0
                    w0 = (d1 * new + w1) - e1 * y
                    w1 = d2 * new - e2 * y
                    buf[i] = y
                zi[s + 1, c, 0] = w0
                zi[s + 1, c, 1] = w1
            else:
                for i in range(n):
                    cur = buf[i]
                    new = b0 * cur + z0
                    z0 = (b1 * cur + z1) - a1 * new
                    z1 = b2 * cur - a2 * new
                    buf[i] = new
            zi[s, c, 0] = z0
            zi[s, c, 1] = z1
            s += 2
        if square:
            for i in range(n):
                out[c, lo + i] = buf[i] * buf[i]
        else:
            for i in range(n):
                out[c, lo + i] = buf[i]


@njit(cache=True, nogil=True)
def sos_time_varying(x, sos, bounds, zi, out):  # pragma: no cover - compiled
    """Biquad cascade whose coefficients change at ``bounds``.

    Parameters
    ----------
    x : float32 (channels, n)
    sos : float64 (segments, sections, 6), normalised so a0 = 1
    bounds : int64 (segments + 1,), segment k covers ``bounds[k]:bounds[k+1]``
    zi : float64 (sections, channels, 2), updated
    out : float32 (channels, n)

    Each segment continues :func:`sos_run`'s recursion from the state the last one
    left, so a static stretch and an automated one join seamlessly.
    """
    for seg in range(sos.shape[0]):
        sos_run(x, sos[seg], zi, out, bounds[seg], bounds[seg + 1])


def compressor_gain(
    det, rms, a_rms, thr, s_thr, ratio, s_ratio, knee, s_knee, a_att, s_att, a_rel, s_rel, ms, gs, out
):
    """Feed-forward compressor gain in dB, per sample.

    Parameters
    ----------
    det : float32 (channels, n)
        Detection signal (the input, or the sidechain key); channels are linked by
        taking the loudest.
    rms : bool
        Mean-square detector (one-pole, coefficient ``a_rms``: a float, or float64
        (n,) per sample) instead of peak.
    thr, ratio, knee, a_att, a_rel : float64 arrays with strides ``s_*`` (0 or 1)
        Threshold dB, ratio, knee width dB, attack and release coefficients.
    ms : float64 (channels,)
        Mean-square state, updated.
    gs : float64 (1,)
        Smoothed gain in dB, updated.
    out : float64 (n,)
        Smoothed gain in dB (<= 0).

    The level's logarithm is taken by numpy between two compiled passes (detector,
    then gain computer and smoothing): its SIMD ``log10`` is ~10x faster than a
    scalar one inside the loop, and every step is still per sample, so any block
    split gives the same gains.
    """
    if rms:
        lvl = np.empty(det.shape[1], dtype=np.float64)
        if np.ndim(a_rms):
            ms_level_varying(det, np.ascontiguousarray(a_rms, dtype=np.float64), ms, lvl)
        else:
            ms_level(det, a_rms, ms, lvl)
        floor, scale = 1e-30, 10.0
    else:
        lvl = np.abs(det).max(axis=0).astype(np.float64)
        floor, scale = 1e-15, 20.0
    # Below the knee the gain computer gives 0 dB whatever the exact level, so the
    # logarithm is taken only from just under the knee's start (a 1e-6 dB margin
    # keeps every sample whose log could reach the knee): speech spends most of its
    # time there, and the results are the same bits as with every log taken.
    knee_lo = np.power(10.0, (thr - 0.5 * knee - 1e-6) / scale)  # thr, knee: 1 or n values (per_sample)
    loud = np.flatnonzero((lvl >= knee_lo) & (lvl > floor))
    ldb = np.full(lvl.shape[0], -300.0)
    ldb[loud] = scale * np.log10(lvl[loud])
    compressor_smooth(ldb, thr, s_thr, ratio, s_ratio, knee, s_knee, a_att, s_att, a_rel, s_rel, gs, out)


@njit(cache=True, nogil=True)
def ms_level(det, a_rms, ms, out):  # pragma: no cover - compiled
    """Mean square of each channel (one-pole, coefficient ``a_rms``); the loudest channel's, per sample.

    ``ms`` (float64 (channels,)) is the state, updated.
    """
    nch = det.shape[0]
    b = 1.0 - a_rms
    # mono and stereo keep the state in locals: an array element on the recursion costs 2.5x
    if nch == 1:
        m = ms[0]
        for i in range(det.shape[1]):
            v = np.float64(det[0, i])
            m = a_rms * m + b * v * v
            out[i] = m
        ms[0] = m
        return
    if nch == 2:
        m0 = ms[0]
        m1 = ms[1]
        for i in range(det.shape[1]):
            v = np.float64(det[0, i])
            m0 = a_rms * m0 + b * v * v
            v = np.float64(det[1, i])
            m1 = a_rms * m1 + b * v * v
            lvl = 0.0
            if m0 > lvl:
                lvl = m0
            if m1 > lvl:
                lvl = m1
            out[i] = lvl
        ms[0] = m0
        ms[1] = m1
        return
    for i in range(det.shape[1]):
        lvl = 0.0
        for c in range(nch):
            v = np.float64(det[c, i])
            ms[c] = a_rms * ms[c] + b * v * v
            if ms[c] > lvl:
                lvl = ms[c]
        out[i] = lvl


@njit(cache=True, nogil=True)
def ms_level_varying(det, a_rms, ms, out):  # pragma: no cover - compiled
    """:func:`ms_level` with one coefficient per sample (``a_rms``: float64 (n,), an automated time)."""
    nch = det.shape[0]
    for i in range(det.shape[1]):
        a = a_rms[i]
        b = 1.0 - a
        lvl = 0.0
        for c in range(nch):
            v = np.float64(det[c, i])
            ms[c] = a * ms[c] + b * v * v
            if ms[c] > lvl:
                lvl = ms[c]
        out[i] = lvl


@njit(cache=True, nogil=True)
def compressor_smooth(
    ldb, thr, s_thr, ratio, s_ratio, knee, s_knee, a_att, s_att, a_rel, s_rel, gs, out
):  # pragma: no cover - compiled
    """Soft-knee gain computer on the level ``ldb`` (dB) and attack/release smoothing; see :func:`compressor_gain`."""
    g = gs[0]
    for i in range(ldb.shape[0]):
        t = thr[i * s_thr]
        r = ratio[i * s_ratio]
        w = knee[i * s_knee]
        over = ldb[i] - t
        slope = 1.0 / r - 1.0
        if 2.0 * over < -w:
            gc = 0.0
        elif w > 0.0 and 2.0 * over <= w:  # inside the quadratic knee
            d = over + 0.5 * w
            gc = slope * d * d / (2.0 * w)
        else:
            gc = slope * over
        if gc < g:
            a = a_att[i * s_att]
        else:
            a = a_rel[i * s_rel]
        g = a * g + (1.0 - a) * gc
        out[i] = g
    gs[0] = g


@njit(cache=True, nogil=True)
def gate_gain(
    det, thr, s_thr, ratio, s_ratio, rng, s_rng, hold, s_hold, a_att, s_att, a_rel, s_rel, st, cnt, out
):  # pragma: no cover - compiled
    """Downward expander / gate gain in dB, per sample.

    The level is the sample peak (loudest channel) held for ``hold`` samples, so
    the gate stays open through the zero crossings of a sound above the threshold
    and for the hold time after it ends. Below the threshold the gain falls
    ``ratio - 1`` dB per dB, down to ``-rng`` dB. Opening (gain rising) follows the
    attack coefficient, closing the release coefficient.

    Parameters
    ----------
    det : float32 (channels, n)
    thr, ratio, rng, hold, a_att, a_rel : float64 arrays with strides ``s_*``
        Threshold dB, ratio, range dB (positive), hold in samples, coefficients.
    st : float64 (2,)
        [held level, smoothed gain dB], updated.
    cnt : int64 (1,)
        Hold samples left, updated.
    out : float64 (n,)
        Smoothed gain in dB (<= 0).
    """
    nch = det.shape[0]
    n = det.shape[1]
    held = st[0]
    g = st[1]
    left = cnt[0]
    for i in range(n):
        lvl = 0.0
        for c in range(nch):
            v = abs(np.float64(det[c, i]))
            if v > lvl:
                lvl = v
        if lvl >= held:
            held = lvl
            left = np.int64(hold[i * s_hold])
        elif left > 0:
            left -= 1
        else:
            held = lvl
        ldb = 20.0 * math.log10(held) if held > 1e-15 else -300.0
        under = ldb - thr[i * s_thr]
        if under >= 0.0:
            gc = 0.0
        else:
            gc = under * (ratio[i * s_ratio] - 1.0)
            lo = -rng[i * s_rng]
            if gc < lo:
                gc = lo
        if gc > g:
            a = a_att[i * s_att]
        else:
            a = a_rel[i * s_rel]
        g = a * g + (1.0 - a) * gc
        out[i] = g
    st[0] = held
    st[1] = g
    cnt[0] = left


@njit(cache=True, nogil=True)
def tp_detect(ext, rtaps, det, bound):  # pragma: no cover - compiled
    """True-peak detection of the lookahead limiter, one value per input sample.

    Parameters
    ----------
    ext : float64 (channels, K - 1 + n)
        The last K - 1 input samples, then the block (K taps per phase).
    rtaps : float64 (4, K)
        Polyphase interpolator, each phase time-reversed (applied oldest..newest).
    det : float64 (n,)
        Out: for input sample i (window ``ext[:, i:i + K]``), the loudest channel's
        peak over the interval between window samples K // 2 - 1 and K // 2: its two
        ends and the four points interpolated inside it.
    bound : float
        Tiles whose input never exceeds ``bound`` are not interpolated: pass the
        ceiling divided by the largest L1 norm of a phase (with a margin for
        rounding). No interpolated value there can exceed the ceiling, so those
        outputs keep the interval's ends, which are exact wherever the limiter
        acts (above the ceiling) and at or below it elsewhere: the limiter's
        output is the same bits as with every value computed.

    Every output depends on its window only, so this loop has no carried state and
    vectorises (a separate pass from the limiter's sequential recursion).
    """
    ntap = rtaps.shape[1]
    hd = ntap // 2
    n = det.shape[0]
    acc = np.empty(_TP_TILE)
    for i in range(n):
        det[i] = 0.0
    for c in range(ext.shape[0]):
        x = ext[c]
        for i in range(n):
            v = max(abs(x[i + hd - 1]), abs(x[i + hd]))
            if v > det[i]:
                det[i] = v
        # tiles of outputs, one phase and one tap at a time: a multiply-add over
        # contiguous L1-resident arrays that LLVM vectorises (each output still sums
        # its taps in order, so values do not depend on the block split)
        for t0 in range(0, n, _TP_TILE):
            m = min(_TP_TILE, n - t0)
            xw = x[t0:t0 + m + ntap - 1]
            peak = 0.0
            for i in range(xw.shape[0]):
                peak = max(peak, abs(xw[i]))
            if peak <= bound:
                continue
            for p in range(rtaps.shape[0]):
                for i in range(m):
                    acc[i] = 0.0
                for j in range(ntap):
                    h = rtaps[p, j]
                    xs = x[t0 + j:t0 + j + m]
                    for i in range(m):
                        acc[i] += xs[i] * h
                ds = det[t0:t0 + m]
                for i in range(m):
                    v = abs(acc[i])
                    if v > ds[i]:
                        ds[i] = v


@njit(cache=True, nogil=True)
def limiter(
    x, c_req, c_out, look, true_peak, tp_det, a_rel, s_rel, fst, ist, delay, dq_val, dq_idx, box, out
):  # pragma: no cover - compiled
    """Lookahead peak limiter whose output never exceeds its ceiling.

    For each detected sample the required gain is ``min(1, ceiling / peak)``. A
    sliding minimum over ``look + 1`` requirements, an exponential release, and a
    moving average over ``look + 1`` values give the applied gain: every value in
    the average is at most the requirement of the sample it is applied to, so the
    gain at a peak is at most what the peak needs, reached by a linear ramp over
    the lookahead. The audio is delayed by ``look`` (plus the interpolator delay in
    true-peak mode) to meet its gain.

    Parameters
    ----------
    x : float32 (channels, n)
    c_req, c_out : float, or float64 (n,) for an automated ceiling
        Linear ceilings, exactly representable in float32: ``c_req`` of the sample
        whose requirement step ``i`` computes (the input sample, or in true-peak
        mode the one the detector's interval starts at), ``c_out`` of the delayed
        sample step ``i`` outputs (see :func:`at`).
    look : int
        Lookahead in samples.
    true_peak : bool
        Detect on the 4x oversampled signal, given as ``tp_det``.
    tp_det : float64 (n,)
        With ``true_peak``: :func:`tp_detect` of this block (the peak of the interval
        between input samples k - K // 2 and k - K // 2 + 1, K the taps per phase).
    a_rel : float64 array, stride ``s_rel``
        Release coefficient per sample.
    fst : float64 (4,)
        [release envelope, moving sum, previous interval peak, smallest requirement].
    ist : int64 (6,)
        [delay pos, box pos, deque head, deque count, sample counter, limited samples].
    delay : float64 (channels, look + interpolator delay)
    dq_val, dq_idx : float64, int64 (look + 1,)
        Monotonic deque of (requirement, index) for the sliding minimum.
    box : float64 (look + 1,)
        Values in the moving average.
    out : float32 (channels, n)
    """
    nch = x.shape[0]
    n = x.shape[1]
    dd = delay.shape[1]
    wlen = look + 1
    r = fst[0]
    bsum = fst[1]
    tp_prev = fst[2]
    min_req = fst[3]
    dpos = ist[0]
    bpos = ist[1]
    head = ist[2]
    count = ist[3]
    k = ist[4]
    nlim = ist[5]
    for i in range(n):
        # -- detection -------------------------------------------------------------
        det = 0.0
        if true_peak:
            # an interval's peak, merged with the previous one's: each input sample
            # is an end of two intervals
            cur = tp_det[i]
            det = cur
            if tp_prev > det:
                det = tp_prev
            tp_prev = cur
        else:
            for c in range(nch):
                v = abs(np.float64(x[c, i]))
                if v > det:
                    det = v
        req = 1.0
        ceiling = at(c_req, i)
        if det > ceiling:
            req = ceiling / det
            nlim += 1
            if req < min_req:
                min_req = req
        # -- sliding minimum of the requirement over wlen samples ---------------------
        # expire first so the ring of wlen slots never overflows; ring indices wrap
        # by comparison (head < wlen and count <= wlen): an integer modulo per access
        # was most of this loop's time
        if count > 0 and dq_idx[head] <= k - wlen:
            head += 1
            if head == wlen:
                head = 0
            count -= 1
        while count > 0:
            last = head + count - 1
            if last >= wlen:
                last -= wlen
            if dq_val[last] < req:
                break
            count -= 1
        tail = head + count
        if tail >= wlen:
            tail -= wlen
        dq_val[tail] = req
        dq_idx[tail] = k
        count += 1
        m = dq_val[head]
        # -- release, then the attack ramp (moving average) -------------------------
        if m < r:
            r = m
        else:
            a = a_rel[i * s_rel]
            r = m + a * (r - m)
        bsum += r - box[bpos]
        box[bpos] = r
        bpos += 1
        if bpos == wlen:
            bpos = 0
        s = bsum / wlen
        if s > 1.0:
            s = 1.0
        # -- delayed audio times gain --------------------------------------------------
        ceiling = at(c_out, i)
        for c in range(nch):
            if dd > 0:
                xd = delay[c, dpos]
                delay[c, dpos] = np.float64(x[c, i])
            else:
                xd = np.float64(x[c, i])
            y = xd * s
            if y > ceiling:
                y = ceiling
            elif y < -ceiling:
                y = -ceiling
            out[c, i] = y
        if dd > 0:
            dpos += 1
            if dpos == dd:
                dpos = 0
        k += 1
    fst[0] = r
    fst[1] = bsum
    fst[2] = tp_prev
    fst[3] = min_req
    ist[0] = dpos
    ist[1] = bpos
    ist[2] = head
    ist[3] = count
    ist[4] = k
    ist[5] = nlim


@njit(cache=True, nogil=True)
def feedback_delay(x, fb, s_fb, ring, pos, wet):  # pragma: no cover - compiled
    """Delay line with feedback: ``d[n] = x[n] + fb * d[n - D]``, ``wet[n] = d[n - D]``.

    Parameters
    ----------
    x : float32 (channels, n)
    fb : float64 array with stride ``s_fb``
    ring : float64 (channels, D)
        Last D values of d, oldest at ``pos[0]``; updated.
    pos : int64 (1,)
    wet : float64 (channels, n)
    """
    nch = x.shape[0]
    n = x.shape[1]
    dlen = ring.shape[1]
    p0 = pos[0]
    for c in range(nch):
        p = p0
        for i in range(n):
            w = ring[c, p]
            wet[c, i] = w
            ring[c, p] = np.float64(x[c, i]) + fb[i * s_fb] * w
            p += 1
            if p == dlen:
                p = 0
    pos[0] = (p0 + n) % dlen


@njit(cache=True, nogil=True)
def modulated_delay(x, dly, s_d, fb, s_fb, ring, pos, wet):  # pragma: no cover - compiled
    """Delay line with feedback and a moving, fractional delay.

    ``d[n] = x[n] + fb[n] w[n]`` with ``w[n] = d(n - D[n])`` read between samples by
    4-point (third-order) Lagrange interpolation on ``d[n-i+1] .. d[n-i-2]``,
    ``i = floor(D[n])``: an FIR with no state of its own, so the delay may move by
    any amount from one sample to the next and the output stays continuous.

    Parameters
    ----------
    x : float32 (channels, n)
    dly : float64 array with stride ``s_d``
        Delay in samples, at least 2 (the newest tap is then ``d[n-1]``).
    fb : float64 array with stride ``s_fb``
    ring : float64 (channels, L)
        The last L values of d, L >= max delay + 3; the slot ``pos[0]`` is the next
        to write (it holds the oldest value). Updated.
    pos : int64 (1,)
    wet : float64 (channels, n)
    """
    nch = x.shape[0]
    n = x.shape[1]
    size = ring.shape[1]
    p0 = pos[0]
    for c in range(nch):
        w = p0
        for i in range(n):
            d = dly[i * s_d]
            di = int(math.floor(d))
            t = d - di
            j = w - di + 1  # d[n - di + 1]
            if j < 0:
                j += size
            ym1 = ring[c, j]
            j = j - 1 if j > 0 else size - 1
            y0 = ring[c, j]
            j = j - 1 if j > 0 else size - 1
            y1 = ring[c, j]
            j = j - 1 if j > 0 else size - 1
            y2 = ring[c, j]
            # Lagrange weights on nodes -1, 0, 1, 2 (samples further back from d[n - di]) at t
            tm1 = t - 1.0
            tm2 = t - 2.0
            tp1 = t + 1.0
            v = (-t * tm1 * tm2 / 6.0) * ym1 + (tp1 * tm1 * tm2 / 2.0) * y0 \
                - (tp1 * t * tm2 / 2.0) * y1 + (tp1 * t * tm1 / 6.0) * y2
            wet[c, i] = v
            ring[c, w] = np.float64(x[c, i]) + fb[i * s_fb] * v
            w += 1
            if w == size:
                w = 0
    pos[0] = (p0 + n) % size
