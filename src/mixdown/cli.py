"""The ``mixdown`` command: parse, validate first, call the library, show progress.

Exit codes: 0 success; 2 a user error (bad session, missing or unreadable media,
bad option), printed as one line on stderr; 3 a compliance check failed; 1 an
internal error. Heavy modules are imported inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

app = typer.Typer(
    name="mixdown",
    help="Audio post-production for video: sessions in, balanced and loudness-compliant mixes out.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

FORMATS = ("wav24", "wav16", "wav32f", "flac")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"mixdown: error: {message}", err=True)
    raise typer.Exit(code)


def _progress(label: str, enabled: bool):
    """A rich progress bar on stderr (hidden when not a terminal or when JSON is asked for)."""
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    return Progress(f"[bold]{label}", BarColumn(), "{task.percentage:>5.1f}%", TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


def _callback(bar: Any):
    if bar is None:
        return None
    task = bar.add_task("render", total=1)

    def cb(done: int, total: int) -> None:
        bar.update(task, total=max(total, 1), completed=done)

    return cb


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if x is None else fmt.format(x)


@app.command()
def render(
    session: Path = typer.Argument(..., help="session file (.yaml or .json)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="output file (default: <session>.wav beside it)"),
    format: str = typer.Option("wav24", "--format", help="wav24 | wav16 | wav32f | flac"),
    block_size: int = typer.Option(8192, "--block-size", help="frames per block (memory, not output, depends on it)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
) -> None:
    """Render a session's master to an audio file."""
    from .analysis.loudness import LoudnessMeter
    from .media.write import AudioWriter
    from .render.engine import Renderer
    from .render.graph import check
    from .session import load_session

    if format not in FORMATS:
        _fail(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    if block_size < 1:
        _fail("--block-size must be a positive number of frames")
    s = load_session(session)
    graph = check(s)
    out = output or session.with_suffix(".flac" if format == "flac" else ".wav")
    protect = set(graph.source_paths) | {session.resolve()}
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
    t0 = time.perf_counter()
    with _progress("rendering", not as_json) as bar:
        cb = _callback(bar)
        with AudioWriter(out, sample_rate=graph.sample_rate, channels=graph.channels, format=format,
                         protect=protect) as writer:
            for _, block, _ in Renderer(graph, block_size=block_size).blocks(progress=cb):
                writer.write(block)
                meter.process(block)
    elapsed = time.perf_counter() - t0
    res = meter.result()
    summary = {
        "output": str(out),
        "format": format,
        "sample_rate": graph.sample_rate,
        "channels": graph.channels,
        "duration_s": graph.length / graph.sample_rate,
        "render_seconds": round(elapsed, 3),
        "realtime_factor": round(graph.length / graph.sample_rate / elapsed, 1) if elapsed > 0 else None,
        "measured": _measure_keys(str(out), res),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(
            f"wrote {out} ({summary['duration_s']:.2f} s, {graph.sample_rate} Hz, {graph.channels} ch, {format}) "
            f"in {elapsed:.2f} s; integrated {_num(res.integrated_lufs)} LUFS, true peak {_num(res.true_peak_dbtp)} dBTP"
        )


def _measure_keys(file: str, res: Any) -> dict[str, Any]:
    data = {"file": file}
    data.update(res.to_json())
    return data


@app.command()
def measure(
    files: list[Path] = typer.Argument(..., help="audio or video files (anything FFmpeg reads)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (a list when several)"),
) -> None:
    """Measure loudness (BS.1770 / EBU R128): integrated, range, true peak, maxima."""
    from .analysis.measure import measure_file

    results = [_measure_keys(str(f), measure_file(f)) for f in files]
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
        table.add_row(r["file"], _num(r["duration_s"], "{:.2f}"), _num(r["integrated_lufs"]),
                      _num(r["loudness_range_lu"]), _num(r["true_peak_dbtp"]), _num(r["sample_peak_dbfs"]),
                      _num(r["momentary_max_lufs"]), _num(r["short_term_max_lufs"]))
    Console().print(table)


@app.command()
def processors() -> None:
    """List the processors a chain can use, with their parameters."""
    from .dsp.base import load_all

    for kind, cls in sorted(load_all().items()):
        typer.echo(f"{kind}:{' (sidechain)' if cls.SIDECHAIN else ''}")
        for name, p in cls.PARAMS.items():
            rng = f" [{p.min:g}..{p.max:g}]" if p.min is not None and p.max is not None else ""
            choices = f" ({'|'.join(p.choices)})" if p.choices else ""
            typer.echo(f"  {name} = {p.default!r}{' ' + p.unit if p.unit else ''}{rng}{choices}  {p.doc}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every error into an exit code and one line."""
    from .errors import MixdownError

    try:
        app(args=argv, standalone_mode=False)
    except MixdownError as exc:
        typer.echo(f"mixdown: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("mixdown: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into exit 1
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        if os.environ.get("MIXDOWN_DEBUG"):
            raise
        typer.echo(f"mixdown: internal error: {type(exc).__name__}: {exc} (set MIXDOWN_DEBUG=1 for a traceback)",
                   err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
