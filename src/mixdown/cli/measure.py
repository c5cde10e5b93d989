"""``mixdown measure``: BS.1770 / EBU R128 loudness of files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app
from .common import measure_keys, num


@app.command()
def measure(
    files: list[Path] = typer.Argument(..., help="audio or video files (anything FFmpeg reads)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (a list when several)"),
) -> None:
    """Measure loudness (BS.1770 / EBU R128): integrated, range, true peak, maxima."""
    from ..analysis.measure import measure_file

    results = [measure_keys(str(f), measure_file(f)) for f in files]
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Loudness (EBU R128 / ITU-R BS.1770)")
    for col in ("file", "duration s", "integrated LUFS", "LRA LU", "true peak dBTP", "sample peak dBFS",
                "M max LUFS", "S max LUFS"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in results:
        table.add_row(r["file"], num(r["duration_s"], "{:.2f}"), num(r["integrated_lufs"]),
                      num(r["loudness_range_lu"]), num(r["true_peak_dbtp"]), num(r["sample_peak_dbfs"]),
                      num(r["momentary_max_lufs"]), num(r["short_term_max_lufs"]))
    Console().print(table)
