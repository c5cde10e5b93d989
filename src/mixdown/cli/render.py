"""``mixdown render``: a session's master to an audio file, or every deliverable it lists."""

from __future__ import annotations

import json
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Optional

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    callback,
    check_block_size,
    check_outputs,
    fail,
    number_option,
    measure_keys,
    media_root_option,
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
    format: Optional[str] = typer.Option(
        None, "--format", help="wav24 | wav16 | wav32f | bwf | flac | flac16 | mp3 | aac | opus (default: from -o's suffix)"),
    # 65536 = render.engine.DEFAULT_BLOCK, written out so that --help need not import the engine
    block_size: int = number_option(65536, "--block-size", help="frames per block (memory, not output, depends on it)",
                                    min=64, max=1048576, unit="frames"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
    media_root: Path | None = media_root_option(),
) -> None:
    """Render a session's master to an audio file (the format follows the suffix: .wav .flac .mp3 .m4a .ogg .opus)."""
    from ..deliver.formats import SUFFIXES, resolve_format
    from .deliver import print_report, run_deliverables

    check_block_size(block_size)
    if format is not None and format not in SUFFIXES:
        fail(f"--format {format!r} is not one of {', '.join(SUFFIXES)}")
    read_media(allow_truncated=allow_truncated)
    s = open_session(session, media_root=media_root)
    if output is None and s.deliverables:
        if format is not None:
            fail(f"--format {format} applies to -o OUT; the session's {len(s.deliverables)} deliverable(s) name "
                 "their own formats (give -o to render the master alone)")
        rep = run_deliverables(s, block_size=block_size, show_progress=not as_json)
        if report is not None:
            _deliverables_report(s, session, rep, report, show_progress=not as_json)
        print_report(rep, as_json=as_json)
        raise typer.Exit(0 if rep.compliant else 3)
    if output is not None and s.deliverables:
        typer.echo(f"mixdown: note: -o renders the master alone; the session's {len(s.deliverables)} "
                   "deliverable(s) are not written (`mixdown render` without -o, or `mixdown deliver`, writes them)",
                   err=True)
    out = output or session.with_suffix(SUFFIXES[format][0] if format else ".wav")
    check_outputs(out_spec(out, "-o" if output is not None else "the mix"), out_spec(report, "--report"))
    fmt = resolve_format(out, format)
    summary = _render_master(s, session, out, fmt, block_size=block_size, report=report, show_progress=not as_json)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        m = summary["measured"]
        typer.echo(
            f"wrote {out} ({summary['duration_s']:.2f} s, {summary['sample_rate']} Hz, {summary['channels']} ch, {fmt}) "
            f"in {summary['render_seconds']:.2f} s; integrated {num(m['integrated_lufs'])} LUFS, "
            f"true peak {num(m['true_peak_dbtp'])} dBTP" + (f"; report {report}" if report is not None else ""))
    if summary["clipped_samples"]:
        total = round(summary["duration_s"] * summary["sample_rate"]) * summary["channels"]
        typer.echo(f"mixdown: warning: {out}: {summary['clipped_samples']} of {total} samples clipped at full scale "
                   f"in {fmt} ({100 * summary['clipped_samples'] / max(total, 1):.3g} %); the figures above are the "
                   "file's as written. Lower the master (or add a limiter), or write wav32f to keep the peaks",
                   err=True)


def _render_master(s: Any, session: Path, out: Path, fmt: str, *, block_size: int, report: Path | None,
                   show_progress: bool) -> dict[str, Any]:
    """One render to ``out``; with ``report``, the report's probes ride on the same pass."""
    from ..analysis.loudness import LoudnessMeter
    from ..deliver.encode import open_encoder
    from ..media.write import FORMATS as PCM_FORMATS
    from ..files.space import check_space
    from ..render.engine import Renderer
    from ..render.graph import check
    from ..render.sink import BackgroundSink
    from .space import render_needs

    graph = check(s)
    check_space(render_needs(out, fmt, graph))
    protect = set(graph.source_paths) | {session.resolve()}
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
    probes = None
    if report is not None:
        from ..report import SessionPass

        probes = SessionPass(s, graph=graph, meter=meter, output=str(out))
    t0 = time.perf_counter()
    with progress("rendering" + (" + report" if probes else ""), show_progress) as bar:
        cb = callback(bar)
        with open_encoder(out, format=fmt, sample_rate=graph.sample_rate, channels=graph.channels,
                          protect=protect, frames=graph.length) as writer:
            # PCM is measured as written (quantised), so the summary is the file's, clipping included
            written = writer.mirror() if fmt in PCM_FORMATS else None

            def as_written(b: Any) -> Any:
                return written.written(b) if written is not None else b

            consumers = [lambda b, _t: writer.write(b), lambda b, _t: meter.process(as_written(b))]
            if probes is not None:
                consumers += [lambda b, _t: probes.consume_master(b), lambda _b, t: probes.consume_taps(t)]
            with BackgroundSink(*consumers) as sink:
                renderer = Renderer(graph, block_size=block_size, taps=probes.taps if probes else None)
                with closing(renderer.blocks(progress=cb)) as blocks:
                    for _, block, taps in blocks:
                        sink.put(block, taps)
    elapsed = time.perf_counter() - t0
    res = meter.result()
    summary = {
        "output": str(out),
        "format": fmt,
        "sample_rate": graph.sample_rate,
        "channels": graph.channels,
        "duration_s": graph.length / graph.sample_rate,
        "render_seconds": round(elapsed, 3),
        "realtime_factor": round(graph.length / graph.sample_rate / elapsed, 1) if elapsed > 0 else None,
        "measured": measure_keys(str(out), res),
        "clipped_samples": written.clipped if written is not None else 0,
    }
    if graph.tail_cut is not None:
        summary["warnings"] = [graph.tail_cut.message(graph.sample_rate)]
        typer.echo(f"mixdown: warning: {summary['warnings'][0]}", err=True)
    if probes is not None:
        from ..report import build_report

        t1 = time.perf_counter()
        with progress("writing the report", show_progress) as bar:
            build_report(rendered=probes, progress=callback(bar)).write(report, protect=list(protect) + [out])
        summary["report"] = str(report)
        summary["report_seconds"] = round(time.perf_counter() - t1, 3)
    return summary


def _deliverables_report(s: Any, session: Path, rep: Any, report: Path, *, show_progress: bool) -> None:
    """The report of a session whose deliverables were just written, with the first mix's numbers and target."""
    from ..targets import get_target
    from ..report import build_report

    first = next(((d, o) for d, o in zip(s.deliverables, rep.outputs) if d.kind in ("mix", "video")), None)
    mix = tgt = None
    if first is not None:
        d, o = first
        mix = Path(o.files[0] if o.files else o.path)
        if d.target or d.lufs is not None:
            tgt = get_target(d.target, lufs=d.lufs, true_peak=d.true_peak)
    # the delivery stage owns its render; the report's per-track probes need one of their own
    typer.echo("mixdown: note: the report renders the session once more for its per-track plots"
               + ("" if mix is None else f" and measures {mix}"), err=True)
    with progress("writing the report", show_progress) as bar:
        build_report(s, mix=mix, target=tgt, progress=callback(bar)).write(report, protect=[session])
