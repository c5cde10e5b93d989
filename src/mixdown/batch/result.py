"""What a batch did: one record per job, the catalogue findings, the exit code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# a job's status in this run's report
STATUSES = ("done", "skipped", "failed", "pending")
EXIT_BY_KIND = {"bug": 1, "crash": 1, "input": 2, "target": 3}

__all__ = ["BatchResult", "Finding", "JobRecord"]


@dataclass
class JobRecord:
    """One job as the report shows it.

    Attributes
    ----------
    name : str
    status : {"done", "skipped", "failed", "pending"}
        ``done``: run now and verified; ``skipped``: done earlier with the same key and
        found intact; ``failed``: see ``error``; ``pending``: not run this time
        (``--only-failed``).
    error : str, optional
        One line, naming the file or field.
    error_kind : str, optional
        ``input`` (exit 2), ``target`` (exit 3), ``crash`` (killed its workers) or
        ``bug`` (exit 1).
    integrated_lufs, true_peak_dbtp, lra_lu : float, optional
        The main output re-measured from the file.
    target : dict, optional
        The delivery spec (``integrated_lufs``, ``tolerance_lu``, ``true_peak_dbtp`` ...).
    duration_s : float, optional
        Programme length, s.
    seconds : float, optional
        Wall time of the job on its worker, s.
    realtime_factor : float, optional
        ``duration_s / seconds``.
    outputs : list of dict
        ``kind``, ``path``, ``size``, ``sha256`` (and ``measured`` for audio).
    """

    name: str
    status: str
    error: str | None = None
    error_kind: str | None = None
    group: str | None = None
    version: str | None = None
    line: int | None = None
    attempts: int = 0
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    lra_lu: float | None = None
    compliant: bool | None = None
    target: dict[str, Any] | None = None
    duration_s: float | None = None
    seconds: float | None = None
    realtime_factor: float | None = None
    peak_rss_mb: float | None = None
    worker: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("done", "skipped")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("data")
        for k in ("integrated_lufs", "true_peak_dbtp", "lra_lu", "seconds", "realtime_factor", "peak_rss_mb"):
            if d[k] is not None:
                d[k] = round(float(d[k]), 3)
        return d


@dataclass
class Finding:
    """A catalogue check's result across jobs.

    Attributes
    ----------
    check : str
        ``loudness-spread``, ``outlier``, ``version-duration``, ``version-me``.
    severity : {"info", "warning"}
    message : str
    jobs : list of str
    """

    check: str
    severity: str
    message: str
    jobs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchResult:
    """A batch's outcome.

    Attributes
    ----------
    jobs : list of JobRecord
        In manifest order.
    findings : list of Finding
        The catalogue checks.
    wall_s : float
        Wall time of the whole batch, s.
    workers : int
        Worker processes used (0 when nothing ran).
    state : str, optional
        The state database.
    reports : dict of str to str
        ``csv``, ``json``, ``html`` paths written.
    """

    jobs: list[JobRecord]
    findings: list[Finding] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 0
    state: str | None = None
    reports: dict[str, str] = field(default_factory=dict)
    manifest: str | None = None

    def __getitem__(self, name: str) -> JobRecord:
        for j in self.jobs:
            if j.name == name:
                return j
        raise KeyError(name)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return out

    @property
    def exit_code(self) -> int:
        """1 a bug (or a job that kept killing workers), 2 bad input, 3 a missed target, else 0."""
        codes = [EXIT_BY_KIND.get(j.error_kind or "bug", 1) for j in self.jobs if j.status == "failed"]
        for code in (1, 2, 3):
            if code in codes:
                return code
        return 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def programme_s(self) -> float:
        """Programme seconds done in this run."""
        return float(sum(j.duration_s or 0.0 for j in self.jobs if j.status == "done"))

    def summary(self) -> dict[str, Any]:
        counts = self.counts()
        prog = self.programme_s()
        busy = sum(j.seconds or 0.0 for j in self.jobs if j.status == "done")
        return {
            "jobs": len(self.jobs), **counts, "exit_code": self.exit_code, "workers": self.workers,
            "wall_s": round(self.wall_s, 3), "programme_s": round(prog, 3),
            "programme_min_per_wall_min": round(prog / self.wall_s, 3) if self.wall_s > 0 and prog else None,
            "realtime_factor_per_job": round(prog / busy, 3) if busy > 0 else None,
        }

    def to_json(self) -> dict[str, Any]:
        from ..version import __version__

        return {"mixdown": __version__, "manifest": self.manifest, "state": self.state,
                "summary": self.summary(), "catalogue": [f.to_json() for f in self.findings],
                "jobs": [j.to_json() for j in self.jobs], "reports": self.reports}
