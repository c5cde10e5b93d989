"""``mixdown measure``: BS.1770 / EBU R128 loudness of files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    echo_error,
    measure_keys,
    note_assumed_layout,
    num,
    number_option,
    print_table,
    read_media,
)

_COLUMNS = ["file", "duration s", "integrated LUFS", "LRA LU", "true peak dBTP", "sample peak dBFS",
            "M max LUFS", "S max LUFS"]


@app.command()
def measure(
    files: list[Path] = typer.Argument(..., help="audio or video files (anything FFmpeg reads)"),
    stream: int | None = number_option(None, "--stream", help="audio stream to measure (default: the first)", min=0,
                                       max=999),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (a list when several)"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
) -> None:
    """Measure loudness (BS.1770 / EBU R128): integrated, range, true peak, maxima.
    A table on a terminal, tab-separated values when piped; a file that names no
    channel layout is measured with its channel count's default (8 channels: 7.1),
    said on stderr (and as ``layout``/``layout_assumed`` in the JSON). Every file is
    reported; a file that cannot be read gets its error (on stderr, and as ``error``
    in the JSON) and the command exits 2 after the others are measured.
    """
    from ..analysis.measure import measure_file
    from ..errors import MixdownError

    read_media(allow_truncated=allow_truncated)
    results = []
    failed = False
    for f in files:
        try:
            res = measure_file(f, stream=stream)
        except MixdownError as exc:
            failed = True
            echo_error(str(exc))
            results.append({"file": str(f), "error": str(exc)})
            continue
        note_assumed_layout(str(f), res.layout, res.layout_assumed)
        results.append(measure_keys(str(f), res))
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
        raise typer.Exit(2 if failed else 0)
    rows = [[r["file"], "unreadable", *["—"] * 6] if "error" in r else
            [r["file"], num(r["duration_s"], "{:.2f}"), num(r["integrated_lufs"]), num(r["loudness_range_lu"]),
             num(r["true_peak_dbtp"]), num(r["sample_peak_dbfs"]), num(r["momentary_max_lufs"]),
             num(r["short_term_max_lufs"])] for r in results]
    print_table("Loudness (EBU R128 / ITU-R BS.1770)", _COLUMNS, rows, right=tuple(_COLUMNS[1:]))
    raise typer.Exit(2 if failed else 0)
