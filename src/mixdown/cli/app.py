"""The Typer application every command module registers itself on."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    name="mixdown",
    help="Audio post-production for video: sessions in, balanced and loudness-compliant mixes out.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from ..version import __version__

        typer.echo(f"mixdown {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="print the version and exit"),
    targets_file: Optional[list[Path]] = typer.Option(
        None, "--targets-file", help="delivery presets of your own (YAML like `mixdown targets --yaml`): they add "
        "to or override the built-in ones for every command; also MIXDOWN_TARGETS=FILE[:FILE]"),
) -> None:
    """Audio post-production for video: sessions in, balanced and loudness-compliant mixes out."""
    for f in targets_file or []:
        from ..targets import add_targets_file

        add_targets_file(f)
