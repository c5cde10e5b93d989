"""Colour: tanh saturation, optionally at twice the sample rate to keep aliasing down."""

from __future__ import annotations

import numpy as np

from .automation import db_to_amp
from .base import Param, Processor
from .eq import check_block

HB_HALF = 12  # the half-band filters have 4 * HB_HALF + 1 taps; latency 2 * HB_HALF samples
HB_BETA = 8.0


def halfband(half: int = HB_HALF, beta: float = HB_BETA) -> np.ndarray:
    """Kaiser-windowed half-band low-pass at 2x rate, 4 * half + 1 taps, unity DC gain.

    Even offsets from the centre are exactly zero and the centre is 1/2, so the
    polyphase branches are a pure delay and one interpolating FIR.
    """
    m = np.arange(4 * half + 1, dtype=np.float64) - 2 * half
    h = 0.5 * np.sinc(m / 2.0) * np.kaiser(4 * half + 1, beta)
    h[(m % 2 == 0) & (m != 0)] = 0.0
    odd = m % 2 != 0
    h[odd] *= 0.5 / h[odd].sum()
    return h


class Saturation(Processor):
    """Soft clipping with ``tanh``: warmth at low drive, a rounded limiter at high drive.

    ``wet = tanh(drive x)``, ``out = output ((1 - mix) x + mix wet)``. Small signals
    are amplified by ``drive``; the output never exceeds ``output`` (at ``mix`` = 1).
    With ``oversample`` the nonlinearity runs at twice the sample rate between
    linear-phase half-band filters, which removes most of the aliased harmonics;
    this adds ``latency`` samples (24), applied to the dry signal too.

    Parameters
    ----------
    drive_db : float
        Gain into the clipper in dB.
    mix : float
        Saturated share, 0 (dry) .. 1.
    output_db : float
        Output gain in dB.
    oversample : bool
        Run the clipper at 2x the sample rate.
    """

    kind = "saturation"
    PARAMS = {
        "drive_db": Param(6.0, 0.0, 48.0, "dB", doc="gain into the tanh clipper in dB"),
        "mix": Param(1.0, 0.0, 1.0, "", doc="saturated share: 0 = dry, 1 = fully saturated"),
        "output_db": Param(0.0, -48.0, 24.0, "dB", doc="output gain in dB"),
        "oversample": Param(
            True, automatable=False, doc="saturate at 2x the sample rate (less aliasing, 24 samples latency)",
            fixed="a switch; it sets the latency",
        ),
    }

    @property
    def latency(self) -> int:
        return 2 * HB_HALF if self.params["oversample"] else 0

    def _prepare(self) -> None:
        h = halfband()
        self._h_odd = h[1::2].copy()  # taps at offsets -2H+1 .. 2H-1 (odd), 2 * HB_HALF of them
        self._up = 2.0 * self._h_odd  # interpolator of the odd (half-sample) phase

    def _reset(self) -> None:
        ch = self.channels
        k = len(self._h_odd)
        self._x_hist = np.zeros((ch, k - 1))  # driven input, for the interpolator
        self._x_del = np.zeros((ch, HB_HALF))  # driven input, for the even (delay) phase
        self._w0_del = np.zeros((ch, HB_HALF))  # saturated even phase, for the decimator's centre tap
        self._w1_hist = np.zeros((ch, k))  # saturated odd phase, for the decimator
        self._dry = np.zeros((ch, self.latency))

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        check_block(self, block)
        n = block.shape[1]
        if n == 0:
            return np.array(block, dtype=np.float32, copy=True)
        drive = db_to_amp(self.value("drive_db", position, n))
        xd = block.astype(np.float64) * drive
        if not self.params["oversample"]:
            wet = np.tanh(xd)
            dry = block
        else:
            wet = np.empty_like(xd)
            for c in range(self.channels):
                wet[c] = self._oversampled(c, xd[c])
            dry_all = np.concatenate((self._dry, block.astype(np.float64)), axis=1)
            dry = dry_all[:, :n]
            self._dry = dry_all[:, n:]
        mix = self.value("mix", position, n)
        out = db_to_amp(self.value("output_db", position, n)) * ((1.0 - mix) * dry + mix * wet)
        return np.asarray(out, dtype=np.float32)

    def _oversampled(self, c: int, x: np.ndarray) -> np.ndarray:
        """tanh of one channel at 2x rate, back at 1x; delay 2 * HB_HALF samples."""
        n = x.shape[0]
        # even phase: x delayed by `half`; odd phase: the half-sample interpolation
        xe = np.concatenate((self._x_del[c], x))
        self._x_del[c] = xe[n:]
        v0 = xe[:n]
        xh = np.concatenate((self._x_hist[c], x))
        self._x_hist[c] = xh[n:]
        v1 = np.convolve(xh, self._up, mode="valid")
        w0 = np.tanh(v0)
        w1 = np.tanh(v1)
        # decimate: y[k] = 0.5 w0[k - half] + sum_t h_odd[t] w1[k - 1 - t] (offsets as in the up path)
        we = np.concatenate((self._w0_del[c], w0))
        self._w0_del[c] = we[n:]
        wh = np.concatenate((self._w1_hist[c], w1))
        self._w1_hist[c] = wh[n:]
        return 0.5 * we[:n] + np.convolve(wh[:-1], self._h_odd, mode="valid")
