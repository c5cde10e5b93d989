"""The batch's report: ``report.csv``, ``report.json`` and a self-contained ``report.html``.

One row per job (status, error, measured integrated loudness / loudness range / true
peak against the target, realtime factor, outputs), the run's summary and the
catalogue findings. The page embeds its plot (loudness and true peak per job against
the target) as a PNG, so it opens from a file with no network.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .result import BatchResult, JobRecord

CSV_COLUMNS = ("name", "group", "version", "status", "error_kind", "error", "integrated_lufs", "target_lufs",
               "tolerance_lu", "lra_lu", "max_lra_lu", "true_peak_dbtp", "target_true_peak_dbtp", "compliant",
               "duration_s", "seconds", "realtime_factor", "attempts", "peak_rss_mb", "outputs")

__all__ = ["write_reports"]


def write_reports(result: BatchResult, folder: str | Path) -> dict[str, str]:
    """Write the three files into ``folder`` (created), each atomically; their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "report.csv", "json": out / "report.json", "html": out / "report.html"}
    result.reports = {k: str(v) for k, v in paths.items()}
    _atomic(paths["csv"], _csv(result.jobs))
    _atomic(paths["json"], json.dumps(result.to_json(), indent=2) + "\n")
    _atomic(paths["html"], _html(result))
    return result.reports


def _atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0o600 is for secrets, not reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _row(j: JobRecord) -> dict[str, Any]:
    t = j.target or {}
    r = j.to_json()
    return {"name": j.name, "group": j.group, "version": j.version, "status": j.status,
            "error_kind": j.error_kind, "error": j.error, "integrated_lufs": r["integrated_lufs"],
            "target_lufs": t.get("integrated_lufs"), "tolerance_lu": t.get("tolerance_lu"), "lra_lu": r["lra_lu"],
            "max_lra_lu": t.get("max_lra_lu"), "true_peak_dbtp": r["true_peak_dbtp"],
            "target_true_peak_dbtp": t.get("true_peak_dbtp"), "compliant": j.compliant,
            "duration_s": None if j.duration_s is None else round(j.duration_s, 3), "seconds": r["seconds"],
            "realtime_factor": r["realtime_factor"], "attempts": j.attempts, "peak_rss_mb": r["peak_rss_mb"],
            "outputs": ";".join(o["path"] for o in j.outputs)}


def _csv(jobs: list[JobRecord]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for j in jobs:
        w.writerow({k: ("" if v is None else v) for k, v in _row(j).items()})
    return buf.getvalue()


# ---------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f6f8} td.n{text-align:right;font-variant-numeric:tabular-nums}
.done,.skipped{color:#1e7e34;font-weight:600} .failed{color:#b02a37;font-weight:600} .pending{color:#777}
.warning{color:#9a6700} img{max-width:100%} .muted{color:#777}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _n(x: Any, fmt: str = "{:.1f}") -> str:
    return '<span class="muted">—</span>' if x is None else _e(fmt.format(x))


def _html(result: BatchResult) -> str:
    s = result.summary()
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>mixdown batch</title><style>{_CSS}</style>"
             "</head><body>", f"<h1>mixdown batch — {_e(result.manifest or 'jobs')}</h1>"]
    parts.append(
        f"<p>{s['jobs']} jobs: {s['done']} done, {s['skipped']} skipped (done before), {s['failed']} failed, "
        f"{s['pending']} pending · {s['workers']} workers · {_n(s['programme_s'] / 60)} programme minutes in "
        f"{_n(s['wall_s'], '{:.1f}')} s · exit code {s['exit_code']}</p>")
    parts.append("<h2>Loudness per job</h2>")
    png = _plot(result.jobs)
    if png is not None:
        parts.append(f'<img alt="integrated loudness and true peak per job" src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode("ascii")}">')
    parts.append("<h2>Catalogue checks</h2>")
    if result.findings:
        parts.append("<ul>" + "".join(f'<li class="{_e(f.severity)}">{_e(f.severity)}: {_e(f.message)}</li>'
                                      for f in result.findings) + "</ul>")
    else:
        parts.append("<p class='muted'>nothing to compare (fewer than two jobs done)</p>")
    parts.append("<h2>Jobs</h2>")
    head = ["job", "status", "integrated", "target", "LRA", "true peak", "ceiling", "duration", "realtime ×",
            "attempts", "error / outputs"]
    rows = []
    for j in result.jobs:
        t = j.target or {}
        tgt = f"{t['integrated_lufs']:g} ±{t['tolerance_lu']:g}" if t else None
        detail = _e(j.error) if j.error else "<br>".join(_e(o["path"]) for o in j.outputs)
        rows.append("<tr>" + "".join([
            f"<td>{_e(j.name)}</td>", f'<td class="{_e(j.status)}">{_e(j.status)}</td>',
            f'<td class="n">{_n(j.integrated_lufs, "{:.2f}")}</td>', f'<td class="n">{_e(tgt or "—")}</td>',
            f'<td class="n">{_n(j.lra_lu)}</td>', f'<td class="n">{_n(j.true_peak_dbtp, "{:.2f}")}</td>',
            f'<td class="n">{_n(t.get("true_peak_dbtp"), "{:g}")}</td>', f'<td class="n">{_n(j.duration_s)}</td>',
            f'<td class="n">{_n(j.realtime_factor)}</td>', f'<td class="n">{j.attempts}</td>',
            f"<td>{detail}</td>"]) + "</tr>")
    parts.append("<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>")
    data = json.dumps(result.to_json()).replace("<", "\\u003c")
    parts.append(f'<script type="application/json" id="batch-data">{data}</script></body></html>')
    return "\n".join(parts)


def _plot(jobs: list[JobRecord]) -> bytes | None:
    """Integrated loudness (top) and true peak (bottom) per job, with the target band and ceiling."""
    if not jobs:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.add_subplot(211), fig.add_subplot(212)
    xs = list(range(len(jobs)))
    targets = {(j.target or {}).get("name"): j.target for j in jobs if j.target}
    if len(targets) == 1:
        t = next(iter(targets.values()))
        assert t is not None
        top.axhspan(t["integrated_lufs"] - t["tolerance_lu"], t["integrated_lufs"] + t["tolerance_lu"],
                    color="#2e7d32", alpha=0.15, lw=0, label=f"target {t['name']} ±{t['tolerance_lu']:g} LU")
        bottom.axhline(t["true_peak_dbtp"], color="#b02a37", lw=1, ls="--",
                       label=f"ceiling {t['true_peak_dbtp']:g} dBTP")
    panels = ((top, "integrated_lufs", "integrated (LUFS)"), (bottom, "true_peak_dbtp", "true peak (dBTP)"))
    for ax, key, label in panels:
        ok = [(x, getattr(j, key)) for x, j in zip(xs, jobs, strict=True) if getattr(j, key) is not None and j.ok]
        bad = [(x, getattr(j, key)) for x, j in zip(xs, jobs, strict=True) if getattr(j, key) is not None and not j.ok]
        if ok:
            ax.plot([p[0] for p in ok], [p[1] for p in ok], "o", color="#1f4e96", ms=5, label="done")
        if bad:
            ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", color="#b02a37", ms=7, label="failed")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.set_xlim(-0.5, len(jobs) - 0.5)
        ys = [p[1] for p in ok + bad]
        if len(targets) == 1:
            t = next(iter(targets.values()))
            assert t is not None
            ys += [t["integrated_lufs"] - t["tolerance_lu"], t["integrated_lufs"] + t["tolerance_lu"]] \
                if key == "integrated_lufs" else [t["true_peak_dbtp"]]
        if ys:  # room above and below for the points and the legend
            span = max(max(ys) - min(ys), 2.0)
            ax.set_ylim(min(ys) - 0.6 * span, max(ys) + 0.25 * span)
        if ok or bad or ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=8, ncol=3)
    failed_unmeasured = [x for x, j in zip(xs, jobs, strict=True) if j.status == "failed" and j.integrated_lufs is None]
    for x in failed_unmeasured:
        top.axvline(x, color="#b02a37", alpha=0.3, lw=4)
    top.set_xticks([])
    if len(jobs) <= 60:
        bottom.set_xticks(xs)
        bottom.set_xticklabels([j.name for j in jobs], rotation=60, ha="right", fontsize=7)
    else:
        bottom.set_xlabel("job (manifest order)")
    top.set_title("Loudness per job (re-measured from the files; red bands: jobs that failed before measuring)",
                  fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()
