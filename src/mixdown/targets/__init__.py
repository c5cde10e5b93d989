"""Delivery specs: loudness target, tolerance, true-peak ceiling, gating -- as data.

The presets are ``targets.yaml`` beside this module (shipped in the package), each
with the document its numbers come from; ``mixdown targets`` prints them. A user's
own files, in the same form, add presets or override built-in ones field by field:
the ``MIXDOWN_TARGETS`` environment variable (paths separated by ``os.pathsep``) and
``mixdown --targets-file FILE`` (which applies to every command that takes
``--target``, and to the targets a session's deliverables name). Later files win.
Custom targets also come from ``--lufs X --true-peak Y``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..errors import TargetError

__all__ = ["PRESETS", "Target", "add_targets_file", "get_target", "load_targets_file"]

#: Environment variable naming users' preset files.
ENV = "MIXDOWN_TARGETS"


@dataclass(frozen=True)
class Target:
    """A loudness delivery spec.

    Attributes
    ----------
    name : str
    integrated_lufs : float
        Target programme (or dialogue-gated) loudness, LUFS/LKFS.
    tolerance_lu : float
        Allowed deviation, +/- LU.
    true_peak_dbtp : float
        Maximum true peak, dBTP.
    gating : str
        ``program`` (BS.1770 integrated over everything) or ``dialogue`` (integrated
        over the speech regions only, e.g. Netflix's dialogue-gated loudness).
    max_lra_lu : float, optional
        Upper limit of the loudness range where the spec requires one.
    lossy_true_peak_dbtp : float, optional
        Ceiling used for lossy encodings, leaving headroom for codec overshoot.
    reference : str
        Where the numbers come from.
    recommended_lra_lu : (float, float), optional
        A loudness range the spec recommends (reported, never a failure).
    max_short_term_lufs : float, optional
        Maximum short-term (3 s) loudness the spec requires (EBU R 128 s1).
    source : str
        ``built-in``, or the user file the preset comes from.
    """

    name: str
    integrated_lufs: float
    tolerance_lu: float
    true_peak_dbtp: float
    gating: str = "program"
    max_lra_lu: float | None = None
    lossy_true_peak_dbtp: float | None = None
    reference: str = ""
    recommended_lra_lu: tuple[float, float] | None = None
    max_short_term_lufs: float | None = None
    source: str = "built-in"

    def to_json(self) -> dict:
        out = asdict(self)
        if self.recommended_lra_lu is not None:
            out["recommended_lra_lu"] = list(self.recommended_lra_lu)
        return out


_FIELDS = {f.name for f in fields(Target)} - {"source"}
_NUMBERS = ("integrated_lufs", "tolerance_lu", "true_peak_dbtp", "max_lra_lu", "lossy_true_peak_dbtp",
            "max_short_term_lufs")


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TargetError(f"{where}: {key} must be a number, not {value!r}")
    return float(value)


def _check(t: Target, where: str) -> None:
    """The ranges a preset's numbers must lie in (the same as --lufs/--true-peak)."""
    if not -70 < t.integrated_lufs < 0:
        raise TargetError(f"{where}: integrated_lufs must be between -70 and 0 LUFS, not {t.integrated_lufs:g}")
    if not 0 <= t.tolerance_lu <= 10:
        raise TargetError(f"{where}: tolerance_lu must be between 0 and 10 LU, not {t.tolerance_lu:g}")
    if t.true_peak_dbtp > 0:
        raise TargetError(f"{where}: true_peak_dbtp must be at or below 0 dBTP, not {t.true_peak_dbtp:g}")
    if t.gating not in ("program", "dialogue"):
        raise TargetError(f"{where}: gating must be program or dialogue, not {t.gating!r}")
    if t.max_lra_lu is not None and t.max_lra_lu <= 0:
        raise TargetError(f"{where}: max_lra_lu must be positive, not {t.max_lra_lu:g}")
    if t.recommended_lra_lu is not None and not 0 <= t.recommended_lra_lu[0] <= t.recommended_lra_lu[1]:
        raise TargetError(f"{where}: recommended_lra_lu must be [low, high] with 0 <= low <= high")


def _entry(raw: Any, where: str, base: Target | None, source: str) -> Target:
    """One preset from a YAML mapping, over ``base`` (the preset it overrides) when there is one."""
    if not isinstance(raw, dict):
        raise TargetError(f"{where}: a preset is a mapping of fields, not {type(raw).__name__}")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise TargetError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None and key != "name":
            values[key] = None
        elif key in _NUMBERS:
            values[key] = _number(value, where, key)
        elif key == "recommended_lra_lu":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise TargetError(f"{where}: recommended_lra_lu must be [low, high], not {value!r}")
            values[key] = (_number(value[0], where, key), _number(value[1], where, key))
        elif not isinstance(value, str) or (key == "name" and not value.strip()):
            raise TargetError(f"{where}: {key} must be text, not {value!r}")
        else:
            values[key] = value
    if base is None:
        missing = [k for k in ("integrated_lufs", "tolerance_lu", "true_peak_dbtp") if k not in values]
        if missing:
            raise TargetError(f"{where}: a new preset needs {', '.join(missing)}")
        values.setdefault("reference", f"{source}")
        t = Target(source=source, **values)
    else:
        values.setdefault("reference", f"{source}: the built-in {base.name} with changes ({base.reference})")
        t = replace(base, source=source, **values)
    _check(t, where)
    return t


def load_targets_file(path: str | os.PathLike[str], base: Mapping[str, Target] | None = None,
                      *, source: str | None = None) -> dict[str, Target]:
    """The presets of one file (``presets:`` list), each over the preset of its name in ``base``.

    Raises
    ------
    TargetError
        Unreadable file, bad YAML, or a preset with an unknown field or a value out of range
        (named by file, entry and field).
    """
    import yaml

    p = Path(path)
    src = source or str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetError(f"{p}: cannot read the targets file ({exc.strerror or exc})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise TargetError(f"{p}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("presets"), list):
        raise TargetError(f"{p}: a targets file is a mapping with a `presets:` list")
    out: dict[str, Target] = {}
    for i, raw in enumerate(doc["presets"]):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{p}: presets[{i}]" + (f" ({name})" if isinstance(name, str) else "")
        if not isinstance(name, str):
            raise TargetError(f"{where}: every preset needs a name")
        out[name] = _entry(raw, where, (base or {}).get(name) or out.get(name), src)
    return out


class _Presets(Mapping[str, Target]):
    """The built-in presets plus the users' files; read on first use."""

    def __init__(self) -> None:
        self._data: dict[str, Target] | None = None
        self._files: list[Path] = []

    def _load(self) -> dict[str, Target]:
        if self._data is None:
            from importlib.resources import files

            builtin = files("mixdown.targets").joinpath("targets.yaml")
            data = load_targets_file(Path(str(builtin)), source="built-in")
            env = [Path(x) for x in os.environ.get(ENV, "").split(os.pathsep) if x.strip()]
            for f in env + self._files:
                data.update(load_targets_file(f, data))
            self._data = data
        return self._data

    def add_file(self, path: str | os.PathLike[str]) -> None:
        self._files.append(Path(path))
        self._data = None
        self._load()  # a bad file is said now, before any work

    def __getitem__(self, name: str) -> Target:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


#: Every preset by name: the built-in ones, then the users' files (``MIXDOWN_TARGETS``, ``--targets-file``).
PRESETS = _Presets()


def add_targets_file(path: str | os.PathLike[str]) -> None:
    """Add a user's presets file (after ``MIXDOWN_TARGETS``); its presets add to or override the others.

    Raises
    ------
    TargetError
        The file cannot be read or has a bad preset.
    """
    PRESETS.add_file(path)


def get_target(name: str | None = None, *, lufs: float | None = None, true_peak: float | None = None,
               tolerance: float | None = None) -> Target:
    """A preset by name, optionally overridden, or a custom target from numbers.

    Raises
    ------
    TargetError
        For an unknown preset or a custom target missing its loudness.
    """
    if name is not None:
        base = PRESETS.get(name)
        if base is None:
            raise TargetError(f"unknown target {name!r} (known: {', '.join(PRESETS)}; or --lufs X --true-peak Y)")
    else:
        if lufs is None:
            raise TargetError("give a --target preset or a custom --lufs (and --true-peak)")
        base = Target("custom", lufs, 0.5, -1.0, reference="custom")
    changes: dict[str, Any] = {}
    if lufs is not None:
        changes["integrated_lufs"] = float(lufs)
    if true_peak is not None:
        changes["true_peak_dbtp"] = float(true_peak)
    if tolerance is not None:
        changes["tolerance_lu"] = float(tolerance)
    if changes and name is not None:
        changes["name"] = f"{name} (custom)"
    if not -70 < changes.get("integrated_lufs", base.integrated_lufs) < 0:
        raise TargetError("target loudness must be between -70 and 0 LUFS")
    if changes.get("true_peak_dbtp", base.true_peak_dbtp) > 0:
        raise TargetError("true-peak ceiling must be at or below 0 dBTP")
    return replace(base, **changes) if changes else base
