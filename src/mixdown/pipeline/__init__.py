"""One job in, one result out: the owner of a whole mixdown run.

A :class:`Job` says what to mix (a session or timeline file, a session as data, or
files by role), what to do with it (``auto``, ``render``, ``deliver`` or
``report``) and where the outputs go. :func:`run` does it -- analyse, decide
(:func:`mixdown.auto.run.decide`, pure), one premaster render, the master stage
per target, encode/mux/verify, the report's data -- and returns a
:class:`JobResult`: plain data with the measured loudness of every output,
compliance as a typed field, the decision list, problems as typed records,
timings and the report's data. Both are picklable, so the CLI, the studio, batch
workers and the Python API all hand the same objects around.

Example
-------
>>> from mixdown.pipeline import Job, run
>>> res = run(Job(mode="auto", session="examples/podcast/raw.yaml", target="podcast",
...               output="out/podcast.wav"))            # doctest: +SKIP
>>> res.compliant, res.outputs[0].measured["integrated_lufs"]   # doctest: +SKIP
(True, -16.0)
"""

from .job import AUTO_DEFAULTS, VIDEO_SUFFIXES, Job, JobResult, Mode, OutputResult, Problem, Progress, auto_options
from .jobs import load, run

__all__ = ["AUTO_DEFAULTS", "VIDEO_SUFFIXES", "Job", "JobResult", "Mode", "OutputResult", "Problem", "Progress",
           "auto_options", "load", "run"]
