"""``mixdown report``: one self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import open_session


@app.command("report")
def report_(
    source: Path = typer.Argument(..., help="a session (or timeline), or the JSON that `auto --json` printed"),
    output: Path = typer.Option(..., "-o", "--output", help="the HTML page to write (self-contained)"),
    mix: Optional[Path] = typer.Option(None, "--mix", help="the rendered mix to measure and plot"),
    target: Optional[str] = typer.Option(None, "--target", help="draw this delivery target's band"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report's data as JSON here"),
) -> None:
    """Write one HTML page with the loudness curve, tracks, speech, gain curves, spectra and decisions."""
    from ..deliver.targets import get_target
    from ..report import build_report, report_from_result

    tgt = get_target(target) if target else None
    if source.suffix.lower() == ".json":
        try:
            is_result = "decisions" in json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            is_result = False
    else:
        is_result = False
    if is_result:
        rep = report_from_result(source, mix=mix, **({"target": tgt} if tgt else {}))
    else:
        rep = build_report(open_session(source, media_root=None), mix=mix, target=tgt)
    rep.write(output, json_path=json_out, protect=[source] + ([mix] if mix else []))
    typer.echo(f"wrote {output}" + (f" and {json_out}" if json_out else ""))
