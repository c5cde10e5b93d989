"""``mixdown targets``: the delivery presets."""

from __future__ import annotations

import json

import typer

from .app import app


@app.command()
def targets(as_json: bool = typer.Option(False, "--json", help="print the presets as JSON")) -> None:
    """List the delivery presets: loudness target, tolerance, true-peak ceiling, gating."""
    from ..deliver.targets import PRESETS

    if as_json:
        typer.echo(json.dumps([t.to_json() for t in PRESETS.values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Delivery targets")
    for col in ("name", "loudness", "tolerance", "true peak", "gating", "reference"):
        table.add_column(col)
    for t in PRESETS.values():
        table.add_row(t.name, f"{t.integrated_lufs:g} LUFS", f"±{t.tolerance_lu:g} LU", f"{t.true_peak_dbtp:g} dBTP",
                      t.gating, t.reference)
    Console().print(table)
