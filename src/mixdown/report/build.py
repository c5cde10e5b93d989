"""Collect what the report shows: one streaming render of the session with probes, plus the mix's meter.

The numbers of the mix come from the same meter as ``mixdown measure``: with a
mix file, :func:`mixdown.analysis.measure.measure_file` itself; without one, a
:class:`~mixdown.analysis.loudness.LoudnessMeter` on the rendered master (what
``mixdown render`` prints).

Per track, pass-through probes inserted into the compiled graph (never into the
session) see the chain's input (the clips with their clip gains) and the signal
after the last cleanup processor (or after the whole chain when there is none):
their waveform envelope and their third-octave spectra over speech and over
pauses, with each probe's regions shifted by the latency of the processors
before it. Post-fader track outputs and role stems are tapped for levels, QC
and the dialogue-to-music ratio.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.qc import QCLimits, QCMeter, dialogue_to_music
from ..analysis.spectrum import THIRD_OCTAVE_HZ, SpectrumMeter, band_levels
from ..dsp.base import Processor
from ..errors import AnalysisError, MixdownError

__all__ = ["CLEANUP_TYPES", "Report", "build_report", "collect", "report_from_result"]

CLEANUP_TYPES = ("dehum", "declick", "denoise", "deesser")
COLUMNS = 1200
MAX_SERIES = 6000
Region = tuple[int, int]


# -------------------------------------------------------------------------- probes


class _Capture(Processor):
    """Pass-through probe: waveform envelope and speech/pause spectra of a signal inside a chain."""

    kind = ""  # not registered: inserted into a compiled graph only
    PARAMS = {}

    def __init__(self, sample_rate: int, length: int, speech: list[Region], pauses: list[Region],
                 latency: int, columns: int = COLUMNS) -> None:
        super().__init__()
        self.length = max(int(length), 1)
        self.columns = columns
        self.lo = np.zeros(columns)
        self.hi = np.zeros(columns)
        self.shift = int(latency)  # delay of the processors before the probe
        sh = self.shift
        self.speech = SpectrumMeter(sample_rate, regions=[(a + sh, b + sh) for a, b in speech]) if speech else None
        self.pauses = SpectrumMeter(sample_rate, regions=[(a + sh, b + sh) for a, b in pauses]) if pauses else None

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        n = block.shape[1]
        if n == 0:
            return block
        if self.speech is not None:
            self.speech.process(block, position)
        if self.pauses is not None:
            self.pauses.process(block, position)
        # waveform: columns on the timeline (the probe's own delay removed)
        t0 = position - self.shift
        a, b = max(t0, 0), min(t0 + n, self.length)
        if a < b:
            mono = block[:, a - t0 : b - t0].mean(axis=0)
            cols = (np.arange(a, b, dtype=np.int64) * self.columns) // self.length
            starts = np.flatnonzero(np.diff(np.concatenate([[-1], cols])))
            c = cols[starts]
            self.lo[c] = np.minimum(self.lo[c], np.minimum.reduceat(mono, starts))
            self.hi[c] = np.maximum(self.hi[c], np.maximum.reduceat(mono, starts))
        return block


def _bands(meter: SpectrumMeter | None) -> list[float | None] | None:
    if meter is None or meter.frames == 0:
        return None
    lv = band_levels(meter.freqs, meter.psd())
    return [None if not np.isfinite(v) else round(float(v), 2) for v in lv]


def _r(x: Any, nd: int = 2) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def _series(s: Any) -> dict[str, list[float | None]]:
    """A LoudnessSeries as JSON lists, thinned to at most MAX_SERIES points."""
    t, v = np.asarray(s.time_s), np.asarray(s.lufs)
    step = max(1, -(-t.shape[0] // MAX_SERIES))
    return {"t": [round(float(x), 2) for x in t[::step]], "lufs": [_r(x) for x in v[::step]]}


def _speech_from_decisions(decisions: Sequence[dict[str, Any]], sample_rate: int) -> dict[str, list[Region]]:
    out: dict[str, list[Region]] = {}
    for d in decisions:
        if d.get("kind") == "speech" and "regions_s" in d.get("data", {}):
            out[d["target"]] = [(int(round(a * sample_rate)), int(round(b * sample_rate)))
                                for a, b in d["data"]["regions_s"]]
    return out


def _gain_curve(session: Any, track: Any, length: int, columns: int) -> dict[str, list[float]]:
    """The track's fader gain (hand and auto layer, static + automation), dB, at the column centres.

    The curve is the renderer's own: :func:`mixdown.render.graph.gain_envelope` sums the layers.
    """
    from ..render.graph import gain_envelope

    sr = session.sample_rate
    pos = ((np.arange(columns) + 0.5) * length / columns).astype(np.int64)
    g = np.full(columns, float(track.gain_db + track.auto.gain_db))
    env = gain_envelope(session, [track.automation.get("gain_db"), track.auto.automation.get("gain_db")],
                        position=True)
    if env is not None:
        g = g + env.at_positions(pos)
    return {"t": [round(float(p) / sr, 3) for p in pos], "db": [round(float(v), 2) for v in g]}


# ------------------------------------------------------------------------ collect


def collect(
    session: Any = None,
    *,
    mix: str | Path | None = None,
    decisions: Sequence[Any] = (),
    analysis: Any = None,
    speech: dict[str, list[Region]] | None = None,
    target: Any = None,
    detect_speech: bool = True,
    limits: QCLimits = QCLimits(),
    block_size: int = 16384,
    columns: int = COLUMNS,
    title: str | None = None,
) -> dict[str, Any]:
    """Measure everything the report shows; returns the report's JSON data.

    Parameters
    ----------
    session : Session, optional
        The mix as a session (rendered once, with probes). Without it only the
        mix file is measured.
    mix : path, optional
        The rendered mix; its loudness is measured exactly as ``mixdown measure`` does.
    decisions : list of Decision or dict
        What ``auto`` did (shown in words).
    analysis : Analysis, optional
        ``auto``'s analysis (speech per track). Otherwise speech comes from
        ``speech``, from the decisions' ``speech`` data, or (``detect_speech``) from
        the voice activity detector.
    target : Target, optional
        Delivery target drawn on the loudness plot and checked.

    Raises
    ------
    MixdownError
        When there is neither a session nor a mix.
    """
    from .. import __version__ as version

    if session is None and mix is None:
        raise MixdownError("a report needs a session or a mix file")
    dec = [d.to_json() if hasattr(d, "to_json") else dict(d) for d in decisions]
    data: dict[str, Any] = {
        "title": title or (Path(session.file).stem if session is not None and session.file else
                           Path(mix).name if mix else "mix"),
        "generated_by": f"mixdown {version}",
        "target": target.to_json() if target is not None else None,
        "decisions": dec,
        "tracks": [],
    }
    res = None
    mix_qc = None
    if mix is not None:
        from ..analysis.measure import measure_file

        res = measure_file(mix)
        mix_qc = _qc_file(mix, limits)
        data["loudness_source"] = f"measured from {Path(mix).name} (the meter of `mixdown measure`)"
    if session is not None:
        session_data, res_render, qc_render = _collect_session(
            session, analysis=analysis, speech=speech, decisions=dec, detect_speech=detect_speech,
            limits=limits, block_size=block_size, columns=columns, measure_master=res is None)
        data.update(session_data)
        if res is None:
            res, mix_qc = res_render, qc_render
            data["loudness_source"] = "measured on the render of the session (float, before encoding)"
    assert res is not None
    data["loudness"] = {**res.to_json(), "file": str(mix) if mix else None,
                        "momentary": _series(res.momentary_series), "short_term": _series(res.short_term_series)}
    data.setdefault("programme", {"duration_s": round(res.duration_s, 3)})
    data["mix_qc"] = mix_qc.to_json() if mix_qc is not None else None
    data["compliance"] = _compliance(res, target, data.get("dialogue_gated_lufs"))
    return data


def _qc_file(path: str | Path, limits: QCLimits) -> Any:
    from ..media.decode import open_source, probe

    info = probe(path)
    meter = QCMeter(info.sample_rate, info.channels, limits=limits)
    remaining = info.frames
    with open_source(path, sample_rate=info.sample_rate) as reader:
        while remaining > 0:
            n = min(65536, remaining)
            meter.process(reader.read(n))
            remaining -= n
    return meter.result()


def _compliance(res: Any, target: Any, dialogue_lufs: float | None) -> dict[str, Any]:
    if target is None:
        return {"checked": False}
    got = dialogue_lufs if target.gating == "dialogue" else res.integrated_lufs
    problems = []
    if got is None:
        problems.append("loudness undefined")
    elif abs(got - target.integrated_lufs) > target.tolerance_lu:
        problems.append(f"{'dialogue-gated' if target.gating == 'dialogue' else 'integrated'} loudness "
                        f"{got:.2f} LUFS is outside {target.integrated_lufs:g} ±{target.tolerance_lu:g} LU")
    if res.true_peak_dbtp is not None and res.true_peak_dbtp > target.true_peak_dbtp:
        problems.append(f"true peak {res.true_peak_dbtp:.2f} dBTP is over {target.true_peak_dbtp:g} dBTP")
    if target.max_lra_lu is not None and res.loudness_range_lu is not None and res.loudness_range_lu > target.max_lra_lu:
        problems.append(f"loudness range {res.loudness_range_lu:.1f} LU is over {target.max_lra_lu:g} LU")
    return {"checked": True, "measured_lufs": _r(got), "compliant": not problems, "problems": problems}


def _collect_session(session: Any, *, analysis: Any, speech: dict[str, list[Region]] | None,
                     decisions: list[dict[str, Any]], detect_speech: bool, limits: QCLimits, block_size: int,
                     columns: int, measure_master: bool) -> tuple[dict[str, Any], Any, Any]:
    from ..analysis.levels import LevelMeter
    from ..analysis.loudness import LoudnessMeter
    from ..auto.cleanup import pauses_for
    from ..auto.ducking import merge_regions
    from ..render.engine import Renderer
    from ..render.graph import check

    graph = check(session)
    sr = graph.sample_rate
    length = graph.length
    # -- who speaks when
    regions: dict[str, list[Region]] = {}
    origin = None
    if analysis is not None:
        regions, origin = dict(analysis.speech), "auto's analysis"
    elif speech is not None:
        regions, origin = dict(speech), "given"
    else:
        regions = _speech_from_decisions(decisions, sr)
        origin = "the decision list" if regions else None
        if not regions and detect_speech and any(t.role == "dialogue" and not t.mute for t in session.tracks):
            try:
                from ..auto.analyse import analyse

                regions, origin = dict(analyse(session).speech), "voice activity detection"
            except AnalysisError:
                regions, origin = {}, None
    all_speech = merge_regions([r for regs in regions.values() for r in regs], 1)
    margin = int(round(0.05 * sr))  # speech is padded by the detector already
    # -- probes and taps
    probes: dict[str, tuple[_Capture, _Capture | None, str]] = {}
    taps: dict[str, list[str]] = {}
    roles: dict[str, list[str]] = {}
    for t in session.tracks:
        strip = graph.strips.get(t.name)
        if strip is None:
            continue
        clips = merge_regions([(c.start, c.end) for c in strip.clips], 1)
        pauses = pauses_for(clips, all_speech, margin, min_length=int(0.1 * sr)) if all_speech else []
        own = regions.get(t.name, [])
        before = _Capture(sr, length, own, pauses, 0, columns)
        after = None
        what = ""
        if t.role == "dialogue":
            idx = [i for i, spec in enumerate(strip.chain_specs)
                   if spec.type in CLEANUP_TYPES or (spec.id or "").startswith("auto-expander")]
            cut = (idx[-1] + 1) if idx else len(strip.chain)
            what = "cleanup" if idx else "the chain"
            lat = sum(p.latency for p in strip.chain[:cut])
            after = _Capture(sr, length, own, pauses, lat, columns)
            strip.chain = strip.chain[:cut] + [after] + strip.chain[cut:]
            strip.sidechains = strip.sidechains[:cut] + [None] + strip.sidechains[cut:]
        strip.chain = [before] + strip.chain
        strip.sidechains = [None] + strip.sidechains
        probes[t.name] = (before, after, what)
        taps[t.name] = [t.name]
        if not strip.mute:
            roles.setdefault(t.role, []).append(t.name)
    for role, names in roles.items():
        taps[f"role:{role}"] = names
    level_in = {name: LevelMeter(sr, graph.strips[name].channels) for name in probes}
    level_out = {name: LevelMeter(sr, graph.channels, layout=session.layout) for name in taps}
    qc_tracks = {name: QCMeter(sr, graph.channels, limits=limits, true_peak=False) for name in probes}
    meter = LoudnessMeter(sr, graph.channels, layout=session.layout) if measure_master else None
    qc_mix = QCMeter(sr, graph.channels, limits=limits) if measure_master else None

    class _In(Processor):  # raw input level per track (after the `before` probe)
        kind = ""
        PARAMS = {}

        def __init__(self, lm: LevelMeter) -> None:
            super().__init__()
            self.lm = lm

        def _process(self, block: np.ndarray, position: int) -> np.ndarray:
            if position < length:
                self.lm.process(block[:, : max(0, min(block.shape[1], length - position))])
            return block

    for name in probes:
        strip = graph.strips[name]
        strip.chain = [strip.chain[0], _In(level_in[name])] + strip.chain[1:]
        strip.sidechains = [None, None] + strip.sidechains[1:]
    renderer = Renderer(graph, block_size=block_size, taps=taps)  # prepares every processor, probes too
    for _pos, block, tap in renderer.blocks():
        if meter is not None:
            meter.process(block)
            qc_mix.process(block)
        for name, x in tap.items():
            level_out[name].process(x)
            if name in qc_tracks:
                qc_tracks[name].process(x)
    res = meter.result() if meter is not None else None
    dlg_gated = meter.integrated_over(all_speech) if meter is not None and all_speech else None
    # -- per track
    tracks = []
    series = {name: lm.series() for name, lm in level_out.items()}
    for t in session.tracks:
        if t.name not in probes:
            continue
        before, after, what = probes[t.name]
        own = regions.get(t.name, [])
        clips = merge_regions([(c.start, c.end) for c in graph.strips[t.name].clips], 1)
        pauses = pauses_for(clips, all_speech, margin, min_length=int(0.1 * sr)) if all_speech else []
        # a track is silent between its clips by design: silence is the mix's problem, not a track's
        qres = qc_tracks[t.name].result(pauses=pauses if t.role == "dialogue" else None, silence_is_problem=False)
        entry: dict[str, Any] = {
            "name": t.name, "role": t.role, "mute": t.mute,
            "input_lufs": _r(level_in[t.name].series().loudness()),
            "mix_lufs": _r(series[t.name].loudness()),
            "speech_lufs": _r(series[t.name].loudness(own)) if own else None,
            "speech_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in own[:5000]],
            "waveform": {"t": [round((i + 0.5) * length / columns / sr, 3) for i in range(columns)],
                         "lo": [round(float(v), 4) for v in before.lo], "hi": [round(float(v), 4) for v in before.hi]},
            "gain_curve": _gain_curve(session, t, length, columns),
            "chain": [spec.type + (f" ({spec.id})" if spec.id else "") for spec in t.chain if not spec.bypass],
            "qc": qres.to_json(),
        }
        if after is not None:
            entry["spectrum"] = {
                "bands_hz": [round(f, 1) for f in THIRD_OCTAVE_HZ],
                "after_is": what,
                "speech before": _bands(before.speech), "speech after": _bands(after.speech),
                "pauses before": _bands(before.pauses), "pauses after": _bands(after.pauses),
            }
        tracks.append(entry)
    dm = None
    if "role:dialogue" in series and "role:music" in series and all_speech:
        dm = dialogue_to_music(series["role:dialogue"], series["role:music"], all_speech)
    out = {
        "programme": {"duration_s": round(length / sr, 3), "sample_rate": sr, "channels": graph.channels,
                      "layout": session.layout},
        "speech_origin": origin,
        "speech_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in all_speech[:5000]],
        "tracks": tracks,
        "dialogue_to_music_lu": _r(dm),
        "dialogue_gated_lufs": _r(dlg_gated),
        "stems_lufs": {name[5:]: _r(series[name].loudness()) for name in series if name.startswith("role:")},
    }
    if dm is not None and dm < limits.min_dialogue_to_music_lu:
        out["dialogue_to_music_problem"] = (f"dialogue only {dm:.1f} LU over the music while people speak "
                                            f"(want {limits.min_dialogue_to_music_lu:g} LU or more)")
    return out, res, qc_mix


# ------------------------------------------------------------------------- report


@dataclass
class Report:
    """A finished report: the page and its data.

    Attributes
    ----------
    html : str
        One self-contained page (plots embedded as PNG, no external resources).
    data : dict
        The same numbers as JSON-ready data (``data["plots"]`` names every plot).
    """

    html: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, allow_nan=False)

    def write(self, path: str | Path, *, json_path: str | Path | None = None,
              protect: Sequence[str | Path] = ()) -> Path:
        """Write the page (and the JSON) atomically; returns the page's path."""
        from ..media.write import atomic_path

        with atomic_path(path, protect=protect) as tmp:
            Path(tmp).write_text(self.html, encoding="utf-8")
        if json_path is not None:
            with atomic_path(json_path, protect=protect) as tmp:
                Path(tmp).write_text(self.to_json(), encoding="utf-8")
        return Path(path)


def build_report(session: Any = None, **options: Any) -> Report:
    """Measure, plot and lay out the report of a mix.

    Parameters
    ----------
    session : Session, optional
    **options
        As :func:`collect` (``mix``, ``decisions``, ``analysis``, ``target``, ``speech``, ...).

    Returns
    -------
    Report
    """
    from .html import render_html

    data = collect(session, **options)
    html, plots = render_html(data)
    data["plots"] = plots
    return Report(html=html, data=data)


def report_from_result(path: str | Path, *, mix: str | Path | None = None, **options: Any) -> Report:
    """Report of an ``auto --json`` result file (with ``--save-session`` for the per-track plots).

    The result names the mix (``output``), the target and the decisions; when it
    also names the saved session (``session``), that is rendered for the tracks.

    Raises
    ------
    MixdownError
        When the file is not such a result, or names neither a mix nor a session.
    """
    from ..deliver.targets import Target
    from ..session import load_session

    p = Path(path)
    try:
        res = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MixdownError(f"not a readable result file ({exc})", file=p) from None
    if not isinstance(res, dict) or "decisions" not in res:
        raise MixdownError("not a result of `mixdown auto --json` (no decision list)", file=p)
    base = p.parent
    session = None
    if res.get("session"):
        sp = Path(res["session"])
        session = load_session(sp if sp.is_absolute() else base / sp)
    out = mix or res.get("output")
    if out is not None:
        out = Path(out)
        if not out.is_absolute() and not out.exists():
            out = base / out
    target = Target(**res["target"]) if isinstance(res.get("target"), dict) else None
    return build_report(session, mix=out, decisions=res["decisions"], target=target,
                        title=options.pop("title", p.stem), **options)
