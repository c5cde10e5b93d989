"""``mixdown deliver``: every deliverable a session lists, from one render."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    from ..pipeline import Job, run

    check_block_size(block_size)
    read_media(allow_truncated=allow_truncated)
    s = open_session(session, media_root=media_root)
    check_deliverables(s)
    with deliver_progress(not as_json) as cb:
        res = run(Job(mode="deliver", session=str(session), media_root=str(media_root) if media_root else None,
                      block_size=block_size, options={"vad": vad}),
                  progress=cb, session=s)
    print_report(res, as_json=as_json)
    raise typer.Exit(0 if res.compliant else 3)


def check_deliverables(session: Any) -> None:
    """Before any work: every deliverable's location writable and no input, the disk big enough."""
    from ..files.space import check_space
    from ..render.graph import check
    from .space import deliver_needs

    check_outputs(*(out_spec(session.resolve(d.path), f"deliverables[{i}].path", folder=d.kind == "stems",
                             create=True) for i, d in enumerate(session.deliverables)))
    check_space(deliver_needs(session, check(session)))


@contextmanager
def deliver_progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on a terminal (None otherwise)."""
    from ..interrupts import handoff

    with _progress_bar(enabled) as bar:
        if bar is None:
            yield None
            return
        task = bar.add_task("deliver", total=1)

        def cb(done: int, total: int) -> None:
            with handoff():  # the bar's lock is shared with its refresh thread
                bar.update(task, total=max(total, 1), completed=done)

        yield cb


def print_report(res: Any, *, as_json: bool) -> None:
    """Print a delivery's :class:`~mixdown.pipeline.JobResult` (text or JSON); notes and warnings on stderr."""
    summary = res.summary
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for o in summary["outputs"]:
            m = o["measured"] or {}
            verdict = {True: "ok", False: "FAIL", None: "--"}[o["compliant"]]
            if o["kind"] == "premaster":
                tp = m.get("true_peak_dbtp")
                typer.echo(f"{verdict:<4} {o['kind']} {o['path']} ({o['format']}): true peak "
                           f"{'—' if tp is None else f'{tp:.2f}'} dBTP at gain {o['gain_db']:+.2f} dB, no limiting")
                continue
            if o["kind"] in ("stems", "me"):
                typer.echo(f"{verdict:<4} {o['kind']:<5} {o['path']} ({len(o['files'])} file(s), {o['format']}, "
                           f"gain {o['gain_db']:+.2f} dB)")
                continue
            gated = o["requirements"] and o["requirements"][0]["name"] == "dialogue_loudness"
            lufs = m.get("dialogue_gated_lufs") if gated else m.get("integrated_lufs")
            tp = m.get("true_peak_dbtp")
            typer.echo(f"{verdict:<4} {o['kind']:<5} {o['path']} ({o['format']}, {o['layout']}"
                       f"{', ' + o['target'] if o['target'] else ''}): "
                       f"{'—' if lufs is None else f'{lufs:.2f}'} LUFS, {'—' if tp is None else f'{tp:.2f}'} dBTP"
                       f"{'' if o['encodes'] <= 1 else ', encoded ' + str(o['encodes']) + 'x'}")
        timing = summary["timing_s"]
        typer.echo(f"{len(summary['outputs'])} deliverable(s) in {timing.get('total', 0):.1f} s "
                   f"(one render: {timing.get('render', 0):.1f} s)")
    for p in res.problems:
        if p.code == "note":
            if not as_json:
                typer.echo(f"mixdown: note: {p.where}: {p.message}", err=True)
        elif p.where is not None and p.code != "warning":
            typer.echo(f"mixdown: warning: {p.where}: {p.message}", err=True)
        else:
            typer.echo(f"mixdown: warning: {p.message}", err=True)


def _progress_bar(enabled: bool) -> Any:
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    return Progress("[bold]delivering", BarColumn(), "{task.percentage:>5.1f}%", TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
