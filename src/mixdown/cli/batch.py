"""``mixdown batch``: every job of a manifest, in parallel, resumable, with one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from .app import app
from .common import echo_error, num, number_option


@app.command()
def batch(
    manifest: Path = typer.Argument(..., help="the jobs: a YAML or CSV manifest"),
    workers: Optional[int] = number_option(
        None, "--workers", help="worker processes (default: min(cores, RAM / a job's peak memory))", min=1, max=1024
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="an existing Dask scheduler, e.g. tcp://host:8786 (shared storage needed)"
    ),
    state: Optional[Path] = typer.Option(
        None, "--state", help="the state database (default: MANIFEST-NAME.batch.sqlite beside it)"
    ),
    report: Optional[Path] = typer.Option(
        None, "--report", help="folder for report.csv/.json/.html (default: MANIFEST-NAME-report/ beside it)"
    ),
    retries: int = number_option(
        2, "--retries", help="times a job whose worker died is run again (bad input never is)", min=0, max=100
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="list the jobs and what would run; run and write nothing"),
    force: bool = typer.Option(False, "--force", help="run every job again, done or not"),
    only_failed: bool = typer.Option(False, "--only-failed", help="run only the jobs that failed last time"),
    as_json: bool = typer.Option(False, "--json", help="print the report's JSON on stdout"),
) -> None:
    """Run a manifest's jobs on every core (or a Dask cluster); run it again to resume."""
    import signal

    from ..batch import run_batch

    def stop(signum: int, frame: Any) -> None:
        # a scheduler's preemption or `kill`: stop like Ctrl-C, so what ran goes back to pending
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if workers is not None and scheduler is not None:
        raise _usage("--workers sizes the local cluster; an existing --scheduler has its own workers")
    try:
        res = run_batch(manifest, workers=workers, scheduler=scheduler, state=state, retries=retries, force=force,
                        only_failed=only_failed, dry_run=dry_run, report=report, progress=not as_json)
    except KeyboardInterrupt:
        typer.echo("mixdown: interrupted; the jobs that were running go back to pending: run the same command "
                   "again to resume", err=True)
        raise typer.Exit(130) from None
    if dry_run:
        _print_plan(res, as_json)
    elif as_json:
        typer.echo(json.dumps(res.to_json(), indent=2))
    else:
        _print_summary(res)
    for j in res.jobs:
        if j.status == "failed":
            if j.error_kind == "target":
                typer.echo(f"mixdown: {j.name} misses its target: {j.error}", err=True)
            else:
                echo_error(f"{j.name}: {j.error}")
    for f in res.findings:
        if f.severity == "warning":
            typer.echo(f"mixdown: warning: catalogue: {f.message}", err=True)
    if res.exit_code:
        raise typer.Exit(res.exit_code)


def _usage(message: str) -> Any:
    from ..errors import MixdownError

    return MixdownError(message)


def _print_plan(res: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"manifest": res.manifest, "state": res.state,
                               "jobs": [{"plan": j.data["plan"], "key": j.key, **j.data["job"]} for j in res.jobs]},
                              indent=2))
        return
    words = {"run": "run", "done": "skip (done)", "not-failed": "leave (not failed)", "error": "error"}
    for j in res.jobs:
        job = j.data["job"]
        out = job.get("output") or job.get("stems") or job.get("save_session") or "(the session's deliverables)"
        typer.echo(f"{words[j.data['plan']]:<20} {j.name:<24} {job['mode']:<7} {out}")
    n = sum(1 for j in res.jobs if j.data["plan"] == "run")
    typer.echo(f"{len(res.jobs)} jobs: {n} would run, {len(res.jobs) - n} would not (dry run: nothing was run)")


def _print_summary(res: Any) -> None:
    s = res.summary()
    rate = s["programme_min_per_wall_min"]
    typer.echo(f"{s['jobs']} jobs: {s['done']} done, {s['skipped']} skipped (done before), {s['failed']} failed"
               + (f", {s['pending']} pending" if s["pending"] else "")
               + f" in {num(s['wall_s'])} s"
               + (f" ({num(s['programme_s'] / 60)} programme minutes, {num(rate)} per wall minute, "
                  f"{s['workers']} workers)" if rate else ""))
    for f in res.findings:
        if f.severity == "info":
            typer.echo(f"catalogue: {f.message}")
    if res.reports:
        typer.echo(f"report: {res.reports['html']} (and report.csv, report.json beside it)")
