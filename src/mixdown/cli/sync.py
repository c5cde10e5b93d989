"""``mixdown sync``: where an external recording sits against a reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import number_option


@app.command()
def sync(
    reference: Path = typer.Argument(..., help="the camera's (or any reference) recording"),
    external: Path = typer.Argument(..., help="the external recording to align (lavalier, recorder)"),
    sample_rate: Optional[int] = number_option(
        None, "--sample-rate", help="rate of the reported offset", min=8000, max=384000, unit="Hz"
    ),
    max_offset: Optional[float] = number_option(
        None, "--max-offset", help="largest offset searched", min=0.001, max=86400, unit="s"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Find where an external recording sits against a reference, to the sample (or refuse)."""
    from ..auto.sync import sync_files

    res = sync_files(reference, external, sample_rate=sample_rate, max_offset_s=max_offset)
    data = res.to_json()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in data.items()))
