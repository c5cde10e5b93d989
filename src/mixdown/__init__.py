"""mixdown: audio post-production for video, as code.

Heavy modules (scipy.signal, PyAV, numba kernels) are imported lazily by the
functions that need them, so ``import mixdown`` and ``mixdown --help`` stay fast.
"""

__version__ = "0.1.0"

from .errors import MixdownError  # noqa: E402
from .session import Session, load_session, save_session  # noqa: E402

__all__ = ["MixdownError", "Session", "load_session", "save_session", "__version__"]
