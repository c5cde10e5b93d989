"""Run batch jobs on Dask distributed: a LocalCluster of worker processes, or an existing cluster.

The coordinator keeps exactly as many jobs in flight as the cluster has worker threads,
so a job is only ever on a worker that runs it (a worker's death charges no job that
was merely waiting there), and submits the next one as each finishes. Workers announce
each start (pid, address) through the scheduler's event log; the coordinator writes it
to the state database, so attempts are counted where they happen.

Worker deaths: our LocalCluster's scheduler has ``allowed-failures: 0``, so a job whose
worker dies comes back at once as ``KilledWorker`` and the coordinator runs it again,
elsewhere, up to ``retries`` times; a job that keeps killing workers is reported failed.
An existing cluster's scheduler applies its own ``allowed-failures`` first; the attempts
it made count against ``retries`` too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import time
import uuid
import warnings
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MixdownError
from .spec import BatchJob
from .state import State
from .worker import TOPIC, run_job

GIB = 1 << 30
DEFAULT_JOB_RSS = 1 * GIB  # before any job was measured: a mixdown job stays well under this
WORKER_ENV = {"MIXDOWN_THREADS": "1", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
Listener = Callable[[str, str, dict[str, Any]], None]

__all__ = ["Cluster", "Executor", "connect", "default_workers"]


def default_workers(*, peak_rss_bytes: float | None = None, jobs: int | None = None) -> int:
    """``min(cores, available RAM / one job's peak RSS)``, at least 1 and at most the jobs to run."""
    import psutil

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    per_job = max(peak_rss_bytes or 0.0, 64 * 2**20) if peak_rss_bytes else DEFAULT_JOB_RSS
    by_memory = int(psutil.virtual_memory().available // per_job)
    n = max(1, min(cores, by_memory))
    return max(1, min(n, jobs)) if jobs else n


@dataclass
class Cluster:
    """A connected client, and the LocalCluster it owns (None for an existing cluster)."""

    client: Any
    local: Any = None
    workers: int = 0
    address: str = ""
    limit_threads: bool = False

    def threads(self) -> int:
        """Worker threads the cluster has right now."""
        return int(sum(self.client.nthreads().values()))

    def close(self) -> None:
        try:
            self.client.close(timeout=10)
        finally:
            if self.local is not None:
                self.local.close(timeout=10)


def connect(*, workers: int | None = None, scheduler: str | None = None, jobs: int | None = None,
            peak_rss_bytes: float | None = None) -> Cluster:
    """A LocalCluster of ``workers`` processes (one thread each), or a client of ``scheduler``.

    Raises
    ------
    MixdownError
        When Dask is not installed or the scheduler cannot be reached.
    """
    try:
        import dask
        import distributed
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MixdownError(f"mixdown batch needs dask[distributed] ({exc})") from None
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=15)
        except (OSError, TimeoutError) as exc:
            raise MixdownError(f"--scheduler {scheduler}: cannot reach the scheduler: {exc}") from None
        threads = int(sum(client.nthreads().values()))
        return Cluster(client, None, len(client.nthreads()), scheduler, limit_threads=threads != 1)
    n = min(workers, jobs or workers) if workers else default_workers(peak_rss_bytes=peak_rss_bytes, jobs=jobs)
    limit = n > 1
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    # Dask's default MALLOC_TRIM_THRESHOLD_=65536 hands every freed block over 64 KiB back to
    # the OS, so each of a render's block-sized numpy buffers is faulted in afresh: the premaster
    # ran 3.4x slower in a worker than in a process of its own (0.83 -> 2.83 s on a 3-minute
    # episode). The worker trims once after each job instead (worker.run_job).
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    if limit:
        env.update(WORKER_ENV)
    config = {
        # a worker death comes straight back as KilledWorker; the coordinator retries
        "distributed.scheduler.allowed-failures": 0,
        "distributed.nanny.pre-spawn-environ": env,
        "distributed.worker.daemon": False,
        "logging": {"distributed": "critical"},
    }
    with dask.config.set(config), warnings.catch_warnings():
        # the scheduler's HTTP server (health checks, no dashboard) moves off a busy default port
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        local = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.CRITICAL)
        client = distributed.Client(local)
    return Cluster(client, local, n, local.scheduler_address, limit_threads=limit)


@dataclass
class _Attempt:
    bjob: BatchJob
    token: str
    started: bool = False


@dataclass
class Executor:
    """Runs jobs on a cluster, recording every transition in the state.

    Parameters
    ----------
    cluster : Cluster
    state : State
    retries : int
        Worker deaths a job may cause and still be run again.
    runner : callable, optional
        What the worker calls instead of ``pipeline.run`` (tests, wrappers).
    listener : callable, optional
        ``listener(event, name, data)`` for progress displays: ``start``, ``progress``,
        ``retry``, ``finish`` (data is the job's record).
    """

    cluster: Cluster
    state: State
    retries: int = 2
    runner: Callable[..., Any] | None = None
    listener: Listener | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    _events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    _flight: dict[Any, _Attempt] = field(default_factory=dict)
    _by_token: dict[str, _Attempt] = field(default_factory=dict)
    _starts: Counter[str] = field(default_factory=Counter)
    _deaths: Counter[str] = field(default_factory=Counter)

    def run(self, jobs: list[BatchJob]) -> dict[str, dict[str, Any]]:
        """Run every job to done or failed; the records by name."""
        todo = deque(jobs)
        self.cluster.client.subscribe_topic(TOPIC, lambda ev: self._events.put(ev[1]))
        capacity, checked = 0, 0.0
        try:
            while todo or self._flight:
                if todo and len(self._flight) >= capacity or time.monotonic() - checked > 1.0:
                    capacity, checked = self.cluster.threads(), time.monotonic()
                while todo and len(self._flight) < capacity:
                    self._submit(todo.popleft())
                # polled, not distributed.wait(): that one runs on the process's default client,
                # which is not ours when the caller has a Dask client of their own
                done = [f for f in self._flight if f.done()]
                if not done:
                    time.sleep(0.1)
                self._drain()
                for fut in done:
                    again = self._collect(fut)
                    if again is not None:
                        todo.appendleft(again)
        except BaseException:
            self._abandon()
            raise
        finally:
            self.cluster.client.unsubscribe_topic(TOPIC)
        return self.results

    # ----------------------------------------------------------------- internals
    def _submit(self, bjob: BatchJob) -> None:
        token = f"mixdown-batch-{uuid.uuid4().hex}"
        fut = self.cluster.client.submit(run_job, bjob, token, limit_threads=self.cluster.limit_threads,
                                         runner=self.runner, key=token, pure=False, retries=0)
        att = _Attempt(bjob, token)
        self._flight[fut] = att
        self._by_token[token] = att

    def _drain(self) -> None:
        while True:
            try:
                msg = self._events.get_nowait()
            except queue.Empty:
                return
            att = self._by_token.get(str(msg.get("token")))
            if att is None:
                continue  # an attempt already settled
            if msg.get("event") == "start":
                self._started(att, msg)
            elif msg.get("event") == "progress":
                self._tell("progress", att.bjob.name, msg)

    def _started(self, att: _Attempt, msg: dict[str, Any]) -> None:
        if att.started:
            return
        att.started = True
        self._starts[att.bjob.name] += 1
        attempt = self.state.running(att.bjob.name, worker=msg.get("worker"), pid=msg.get("pid"),
                                     started_at=float(msg.get("started_at") or time.time()))
        self._tell("start", att.bjob.name, {**msg, "attempt": attempt})

    def _collect(self, fut: Any) -> BatchJob | None:
        """Settle a finished future; the job to run again after a worker death, else None."""
        from distributed import KilledWorker

        att = self._flight.pop(fut)
        self._by_token.pop(att.token, None)
        name = att.bjob.name
        if fut.status == "finished":
            record = fut.result()
            fut.release()  # its result must not be recomputed if that worker dies later
            if not att.started:
                self._started(att, record)
            self._settle(name, record)
            return None
        exc = fut.exception()
        fut.release()
        if not isinstance(exc, KilledWorker):
            self._settle(name, {"status": "failed", "error_kind": "bug",
                                "error": f"internal error: {type(exc).__name__}: {exc}"})
            return None
        if not att.started:  # it died before its start reached us: it still cost an attempt
            self._started(att, {})
        self._deaths[name] += 1
        tries = max(self._deaths[name], self._starts[name])
        self.state.note(name, "worker-died", str(exc).split(". ")[0])
        if tries <= self.retries:
            self.state.set_state(name, "pending", event="retry", detail=f"after {tries} worker death(s)")
            self._tell("retry", name, {"deaths": tries})
            return att.bjob
        self._settle(name, {"status": "failed", "error_kind": "crash",
                            "error": f"killed its worker {tries} times (out of memory, or a crash); "
                                     f"not retried past --retries {self.retries}"})
        return None

    def _settle(self, name: str, record: dict[str, Any]) -> None:
        if record.get("status") == "done":
            self.state.done(name, record)
        else:
            self.state.failed(name, str(record.get("error")), str(record.get("error_kind") or "bug"), record)
        self.results[name] = record
        self._tell("finish", name, record)

    def _abandon(self) -> None:
        """Interrupted (Ctrl-C): what was running goes back to pending for the next run."""
        for fut, att in list(self._flight.items()):
            with contextlib.suppress(Exception):  # best effort while shutting down
                fut.cancel()
            self.state.set_state(att.bjob.name, "pending", event="interrupted", detail="the batch was stopped")
        self._flight.clear()

    def _tell(self, event: str, name: str, data: dict[str, Any]) -> None:
        if self.listener is not None:
            self.listener(event, name, data)

