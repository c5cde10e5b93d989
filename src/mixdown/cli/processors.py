"""``mixdown processors``: what a chain can use."""

from __future__ import annotations

import typer

from .app import app


@app.command()
def processors() -> None:
    """List the processors a chain can use, with their parameters."""
    from ..dsp.base import load_all

    for kind, cls in sorted(load_all().items()):
        typer.echo(f"{kind}:{' (sidechain)' if cls.SIDECHAIN else ''}")
        for name, p in cls.PARAMS.items():
            rng = f" [{p.min:g}..{p.max:g}]" if p.min is not None and p.max is not None else ""
            choices = f" ({'|'.join(p.choices)})" if p.choices else ""
            typer.echo(f"  {name} = {p.default!r}{' ' + p.unit if p.unit else ''}{rng}{choices}  {p.doc}")
