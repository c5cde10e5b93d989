"""The Typer application every command module registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mixdown",
    help="Audio post-production for video: sessions in, balanced and loudness-compliant mixes out.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
