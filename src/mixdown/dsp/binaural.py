"""Binaural rendering for headphones: HRIR convolution, streamed.

Each input channel is a virtual source: a mono stream at ``azimuth``/``elevation``;
stereo, 5.1 and 7.1 streams as loudspeakers at their layout's standard angles
(stereo +-30 degrees; 5.1 and 7.1 those of :mod:`mixdown.dsp.surround`, FFmpeg's
channel orders); the LFE plays through the front (0 degree) HRIR at unity. Every
source is convolved with the nearest measured HRIR pair (MIT KEMAR by default, see
:mod:`mixdown.dsp.hrtf`) and the ears are summed.

Convolution is uniformly partitioned overlap-save: the HRIRs are cut into
partitions of ``PARTITION`` samples whose spectra are kept; the input is processed
in whole partitions (all those a block completes, in one batch of FFTs) with a
frequency-domain delay line. Partitions are always whole, so the output is the same
for any block size; the price is a latency of one partition (reported, and
compensated when an array is processed in one go).
"""

from __future__ import annotations

import numpy as np

from .base import Param, Processor
from .hrtf import HRTFSet, load
from .surround import SPEAKERS

PARTITION = 1024
STEREO_ANGLES = (30.0, -30.0)
_LFE = {6: 3, 8: 3}


def speaker_angles(channels: int, azimuth: float = 0.0) -> list[float]:
    """Azimuth of each channel of a ``channels``-channel stream (1 = the source's own)."""
    if channels == 1:
        return [azimuth]
    if channels == 2:
        return list(STEREO_ANGLES)
    layout = {6: "5.1", 8: "7.1"}.get(channels)
    if layout is None:
        raise ValueError(f"binaural needs 1, 2, 6 (5.1) or 8 (7.1) channels, got {channels}")
    angles = [0.0] * channels  # the LFE keeps 0 degrees
    for ch, az in SPEAKERS[layout]:
        angles[ch] = az
    return angles


class PartitionedConvolver:
    """Sum over inputs of each input convolved with its own pair of impulse responses.

    Parameters
    ----------
    irs : ndarray, shape (inputs, 2, taps)
    partition : int
        Samples per partition (the latency).
    """

    def __init__(self, irs: np.ndarray, partition: int = PARTITION) -> None:
        from scipy import fft as sfft

        p = int(partition)
        self.partition = p
        c, ears, taps = irs.shape
        k = max(1, -(-taps // p))
        padded = np.zeros((c, ears, k * p))
        padded[:, :, :taps] = irs
        parts = padded.reshape(c, ears, k, p)
        # each partition zero-padded to 2P: overlap-save keeps the last P of every 2P output
        # single precision: twice as fast as double, and far below a 24-bit file's noise
        self.spectra = sfft.rfft(np.concatenate([parts, np.zeros_like(parts)], axis=-1).astype(np.float32), axis=-1)
        self.inputs, self.ears, self.parts = c, ears, k
        self.reset()

    def reset(self) -> None:
        p = self.partition
        self._prev = np.zeros((self.inputs, p), dtype=np.float32)  # the last partition, for overlap-save
        self._fdl = np.zeros((self.inputs, self.parts - 1, p + 1), dtype=np.complex64)
        self._pending = np.zeros((self.inputs, 0), dtype=np.float32)
        self._out = np.zeros((self.ears, p), dtype=np.float32)  # one partition of latency

    def _run(self, x: np.ndarray) -> np.ndarray:
        """Whole partitions ``x`` (inputs, J * P) -> output (ears, J * P)."""
        from scipy import fft as sfft

        p, j = self.partition, x.shape[1] // self.partition
        frames = np.concatenate([self._prev[:, None, :], x.reshape(self.inputs, j, p)], axis=1)
        windows = np.concatenate([frames[:, :-1], frames[:, 1:]], axis=-1)  # (inputs, J, 2P)
        self._prev = frames[:, -1].copy()
        spec = sfft.rfft(windows, axis=-1)
        line = np.concatenate([self._fdl, spec], axis=1)  # older partitions first
        acc = np.zeros((self.ears, j, p + 1), dtype=np.complex64)
        for c in range(self.inputs):
            for k in range(self.parts):
                seg = line[:, self.parts - 1 - k: self.parts - 1 - k + j][c]
                acc += seg[None, :, :] * self.spectra[c, :, k, None, :]
        if self.parts > 1:
            self._fdl = line[:, -(self.parts - 1):].copy()
        y = sfft.irfft(acc, n=2 * p, axis=-1)[:, :, p:]
        return y.reshape(self.ears, j * p)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Input ``(inputs, n)`` -> output ``(ears, n)``, one partition late."""
        n = block.shape[1]
        buf = np.concatenate([self._pending, np.asarray(block, dtype=np.float32)], axis=1)
        whole = (buf.shape[1] // self.partition) * self.partition
        self._pending = buf[:, whole:]
        if whole:
            self._out = np.concatenate([self._out, self._run(buf[:, :whole])], axis=1)
        y, self._out = self._out[:, :n], self._out[:, n:]
        return y


class Binaural(Processor):
    """Headphone rendering of a mono, stereo, 5.1 or 7.1 stream by HRIR convolution.

    Output is always two channels (left and right ear), ``latency`` samples late
    (one partition). A mono stream is a source at ``azimuth``/``elevation``.

    Parameters
    ----------
    azimuth : float
        Degrees, counter-clockwise from the front (+90 = left); mono input only.
    elevation : float
        Degrees up from the horizontal plane; mono input only.
    """

    # not in the processor registry: it changes the channel count (any layout in, two ears out), which a
    # chain insert may not; the `binaural` command and its output option use it directly. Registering it on
    # import would also make the registry depend on what happened to be imported.
    kind = ""
    PARAMS = {
        "azimuth": Param(0.0, -180.0, 180.0, "", automatable=False, doc="source direction, degrees (+90 = left)",
                         fixed="an HRIR pair is chosen once per direction"),
        "elevation": Param(0.0, -40.0, 90.0, "", automatable=False, doc="source elevation, degrees",
                           fixed="an HRIR pair is chosen once per direction"),
    }

    def __init__(self, *, hrtf: HRTFSet | None = None, **params: object) -> None:
        super().__init__(**params)
        self.hrtf = hrtf

    def _prepare(self) -> None:
        s = self.hrtf if self.hrtf is not None else load()
        self.hrtf = s
        angles = speaker_angles(self.channels, self.params["azimuth"])
        el = self.params["elevation"] if self.channels == 1 else 0.0
        pairs = [s.pair(a, el, sample_rate=self.sample_rate) for a in angles]
        self._conv = PartitionedConvolver(np.stack(pairs))

    def _reset(self) -> None:
        self._conv.reset()

    @property
    def latency(self) -> int:
        return PARTITION

    @property
    def tail(self) -> int:
        return self._conv.parts * PARTITION if hasattr(self, "_conv") else 0

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        return self._conv.process(block).astype(np.float32)


def render_array(audio: np.ndarray, sample_rate: int, *, azimuth: float = 0.0, elevation: float = 0.0,
                 hrtf: HRTFSet | None = None) -> np.ndarray:
    """Binaural ``(2, n)`` of a whole ``(channels, n)`` array, latency compensated (same length)."""
    a = np.asarray(audio, dtype=np.float32)
    b = Binaural(azimuth=azimuth, elevation=elevation, hrtf=hrtf)
    b.prepare(sample_rate, a.shape[1] + PARTITION, a.shape[0])
    y = b.process(np.concatenate([a, np.zeros((a.shape[0], PARTITION), np.float32)], axis=1), 0)
    return y[:, PARTITION:]
