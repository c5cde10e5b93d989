"""The decision list: every move ``auto`` makes, with where, how much and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Decision:
    """One automatic decision, as a person would log it.

    Attributes
    ----------
    kind : str
        ``speech``, ``duck``, ``leveling``, ``chain``, ``balance``, ``loudness``, ``limiter``, ``warning``.
    target : str
        What was changed: a track or bus name, ``master``, or a clip (``Host/clip 2``).
    action : str
        What was done, in words (``duck -14.0 dB``).
    reason : str
        Why, with the measured numbers that led to it.
    start_s, end_s : float, optional
        Where on the timeline, seconds.
    value_db : float, optional
        How much, in dB (gain changes) or LU.
    data : dict
        Extra numbers for tools and the report.
    """

    kind: str
    target: str
    action: str
    reason: str
    start_s: float | None = None
    end_s: float | None = None
    value_db: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("start_s", "end_s", "value_db"):
            if d[k] is not None:
                d[k] = round(d[k], 3)
        if not d["data"]:
            d.pop("data")
        return d
