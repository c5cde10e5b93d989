"""Lay the report's data out as one self-contained HTML page.

Everything is inside the file: plots are PNG images in ``data:`` URIs, the style
sheet is inline, the data itself is embedded as JSON; nothing is fetched, so the
page opens from a file with no network (and can be mailed or archived as is).
"""

from __future__ import annotations

import base64
import html as _html
import json
from typing import Any

from . import plots

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1080px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f6f8} td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1e7e34;font-weight:600} .bad{color:#b02a37;font-weight:600} .muted{color:#777}
figure{margin:10px 0} figcaption{font-size:12px;color:#555} img{max-width:100%}
"""


def _e(x: Any) -> str:
    return _html.escape(str(x), quote=True)


def _num(x: Any, fmt: str = "{:.1f}", unit: str = "") -> str:
    if x is None:
        return '<span class="muted">—</span>'
    return _e(fmt.format(x) + (f" {unit}" if unit else ""))


class _Plots(list):
    """Names of the plots embedded so far, reporting progress as they come."""

    def __init__(self, progress: Any, total: int) -> None:
        super().__init__()
        self.progress, self.total = progress, max(total, 1)

    def append(self, name: str) -> None:
        super().append(name)
        if self.progress is not None:
            self.progress(len(self), self.total)


def _plot_count(data: dict[str, Any]) -> int:
    tracks = data.get("tracks", [])
    return 1 + (1 + 2 * len(tracks) if tracks else 0)


def _img(png: bytes, alt: str, caption: str, name: str, registry: list[str]) -> str:
    registry.append(name)
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<figure id="plot-{_e(name)}"><img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _td(x: str, numeric: bool = False) -> str:
    return f'<td class="n">{x}</td>' if numeric else f"<td>{x}</td>"


def render_html(data: dict[str, Any], *, progress: Any = None) -> tuple[str, list[str]]:
    """The page for a report's data; returns ``(html, names of the plots embedded)``.

    ``progress(done, total)`` is called after each plot.
    """
    names = _Plots(progress, _plot_count(data))
    parts: list[str] = []
    loud = data["loudness"]
    target = data.get("target")
    comp = data.get("compliance", {})
    prog = data.get("programme", {})
    parts.append(f"<h1>Mix report: {_e(data.get('title', 'mix'))}</h1>")
    parts.append(f'<p class="muted">{_e(data.get("generated_by", ""))}; loudness {_e(data.get("loudness_source", ""))}.'
                 + (f" Speech regions from {_e(data['speech_origin'])}." if data.get("speech_origin") else "")
                 + "</p>")
    # -- summary
    verdict = ""
    if comp.get("checked"):
        verdict = ('<span class="ok">meets the target</span>' if comp.get("compliant") else
                   '<span class="bad">misses the target: ' + _e("; ".join(comp.get("problems", []))) + "</span>")
    rows = [
        [_td("integrated loudness"), _td(_num(loud.get("integrated_lufs"), "{:.1f}", "LUFS"), True)],
        [_td("dialogue-gated loudness"), _td(_num(data.get("dialogue_gated_lufs"), "{:.1f}", "LUFS"), True)],
        [_td("loudness range"), _td(_num(loud.get("loudness_range_lu"), "{:.1f}", "LU"), True)],
        [_td("true peak"), _td(_num(loud.get("true_peak_dbtp"), "{:.1f}", "dBTP"), True)],
        [_td("sample peak"), _td(_num(loud.get("sample_peak_dbfs"), "{:.1f}", "dBFS"), True)],
        [
            _td("max momentary / short-term"),
            _td(
                _num(loud.get("momentary_max_lufs"), "{:.1f}")
                + " / "
                + _num(loud.get("short_term_max_lufs"), "{:.1f}", "LUFS"),
                True,
            ),
        ],
        [_td("duration"), _td(_num(loud.get("duration_s"), "{:.2f}", "s"), True)],
        [_td("dialogue over music during speech"), _td(_num(data.get("dialogue_to_music_lu"), "{:.1f}", "LU"), True)],
    ]
    if target:
        rows.append([_td("target"), _td(_e(f"{target['name']}: {target['integrated_lufs']:g} LUFS "
                                            f"±{target['tolerance_lu']:g} LU, {target['true_peak_dbtp']:g} dBTP "
                                            f"({target.get('gating', 'program')} gating)"))])
    parts.append("<h2>Summary</h2>" + (f"<p>{verdict}</p>" if verdict else "") + _table(["measure", "value"], rows))
    # -- loudness curve
    speech_s = data.get("speech_s", [])
    png = plots.loudness_plot(
        (loud["momentary"]["t"], loud["momentary"]["lufs"]), (loud["short_term"]["t"], loud["short_term"]["lufs"]),
        loud.get("integrated_lufs"), target=target["integrated_lufs"] if target else None,
        tolerance=target["tolerance_lu"] if target else None, speech=speech_s,
        duration_s=loud.get("duration_s"))
    parts.append("<h2>Loudness</h2>" + _img(
        png, "loudness curve", "Momentary (400 ms) and short-term (3 s) loudness every 100 ms, the integrated "
        "loudness and the target with its tolerance band; green: speech.", "loudness", names))
    # -- tracks
    tracks = data.get("tracks", [])
    if tracks:
        parts.append("<h2>Tracks</h2>")
        rows = []
        for t in tracks:
            q = t.get("qc", {})
            rows.append([_td(_e(t["name"])), _td(_e(t["role"])), _td(_num(t.get("input_lufs")), True),
                         _td(_num(t.get("mix_lufs")), True), _td(_num(t.get("speech_lufs")), True),
                         _td(_num(q.get("sample_peak_dbfs")), True),
                         _td("digital silence" if q.get("noise_floor") == "digital silence" else
                             _num(q.get("noise_floor_db")), True),
                         _td(_e(", ".join(t.get("chain", [])) or "—"))])
        parts.append(_table(["track", "role", "input LUFS", "in mix LUFS", "speech LUFS (in mix)", "peak dBFS",
                             "noise floor in pauses dB", "chain"], rows))
        parts.append(_img(plots.levels_plot([t["name"] for t in tracks], {
            "chain input": [t.get("input_lufs") for t in tracks],
            "in the mix (post-fader)": [t.get("mix_lufs") for t in tracks]}),
            "track levels", "Integrated loudness of each track at its chain input and in the mix.", "levels", names))
        for t in tracks:
            w = t["waveform"]
            g = t.get("gain_curve")
            png = plots.waveform_plot(
                f"{t['name']} ({t['role']})",
                w["t"],
                w["lo"],
                w["hi"],
                speech=t.get("speech_s", []),
                gain=(g["t"], g["db"]) if g else None,
                duration_s=prog.get("duration_s"),
            )
            parts.append(_img(png, f"waveform of {t['name']}",
                              f"{t['name']}: waveform of the chain input (clips with their clip gains), its own "
                              "speech (green) and the fader gain with ducks and rides (orange, right axis).",
                              f"waveform-{t['name']}", names))
        spectra = [t for t in tracks if t.get("spectrum")]
        if spectra:
            parts.append("<h2>Dialogue spectrum before and after cleanup</h2>")
            for t in spectra:
                sp = t["spectrum"]
                curves = {k: sp[k] for k in ("speech before", "speech after", "pauses before", "pauses after")
                          if sp.get(k) is not None}
                png = plots.spectrum_plot(t["name"], sp["bands_hz"], curves, after=sp.get("after_is", "cleanup"))
                parts.append(_img(png, f"spectrum of {t['name']}",
                                  f"{t['name']}: third-octave spectrum over its speech and over the pauses, at the "
                                  f"chain input (dashed) and after {sp.get('after_is', 'cleanup')} (solid).",
                                  f"spectrum-{t['name']}", names))
    # -- QC
    qc_rows = []
    for t in tracks:
        probs = t.get("qc", {}).get("problems", [])
        qc_rows.append([_td(_e(t["name"])), _td('<span class="ok">ok</span>' if not probs else
                                                 '<span class="bad">' + _e("; ".join(probs)) + "</span>")])
    mq = data.get("mix_qc")
    if mq is not None:
        probs = list(mq.get("problems", []))
        if data.get("dialogue_to_music_problem"):
            probs.append(data["dialogue_to_music_problem"])
        qc_rows.append([_td("<b>mix</b>"), _td('<span class="ok">ok</span>' if not probs else
                                                '<span class="bad">' + _e("; ".join(probs)) + "</span>")])
        qc_rows.append(
            [
                _td("mix: phase / mono"),
                _td(
                    "correlation "
                    + _num(mq.get("correlation"), "{:.2f}")
                    + ", worst 400 ms "
                    + _num(mq.get("min_correlation_400ms"), "{:.2f}")
                    + ", mono fold-down "
                    + _num(mq.get("mono_loss_db"), "{:+.1f}", "dB")
                ),
            ]
        )
    if qc_rows:
        parts.append("<h2>Quality control</h2>" + _table(["stream", "result"], qc_rows))
    # -- decisions
    dec = data.get("decisions", [])
    parts.append("<h2>Decisions</h2>")
    if dec:
        rows = []
        for d in dec:
            where = ""
            if d.get("start_s") is not None:
                where = f"{d['start_s']:.2f}" + (f"–{d['end_s']:.2f} s" if d.get("end_s") is not None else " s")
            rows.append([_td(_e(d.get("kind", ""))), _td(_e(d.get("target", ""))), _td(_e(d.get("action", ""))),
                         _td(_e(where), True), _td(_e(d.get("reason", "")))])
        parts.append(_table(["kind", "on", "what", "where", "why"], rows))
    else:
        parts.append('<p class="muted">No automatic decisions: the session is rendered as written.</p>')
    # "<" escaped as JSON allows: no text in the data can close the script element
    payload = json.dumps({k: v for k, v in data.items() if k != "plots"}, allow_nan=False).replace("<", "\\u003c")
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>mixdown report: {_e(data.get('title', 'mix'))}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts)
            + f'<script type="application/json" id="mixdown-report-data">{payload}</script></body></html>')
    return page, list(names)
