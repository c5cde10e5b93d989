"""What a delivery wrote, how, and whether each file meets its spec (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeliveryReport", "OutputReport"]


@dataclass
class OutputReport:
    """One deliverable as written and measured.

    Attributes
    ----------
    kind : str
        ``mix``, ``stems``, ``me`` or ``video``.
    path : str
        The file (for stems: the folder).
    files : list of str
        Every file written.
    format : str
    target : str or None
    layout : str
    sample_rate : int
        Of the file (Opus: 48 kHz).
    gain_db : float or None
        Loudness gain applied to the premaster, dB.
    ceiling_dbtp : float or None
        Ceiling the limiter held, dBTP.
    limiter_max_reduction_db : float or None
    master_passes : int
        Runs of the master stage for the accepted version.
    encodes : int
        Times the file was encoded (more than 1: corrected after verification).
    measured : dict
        Loudness of what was delivered: decoded again for lossy files.
    verified : str
        ``decoded`` (measured from the file) or ``rendered`` (measured on the samples written).
    compliant : bool or None
        Against the target (None without one, and for stems).
    problems, notes : list of str
    shown : list of str
        The notes a person should see as they happen (a file encoded again, a mix
        cut or padded to its video); not part of the JSON, which has them in ``notes``.
    """

    kind: str
    path: str
    format: str
    target: str | None
    layout: str
    files: list[str] = field(default_factory=list)
    sample_rate: int = 0
    duration_s: float = 0.0
    gain_db: float | None = None
    ceiling_dbtp: float | None = None
    limiter_max_reduction_db: float | None = None
    master_passes: int = 0
    encodes: int = 0
    measured: dict[str, Any] = field(default_factory=dict)
    verified: str = ""
    compliant: bool | None = None
    requirements: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    mux: dict[str, Any] | None = None
    seconds: float = 0.0

    def note(self, text: str, *, show: bool = False) -> None:
        """Add a note once; ``show`` it on the terminal too."""
        if text not in self.notes:
            self.notes.append(text)
        if show and text not in self.shown:
            self.shown.append(text)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        del out["shown"]
        for k in ("gain_db", "ceiling_dbtp", "limiter_max_reduction_db", "duration_s", "seconds"):
            if out[k] is not None:
                out[k] = round(float(out[k]), 3)
        return out


@dataclass
class DeliveryReport:
    """Everything :func:`render_deliverables` wrote, how, and whether it meets its spec."""

    outputs: list[OutputReport]
    sample_rate: int
    channels: int
    duration_s: float
    premaster: dict[str, Any] = field(default_factory=dict)
    speech_s: float | None = None
    timing: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        """False if any deliverable with a target misses it."""
        return all(o.compliant is not False for o in self.outputs)

    @property
    def problems(self) -> list[str]:
        return [f"{o.path}: {p}" for o in self.outputs for p in o.problems]

    def to_json(self) -> dict[str, Any]:
        return {
            "compliant": self.compliant,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration_s": round(self.duration_s, 6),
            "premaster": self.premaster,
            "speech_s": None if self.speech_s is None else round(self.speech_s, 2),
            "outputs": [o.to_json() for o in self.outputs],
            "problems": self.problems,
            "warnings": self.warnings,
            "timing_s": {k: round(v, 3) for k, v in self.timing.items()},
        }
