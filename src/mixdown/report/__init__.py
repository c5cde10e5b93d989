"""The mix report: one self-contained HTML page with plots, and the same numbers as JSON.

It lays out a :class:`~mixdown.pipeline.JobResult`'s report data and never renders
or analyses: the pipeline collects the data during its render
(``Job(report="r.html")``, :mod:`mixdown.pipeline.reportdata`).

>>> from mixdown.pipeline import Job, run                     # doctest: +SKIP
>>> res = run(Job(mode="report", session="session.yaml", report="report.html"))
>>> from mixdown.report import lay_out                        # doctest: +SKIP
>>> lay_out(res.report).write("again.html")
"""

from .build import Report, lay_out

__all__ = ["Report", "lay_out"]
