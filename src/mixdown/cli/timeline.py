"""``mixdown import`` and ``mixdown export``: editor timelines in and out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import check_outputs, fail, media_root_option, number_option, open_session, out_spec, protect


@app.command("import")
def import_(
    timeline: Path = typer.Argument(..., help="FCP7 XML (Premiere/Resolve), FCPXML, CMX 3600 EDL or .otio"),
    output: Path = typer.Option(..., "-o", "--output", help="session file to write (.yaml or .json)"),
    media_root: Path | None = media_root_option(),
    role: list[str] = typer.Option([], "--role", help="TRACK=ROLE, overriding the role inferred from names"),
    frame_rate: Optional[str] = typer.Option(None, "--frame-rate", help="frame rate of an EDL (EDLs do not say)"),
    sequence: Optional[str] = typer.Option(None, "--sequence", help="which sequence, when the file has several"),
    sample_rate: int = number_option(48000, "--sample-rate", help="session sample rate", min=8000, max=384000, unit="Hz"),
    as_json: bool = typer.Option(False, "--json", help="print the import report as JSON"),
) -> None:
    """Import an editor's timeline as a session, listing everything it could not carry."""
    from ..interchange import import_timeline
    from ..session import save_session

    roles: dict[str, str] = {}
    for spec in role:
        track, sep, r = spec.partition("=")
        if not sep or not track or r not in ("dialogue", "music", "sfx", "ambience", "other"):
            fail(f"--role {spec!r}: write TRACK=ROLE with ROLE one of dialogue, music, sfx, ambience, other")
        roles[track] = r
    if output.suffix.lower() not in (".yaml", ".yml", ".json"):
        fail(f"-o {output}: a session is written as .yaml or .json")
    protect(timeline, what="the timeline")
    check_outputs(out_spec(output, "-o"))
    if frame_rate is not None:
        from ..errors import SessionError
        from ..timebase import parse_rate

        try:
            parse_rate(frame_rate)
        except SessionError as exc:
            fail(f"--frame-rate {frame_rate}: {exc.message}")
    session, report = import_timeline(timeline, media_root=media_root, roles=roles or None, sample_rate=sample_rate,
                                      frame_rate=frame_rate, sequence=sequence)
    from ..files.guard import current

    if current() is not None:
        current().add_session(session)
    save_session(session, output)
    if as_json:
        typer.echo(json.dumps({"session": str(output), "report": report.to_dict()}, indent=2))
    else:
        typer.echo(report.to_text())
        typer.echo(f"wrote {output}: {len(session.tracks)} tracks, {sum(len(t.clips) for t in session.tracks)} clips")


@app.command("export")
def export_(
    session: Path = typer.Argument(..., help="session (or timeline) to export"),
    output: Path = typer.Option(..., "-o", "--output", help="timeline: .xml (FCP7/Premiere), .fcpxml, .otio or .edl"),
    media_root: Path | None = media_root_option(),
) -> None:
    """Write a session as an editor's timeline, with its gain keyframes (ducks, leveling) in place."""
    from ..interchange import export_timeline

    s = open_session(session, media_root=media_root)
    check_outputs(out_spec(output, "-o", folder=output.suffix.lower() == ".fcpxmld",
                           create=output.suffix.lower() == ".fcpxmld"))
    for note in export_timeline(s, output):
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {output}")
