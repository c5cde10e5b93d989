"""Head-related impulse responses: the shipped MIT KEMAR set, or a SOFA file of your own.

The default set is MIT's KEMAR measurements (Gardner & Martin, MIT Media Lab, 1994;
normal pinna, 710 directions, 512 taps at 44.1 kHz), converted from Debian's
``MIT_KEMAR_normal_pinna.sofa`` (package ``libmysofa1``) into
``data/mit_kemar_normal_pinna.npz`` by ``tools/convert_sofa.py``; its attribution and
terms are in ``data/MIT_KEMAR.txt``. Nothing is downloaded: the copy ships with
mixdown. A SOFA file of your own (``SimpleFreeFieldHRIR``) is read with h5py.

Directions are SOFA's: azimuth in degrees counter-clockwise from the front (+90 =
left), elevation in degrees up from the horizontal plane.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MediaError

DEFAULT_FILE = Path(__file__).parent / "data" / "mit_kemar_normal_pinna.npz"


@dataclass(frozen=True)
class HRTFSet:
    """A set of HRIR pairs.

    Attributes
    ----------
    positions : ndarray, shape (m, 2)
        Azimuth and elevation of each measurement, degrees.
    irs : ndarray of float32, shape (m, 2, taps)
        Left and right ear impulse responses.
    sample_rate : int
        Hz.
    name : str
    """

    positions: np.ndarray
    irs: np.ndarray
    sample_rate: int
    name: str

    def nearest(self, azimuth: float, elevation: float = 0.0) -> int:
        """Index of the measured direction closest (great circle) to the one asked for."""
        az, el = np.radians(self.positions[:, 0]), np.radians(self.positions[:, 1])
        a, e = math.radians(azimuth), math.radians(elevation)
        cos_d = np.sin(el) * math.sin(e) + np.cos(el) * math.cos(e) * np.cos(az - a)
        return int(np.argmax(cos_d))

    def pair(self, azimuth: float, elevation: float = 0.0, *, sample_rate: int | None = None) -> np.ndarray:
        """The HRIR pair ``(2, taps)`` nearest a direction, resampled to ``sample_rate`` if given."""
        ir = self.irs[self.nearest(azimuth, elevation)].astype(np.float64)
        if sample_rate is None or int(sample_rate) == self.sample_rate:
            return ir
        from scipy.signal import resample_poly

        g = math.gcd(int(sample_rate), self.sample_rate)
        return resample_poly(ir, int(sample_rate) // g, self.sample_rate // g, axis=1)


def read_sofa(path: str | os.PathLike[str]) -> HRTFSet:
    """Read a ``SimpleFreeFieldHRIR`` SOFA file (HDF5) with h5py.

    Raises
    ------
    MediaError
        When the file cannot be read or is not a free-field HRIR set.
    """
    p = Path(path)
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise MediaError("reading SOFA files needs h5py (pip install h5py)", file=p) from None
    try:
        with h5py.File(p, "r") as f:
            conv = f.attrs.get("SOFAConventions", b"")
            conv = conv.decode() if isinstance(conv, bytes) else str(conv)
            if "FreeFieldHRIR" not in conv:
                raise MediaError(f"not a free-field HRIR set (SOFAConventions {conv!r})", file=p)
            irs = np.asarray(f["Data.IR"], dtype=np.float32)
            pos = np.asarray(f["SourcePosition"], dtype=np.float64)
            rate = int(np.asarray(f["Data.SamplingRate"]).ravel()[0])
            units = f["SourcePosition"].attrs.get("Type", b"spherical")
    except MediaError:
        raise
    except (OSError, KeyError) as exc:
        raise MediaError(f"cannot read the SOFA file ({exc})", file=p) from None
    if (units.decode() if isinstance(units, bytes) else str(units)) != "spherical":
        raise MediaError("SOFA SourcePosition must be spherical (azimuth, elevation, distance)", file=p)
    if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[0] != pos.shape[0]:
        raise MediaError(f"SOFA Data.IR must be (measurements, 2 ears, taps), got {irs.shape}", file=p)
    return HRTFSet(pos[:, :2].copy(), irs, rate, p.stem)


def load(path: str | os.PathLike[str] | None = None) -> HRTFSet:
    """The HRTF set in ``path`` (``.sofa``, or an ``.npz`` made by ``tools/convert_sofa.py``); default: MIT KEMAR."""
    p = DEFAULT_FILE if path is None else Path(path)
    if not p.is_file():
        raise MediaError("HRTF file not found", file=p)
    if p.suffix.lower() == ".sofa":
        return read_sofa(p)
    try:
        with np.load(p) as z:
            return HRTFSet(z["positions"], z["irs"].astype(np.float32), int(z["sample_rate"]), str(z["name"]))
    except (OSError, KeyError, ValueError) as exc:
        raise MediaError(f"cannot read the HRTF set ({exc})", file=p) from None
