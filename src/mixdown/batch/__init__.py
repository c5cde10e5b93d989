"""``mixdown batch``: a catalogue, or every language version, on every core or a Dask cluster.

Resumable (durable state in SQLite beside the manifest: run the same command again),
nothing lost (a job is done only when its outputs verify; worker deaths are retried,
bad inputs reported and the rest carried on), one report.

The package is callable, so ``mixdown.batch(...)`` is :func:`run`::

    import mixdown
    from mixdown.pipeline import Job

    result = mixdown.batch([Job(dialogue=("ep1.wav",), target="podcast", output="out/ep1.wav", name="ep1")],
                           workers=2)
    result.exit_code, result["ep1"].integrated_lufs

Modules: :mod:`.manifest` (reading YAML/CSV), :mod:`.expand` (globs, versions,
placeholders), :mod:`.key` (job keys), :mod:`.state` (SQLite), :mod:`.engine` (Dask),
:mod:`.worker` (what a worker runs), :mod:`.verify`, :mod:`.catalogue`, :mod:`.report`,
:mod:`.progress`, :mod:`.coordinator`. Dask is imported only when jobs run.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .coordinator import load_jobs, plan, run_batch
from .result import BatchResult, Finding, JobRecord
from .spec import BatchJob

run = run_batch

__all__ = ["BatchJob", "BatchResult", "Finding", "JobRecord", "load_jobs", "plan", "run"]


class _CallableModule(types.ModuleType):
    """``mixdown.batch`` is both this package and the function that runs a batch."""

    def __call__(self, *args: Any, **kwargs: Any) -> BatchResult:
        return run_batch(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
