"""Audio in memory as a clip's source: ``Clip(source=<ndarray>, sample_rate=48000)``.

An :class:`ArraySource` holds its own read-only float32 ``(channels, frames)`` copy,
so changing the caller's array afterwards changes nothing in the session (the same
session renders the same bytes). It lives in a session in memory only: a session
file names files, and :func:`~mixdown.session.save_session` refuses a session that
holds one (see :func:`array_clips`).

numpy is not imported here until an array is given, so ``import mixdown`` stays light.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic_core import core_schema

#: More channels than this is taken for a (frames, channels) array given by mistake.
MAX_CHANNELS = 64


def is_ndarray(value: Any) -> bool:
    """Whether ``value`` is a numpy array (without importing numpy when nothing could be one)."""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


class ArraySource:
    """float32 ``(channels, frames)`` audio at ``sample_rate``, the source of a clip.

    Parameters
    ----------
    data : ndarray
        Floating-point samples, ``(channels, frames)`` (a 1-D array is one channel),
        full scale 1.0, every sample finite. Copied (as float32, read-only).
    sample_rate : int
        Rate of ``data``, Hz; resampled to the session rate like a file when it differs.

    Attributes
    ----------
    data : ndarray
    sample_rate : int
    label : str
        How messages name it; the session sets ``track 'Host' clip 0 (array)``.

    Raises
    ------
    ValueError
        An array that is not floating point, not 1-D or 2-D, empty, holds NaN or
        infinity, or looks transposed (more than :data:`MAX_CHANNELS` channels).
    """

    def __init__(self, data: Any, sample_rate: int, *, label: str = "array") -> None:
        import numpy as np

        a = np.asarray(data)
        if a.dtype.kind != "f":
            raise ValueError(f"an array source holds floating-point samples (full scale 1.0), not {a.dtype}")
        if a.ndim == 1:
            a = a[np.newaxis, :]
        if a.ndim != 2:
            raise ValueError(f"an array source is (channels, frames); this one has shape {a.shape}")
        if a.shape[0] > MAX_CHANNELS:
            raise ValueError(f"an array source is (channels, frames); shape {a.shape} has {a.shape[0]} channels "
                             "(pass array.T?)")
        if a.shape[0] == 0 or a.shape[1] == 0:
            raise ValueError(f"an array source holds at least one sample; this one has shape {a.shape}")
        out = np.array(a, dtype=np.float32, order="C", copy=True)
        if not np.isfinite(out).all():
            bad = int(np.flatnonzero(~np.isfinite(out).all(axis=0))[0])
            raise ValueError(f"the array holds NaN or infinite samples (the first at frame {bad})")
        if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or not 1 <= int(sample_rate) <= 384000:
            raise ValueError(f"sample_rate of an array source is a whole number of Hz in 1..384000, not {sample_rate!r}")
        out.flags.writeable = False
        self.data = out
        self.sample_rate = int(sample_rate)
        self.label = label

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.data.shape[0])

    @property
    def frames(self) -> int:
        """Length in samples at :attr:`sample_rate`."""
        return int(self.data.shape[1])

    def __repr__(self) -> str:
        return f"ArraySource({self.channels} ch x {self.frames} frames at {self.sample_rate} Hz)"

    def __deepcopy__(self, memo: dict[int, Any]) -> "ArraySource":
        # read-only samples: a copied session shares them (a copy must not double the memory)
        return self

    def __copy__(self) -> "ArraySource":
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.data.flags.writeable = False  # a pickled copy is writable again

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        # the object itself in a python-mode dump; its label in a json-mode one (session_to_data
        # puts the object back, dump_session refuses it)
        def ser(v: ArraySource, info: Any) -> Any:
            return v.label if info.mode_is_json() else v

        return core_schema.is_instance_schema(cls, serialization=core_schema.plain_serializer_function_ser_schema(
            ser, info_arg=True))


def array_clips(session: Any) -> list[tuple[str, int]]:
    """``(track name, clip index)`` of every clip whose source is an array."""
    return [(t.name, i) for t in session.tracks for i, c in enumerate(t.clips) if isinstance(c.source, ArraySource)]
