"""What an import kept, changed and could not carry: said aloud, never dropped silently.

An :class:`ImportReport` lists every thing the timeline file had that the session
cannot represent exactly (effects, speed changes, nested sequences, video tracks,
generators, markers...), every approximation made, and how roles and media were
resolved, so a person can check the import before mixing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["dropped", "approximated", "warning", "info"]

_ORDER = {"dropped": 0, "approximated": 1, "warning": 2, "info": 3}
_TITLES = {
    "dropped": "Not imported (the session cannot represent it)",
    "approximated": "Imported approximately",
    "warning": "Check",
    "info": "Notes",
}


@dataclass
class ReportItem:
    """One thing the report says.

    Attributes
    ----------
    severity : str
        ``dropped`` (in the file, not in the session), ``approximated`` (in the
        session, but not exactly), ``warning`` (needs a look) or ``info``.
    what : str
        Short category: ``video track``, ``effect``, ``speed change``, ``marker``...
    detail : str
        The sentence a person reads.
    where : str, optional
        Where in the timeline: track, clip and timecode.
    """

    severity: Severity
    what: str
    detail: str
    where: str | None = None


@dataclass
class ImportReport:
    """Everything an import did not carry over exactly.

    Attributes
    ----------
    source : str
        The timeline file.
    format : str
        ``fcp7``, ``fcpxml``, ``edl`` or ``otio``.
    sequence : str, optional
        Name of the sequence/project that was imported.
    tracks, clips : int
        What the session received.
    roles : dict
        Track name -> ``(role, reason)``.
    media : dict
        Media reference as written in the file -> resolved path (None when missing).
    items : list of ReportItem
    """

    source: str
    format: str
    sequence: str | None = None
    tracks: int = 0
    clips: int = 0
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)
    media: dict[str, str | None] = field(default_factory=dict)
    items: list[ReportItem] = field(default_factory=list)

    def add(self, severity: Severity, what: str, detail: str, where: str | None = None) -> None:
        """Record one item (an identical item is recorded once)."""
        item = ReportItem(severity, what, detail, where)
        if item not in self.items:
            self.items.append(item)

    def by_severity(self, severity: Severity) -> list[ReportItem]:
        """The items of one severity, in the order they were found."""
        return [i for i in self.items if i.severity == severity]

    @property
    def dropped(self) -> list[ReportItem]:
        """Things in the file that are not in the session."""
        return self.by_severity("dropped")

    @property
    def approximated(self) -> list[ReportItem]:
        """Things in the session that differ from the file."""
        return self.by_severity("approximated")

    def kinds(self) -> Counter[str]:
        """How many items of each ``what`` (all severities)."""
        return Counter(i.what for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON output)."""
        data = asdict(self)
        data["roles"] = {k: {"role": r, "reason": why} for k, (r, why) in self.roles.items()}
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_text(self) -> str:
        """The report for people: a summary line, roles, media, then items by severity."""
        lines = [
            f"Imported {self.source} ({self.format})" + (f", sequence {self.sequence!r}" if self.sequence else ""),
            f"  {self.tracks} track{'s' if self.tracks != 1 else ''}, "
            f"{self.clips} clip{'s' if self.clips != 1 else ''}",
        ]
        if self.roles:
            lines.append("Roles:")
            for name, (role, why) in self.roles.items():
                lines.append(f"  {name}: {role} ({why})")
        missing = [k for k, v in self.media.items() if v is None]
        if self.media:
            lines.append(f"Media: {len(self.media) - len(missing)} of {len(self.media)} found")
            for ref in missing:
                lines.append(f"  missing: {ref}")
        for sev in sorted(_TITLES, key=_ORDER.__getitem__):
            items = self.by_severity(sev)  # type: ignore[arg-type]
            if not items:
                continue
            lines.append(f"{_TITLES[sev]}:")
            for it in items:
                where = f" [{it.where}]" if it.where else ""
                lines.append(f"  - {it.what}: {it.detail}{where}")
        if not self.dropped and not self.approximated:
            lines.append("Everything in the timeline's audio was imported exactly.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
