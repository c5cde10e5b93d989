"""mixdown: audio post-production for video, as code.

The Python API
--------------
Sessions
    ``Session``, ``Track``, ``Clip``, ``Bus`` (the session file's model; a clip's
    ``source`` is a file or a float32 ``(channels, frames)`` ndarray with its
    ``sample_rate``), ``load_session(path)``, ``save_session(session, path)``.
Verbs
    ``render(session) -> ndarray (channels, frames) float32``;
    ``auto(session, target="podcast") -> AutoResult`` (``.session`` decided,
    ``.decisions``, ``.measured`` loudness); ``measure(audio, sample_rate) ->
    LoudnessResult`` (``.integrated_lufs``, ``.true_peak_dbtp``, ... the keys of
    ``measure --json``); ``deliver(session)`` writes its deliverables;
    ``batch(jobs, workers=...)`` runs many jobs.
Processors
    ``mixdown.dsp``: ``dsp.create("compressor", ...)`` and the processor classes.

Example
-------
>>> import numpy as np, mixdown
>>> tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32)
>>> s = mixdown.Session(sample_rate=48000, layout="stereo", tracks=[
...     mixdown.Track(name="Tone", role="music", clips=[mixdown.Clip(source=tone[None], sample_rate=48000)])])
>>> mixdown.render(s).shape
(2, 48000)

Heavy modules (scipy.signal, PyAV, numba kernels, the renderer, dask) are imported
by the functions that need them, so ``import mixdown`` and ``mixdown --help`` stay fast.
"""

import functools
import importlib
import inspect
import sys
import types
from typing import Any

__version__ = "0.1.0"

from .api import AutoResult, DeliverResult, auto, deliver, measure, render
from .errors import MixdownError
from .session import ArraySource, Bus, Clip, Session, Track, load_session, save_session

__all__ = [
    "ArraySource", "AutoResult", "Bus", "Clip", "DeliverResult", "MixdownError", "Session", "Track", "__version__",
    "auto", "batch", "deliver", "dsp", "load_session", "measure", "render", "save_session",
]


class _Verb:
    """``mixdown.render`` / ``auto`` / ``deliver``: the API function, and the subpackage of the same name.

    Calling it calls :mod:`mixdown.api`'s function; any other attribute is the
    subpackage's (``mixdown.render.engine``), so both spellings keep working.
    """

    def __init__(self, func: Any) -> None:
        functools.update_wrapper(self, func)
        self._package = f"{__name__}.{func.__name__}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._package), attr)

    def __repr__(self) -> str:
        return f"<mixdown verb {self.__wrapped__.__name__}{inspect.signature(self.__wrapped__)}>"


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # importing mixdown.render binds the subpackage on the package: the verb stays, and forwards to it
        if name in _VERBS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # pickled by reference, as any module (dask/cloudpickle ship functions that name mixdown)
        return importlib.import_module, (self.__name__,)


_VERBS = {"auto": _Verb(auto), "deliver": _Verb(deliver), "render": _Verb(render)}
globals().update(_VERBS)
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    # mixdown.batch (a callable package: mixdown.batch(jobs, workers=...)) and mixdown.dsp are
    # imported on first use, so that `import mixdown` stays fast and never imports dask or scipy
    if name in ("batch", "dsp"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mixdown' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
