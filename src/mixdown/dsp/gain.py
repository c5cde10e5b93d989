"""Gain: the simplest processor, and the reference for how automation is applied."""

from __future__ import annotations

import numpy as np

from .automation import db_to_amp
from .base import Param, Processor


class Gain(Processor):
    """Multiply by a gain in dB, sample-accurately automatable.

    Parameters
    ----------
    gain_db : float
        Gain in dB (-144 is silence).
    invert : bool
        Flip polarity.
    """

    kind = "gain"
    PARAMS = {
        "gain_db": Param(0.0, -144.0, 48.0, "dB", doc="gain in dB"),
        "invert": Param(False, automatable=False, doc="flip polarity", fixed="a switch"),
    }

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        g = db_to_amp(self.value("gain_db", position, block.shape[1]))
        if self.params["invert"]:
            g = -g
        return (block * np.asarray(g, dtype=np.float32)).astype(np.float32, copy=False)
