"""``mixdown processors``: what a chain can use, and how automation drives each parameter."""

from __future__ import annotations

import json
from typing import Any

import typer

from .app import app

_RATE_TEXT = {
    "sample": "automation: per sample",
    "control": "automation: per control segment",
    "frame": "automation: per frame",
}


def _describe(cls: Any) -> dict[str, Any]:
    """One processor as JSON-ready data: its parameters with range, unit and control rate."""
    params = []
    for name, p in cls.PARAMS.items():
        entry: dict[str, Any] = {"name": name, "default": p.default, "unit": p.unit, "min": p.min, "max": p.max,
                                 "choices": list(p.choices) if p.choices else None, "doc": p.doc}
        entry.update(cls.control_rate(name))
        params.append(entry)
    doc = (cls.__doc__ or "").strip().splitlines()
    return {"kind": cls.kind, "sidechain": cls.SIDECHAIN, "doc": doc[0] if doc else "",
            "frame": cls.FRAME_RATE or None, "params": params}


@app.command()
def processors(as_json: bool = typer.Option(False, "--json", help="print the processors and parameters as JSON")
               ) -> None:
    """List the processors a chain can use, their parameters, and how automation drives each."""
    from ..dsp.base import CONTROL_PERIOD, load_all

    kinds = [_describe(cls) for _, cls in sorted(load_all().items())]
    if as_json:
        typer.echo(json.dumps(kinds, indent=2))
        return
    typer.echo(
        "Automation: per sample; per control segment (segments end every "
        f"{CONTROL_PERIOD} samples and at every keyframe, and take the value at their middle, "
        "so a step lands on its sample); per frame (the processor's analysis frame, as shown). "
        "'fixed' parameters cannot be automated.\n"
    )
    for k in kinds:
        typer.echo(f"{k['kind']}:{' (sidechain)' if k['sidechain'] else ''}"
                   f"{'  frame = ' + k['frame'] if k['frame'] else ''}")
        for p in k["params"]:
            rng = f" [{p['min']:g}..{p['max']:g}]" if p["min"] is not None and p["max"] is not None else ""
            choices = f" ({'|'.join(p['choices'])})" if p["choices"] else ""
            how = _RATE_TEXT[p["rate"]] if p["automatable"] else f"fixed: {p['fixed']}"
            typer.echo(f"  {p['name']} = {p['default']!r}{' ' + p['unit'] if p['unit'] else ''}{rng}{choices}"
                       f"  {p['doc']}  [{how}]")
