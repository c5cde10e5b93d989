"""``mixdown report``: one self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .auto import renamed_option
from .common import (
    ALLOW_TRUNCATED_HELP,
    callback,
    check_outputs,
    fail,
    media_root_option,
    open_session,
    out_spec,
    progress,
    protect,
    read_media,
)

_SESSION_SUFFIXES = (".yaml", ".yml", ".json")


@app.command("report")
def report_(
    source: Path = typer.Argument(..., help="a session (or timeline), or the JSON that `auto --json` printed"),
    output: Path = typer.Option(..., "-o", "--output", help="the HTML page to write (self-contained)"),
    mix: Optional[Path] = typer.Option(None, "--mix", help="the rendered mix to measure and plot"),
    target: Optional[str] = typer.Option(None, "--target", help="draw this delivery target's band"),
    json_out: Optional[Path] = typer.Option(None, "--json-out", help="also write the report's data as JSON here"),
    _json: bool = renamed_option("--json", "--json-out PATH", flag=True),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
    media_root: Path | None = media_root_option(),
) -> None:
    """Write one HTML page with the loudness curve, tracks, speech, gain curves, spectra and decisions.

    SOURCE is a session (.yaml .yml .json), an editor timeline (.xml .fcpxml .edl
    .otio) or the result JSON of `mixdown auto --json`; a mix file is given with
    --mix (`mixdown report SESSION --mix mix.wav`).
    """
    from ..interchange import is_timeline
    from ..pipeline import Job, run
    from ..targets import get_target

    suffix = source.suffix.lower()
    if suffix not in _SESSION_SUFFIXES and not is_timeline(source):
        fail(f"{source}: a report is made from a session (.yaml .yml .json), an editor timeline "
             f"(.xml .fcpxml .edl .otio) or `mixdown auto --json`'s result (.json), not a {suffix or 'suffix-less'} "
             "file; for a mix file give its session and --mix FILE")
    read_media(allow_truncated=allow_truncated)
    tgt = get_target(target) if target else None
    protect(source, what="the report's source")
    protect(mix, what="the mix")
    is_result = False
    if suffix == ".json":
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None  # the session loader says what is wrong with it
        is_result = isinstance(data, dict) and "decisions" in data
        if is_result:
            # what the result names is read too: the mix, the saved session (either way a path may be meant)
            for key in ("output", "session"):
                if isinstance(data.get(key), str):
                    protect(Path(data[key]), source.parent / data[key], what="a file the result names")
    session = None if is_result else open_session(source, media_root=media_root)  # its media are inputs too
    check_outputs(out_spec(output, "-o"), out_spec(json_out, "--json-out"))
    job = Job(mode="report", session=None if is_result else str(source), result=str(source) if is_result else None,
              media_root=str(media_root) if media_root else None,
              output=str(mix) if mix else None, target=tgt.name if tgt else None, report=str(output),
              report_json=str(json_out) if json_out else None)
    with progress("report", True) as bar:
        run(job, progress=callback(bar), session=session)
    typer.echo(f"wrote {output}" + (f" and {json_out}" if json_out else ""))
