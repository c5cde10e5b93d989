"""What a Dask worker runs for one job: the pipeline, then verification, as one plain record.

The record is small plain data (no audio, no session objects): the coordinator
writes it to the state database and the report. Errors are results, not exceptions:
an input error (a :class:`~mixdown.errors.MixdownError`) or a bug comes back as a
failed record, so only a worker's death reaches Dask's failure machinery — and only
worker deaths are retried.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import MixdownError
from ..pipeline import JobResult
from .spec import BatchJob
from .verify import verify

TOPIC = "mixdown-batch"
PROGRESS_EVERY_S = 1.0

__all__ = ["TOPIC", "run_job"]


def run_job(bjob: BatchJob, token: str, *, limit_threads: bool = False,
            runner: Callable[..., JobResult] | None = None) -> dict[str, Any]:
    """Run one batch job on this worker and verify its outputs.

    Parameters
    ----------
    bjob : BatchJob
    token : str
        This attempt's identity (the Dask key), echoed in every event.
    limit_threads : bool
        One thread for the render pool and the speech model (several jobs share the
        machine's cores).
    runner : callable, optional
        ``runner(job, progress=...) -> JobResult``; default :func:`mixdown.pipeline.run`.

    Returns
    -------
    dict
        ``status`` (``done`` or ``failed``), ``error``, ``error_kind`` (``input``,
        ``target``, ``bug``), timings, peak RSS, measured loudness, outputs with hashes.
    """
    if limit_threads:
        os.environ["MIXDOWN_THREADS"] = "1"
    # as the CLI does (cli.main): a render makes no reference cycles worth collecting often
    gc.set_threshold(100_000, 50, 1000)
    worker = _announce({"event": "start", "token": token, "name": bjob.name, "pid": os.getpid(),
                        "started_at": time.time()})
    rss = _PeakRss()
    t0 = time.perf_counter()
    record: dict[str, Any] = {"name": bjob.name, "token": token, "worker": worker, "pid": os.getpid()}
    try:
        _prepare_outputs(bjob)
        if runner is None:
            from ..pipeline import run as run_pipeline

            runner = run_pipeline
        result = runner(bjob.job, progress=_progress(token, bjob.name))
        record.update(_verified(result))
    except MixdownError as exc:
        record.update(status="failed", error=str(exc), error_kind="target" if exc.exit_code == 3 else "input")
    except Exception as exc:  # noqa: BLE001 - a bug in one job must not take the batch down
        tb = traceback.format_exc(limit=-4)
        record.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}", error_kind="bug",
                      traceback=tb)
    finally:
        record["seconds"] = time.perf_counter() - t0
        record["peak_rss_mb"] = rss.stop() / 2**20
        _trim_heap()
    if record.get("duration_s") and record["seconds"] > 0:
        record["realtime_factor"] = record["duration_s"] / record["seconds"]
    return record


def _verified(result: JobResult) -> dict[str, Any]:
    outputs, problems, measured = verify(result)
    out: dict[str, Any] = {
        "duration_s": result.duration_s, "target": result.target, "outputs": outputs,
        "integrated_lufs": measured.get("integrated_lufs"), "true_peak_dbtp": measured.get("true_peak_dbtp"),
        "lra_lu": measured.get("loudness_range_lu"), "compliant": not problems,
        "data": _catalogue_data(result),
    }
    if problems:
        out.update(status="failed", error="; ".join(m for _, m in problems),
                   error_kind="bug" if any(k == "bug" for k, _ in problems) else "target")
    else:
        out["status"] = "done"
    return out


def _catalogue_data(result: JobResult) -> dict[str, Any]:
    """What the catalogue checks compare across jobs: the tracks' gains and sources, auto's gains."""
    s = result.summary or {}
    tracks = []
    for t in (result.session or {}).get("tracks", []):
        tracks.append({"name": t.get("name"), "role": t.get("role", "other"), "gain_db": t.get("gain_db", 0.0),
                       "sources": sorted({str(c.get("source")) for c in t.get("clips", [])})})
    return {"tracks": tracks, "loudness_gain_db": s.get("loudness_gain_db"),
            "limiter_max_reduction_db": s.get("limiter_max_reduction_db"),
            "dialogue_gated_lufs": s.get("dialogue_gated_lufs"),
            "premaster_lufs": (s.get("premaster") or {}).get("integrated_lufs"),
            "timings": {k: round(float(v), 3) for k, v in result.timings.items()}}


def _prepare_outputs(bjob: BatchJob) -> None:
    """Make the outputs' folders; remove what an earlier, killed attempt left half-written.

    The atomic writers build ``.<stem>.mixdown-tmp-<random><suffix>`` beside the
    destination and rename it when complete; a killed process leaves that file behind.
    Only this job writes those names, and the coordinator runs one attempt of a job at
    a time, so removing them cannot touch anyone else's work.
    """
    for path in bjob.output_paths():
        p = Path(path)
        if bjob.job.stems and path == bjob.job.stems:
            p.mkdir(parents=True, exist_ok=True)
            for stale in p.glob(".*.mixdown-tmp-*"):
                stale.unlink(missing_ok=True)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        for stale in p.parent.glob(f".{p.stem}.mixdown-tmp-*{p.suffix}"):
            stale.unlink(missing_ok=True)


def _announce(msg: dict[str, Any]) -> str | None:
    """Tell the coordinator (through the scheduler's event log); the worker's address."""
    try:
        from distributed import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        return None  # not on a Dask worker (run inline)
    msg["worker"] = w.address
    w.log_event(TOPIC, msg)
    return str(w.address)


def _progress(token: str, name: str) -> Callable[[int, int], None]:
    last = [0.0]

    def cb(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or done >= total:
            last[0] = now
            _announce({"event": "progress", "token": token, "name": name, "done": int(done), "total": int(total)})

    return cb


def _trim_heap() -> None:
    """Return the job's freed heap to the OS between jobs (glibc only; elsewhere a no-op).

    The worker runs without Dask's low ``MALLOC_TRIM_THRESHOLD_`` (see ``engine.connect``),
    so one trim here keeps an idle worker's resident set small without slowing the job.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:  # pragma: no cover - no C library to load
        return
    if trim is not None:
        trim(0)


class _PeakRss:
    """The process's largest resident set while a job runs, sampled every 50 ms."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mixdown-rss", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        return int(self.peak)
