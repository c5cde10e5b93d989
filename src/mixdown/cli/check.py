"""``mixdown check``: files against a delivery spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from .app import app
from .common import ALLOW_TRUNCATED_HELP, echo_error, note_assumed_layout, number_option, read_media
from .preview import add_translation, parse_devices


@app.command("check")
def check_command(
    files: list[Path] = typer.Argument(..., help="audio or video files (anything FFmpeg reads)"),
    target: str | None = typer.Option(None, "--target", help="delivery preset (see `mixdown targets`)"),
    lufs: float | None = number_option(None, "--lufs", help="custom target loudness", min=-60, max=-1, unit="LUFS"),
    true_peak: float | None = number_option(None, "--true-peak", help="custom true-peak ceiling", min=-20, max=0, unit="dBTP"),
    tolerance: float | None = number_option(None, "--tolerance", help="allowed loudness deviation, ±", min=0, max=10,
                                            unit="LU"),
    stream: int | None = number_option(None, "--stream", help="audio stream to check (default: the first)", min=0, max=999),
    max_silence: float = number_option(5.0, "--max-silence", help="longest silence at head or tail (-1: not checked)",
                                       min=-1, max=86400, unit="s"),
    vad: str = typer.Option("silero", "--vad", help="speech detector for dialogue-gated targets: silero | energy"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (a list when several)"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
    devices: str | None = typer.Option(None, "--devices", help="also translation QC on these playback devices "
                                       "(phone,earbuds,laptop,tv,car or all; see `mixdown preview`); advice only"),
) -> None:
    """Check files against a delivery spec: loudness, true peak, LRA; and QC: clipping, DC, phase, mono fold-down, dropouts, silence.

    Exit 0 when every file passes every requirement, 3 when any fails, 2 when a file
    cannot be read.
    """
    from ..errors import MixdownError
    from ..deliver.check import check_file, format_result
    from ..targets import get_target

    if vad not in ("silero", "energy"):
        echo_error("--vad must be silero or energy")
        raise typer.Exit(2)
    read_media(allow_truncated=allow_truncated)
    device_names = parse_devices([devices], "--devices") if devices is not None else None
    try:
        tgt = get_target(target, lufs=lufs, true_peak=true_peak, tolerance=tolerance)
    except MixdownError as exc:
        echo_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    results: list[dict[str, Any]] = []
    unreadable = failed = False
    fails: list[str] = []
    for f in files:
        try:
            res = check_file(f, tgt, stream=stream, vad_method=vad,
                             max_silence_s=None if max_silence < 0 else max_silence)
        except MixdownError as exc:
            unreadable = True
            results.append({"file": str(f), "passed": False, "error": str(exc)})
            if not as_json:
                echo_error(str(exc))
            continue
        note_assumed_layout(str(f), res.measurement.layout, res.measurement.layout_assumed)
        if not res.passed:
            failed = True
            fails.append(f"{f} ({', '.join(r.name for r in res.failures)})")
        results.append(res.to_json())
        if not as_json:
            typer.echo(format_result(res))
        if device_names is not None:
            add_translation(f, results[-1], device_names, vad=vad, stream=stream, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    if fails:
        echo_error(f"{len(fails)} of {len(files)} file(s) fail {tgt.name}: {'; '.join(fails)}")
    raise typer.Exit(2 if unreadable else 3 if failed else 0)
