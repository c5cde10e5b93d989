"""``mixdown render``: a session's master to an audio file, or every deliverable it lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    callback,
    check_block_size,
    check_outputs,
    fail,
    media_root_option,
    num,
    number_option,
    open_session,
    out_spec,
    progress,
    read_media,
)
from .deliver import check_deliverables, deliver_progress, print_report


@app.command()
def render(
    session: Path = typer.Argument(
        ..., help="session file (.yaml or .json) or editor timeline (.xml .fcpxml .edl .otio)"
    ),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="output file (default: <session>.wav beside it)"
    ),
    format: Optional[str] = typer.Option(
        None,
        "--format",
        help="wav24 | wav16 | wav32f | bwf | flac | flac16 | mp3 | aac | opus (default: from -o's suffix)",
    ),
    # 65536 = render.engine.DEFAULT_BLOCK, written out so that --help need not import the engine
    block_size: int = number_option(
        65536,
        "--block-size",
        help="frames per block (memory, not output, depends on it)",
        min=64,
        max=1048576,
        unit="frames",
    ),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
    media_root: Path | None = media_root_option(),
) -> None:
    """Render a session's master to an audio file (the format follows the suffix: .wav .flac .mp3 .m4a .ogg .opus)."""
    from ..deliver.formats import SUFFIXES, resolve_format
    from ..pipeline import Job, run

    check_block_size(block_size)
    if format is not None and format not in SUFFIXES:
        fail(f"--format {format!r} is not one of {', '.join(SUFFIXES)}")
    read_media(allow_truncated=allow_truncated)
    s = open_session(session, media_root=media_root)
    job = Job(mode="render", session=str(session), media_root=str(media_root) if media_root else None,
              block_size=block_size, report=str(report) if report else None)
    if output is None and s.deliverables:
        if format is not None:
            fail(f"--format {format} applies to -o OUT; the session's {len(s.deliverables)} deliverable(s) name "
                 "their own formats (give -o to render the master alone)")
        check_deliverables(s)
        check_outputs(out_spec(report, "--report"))
        with deliver_progress(not as_json) as cb:
            res = run(job, progress=cb, session=s)
        print_report(res, as_json=as_json)
        raise typer.Exit(0 if res.compliant else 3)
    if output is not None and s.deliverables:
        typer.echo(f"mixdown: note: -o renders the master alone; the session's {len(s.deliverables)} "
                   "deliverable(s) are not written (`mixdown render` without -o, or `mixdown deliver`, writes them)",
                   err=True)
    out = output or session.with_suffix(SUFFIXES[format][0] if format else ".wav")
    check_outputs(out_spec(out, "-o" if output is not None else "the mix"), out_spec(report, "--report"))
    fmt = resolve_format(out, format)
    with progress("rendering" + (" + report" if report else ""), not as_json) as bar:
        res = run(job.replace(output=str(out), format=fmt), progress=callback(bar), session=s)
    summary = dict(res.summary)
    for w in summary.get("warnings", []):
        typer.echo(f"mixdown: warning: {w}", err=True)
    if report is not None:
        summary["report_seconds"] = round(res.timings.get("report", 0.0), 3)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        m = summary["measured"]
        typer.echo(
            f"wrote {out} ({summary['duration_s']:.2f} s, {summary['sample_rate']} Hz, "
            f"{summary['channels']} ch, {fmt}) "
            f"in {summary['render_seconds']:.2f} s; integrated {num(m['integrated_lufs'])} LUFS, "
            f"true peak {num(m['true_peak_dbtp'])} dBTP" + (f"; report {report}" if report is not None else "")
        )
    if summary["clipped_samples"]:
        total = round(summary["duration_s"] * summary["sample_rate"]) * summary["channels"]
        typer.echo(f"mixdown: warning: {out}: {summary['clipped_samples']} of {total} samples clipped at full scale "
                   f"in {fmt} ({100 * summary['clipped_samples'] / max(total, 1):.3g} %); the figures above are the "
                   "file's as written. Lower the master (or add a limiter), or write wav32f to keep the peaks",
                   err=True)
