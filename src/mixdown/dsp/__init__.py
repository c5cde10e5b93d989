"""Audio processors: the streaming contract (:mod:`~mixdown.dsp.base`), the effects, chains.

Importing the package imports every processor module, so the registry
(:func:`~mixdown.dsp.base.load_all`, :func:`~mixdown.dsp.base.create`) is complete
without any module importing the others back. Processors are numpy-only at import;
their numba kernels are compiled or loaded on first ``prepare``.
"""

from __future__ import annotations

from .bands import DeEsser, Dehum
from .base import Param, Processor, create, load_all
from .chain import Chain
from .color import Saturation
from .declick import Declick
from .denoise import Denoise
from .dynamics import Compressor, Gate, Limiter
from .eq import Bell, HighPass, HighShelf, LowPass, LowShelf, Notch, ParametricEQ
from .fader import Fader
from .gain import Gain
from .spatial import Delay, Pan, Reverb, Width

__all__ = [
    "Bell",
    "Chain",
    "Compressor",
    "DeEsser",
    "Declick",
    "Dehum",
    "Delay",
    "Denoise",
    "Fader",
    "Gain",
    "Gate",
    "HighPass",
    "HighShelf",
    "Limiter",
    "LowPass",
    "LowShelf",
    "Notch",
    "Pan",
    "Param",
    "ParametricEQ",
    "Processor",
    "Reverb",
    "Saturation",
    "Width",
    "create",
    "load_all",
]
