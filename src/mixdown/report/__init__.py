"""The mix report: one self-contained HTML page with plots, and the same numbers as JSON.

>>> from mixdown.report import build_report                      # doctest: +SKIP
>>> build_report(session, mix="mix.wav", target=target).write("report.html", json_path="report.json")

See :mod:`mixdown.report.build` (what is measured) and :mod:`mixdown.report.html` (the page).
"""

from .build import Report, SessionPass, build_report, collect, report_from_result

__all__ = ["Report", "SessionPass", "build_report", "collect", "report_from_result"]
