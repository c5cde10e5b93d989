"""One job of a batch: a :class:`~mixdown.pipeline.Job` with where it came from.

A :class:`BatchJob` is what a manifest entry expands to (one per glob match and per
version): the pipeline job after the manifest's defaults and overrides, its name,
the manifest line it was written on, the version group it belongs to, and the
input files it names (for the job key and for error messages). An input error found
while expanding or keying it (a session that does not load, a file that does not
exist) is kept on the job, so the batch reports it and runs the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..pipeline import Job

ROLES = ("dialogue", "music", "sfx", "ambience")
OUTPUT_FIELDS = ("output", "stems", "save_session", "report")

__all__ = ["BatchJob", "OUTPUT_FIELDS", "ROLES"]


@dataclass(frozen=True)
class BatchJob:
    """A pipeline job with its batch identity.

    Attributes
    ----------
    name : str
        Unique within the batch; the row of the state database and of the report.
    job : Job
        What a worker runs (``pipeline.run(job)``); paths are absolute.
    manifest : str, optional
        The manifest file it was written in.
    line : int, optional
        1-based line of its entry in the manifest.
    group : str, optional
        The versions it is one of (the entry's name), for the catalogue checks.
    version : str, optional
        Its version's name inside the group (``en``, ``fr`` ...).
    inputs : tuple of (str, str)
        ``(field, absolute path)`` of every input file the entry names.
    error : str, optional
        An input error already known (the job is reported failed, not run).
    """

    name: str
    job: Job
    manifest: str | None = None
    line: int | None = None
    group: str | None = None
    version: str | None = None
    inputs: tuple[tuple[str, str], ...] = ()
    error: str | None = None

    def with_error(self, message: str) -> BatchJob:
        """A copy that carries an input error."""
        return replace(self, error=message)

    @property
    def where(self) -> str:
        """``manifest:line`` for messages, or the job's name alone."""
        if self.manifest and self.line:
            return f"{self.manifest}:{self.line}"
        return self.manifest or ""

    def output_paths(self) -> list[str]:
        """The output paths the job declares (files and folders), absolute."""
        return [p for p in (getattr(self.job, f) for f in OUTPUT_FIELDS) if p]

    def to_json(self) -> dict[str, Any]:
        """What ``--dry-run --json`` prints for the job."""
        j = self.job
        return {
            "name": self.name, "mode": j.mode, "group": self.group, "version": self.version,
            "manifest_line": self.line, "session": j.session,
            "session_data": j.session_data is not None,
            **{r: list(getattr(j, r)) for r in ROLES if getattr(j, r)},
            "video": j.video, "target": j.target, "lufs": j.lufs, "true_peak": j.true_peak,
            **{f: getattr(j, f) for f in OUTPUT_FIELDS if getattr(j, f)},
            "options": dict(j.options), "error": self.error,
        }
