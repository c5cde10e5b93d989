"""The report's plots, drawn with matplotlib's Agg canvas into PNG bytes (no display, no pyplot state).

Every function takes plain numbers (the report's JSON data) and returns PNG bytes;
nothing here measures anything.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

_W = 10.0  # inches
_DPI = 100
_SPEECH = "#cfe8cf"
_COLORS = {"momentary": "#9db4d6", "short_term": "#1f4e96", "integrated": "#c0392b", "target": "#2e7d32"}


def _figure(height: float = 3.0, *, left: float = 0.8, right: float = 0.25, top: float = 0.35,
            bottom: float = 0.5) -> Any:
    """A figure with fixed margins (inches): a tight bounding box costs a second full draw of every plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_W, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left / _W, right=1 - right / _W, top=1 - top / height, bottom=bottom / height)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # no Software text chunk: the page must not name any web address, even inside an image
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _finite(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _shade(ax: Any, regions: Sequence[Sequence[float]], label: str | None = None) -> None:
    """Speech regions as one collection of full-height bars (one artist, however many regions)."""
    if not len(regions):
        return
    ax.broken_barh([(float(a), float(b) - float(a)) for a, b in regions], (0, 1), transform=ax.get_xaxis_transform(),
                   color=_SPEECH, lw=0, zorder=0, label=label)


def loudness_plot(
    momentary: tuple[Sequence[float], Sequence[float | None]],
    short_term: tuple[Sequence[float], Sequence[float | None]],
    integrated: float | None,
    *,
    target: float | None = None,
    tolerance: float | None = None,
    speech: Sequence[Sequence[float]] = (),
    duration_s: float | None = None,
) -> bytes:
    """Momentary and short-term loudness over time, the integrated value, the target and its band."""
    fig = _figure(3.4)
    ax = fig.add_subplot(111)
    _shade(ax, speech, "speech")
    tm, lm = np.asarray(momentary[0], dtype=float), _finite(momentary[1])
    ts, ls = np.asarray(short_term[0], dtype=float), _finite(short_term[1])
    ax.plot(tm, lm, color=_COLORS["momentary"], lw=0.7, label="momentary (400 ms)")
    ax.plot(ts, ls, color=_COLORS["short_term"], lw=1.4, label="short-term (3 s)")
    if target is not None:
        if tolerance:
            ax.axhspan(target - tolerance, target + tolerance, color=_COLORS["target"], alpha=0.15, lw=0,
                       label=f"target {target:g} ±{tolerance:g} LU")
        ax.axhline(target, color=_COLORS["target"], lw=1.0, ls="--",
                   label=None if tolerance else f"target {target:g} LUFS")
    if integrated is not None:
        ax.axhline(integrated, color=_COLORS["integrated"], lw=1.2, label=f"integrated {integrated:.1f} LUFS")
    finite = np.concatenate([lm[np.isfinite(lm)], ls[np.isfinite(ls)]])
    top = max(float(finite.max()) if finite.size else -10.0, target or -60.0, integrated or -60.0) + 3
    bottom = min((integrated or top) - 25, (target or top) - 25)
    ax.set_ylim(bottom, top)
    if duration_s:
        ax.set_xlim(0, duration_s)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("LUFS")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncol=3)
    ax.set_title("Loudness of the mix (ITU-R BS.1770 / EBU R 128)")
    return _png(fig)


def waveform_plot(
    name: str,
    times: Sequence[float],
    lo: Sequence[float],
    hi: Sequence[float],
    *,
    speech: Sequence[Sequence[float]] = (),
    gain: tuple[Sequence[float], Sequence[float]] | None = None,
    duration_s: float | None = None,
) -> bytes:
    """A track's waveform (min/max per column) with its speech regions and its fader gain curve (dB)."""
    fig = _figure(2.2, right=0.8)
    ax = fig.add_subplot(111)
    _shade(ax, speech, "speech")
    t = np.asarray(times, dtype=float)
    ax.fill_between(t, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), color="#34495e", lw=0,
                    step="mid", label="waveform (chain input)")
    peak = max(float(np.max(np.abs(hi))) if len(hi) else 0.0, float(np.max(np.abs(lo))) if len(lo) else 0.0, 1e-3)
    ax.set_ylim(-1.05 * peak, 1.05 * peak)
    ax.set_ylabel("amplitude")
    if duration_s:
        ax.set_xlim(0, duration_s)
    ax.set_xlabel("time (s)")
    handles, labels = ax.get_legend_handles_labels()
    if gain is not None and len(gain[0]):
        ax2 = ax.twinx()
        g = np.asarray(gain[1], dtype=float)
        ax2.plot(np.asarray(gain[0], dtype=float), g, color="#e67e22", lw=1.3, label="fader gain (duck, rides)")
        span = max(6.0, float(g.max() - g.min()) + 3.0)
        mid = 0.5 * (float(g.max()) + float(g.min()))
        ax2.set_ylim(mid - span / 2 - 1, mid + span / 2 + 1)
        ax2.set_ylabel("gain (dB)")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper right", fontsize=7, ncol=3)
    ax.set_title(name, loc="left", fontsize=10)
    return _png(fig)


def spectrum_plot(
    name: str,
    bands_hz: Sequence[float],
    curves: dict[str, Sequence[float | None]],
    *,
    after: str = "cleanup",
) -> bytes:
    """Third-octave spectra (dB) of one track, e.g. speech and pauses before and after cleanup."""
    fig = _figure(3.0)
    ax = fig.add_subplot(111)
    styles = {
        "speech before": dict(color="#7f8c8d", lw=1.2, ls="--"),
        "speech after": dict(color="#1f4e96", lw=1.6),
        "pauses before": dict(color="#e59866", lw=1.2, ls="--"),
        "pauses after": dict(color="#c0392b", lw=1.6),
    }
    f = np.asarray(bands_hz, dtype=float)
    for label, values in curves.items():
        ax.semilogx(f, _finite(values), label=label, **styles.get(label, {}))
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("third-octave band level (dB)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{name}: spectrum at the chain input (before) and after {after}", loc="left", fontsize=10)
    return _png(fig)


def levels_plot(names: Sequence[str], values: dict[str, Sequence[float | None]]) -> bytes:
    """Grouped bars: per-track levels (e.g. integrated LUFS of the chain input and of the track in the mix)."""
    fig = _figure(max(2.0, 0.5 + 0.45 * len(names)), left=0.3 + 0.075 * max((len(n) for n in names), default=4))
    ax = fig.add_subplot(111)
    y = np.arange(len(names), dtype=float)
    k = max(len(values), 1)
    h = 0.8 / k
    base = -70.0
    for i, (label, vals) in enumerate(values.items()):
        v = _finite(vals)
        ax.barh(y + (i - (k - 1) / 2) * h, np.where(np.isfinite(v), v - base, 0.0), height=h, left=base, label=label)
    ax.set_yticks(y)
    ax.set_yticklabels(list(names))
    ax.invert_yaxis()
    ax.set_xlabel("LUFS")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Track levels", loc="left", fontsize=10)
    return _png(fig)
