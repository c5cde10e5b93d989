"""``mixdown render``: a session's master to an audio file, or every deliverable it lists."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import FORMATS, callback, fail, measure_keys, num, open_session, progress


@app.command()
def render(
    session: Path = typer.Argument(..., help="session file (.yaml or .json) or editor timeline (.xml .fcpxml .edl .otio)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="output file (default: <session>.wav beside it)"),
    format: str = typer.Option("wav24", "--format", help="wav24 | wav16 | wav32f | flac"),
    # 65536 = render.engine.DEFAULT_BLOCK, written out so that --help need not import the engine
    block_size: int = typer.Option(65536, "--block-size", help="frames per block (memory, not output, depends on it)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
) -> None:
    """Render a session's master to an audio file."""
    from ..analysis.loudness import LoudnessMeter
    from ..media.write import AudioWriter
    from ..render.engine import Renderer
    from ..render.graph import check
    from ..render.sink import BackgroundSink
    from .deliver import print_report, run_deliverables

    if format not in FORMATS:
        fail(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    if block_size < 1:
        fail("--block-size must be a positive number of frames")
    s = open_session(session, media_root=None)
    if output is None and s.deliverables:
        rep = run_deliverables(s, block_size=block_size, show_progress=not as_json)
        print_report(rep, as_json=as_json)
        raise typer.Exit(0 if rep.compliant else 3)
    graph = check(s)
    out = output or session.with_suffix(".flac" if format == "flac" else ".wav")
    protect = set(graph.source_paths) | {session.resolve()}
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
    t0 = time.perf_counter()
    with progress("rendering", not as_json) as bar:
        cb = callback(bar)
        with AudioWriter(out, sample_rate=graph.sample_rate, channels=graph.channels, format=format,
                         protect=protect) as writer:
            with BackgroundSink(writer.write, meter.process) as sink:
                for _, block, _ in Renderer(graph, block_size=block_size).blocks(progress=cb):
                    sink.put(block)
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
        "measured": measure_keys(str(out), res),
    }
    if graph.tail_cut is not None:
        summary["warnings"] = [graph.tail_cut.message(graph.sample_rate)]
        typer.echo(f"mixdown: warning: {summary['warnings'][0]}", err=True)
    if report is not None:
        from ..report import build_report

        build_report(s, mix=out).write(report, protect=list(protect))
        summary["report"] = str(report)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(
            f"wrote {out} ({summary['duration_s']:.2f} s, {graph.sample_rate} Hz, {graph.channels} ch, {format}) "
            f"in {elapsed:.2f} s; integrated {num(res.integrated_lufs)} LUFS, true peak {num(res.true_peak_dbtp)} dBTP"
        )
