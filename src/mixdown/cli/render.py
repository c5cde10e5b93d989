"""``mixdown render``: a session's master to an audio file, or every deliverable it lists."""

from __future__ import annotations

import json
import time
from contextlib import closing
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    FORMATS,
    callback,
    check_block_size,
    check_outputs,
    fail,
    measure_keys,
    num,
    open_session,
    out_spec,
    progress,
    read_media,
)


@app.command()
def render(
    session: Path = typer.Argument(..., help="session file (.yaml or .json) or editor timeline (.xml .fcpxml .edl .otio)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="output file (default: <session>.wav beside it)"),
    format: str = typer.Option("wav24", "--format", help="wav24 | wav16 | wav32f | flac"),
    # 65536 = render.engine.DEFAULT_BLOCK, written out so that --help need not import the engine
    block_size: int = typer.Option(65536, "--block-size", help="frames per block (memory, not output, depends on it)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
) -> None:
    """Render a session's master to an audio file."""
    from ..analysis.loudness import LoudnessMeter
    from ..files.space import check_space
    from ..media.write import AudioWriter
    from ..render.engine import Renderer
    from ..render.graph import check
    from ..render.sink import BackgroundSink
    from .deliver import print_report, run_deliverables
    from .space import render_needs

    if format not in FORMATS:
        fail(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    check_block_size(block_size)
    read_media(allow_truncated=allow_truncated)
    s = open_session(session, media_root=None)
    if output is None and s.deliverables:
        rep = run_deliverables(s, block_size=block_size, show_progress=not as_json)
        print_report(rep, as_json=as_json)
        raise typer.Exit(0 if rep.compliant else 3)
    out = output or session.with_suffix(".flac" if format == "flac" else ".wav")
    check_outputs(out_spec(out, "-o" if output is not None else "the mix"), out_spec(report, "--report"))
    graph = check(s)
    check_space(render_needs(out, format, graph))
    protect = set(graph.source_paths) | {session.resolve()}
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
    t0 = time.perf_counter()
    with progress("rendering", not as_json) as bar:
        cb = callback(bar)
        with AudioWriter(out, sample_rate=graph.sample_rate, channels=graph.channels, format=format,
                         protect=protect, frames=graph.length) as writer:
            # measured as written (quantised), so the summary is the file's, clipping included
            written = writer.mirror()
            with BackgroundSink(writer.write, lambda b: meter.process(written.written(b))) as sink:
                with closing(Renderer(graph, block_size=block_size).blocks(progress=cb)) as blocks:
                    for _, block, _ in blocks:
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
        "clipped_samples": written.clipped,
    }
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
    if written.clipped:
        total = graph.length * graph.channels
        typer.echo(f"mixdown: warning: {out}: {written.clipped} of {total} samples clipped at full scale in {format} "
                   f"({100 * written.clipped / max(total, 1):.3g} %); the figures above are the file's as written. "
                   "Lower the master (or add a limiter), or write wav32f to keep the peaks", err=True)

