"""``mixdown preview``: what phones, earbuds, laptops, TVs and cars make of a mix."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    check_outputs,
    fail,
    out_spec,
    protect,
    read_media,
)

DEVICE_HELP = "phone, earbuds, laptop, tv, car, or all (repeat or comma-separate)"


def parse_devices(values: list[str], option: str = "--device") -> list[str]:
    """Device names from ``--device`` values, checked (exit 2 on an unknown one)."""
    from ..errors import MixdownError
    from ..translate import resolve

    try:
        return [d.name for d in resolve(values)]
    except MixdownError as exc:
        fail(f"{option}: {exc}")


@app.command("preview")
def preview_command(
    mix: Path = typer.Argument(..., help="the mix (mono, stereo, 5.1 or 7.1; anything FFmpeg reads)"),
    device: list[str] = typer.Option(["all"], "--device", help=DEVICE_HELP),
    out: Path = typer.Option(..., "-o", "--out", help="folder for <device>.wav (created if missing)"),
    dialogue: Path | None = typer.Option(None, "--dialogue", help="dialogue stem (with --music: QC from stems)"),
    music: Path | None = typer.Option(None, "--music", help="music stem (with --dialogue)"),
    vad: str = typer.Option("energy", "--vad", help="speech detector for dialogue clarity: energy | silero"),
    as_json: bool = typer.Option(False, "--json", help="the QC as JSON"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
) -> None:
    """Write what each device plays (DIR/<device>.wav) and its translation QC.

    Device models are representative curves shipped as data (see
    mixdown/translate/devices.yaml). Exit 0 whatever the QC says (its warnings are
    advice); 2 for bad input.
    """
    from ..translate import format_result, translate_file

    if vad not in ("silero", "energy"):
        fail("--vad must be silero or energy")
    if (dialogue is None) != (music is None):
        fail("give both --dialogue and --music, or neither")
    names = parse_devices(device)
    read_media(allow_truncated=allow_truncated)
    protect(mix, dialogue, music)
    check_outputs(out_spec(out, "-o", folder=True, create=True))
    for p in (mix, dialogue, music):
        if p is not None and not p.is_file():
            fail(f"{p}: file not found")
    out.mkdir(parents=True, exist_ok=True)
    res = translate_file(mix, names, out_dir=out, vad=vad, dialogue=dialogue, music=music)
    typer.echo(json.dumps(res.to_json(), indent=2) if as_json else format_result(res))


def add_translation(file: Path, result: dict, names: list[str], *, vad: str, stream: int | None,
                    as_json: bool) -> None:
    """``check --devices``: the translation QC of one file, printed or added to its JSON as ``translation``."""
    from ..translate import format_result, translate_file

    res = translate_file(file, names, vad=vad, stream=stream)
    result["translation"] = res.to_json()
    if not as_json:
        typer.echo(format_result(res))
