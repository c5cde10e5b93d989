"""``mixdown deliver``: every deliverable a session lists, from one render."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    check_block_size,
    check_outputs,
    media_root_option,
    number_option,
    open_session,
    out_spec,
    read_media,
)


@app.command("deliver")
def deliver_command(
    session: Path = typer.Argument(..., help="session file listing its deliverables"),
    block_size: int = number_option(65536, "--block-size", help="frames per block (memory, not output, depends on it)",
                                    min=64, max=1048576, unit="frames"),
    vad: str = typer.Option("silero", "--vad", help="speech detector for dialogue-gated targets: silero | energy"),
    as_json: bool = typer.Option(False, "--json", help="print the delivery report as JSON"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
    media_root: Path | None = media_root_option(),
) -> None:
    """Render a session once and write every deliverable it lists (mix files, stems, M&E, video).

    Exit 0 when every deliverable meets its target, 3 when one misses it (the files
    are written and the report says why), 2 for a bad session or unreadable media.
    """
    check_block_size(block_size)
    read_media(allow_truncated=allow_truncated)
    s = open_session(session, media_root=media_root)
    report = run_deliverables(s, block_size=block_size, vad_method=vad, show_progress=not as_json)
    print_report(report, as_json=as_json)
    raise typer.Exit(0 if report.compliant else 3)


def run_deliverables(session: Any, *, block_size: int = 65536, vad_method: str = "silero",
                     show_progress: bool = True) -> Any:
    """``render_deliverables`` with a progress bar on a terminal (for ``render``/``deliver``);
    every output location and the disk space are checked first."""
    from ..deliver.deliverables import render_deliverables
    from ..files.space import check_space
    from ..interrupts import handoff
    from ..render.graph import check
    from .space import deliver_needs

    check_outputs(*(out_spec(session.resolve(d.path), f"deliverables[{i}].path", folder=d.kind == "stems",
                             create=True) for i, d in enumerate(session.deliverables)))
    check_space(deliver_needs(session, check(session)))

    bar_ctx = _progress_bar(show_progress)
    with bar_ctx as bar:
        if bar is None:
            return render_deliverables(session, block_size=block_size, vad_method=vad_method)
        task = bar.add_task("deliver", total=1)

        def cb(done: int, total: int) -> None:
            with handoff():  # the bar's lock is shared with its refresh thread
                bar.update(task, total=max(total, 1), completed=done)

        return render_deliverables(session, progress=cb, block_size=block_size, vad_method=vad_method)


def print_report(report: Any, *, as_json: bool) -> None:
    """Print a :class:`~mixdown.deliver.deliverables.DeliveryReport` (text or JSON); warnings on stderr."""
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for o in report.outputs:
            m = o.measured or {}
            verdict = {True: "ok", False: "FAIL", None: "--"}[o.compliant]
            if o.kind == "premaster":
                tp = m.get("true_peak_dbtp")
                typer.echo(f"{verdict:<4} {o.kind} {o.path} ({o.format}): true peak "
                           f"{'—' if tp is None else f'{tp:.2f}'} dBTP at gain {o.gain_db:+.2f} dB, no limiting")
                continue
            if o.kind in ("stems", "me"):
                typer.echo(f"{verdict:<4} {o.kind:<5} {o.path} ({len(o.files)} file(s), {o.format}, "
                           f"gain {o.gain_db:+.2f} dB)")
                continue
            lufs = m.get("dialogue_gated_lufs") if (o.requirements and o.requirements[0]["name"] == "dialogue_loudness") \
                else m.get("integrated_lufs")
            tp = m.get("true_peak_dbtp")
            typer.echo(f"{verdict:<4} {o.kind:<5} {o.path} ({o.format}, {o.layout}"
                       f"{', ' + o.target if o.target else ''}): "
                       f"{'—' if lufs is None else f'{lufs:.2f}'} LUFS, {'—' if tp is None else f'{tp:.2f}'} dBTP"
                       f"{'' if o.encodes <= 1 else f', encoded {o.encodes}x'}")
        typer.echo(f"{len(report.outputs)} deliverable(s) in {report.timing.get('total', 0):.1f} s "
                   f"(one render: {report.timing.get('render', 0):.1f} s)")
    for o in report.outputs:
        for n in o.notes:
            if not as_json and n in o.shown:
                typer.echo(f"mixdown: note: {o.path}: {n}", err=True)
    for p in [*report.warnings, *report.problems]:
        typer.echo(f"mixdown: warning: {p}", err=True)


def _progress_bar(enabled: bool) -> Any:
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    return Progress("[bold]delivering", BarColumn(), "{task.percentage:>5.1f}%", TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
