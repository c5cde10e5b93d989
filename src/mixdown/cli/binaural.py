"""``mixdown binaural``: a stereo, 5.1 or 7.1 file rendered for headphones."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    check_outputs,
    fail,
    number_option,
    out_spec,
    protect,
    read_media,
)


@app.command("binaural")
def binaural_command(
    src: Path = typer.Argument(..., help="mono, stereo, 5.1 or 7.1 file (8 channels: FL FR FC LFE BL BR SL SR)"),
    out: Path = typer.Option(..., "-o", "--out", help="the binaural file (.wav or .flac)"),
    hrtf: Path | None = typer.Option(None, "--hrtf", help="HRTF set (.sofa, SimpleFreeFieldHRIR); default MIT KEMAR"),
    azimuth: float = number_option(0.0, "--azimuth", help="direction of a mono source (+90 = left)", min=-180,
                                   max=180, unit="degrees"),
    elevation: float = number_option(0.0, "--elevation", help="elevation of a mono source", min=-40, max=90,
                                     unit="degrees"),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
) -> None:
    """Render for headphones by HRTF convolution: each channel a virtual speaker at its layout's angle."""
    from ..translate.binaural_file import binaural_file

    if out.suffix.lower() not in (".wav", ".flac"):
        fail(f"-o {out}: give a .wav or .flac file")
    if not src.is_file():
        fail(f"{src}: file not found")
    if hrtf is not None and not hrtf.is_file():
        fail(f"--hrtf {hrtf}: file not found")
    read_media(allow_truncated=allow_truncated)
    protect(src, hrtf)
    check_outputs(out_spec(out, "-o"))
    binaural_file(src, out, hrtf=None if hrtf is None else str(hrtf), azimuth=azimuth, elevation=elevation)
    typer.echo(str(out))
