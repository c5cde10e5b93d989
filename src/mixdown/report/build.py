"""Lay a report's data out: the page (:mod:`mixdown.report.html`) and the same numbers as JSON.

The data are the pipeline's (:mod:`mixdown.pipeline.reportdata`, collected during
the job's render); nothing here renders, decodes or measures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .html import render_html

__all__ = ["Report", "lay_out"]

# ------------------------------------------------------------------------- report


@dataclass
class Report:
    """A finished report: the page and its data.

    Attributes
    ----------
    html : str
        One self-contained page (plots embedded as PNG, no external resources).
    data : dict
        The same numbers as JSON-ready data (``data["plots"]`` names every plot).
    """

    html: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, allow_nan=False)

    def write(self, path: str | Path, *, json_path: str | Path | None = None,
              protect: Sequence[str | Path] = ()) -> Path:
        """Write the page (and the JSON) atomically; returns the page's path."""
        from ..media.write import atomic_path

        with atomic_path(path, protect=protect) as tmp:
            Path(tmp).write_text(self.html, encoding="utf-8")
        if json_path is not None:
            with atomic_path(json_path, protect=protect) as tmp:
                Path(tmp).write_text(self.to_json(), encoding="utf-8")
        return Path(path)


def lay_out(data: dict[str, Any], *, progress: Any = None) -> Report:
    """Plot and lay out a report's data (:attr:`mixdown.pipeline.JobResult.report`).

    Parameters
    ----------
    data : dict
        The report's data; ``data["plots"]`` is set to the names of the plots drawn.
    progress : callable, optional
        ``progress(done, total)`` as the plots are drawn.

    Returns
    -------
    Report
    """
    html, plots = render_html(data, progress=progress)
    data["plots"] = plots
    return Report(html=html, data=data)
