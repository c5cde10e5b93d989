"""What a device does to a stream: downmix, fold-down, response, noise, loudness processing.

:class:`DeviceChain` is streamed block by block from an absolute position; blocks of
any size give the same samples (filter state carried, noise generated in fixed
chunks keyed by their index, the compressor is a streaming processor).
"""

from __future__ import annotations

import numpy as np

from ..dsp.dynamics import Compressor
from . import downmix
from .filters import SosStream, design
from .models import DeviceModel

NOISE_CHUNK = 1 << 14  # frames per independently seeded noise chunk


class ChunkNoise:
    """White Gaussian noise, the same samples for any block size.

    Chunk ``k`` of ``NOISE_CHUNK`` frames comes from a generator seeded with
    ``(seed, k)``, so a block starting anywhere reads the same values.
    """

    def __init__(self, seed: int, channels: int) -> None:
        self.seed = int(seed)
        self.channels = int(channels)
        self._chunk: tuple[int, np.ndarray] | None = None

    def _get(self, k: int) -> np.ndarray:
        if self._chunk is None or self._chunk[0] != k:
            rng = np.random.default_rng([self.seed, k])
            self._chunk = (k, rng.standard_normal((self.channels, NOISE_CHUNK)))
        return self._chunk[1]

    def read(self, position: int, n: int) -> np.ndarray:
        out = np.empty((self.channels, n))
        done = 0
        while done < n:
            k, off = divmod(position + done, NOISE_CHUNK)
            take = min(n - done, NOISE_CHUNK - off)
            out[:, done:done + take] = self._get(k)[:, off:off + take]
            done += take
        return out


def noise_sos(noise: dict[str, float], sample_rate: int) -> np.ndarray:
    """The noise's shaping filter: one-pole low-pass and 2nd-order Butterworth high-pass."""
    from scipy.signal import butter

    lp = butter(1, noise["lowpass_hz"], btype="lowpass", output="sos", fs=sample_rate)
    hp = butter(2, noise["highpass_hz"], btype="highpass", output="sos", fs=sample_rate)
    return np.vstack([lp, hp])


def noise_loudness(noise: dict[str, float], sample_rate: int, channels: int) -> float:
    """Integrated loudness (LUFS) of the shaped unit noise, measured on 20 s of it."""
    from ..analysis.loudness import measure_array

    n = 20 * sample_rate
    shaped = SosStream(noise_sos(noise, sample_rate), channels)
    x = shaped.process(ChunkNoise(int(noise["seed"]), channels).read(0, n)).astype(np.float32)
    layout = "mono" if channels == 1 else "stereo"
    res = measure_array(x, sample_rate, layout=layout)
    return float(res.integrated_lufs)


class DeviceChain:
    """One device's processing of a mix, streamed.

    Parameters
    ----------
    model : DeviceModel
    sample_rate : int
    channels : int
        Channels of the mix (1, 2, 6 = 5.1 or 8 = 7.1).
    programme_lufs : float, optional
        Integrated loudness of the mix, for noise set relative to it (devices
        without noise ignore it; a device with noise needs it).
    filters_only : bool
        Leave out noise and loudness processing (to measure the response alone).
    """

    def __init__(self, model: DeviceModel, sample_rate: int, channels: int, *,
                 programme_lufs: float | None = None, filters_only: bool = False,
                 max_block: int = 1 << 16) -> None:
        self.model = model
        self.sample_rate = int(sample_rate)
        layout = downmix.layout_of(channels)
        # stereo devices hear stereo; a mono mix stays mono until the device plays it
        self.stereo_matrix = (None if layout in ("mono", "stereo")
                              else downmix.matrix(layout, "stereo"))
        self.in_channels = 1 if layout == "mono" else 2
        self.channels = model.channels
        self.filter = SosStream(design(model, self.sample_rate), self.in_channels)
        self.noise: tuple[ChunkNoise, SosStream, float] | None = None
        if model.noise is not None and not filters_only:
            if programme_lufs is None:
                raise ValueError("a device with noise needs the programme's loudness")
            gain_db = programme_lufs + model.noise["level_lu"] - noise_loudness(model.noise, self.sample_rate,
                                                                                 self.channels)
            self.noise = (ChunkNoise(int(model.noise["seed"]), self.channels),
                          SosStream(noise_sos(model.noise, self.sample_rate), self.channels), 10 ** (gain_db / 20))
        self.dynamics: Compressor | None = None
        if model.dynamics is not None and not filters_only:
            self.dynamics = Compressor(**model.dynamics, detector="rms")
            self.dynamics.prepare(self.sample_rate, max_block, self.channels)

    def reset(self) -> None:
        self.filter.reset()
        if self.noise is not None:
            self.noise[1].reset()
        if self.dynamics is not None:
            self.dynamics.reset()

    def stereo(self, block: np.ndarray) -> np.ndarray:
        """The mix as the device's input: a 5.1/7.1 mix downmixed to stereo (BS.775)."""
        return block if self.stereo_matrix is None else downmix.apply(block, self.stereo_matrix)

    def filtered(self, block: np.ndarray) -> np.ndarray:
        """The device's response applied to its input (before the fold-down), float64."""
        return self.filter.process(self.stereo(block))

    def play(self, filtered: np.ndarray, position: int) -> np.ndarray:
        """What the device plays, from :meth:`filtered`'s output: fold-down, noise, dynamics; float32."""
        if self.channels == 1 and filtered.shape[0] == 2:
            y = 0.5 * (filtered[0:1] + filtered[1:2])
        elif self.channels == 2 and filtered.shape[0] == 1:
            y = np.repeat(filtered, 2, axis=0)  # a mono mix on a stereo device: both speakers
        else:
            y = filtered
        self.last_noise: np.ndarray | None = None
        if self.noise is not None:
            gen, shape, g = self.noise
            self.last_noise = g * shape.process(gen.read(position, y.shape[1]))  # QC weighs speech against it
            y = y + self.last_noise
        out = y.astype(np.float32)
        if self.dynamics is not None:
            out = self.dynamics.process(out, position)
        return out

    def process(self, block: np.ndarray, position: int) -> np.ndarray:
        """Mix block ``(channels, n)`` at ``position`` -> device output ``(device channels, n)``."""
        return self.play(self.filtered(block), position)
