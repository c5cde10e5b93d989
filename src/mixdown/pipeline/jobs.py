""":func:`run`: the one owner of a job, from its inputs to its outputs and their report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import SessionError
from ..files.guard import Output, check_outputs, job_guard
from .job import Job, JobResult, Problem, Progress

__all__ = ["load", "run"]


def load(job: Job) -> Any:
    """The job's session: from a file or timeline, from data, or built from role files."""
    from ..interchange import open_session
    from ..session import session_from_data

    given = [job.session is not None, job.session_data is not None,
             bool(job.dialogue or job.music or job.sfx or job.ambience)]
    if sum(given) > 1:
        raise SessionError("a job mixes one of: a session file, session data, or files by role")
    if job.session is not None:
        s, _ = open_session(Path(job.session), media_root=Path(job.media_root) if job.media_root else None)
        return s
    if job.session_data is not None:
        base = Path(job.base_dir) if job.base_dir else Path.cwd()
        return session_from_data(job.session_data, base_dir=base)
    from ..auto.build import session_from_files

    dialogue = list(job.dialogue) or ([job.video] if job.video and job.mode == "auto" else [])
    return session_from_files(dialogue=dialogue, music=list(job.music), sfx=list(job.sfx),
                              ambience=list(job.ambience), sample_rate=job.sample_rate)


def run(job: Job, *, progress: Progress | None = None, session: Any = None) -> JobResult:
    """Do the job; every output is written atomically and measured.

    Parameters
    ----------
    job : Job
    progress : callable, optional
        ``progress(done, total)`` in frames of work.
    session : Session, optional
        The job's session when the caller has loaded it already (the CLI, to name its
        options in messages before any work); otherwise it is loaded from the job.

    Returns
    -------
    JobResult
        With ``report`` set to the report's data when the job asks for a report
        (the page is written too).

    Raises
    ------
    MixdownError
        For bad input (a session, media, option or target), before any output is written
        where it can be known up front.
    """
    from .autojob import run_auto_job
    from .renderjob import run_deliver_job, run_render_job, run_report_job

    t0 = time.perf_counter()
    if job.mode not in ("auto", "render", "deliver", "report"):
        raise SessionError(f"unknown job mode {job.mode!r} (auto, render, deliver or report)")
    if session is None and not (job.mode == "report" and job.result is not None):
        session = load(job)
    with job_guard() as guard:  # no output over an input of this job (see mixdown.files.guard)
        if session is not None:
            guard.add_session(session)
        guard.add(job.session, "the session file")
        guard.add(job.video, "the video")
        guard.add(job.result, "the report's source")
        if job.mode == "report":
            guard.add(job.output, "the mix")  # a report measures the mix it is given, never writes it
        notes = _check_outputs(job)
        if job.mode == "auto":
            result = run_auto_job(job, session, progress)
        elif job.mode == "report":
            result = run_report_job(job, session, progress)
        elif job.mode == "deliver" or job.output is None:
            result = run_deliver_job(job, session, progress)
        else:
            result = run_render_job(job, session, progress)
        if job.report is not None and result.report is not None:
            _write_report(job, result, guard.inputs, progress)
    result.problems += [Problem("warning", n) for n in notes]
    result.timings["total"] = time.perf_counter() - t0
    return result


def _write_report(job: Job, result: JobResult, inputs: list[Path], progress: Progress | None) -> None:
    """Lay the collected data out and write the page (and its JSON)."""
    from ..report import lay_out
    from .job import OutputResult

    assert job.report is not None and result.report is not None
    t0 = time.perf_counter()
    written = [Path(f) for o in result.outputs if o.kind != "report" for f in (o.files or [o.path])]
    lay_out(result.report, progress=progress).write(job.report, json_path=job.report_json,
                                                    protect=[*inputs, *written])
    result.timings["report"] = time.perf_counter() - t0
    result.outputs.append(OutputResult("report", str(Path(job.report).resolve()), "html"))


def _check_outputs(job: Job) -> list[str]:
    """Every output location writable and no input, before any work; notes on removed leftovers."""
    def out(path: str | None, what: str, **kw: bool) -> Output | None:
        return None if path is None else Output(Path(path), what, **kw)

    mix = None if job.mode == "report" else out(job.output, "output")
    return check_outputs([mix, out(job.report, "report"), out(job.report_json, "report_json"),
                          out(job.save_session, "save_session"), out(job.premaster, "premaster"),
                          out(job.stems, "stems", folder=True, create=True)])
