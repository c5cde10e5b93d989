"""Typer command functions of the delivery commands, for ``cli.py`` to register.

``cli.py`` stays the one place that owns the app; it registers these with::

    from .deliver.cli_commands import check_command, deliver_command
    app.command("check")(check_command)
    app.command("deliver")(deliver_command)

Exit codes (as everywhere in mixdown): 0 all good; 2 a user error (unreadable
input, bad option, bad session); 3 a compliance failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer


def _echo_err(msg: str) -> None:
    typer.echo(f"mixdown: error: {msg}", err=True)


def check_command(
    files: list[Path] = typer.Argument(..., help="audio or video files (anything FFmpeg reads)"),
    target: str | None = typer.Option(None, "--target", help="delivery preset (see `mixdown targets`)"),
    lufs: float | None = typer.Option(None, "--lufs", help="custom target loudness, LUFS"),
    true_peak: float | None = typer.Option(None, "--true-peak", help="custom true-peak ceiling, dBTP"),
    tolerance: float | None = typer.Option(None, "--tolerance", help="allowed loudness deviation, ± LU"),
    stream: int | None = typer.Option(None, "--stream", help="audio stream to check (default: the first)"),
    max_silence: float = typer.Option(5.0, "--max-silence", help="longest silence at head or tail, s (negative: not checked)"),
    vad: str = typer.Option("silero", "--vad", help="speech detector for dialogue-gated targets: silero | energy"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (a list when several)"),
) -> None:
    """Check files against a delivery spec: loudness, true peak, LRA, clipping, silence.

    Exit 0 when every file passes every requirement, 3 when any fails, 2 when a file
    cannot be read.
    """
    from ..errors import MixdownError
    from .check import check_file, format_result
    from .targets import get_target

    if vad not in ("silero", "energy"):
        _echo_err("--vad must be silero or energy")
        raise typer.Exit(2)
    try:
        tgt = get_target(target, lufs=lufs, true_peak=true_peak, tolerance=tolerance)
    except MixdownError as exc:
        _echo_err(str(exc))
        raise typer.Exit(exc.exit_code) from None
    results: list[dict[str, Any]] = []
    unreadable = failed = False
    for f in files:
        try:
            res = check_file(f, tgt, stream=stream, vad_method=vad,
                             max_silence_s=None if max_silence < 0 else max_silence)
        except MixdownError as exc:
            unreadable = True
            results.append({"file": str(f), "passed": False, "error": str(exc)})
            if not as_json:
                _echo_err(str(exc))
            continue
        failed |= not res.passed
        results.append(res.to_json())
        if not as_json:
            typer.echo(format_result(res))
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    raise typer.Exit(2 if unreadable else 3 if failed else 0)


def deliver_command(
    session: Path = typer.Argument(..., help="session file listing its deliverables"),
    block_size: int = typer.Option(16384, "--block-size", help="frames per block (memory, not output, depends on it)"),
    vad: str = typer.Option("silero", "--vad", help="speech detector for dialogue-gated targets: silero | energy"),
    as_json: bool = typer.Option(False, "--json", help="print the delivery report as JSON"),
) -> None:
    """Render a session once and write every deliverable it lists (mix files, stems, M&E, video).

    Exit 0 when every deliverable meets its target, 3 when one misses it (the files
    are written and the report says why), 2 for a bad session or unreadable media.
    """
    from ..session import load_session

    if block_size < 1:
        _echo_err("--block-size must be a positive number of frames")
        raise typer.Exit(2)
    s = load_session(session)
    report = run_deliverables(s, block_size=block_size, vad_method=vad, show_progress=not as_json)
    print_report(report, as_json=as_json)
    raise typer.Exit(0 if report.compliant else 3)


def run_deliverables(session: Any, *, block_size: int = 16384, vad_method: str = "silero",
                     show_progress: bool = True) -> Any:
    """``render_deliverables`` with a progress bar on a terminal (for ``render``/``deliver``)."""
    from .deliverables import render_deliverables

    bar_ctx = _progress_bar(show_progress)
    with bar_ctx as bar:
        if bar is None:
            return render_deliverables(session, block_size=block_size, vad_method=vad_method)
        task = bar.add_task("deliver", total=1)

        def cb(done: int, total: int) -> None:
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
            if not as_json and ("encoded again" in n or "cut" in n or "padded" in n):
                typer.echo(f"mixdown: note: {o.path}: {n}", err=True)
    for p in report.problems:
        typer.echo(f"mixdown: warning: {p}", err=True)


def _progress_bar(enabled: bool) -> Any:
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    return Progress("[bold]delivering", BarColumn(), "{task.percentage:>5.1f}%", TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


def deliver_video_after_auto(mix: Path, video: Path, output: Path, *, target: Any, speech: Any = None,
                             keep_original_audio: bool = False, language: str | None = None,
                             title: str | None = None, protect: list[Path] = ()) -> Any:  # type: ignore[assignment]
    """For ``mixdown auto ... --video V -o out.mp4``: mux ``auto``'s rendered mix into ``V``.

    ``auto`` renders its mix to a temporary file (``wav32f``); this normalises and
    limits it for the AAC track (lossy ceiling), muxes, decodes and verifies.
    ``target`` is the :class:`~mixdown.deliver.targets.Target` ``auto`` used; a
    custom target is passed as numbers.
    """
    from ..session.model import Deliverable
    from .deliverables import deliver_file
    from .targets import PRESETS

    base = target.name.removesuffix(" (custom)")
    exact = target.name in PRESETS
    d = Deliverable(kind="video", path=str(output), video=str(video),
                    target=base if base in PRESETS else None,
                    lufs=None if exact else target.integrated_lufs,
                    true_peak=None if exact else target.true_peak_dbtp,
                    keep_original_audio=keep_original_audio, language=language, title=title)
    return deliver_file(mix, [d], speech=speech, protect=list(protect))
