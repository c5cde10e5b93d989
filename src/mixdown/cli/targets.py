"""``mixdown targets``: the delivery presets."""

from __future__ import annotations

import json

import typer

from .app import app
from .common import print_table


@app.command()
def targets(
    as_json: bool = typer.Option(False, "--json", help="print the presets as JSON"),
    as_yaml: bool = typer.Option(False, "--yaml", help="print the presets as a targets file (to copy and edit)"),
) -> None:
    """List the delivery presets: loudness target, tolerance, true-peak ceiling, gating, loudness range, reference.

    The presets are data (the package's targets.yaml, each with its source). Add or
    override presets with a file of your own in the same form: `mixdown --targets-file
    FILE COMMAND ...` or MIXDOWN_TARGETS=FILE (several joined by the path separator);
    a preset named like a built-in one changes only the fields it gives.
    """
    from ..targets import PRESETS

    if as_json:
        typer.echo(json.dumps([t.to_json() for t in PRESETS.values()], indent=2))
        return
    if as_yaml:
        import yaml

        keep = [{k: v for k, v in t.to_json().items() if v is not None and k != "source"
                 and not (k == "gating" and v == "program")} for t in PRESETS.values()]
        typer.echo(yaml.safe_dump({"presets": keep}, sort_keys=False, allow_unicode=True, width=100))
        return
    rows = []
    for t in PRESETS.values():
        lra = []
        if t.max_lra_lu is not None:
            lra.append(f"<= {t.max_lra_lu:g} LU")
        if t.recommended_lra_lu is not None:
            lra.append(f"{t.recommended_lra_lu[0]:g}-{t.recommended_lra_lu[1]:g} LU recommended")
        if t.max_short_term_lufs is not None:
            lra.append(f"short-term <= {t.max_short_term_lufs:g} LUFS")
        rows.append([t.name, f"{t.integrated_lufs:g} LUFS", f"±{t.tolerance_lu:g} LU", f"{t.true_peak_dbtp:g} dBTP",
                     t.gating, ", ".join(lra) or "—", t.reference
                     + ("" if t.source == "built-in" else f" [from {t.source}]")])
    print_table("Delivery targets", ["name", "loudness", "tolerance", "true peak", "gating", "other limits",
                                     "reference"], rows)
