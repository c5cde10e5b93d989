"""Playback-device models as data: ``devices.yaml`` read into :class:`DeviceModel`.

The file documents where each curve comes from (representative curves, said so in
the file); this module only reads and checks it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MixdownError

DEVICES_FILE = Path(__file__).with_name("devices.yaml")
QC_KEYS = ("dialogue_clarity_db", "dialogue_to_music_lu", "lost_content_pct", "mono_loss_db", "peak_dbtp")
_DYNAMICS_KEYS = ("threshold_db", "ratio", "knee_db", "attack_ms", "release_ms", "makeup_db", "rms_ms")
_NOISE_KEYS = ("level_lu", "lowpass_hz", "highpass_hz", "seed")


@dataclass(frozen=True)
class DeviceModel:
    """What one playback device does to a mix.

    Attributes
    ----------
    name : str
    description, source : str
        What the device is; where its curve comes from.
    mono : bool
        The device folds the mix to one channel.
    cutoff_hz : float
        Low-end cutoff (Butterworth high-pass corner), Hz.
    order : int
        High-pass order.
    centres_hz, response_db : tuple of float
        Magnitude response at octave centres, dB re 1 kHz.
    fit_floor_db : float
        Centres below this are the high-pass's stop band (not fitted).
    dynamics : dict or None
        Compressor parameters of the device's loudness processing.
    noise : dict or None
        Background noise (``level_lu`` re programme loudness, ``lowpass_hz``,
        ``highpass_hz``, ``seed``).
    qc : dict
        Pass/warn thresholds (:data:`QC_KEYS`).
    """

    name: str
    description: str
    source: str
    mono: bool
    cutoff_hz: float
    order: int
    centres_hz: tuple[float, ...]
    response_db: tuple[float, ...]
    fit_floor_db: float
    dynamics: dict[str, float] | None = None
    noise: dict[str, float] | None = None
    qc: dict[str, float] = field(default_factory=dict)

    @property
    def channels(self) -> int:
        """Channels the device plays: 1 (mono) or 2."""
        return 1 if self.mono else 2


def _bad(file: Path, where: str, why: str) -> MixdownError:
    return MixdownError(f"{where}: {why}", file=file)


def _number(file: Path, where: str, v: Any, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(file, where, f"must be a number between {lo:g} and {hi:g}, got {v!r}")
    return float(v)


def _section(file: Path, where: str, raw: Any, keys: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(raw, dict) or set(raw) != set(keys):
        raise _bad(file, where, f"must give exactly {', '.join(keys)}")
    return {k: _number(file, f"{where}.{k}", raw[k], -1e6, 1e6) for k in keys}


def _device(file: Path, name: str, raw: Any, centres: tuple[float, ...], floor: float,
            qc: dict[str, float]) -> DeviceModel:
    where = f"devices.{name}"
    if not isinstance(raw, dict):
        raise _bad(file, where, "must be a mapping")
    resp = raw.get("response_db")
    if not isinstance(resp, list) or len(resp) != len(centres):
        raise _bad(file, f"{where}.response_db", f"must list {len(centres)} values (one per centre)")
    own_qc = raw.get("qc") or {}
    if not isinstance(own_qc, dict) or set(own_qc) - set(QC_KEYS):
        raise _bad(file, f"{where}.qc", f"may set only {', '.join(QC_KEYS)}")
    return DeviceModel(
        name=name,
        description=str(raw.get("description", "")),
        source=str(raw.get("source", "")),
        mono=bool(raw.get("mono", False)),
        cutoff_hz=_number(file, f"{where}.cutoff_hz", raw.get("cutoff_hz"), 5.0, 5000.0),
        order=int(_number(file, f"{where}.order", raw.get("order"), 1, 8)),
        centres_hz=centres,
        response_db=tuple(_number(file, f"{where}.response_db[{i}]", v, -120.0, 24.0) for i, v in enumerate(resp)),
        fit_floor_db=floor,
        dynamics=_section(file, f"{where}.dynamics", raw["dynamics"], _DYNAMICS_KEYS) if "dynamics" in raw else None,
        noise=_section(file, f"{where}.noise", raw["noise"], _NOISE_KEYS) if "noise" in raw else None,
        qc={**qc, **{k: _number(file, f"{where}.qc.{k}", v, -200, 200) for k, v in own_qc.items()}},
    )


def load_devices(path: str | os.PathLike[str] | None = None) -> dict[str, DeviceModel]:
    """Read a devices file (default: the one shipped with mixdown).

    Raises
    ------
    MixdownError
        Naming the file and the field that is wrong.
    """
    import yaml

    file = Path(path) if path is not None else DEVICES_FILE
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MixdownError(f"cannot read the devices file ({exc.strerror})", file=file) from None
    except yaml.YAMLError as exc:
        raise MixdownError(f"not valid YAML ({' '.join(str(exc).split())})", file=file) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("devices"), dict):
        raise _bad(file, "devices", "the file must have a `devices:` mapping")
    centres = tuple(_number(file, "centres_hz", c, 10, 24000) for c in raw.get("centres_hz") or [])
    if not centres:
        raise _bad(file, "centres_hz", "must list the octave centres")
    floor = _number(file, "fit_floor_db", raw.get("fit_floor_db", -24.0), -60, 0)
    qc = _section(file, "qc", raw.get("qc"), QC_KEYS)
    return {name: _device(file, str(name), d, centres, floor, qc) for name, d in raw["devices"].items()}


_CACHE: dict[str, DeviceModel] = {}


def devices() -> dict[str, DeviceModel]:
    """The shipped device models (read once)."""
    if not _CACHE:
        _CACHE.update(load_devices())
    return dict(_CACHE)


def resolve(names: str | list[str] | tuple[str, ...]) -> list[DeviceModel]:
    """Device models by name: ``"all"``, one name, a comma list, or a list of those.

    Raises
    ------
    MixdownError
        For a name that is not a device (the message lists the known ones).
    """
    known = devices()
    items = [names] if isinstance(names, str) else list(names)
    out: list[DeviceModel] = []
    for item in items:
        for n in str(item).split(","):
            n = n.strip()
            if not n:
                continue
            if n == "all":
                picked = list(known.values())
            elif n in known:
                picked = [known[n]]
            else:
                raise MixdownError(f"unknown device {n!r} (known: {', '.join(known)}, all)")
            out.extend(d for d in picked if d not in out)
    if not out:
        raise MixdownError(f"no device given (known: {', '.join(known)}, all)")
    return out
