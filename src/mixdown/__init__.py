"""mixdown: audio post-production for video, as code.

Heavy modules (scipy.signal, PyAV, numba kernels) are imported lazily by the
functions that need them, so ``import mixdown`` and ``mixdown --help`` stay fast.
"""

__version__ = "0.1.0"

from .errors import MixdownError  # noqa: E402
from .session import Session, load_session, save_session  # noqa: E402

__all__ = ["MixdownError", "Session", "batch", "load_session", "save_session", "__version__"]


def __getattr__(name: str) -> object:
    # mixdown.batch (a callable package: mixdown.batch(jobs, workers=...)) is imported on
    # first use, so that `import mixdown` stays fast and never imports dask
    if name == "batch":
        import importlib

        return importlib.import_module(".batch", __name__)
    raise AttributeError(f"module 'mixdown' has no attribute {name!r}")
