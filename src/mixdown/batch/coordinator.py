"""The coordinator: jobs in, state consulted, the rest run on the cluster, the report out.

Resume is running the same batch again: every job is keyed (:mod:`.key`); a job done
with an unchanged key whose outputs are still as written is skipped; a job the state
shows ``running`` belonged to a coordinator that died (this one holds the lock) and
goes back to pending; everything else runs.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MixdownError
from ..pipeline import Job
from .catalogue import check_catalogue
from .expand import expand, from_jobs
from .key import Keyer
from .manifest import read_manifest
from .result import BatchResult, JobRecord
from .spec import BatchJob
from .state import State

__all__ = ["Plan", "default_paths", "load_jobs", "plan", "run_batch"]


def default_paths(manifest: str | Path) -> tuple[Path, Path]:
    """The state file and the report folder of a manifest: ``NAME.batch.sqlite`` and ``NAME-report/`` beside it."""
    m = Path(manifest)
    return m.with_name(m.stem + ".batch.sqlite"), m.with_name(m.stem + "-report")


def load_jobs(jobs: str | Path | Iterable[Job | BatchJob]) -> tuple[list[BatchJob], str | None]:
    """Batch jobs from a manifest file or from pipeline jobs; and the manifest's path (or None)."""
    if isinstance(jobs, (str, Path)):
        path = Path(jobs)
        entries = read_manifest(path)
        return expand(entries, base_dir=path.resolve().parent), str(path)
    items = list(jobs)
    if items and all(isinstance(j, BatchJob) for j in items):
        return items, None  # type: ignore[return-value]
    return from_jobs(items), None  # type: ignore[arg-type]


@dataclass
class Plan:
    """What a run will do with each job.

    Attributes
    ----------
    run : list of BatchJob
        To run now.
    skip : dict
        Name to why it is not run (``done``: unchanged and intact; ``not-failed``: left
        out by ``only_failed``).
    errors : dict
        Name to an input error found before running (not run, reported failed).
    keys : dict
        Name to key.
    """

    run: list[BatchJob]
    skip: dict[str, str]
    errors: dict[str, str]
    keys: dict[str, str]


def plan(bjobs: list[BatchJob], rows: dict[str, dict[str, Any]], *, force: bool = False,
         only_failed: bool = False) -> Plan:
    """Decide each job from its key and its row (reads files, writes nothing)."""
    keyer = Keyer()
    p = Plan([], {}, {}, {})
    for bj in bjobs:
        error = bj.error
        if error is None:
            try:
                p.keys[bj.name] = keyer.key(bj)
            except MixdownError as exc:
                error = f"{bj.where + ': ' if bj.where else ''}{exc}"
        if error is not None:
            p.keys[bj.name] = "input-error:" + hashlib.sha256(error.encode()).hexdigest()[:16]
            p.errors[bj.name] = error
            continue
        row = rows.get(bj.name)
        same = row is not None and row["key"] == p.keys[bj.name]
        state = row["state"] if same and row is not None else "pending"
        if only_failed and (row is None or row["state"] != "failed"):
            # what failed last time, even if its input was fixed since (that is why it is rerun)
            p.skip[bj.name] = "done" if state in ("done", "skipped") and _intact(row or {}) else "not-failed"
        elif not force and state in ("done", "skipped") and row is not None and _intact(row):
            p.skip[bj.name] = "done"
        else:
            p.run.append(bj)
    return p


def _intact(row: dict[str, Any]) -> bool:
    """Every output recorded for the job is still there, as it was written (size and time)."""
    for o in row.get("outputs") or []:
        try:
            st = os.stat(o["path"])
        except OSError:
            return False
        if st.st_size != o.get("size") or st.st_mtime_ns != o.get("mtime_ns"):
            return False
    return True


def run_batch(jobs: str | Path | Iterable[Job | BatchJob], *, workers: int | None = None,
              scheduler: str | None = None, state: str | Path | None = None, retries: int = 2,
              force: bool = False, only_failed: bool = False, dry_run: bool = False,
              report: str | Path | None = None, progress: bool = False,
              runner: Callable[..., Any] | None = None) -> BatchResult:
    """Run a batch: a manifest, or a list of :class:`~mixdown.pipeline.Job`.

    Parameters
    ----------
    jobs : str, Path or list of Job
        A manifest (YAML or CSV) or jobs (each with a unique ``name``; default ``jobN``).
    workers : int, optional
        Worker processes of the LocalCluster (default ``min(cores, RAM / peak RSS per job)``).
    scheduler : str, optional
        An existing Dask scheduler (``tcp://host:8786``) instead of a LocalCluster; the
        workers must see the same paths (shared storage) and have mixdown installed.
    state : str or Path, optional
        The SQLite state (default: ``NAME.batch.sqlite`` beside a manifest; in memory
        for a list of jobs).
    retries : int
        Worker deaths a job may cause and still be run again (input errors never are).
    force : bool
        Run every job, done or not.
    only_failed : bool
        Run only the jobs that failed last time.
    dry_run : bool
        Decide and report what would run; run nothing, write nothing.
    report : str or Path, optional
        Folder for ``report.csv``, ``report.json``, ``report.html`` (default:
        ``NAME-report/`` beside a manifest; none for a list of jobs).
    progress : bool
        Show progress on stderr (a bar on a terminal, else a line per job).
    runner : callable, optional
        What each worker calls instead of :func:`mixdown.pipeline.run`.

    Returns
    -------
    BatchResult

    Raises
    ------
    MixdownError
        For a manifest that is not valid (naming its line and field), a state in use
        by another batch, or a scheduler that cannot be reached.
    """
    t0 = time.perf_counter()
    bjobs, manifest = load_jobs(jobs)
    if retries < 0:
        raise MixdownError("--retries must be 0 or more")
    if manifest is not None:
        default_state, default_report = default_paths(manifest)
        state = state if state is not None else default_state
        report = report if report is not None else default_report
    if dry_run:
        rows = State(state).rows() if state is not None and Path(state).exists() else {}
        p = plan(bjobs, rows, force=force, only_failed=only_failed)
        return _dry_result(bjobs, p, rows, manifest, state)
    db = State(state)
    try:
        db.lock()
        db.recover()
        p = plan(bjobs, db.rows(), force=force, only_failed=only_failed)
        for bj in bjobs:
            db.register(bj.name, p.keys[bj.name])
            if bj.name in p.errors:
                db.failed(bj.name, p.errors[bj.name], "input")
            elif p.skip.get(bj.name) == "done":
                db.set_state(bj.name, "skipped")
        n_workers = _execute(p.run, db, workers=workers, scheduler=scheduler, retries=retries,
                             progress=progress, runner=runner)
        result = _result(bjobs, db.rows(), {bj.name for bj in p.run}, manifest, state)
        result.workers = n_workers
    finally:
        db.close()
    result.wall_s = time.perf_counter() - t0
    result.findings = check_catalogue(result.jobs)
    if report is not None:
        from .report import write_reports

        write_reports(result, report)
    return result


def _execute(todo: list[BatchJob], db: State, *, workers: int | None, scheduler: str | None, retries: int,
             progress: bool, runner: Callable[..., Any] | None) -> int:
    if not todo:
        return 0
    from .engine import Executor, connect
    from .progress import Display

    peaks = [r["peak_rss_mb"] for r in db.rows().values() if r.get("peak_rss_mb")]
    cluster = connect(workers=workers, scheduler=scheduler, jobs=len(todo),
                      peak_rss_bytes=max(peaks) * 2**20 if peaks else None)
    try:
        with Display(len(todo), live=progress, lines=progress) as display:
            Executor(cluster, db, retries=retries, runner=runner, listener=display).run(todo)
    finally:
        cluster.close()
    return cluster.workers


def _record(bj: BatchJob, row: dict[str, Any] | None, status: str) -> JobRecord:
    row = row or {}
    return JobRecord(
        name=bj.name, status=status, error=row.get("error"), error_kind=row.get("error_kind"), group=bj.group,
        version=bj.version, line=bj.line, attempts=int(row.get("attempts") or 0),
        integrated_lufs=row.get("integrated_lufs"), true_peak_dbtp=row.get("true_peak_dbtp"),
        lra_lu=row.get("lra_lu"), compliant=row.get("compliant"), target=row.get("target"),
        duration_s=row.get("duration_s"), seconds=row.get("seconds"), realtime_factor=row.get("realtime_factor"),
        peak_rss_mb=row.get("peak_rss_mb"), worker=row.get("worker"), outputs=list(row.get("outputs") or []),
        key=row.get("key"), data=dict(row.get("data") or {}))


def _result(bjobs: list[BatchJob], rows: dict[str, dict[str, Any]], ran: set[str], manifest: str | None,
            state: str | Path | None) -> BatchResult:
    records = []
    for bj in bjobs:
        row = rows.get(bj.name)
        s = (row or {}).get("state", "pending")
        status = {"done": "done" if bj.name in ran else "skipped", "skipped": "skipped", "failed": "failed",
                  "running": "pending"}.get(s, "pending")
        records.append(_record(bj, row, status))
    return BatchResult(records, manifest=manifest, state=str(state) if state is not None else None)


def _dry_result(bjobs: list[BatchJob], p: Plan, rows: dict[str, dict[str, Any]], manifest: str | None,
                state: str | Path | None) -> BatchResult:
    records = []
    run = {bj.name for bj in p.run}
    for bj in bjobs:
        row = rows.get(bj.name) if bj.name not in run and bj.name not in p.errors else None
        if bj.name in p.errors:
            rec = _record(bj, None, "failed")
            rec.error, rec.error_kind = p.errors[bj.name], "input"
        elif bj.name in run:
            rec = _record(bj, None, "pending")
        else:
            rec = _record(bj, row, "skipped" if p.skip.get(bj.name) == "done" else "pending")
        rec.key = p.keys.get(bj.name)
        rec.data["plan"] = "run" if bj.name in run else ("error" if bj.name in p.errors else p.skip[bj.name])
        rec.data["job"] = bj.to_json()
        records.append(rec)
    return BatchResult(records, manifest=manifest, state=str(state) if state is not None else None)
