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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.qc import QCLimits, QCMeter, dialogue_to_music
from ..analysis.spectrum import THIRD_OCTAVE_HZ, SpectrumMeter, band_levels
from ..dsp.base import Processor
from ..errors import AnalysisError, MixdownError

__all__ = ["CLEANUP_TYPES", "Report", "SessionPass", "build_report", "collect", "report_from_result"]

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
    """The track's fader gain (static + automation), dB, at the column centres."""
    from ..dsp.automation import Envelope

    sr = session.sample_rate
    pos = ((np.arange(columns) + 0.5) * length / columns).astype(np.int64)
    g = np.full(columns, float(track.gain_db))
    keys = track.automation.get("gain_db")
    if keys:
        env = Envelope([session.samples(k.t, position=True) for k in keys], [k.v for k in keys],
                       [k.interp for k in keys], unit="dB")
        g = g + np.array([env.at(int(p)) for p in pos])
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
    rendered: "SessionPass | None" = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Measure everything the report shows; returns the report's JSON data.

    Parameters
    ----------
    session : Session, optional
        The mix as a session (rendered once, with probes). Without it only the
        mix file is measured.
    mix : path, optional
        The rendered mix; its loudness and QC are measured exactly as ``mixdown
        check`` does (:func:`mixdown.deliver.check.measure_media`).
    decisions : list of Decision or dict
        What ``auto`` did (shown in words).
    analysis : Analysis, optional
        ``auto``'s analysis (speech per track). Otherwise speech comes from
        ``speech``, from the decisions' ``speech`` data, or (``detect_speech``) from
        the voice activity detector.
    target : Target, optional
        Delivery target drawn on the loudness plot and checked.
    rendered : SessionPass, optional
        The measurements of a render that already ran with this pass's probes and
        taps (``mixdown render --report``): nothing is rendered again, and the
        master's loudness is the render's own meter (``rendered.meter``).
    progress : callable, optional
        ``progress(done, total)`` while the session renders (frames).

    Raises
    ------
    MixdownError
        When there is neither a session nor a mix.
    """
    from .. import __version__ as version

    if session is None and mix is None and rendered is None:
        raise MixdownError("a report needs a session or a mix file")
    if rendered is not None:
        session = rendered.session
    dec = [d.to_json() if hasattr(d, "to_json") else dict(d) for d in decisions]
    data: dict[str, Any] = {
        "title": title or (Path(session.file).stem if session is not None and session.file else
                           Path(mix).name if mix else "mix"),
        "generated_by": f"mixdown {version}",
        "target": target.to_json() if target is not None else None,
        "decisions": dec,
        "tracks": [],
    }
    res = mix_qc = dlg_gated = None
    all_speech: list[Region] = []
    if session is not None:
        if rendered is None:
            rendered = SessionPass(session, analysis=analysis, speech=speech, decisions=dec,
                                   detect_speech=detect_speech, limits=limits, columns=columns,
                                   measure_master=mix is None)
            rendered.run(block_size=block_size, progress=progress)
        session_data, res, mix_qc, dlg_gated = rendered.finish()
        all_speech = rendered.all_speech
        data.update(session_data)
        data["loudness_source"] = rendered.loudness_source
    if mix is not None:
        from ..deliver.check import measure_media

        m = measure_media(mix, speech=_rescale(all_speech, rendered, mix) if all_speech else False, limits=limits)
        res, mix_qc, dlg_gated = m.loudness, m.qc, m.dialogue_lufs
        data["loudness_source"] = f"measured from {Path(mix).name} (the meter of `mixdown measure` and `check`)"
        if "dialogue_gated_lufs" in data:
            data["dialogue_gated_lufs"] = _r(dlg_gated)
    assert res is not None
    data["loudness"] = {**res.to_json(), "file": str(mix) if mix else (rendered.output if rendered else None),
                        "momentary": _series(res.momentary_series), "short_term": _series(res.short_term_series)}
    data.setdefault("programme", {"duration_s": round(res.duration_s, 3)})
    data["mix_qc"] = mix_qc.to_json() if mix_qc is not None else None
    data["compliance"] = _compliance(res, target, dlg_gated)
    return data


def _rescale(regions: list[Region], rendered: "SessionPass | None", mix: str | Path) -> list[Region]:
    """Speech regions of the session (its rate) as the half-open ranges ``measure_media`` reads at the mix's rate."""
    from ..media.decode import probe

    sr = rendered.sample_rate if rendered is not None else None
    rate = probe(mix).sample_rate
    if sr is None or sr == rate:
        return regions
    return [(a * rate // sr, b * rate // sr) for a, b in regions]


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
    st, st_max = res.short_term_max_lufs, target.max_short_term_lufs
    if st_max is not None and st is not None and st > st_max:
        problems.append(f"maximum short-term loudness {st:.1f} LUFS is over {st_max:g} LUFS")
    return {"checked": True, "measured_lufs": _r(got), "compliant": not problems, "problems": problems}


class _In(Processor):
    """Pass-through probe: the raw input level of a track (clips with their gains, before any insert)."""

    kind = ""  # not registered: inserted into a compiled graph only
    PARAMS = {}

    def __init__(self, lm: Any, length: int) -> None:
        super().__init__()
        self.lm = lm
        self.length = length

    def _process(self, block: np.ndarray, position: int) -> np.ndarray:
        if position < self.length:
            self.lm.process(block[:, : max(0, min(block.shape[1], self.length - position))])
        return block


class SessionPass:
    """The report's measurements of one render of a session, fed block by block.

    Building it compiles the session and inserts pass-through probes into the
    compiled graph (never into the session): they cannot change a sample of the
    output. Render ``graph`` with ``taps=self.taps`` and feed every master block
    to :meth:`consume_master` and every tap dict to :meth:`consume_taps` -- or
    call :meth:`run`. ``mixdown render --report`` feeds the render's own pass,
    so the report costs no second render.

    Parameters
    ----------
    session : Session
    graph : Graph, optional
        The compiled session to instrument (default: compiled here).
    meter : LoudnessMeter, optional
        The caller's master meter, fed by the caller (the render's own). Without
        one (and with ``measure_master``) the pass keeps its own and feeds it.
    measure_master : bool
        Measure the master's loudness and QC (off when a mix file is measured instead).
    output : str, optional
        Name of the file the render wrote (shown in the report).
    analysis, speech, decisions, detect_speech, limits, columns
        As :func:`collect`.
    """

    def __init__(self, session: Any, *, graph: Any = None, meter: Any = None, measure_master: bool = True,
                 output: str | None = None, analysis: Any = None, speech: dict[str, list[Region]] | None = None,
                 decisions: Sequence[dict[str, Any]] = (), detect_speech: bool = True,
                 limits: QCLimits = QCLimits(), columns: int = COLUMNS) -> None:
        from ..analysis.levels import LevelMeter
        from ..analysis.loudness import LoudnessMeter
        from ..render.graph import check

        self.session = session
        self.graph = graph = graph if graph is not None else check(session)
        self.sample_rate = sr = graph.sample_rate
        self.length = graph.length
        self.columns = columns
        self.limits = limits
        self.output = output
        self.regions, self.origin = self._speech(session, analysis, speech, list(decisions), detect_speech)
        from ..auto.ducking import merge_regions

        self.all_speech = merge_regions([r for regs in self.regions.values() for r in regs], 1)
        self.probes = self._instrument(session, graph)
        self.level_in = {name: LevelMeter(sr, graph.strips[name].channels) for name in self.probes}
        for name, lm in self.level_in.items():
            strip = graph.strips[name]
            strip.chain = [strip.chain[0], _In(lm, self.length)] + strip.chain[1:]
            strip.sidechains = [None, None] + strip.sidechains[1:]
        self.level_out = {name: LevelMeter(sr, graph.channels, layout=session.layout) for name in self.taps}
        # per track: no true peak and no fold-down (a panned mono track is trivially mono-compatible;
        # the mix's QC measures both)
        self.qc_tracks = {name: QCMeter(sr, graph.channels, limits=limits, true_peak=False, fold_down=False)
                          for name in self.probes}
        self._own_meter = meter is None and measure_master
        self.meter = meter if meter is not None else (
            LoudnessMeter(sr, graph.channels, layout=session.layout) if measure_master else None)
        # the loudness meter's true peak serves the QC too (one interpolator, not two)
        self.qc_mix = QCMeter(sr, graph.channels, limits=limits, true_peak=False) if measure_master else None
        self.loudness_source = ("measured on the render (its own meter, as `mixdown render` prints it)"
                                if meter is not None else
                                "measured on the render of the session (float, before encoding)")

    @staticmethod
    def _speech(session: Any, analysis: Any, speech: dict[str, list[Region]] | None,
                decisions: list[dict[str, Any]], detect_speech: bool) -> tuple[dict[str, list[Region]], str | None]:
        """Who speaks when, and where that came from."""
        if analysis is not None:
            return dict(analysis.speech), "auto's analysis"
        if speech is not None:
            return dict(speech), "given"
        regions = _speech_from_decisions(decisions, session.sample_rate)
        if regions:
            return regions, "the decision list"
        if detect_speech and any(t.role == "dialogue" and not t.mute for t in session.tracks):
            try:
                from ..auto.analyse import analyse

                return dict(analyse(session).speech), "voice activity detection"
            except AnalysisError:
                pass
        return {}, None

    def _pauses(self, strip: Any) -> list[Region]:
        from ..auto.cleanup import pauses_for
        from ..auto.ducking import merge_regions

        if not self.all_speech:
            return []
        sr = self.sample_rate
        clips = merge_regions([(c.start, c.end) for c in strip.clips], 1)
        # speech is padded by the detector already
        return pauses_for(clips, self.all_speech, int(round(0.05 * sr)), min_length=int(0.1 * sr))

    def _instrument(self, session: Any, graph: Any) -> dict[str, tuple[_Capture, _Capture | None, str]]:
        """Waveform/spectrum probes at each track's chain input and after its cleanup; the taps."""
        sr, length, columns = self.sample_rate, self.length, self.columns
        probes: dict[str, tuple[_Capture, _Capture | None, str]] = {}
        self.taps: dict[str, list[str]] = {}
        roles: dict[str, list[str]] = {}
        for t in session.tracks:
            strip = graph.strips.get(t.name)
            if strip is None:
                continue
            pauses = self._pauses(strip)
            own = self.regions.get(t.name, [])
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
            self.taps[t.name] = [t.name]
            if not strip.mute:
                roles.setdefault(t.role, []).append(t.name)
        for role, names in roles.items():
            self.taps[f"role:{role}"] = names
        return probes

    # -- feeding --------------------------------------------------------------------

    def consume_master(self, block: np.ndarray) -> None:
        """One master block (in order); feeds the pass's own loudness meter, if it keeps one, and the QC."""
        if self._own_meter:
            self.meter.process(block)
        if self.qc_mix is not None:
            self.qc_mix.process(block)

    def consume_taps(self, taps: dict[str, np.ndarray]) -> None:
        """One block of every tap (in order)."""
        for name, x in taps.items():
            self.level_out[name].process(x)
            if name in self.qc_tracks:
                self.qc_tracks[name].process(x)

    def run(self, *, block_size: int = 16384, progress: Any = None) -> None:
        """Render the instrumented graph and feed the pass (when no render of the caller does)."""
        from ..render.engine import Renderer

        for _pos, block, tap in Renderer(self.graph, block_size=block_size, taps=self.taps).blocks(progress=progress):
            self.consume_master(block)
            self.consume_taps(tap)

    # -- results --------------------------------------------------------------------

    def finish(self) -> tuple[dict[str, Any], Any, Any, float | None]:
        """``(session data, master LoudnessResult or None, master QCResult or None, dialogue-gated LUFS)``."""
        from ..auto.ducking import merge_regions

        sr, length, graph, session = self.sample_rate, self.length, self.graph, self.session
        res = self.meter.result() if self.meter is not None else None
        dlg_gated = self.meter.integrated_over(self.all_speech) if self.meter is not None and self.all_speech else None
        tracks = []
        series = {name: lm.series() for name, lm in self.level_out.items()}
        for t in session.tracks:
            if t.name not in self.probes:
                continue
            before, after, what = self.probes[t.name]
            own = self.regions.get(t.name, [])
            pauses = self._pauses(graph.strips[t.name])
            # a track is silent between its clips by design: silence is the mix's problem, not a track's
            qres = self.qc_tracks[t.name].result(pauses=pauses if t.role == "dialogue" else None,
                                                 silence_is_problem=False)
            entry: dict[str, Any] = {
                "name": t.name, "role": t.role, "mute": t.mute,
                "input_lufs": _r(self.level_in[t.name].series().loudness()),
                "mix_lufs": _r(series[t.name].loudness()),
                "speech_lufs": _r(series[t.name].loudness(own)) if own else None,
                "speech_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in own[:5000]],
                "waveform": {"t": [round((i + 0.5) * length / self.columns / sr, 3) for i in range(self.columns)],
                             "lo": [round(float(v), 4) for v in before.lo],
                             "hi": [round(float(v), 4) for v in before.hi]},
                "gain_curve": _gain_curve(session, t, length, self.columns),
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
        if "role:dialogue" in series and "role:music" in series and self.all_speech:
            dm = dialogue_to_music(series["role:dialogue"], series["role:music"], self.all_speech)
        out = {
            "programme": {"duration_s": round(length / sr, 3), "sample_rate": sr, "channels": graph.channels,
                          "layout": session.layout},
            "speech_origin": self.origin,
            "speech_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in self.all_speech[:5000]],
            "tracks": tracks,
            "dialogue_to_music_lu": _r(dm),
            "dialogue_gated_lufs": _r(dlg_gated),
            "stems_lufs": {name[5:]: _r(series[name].loudness()) for name in series if name.startswith("role:")},
        }
        if dm is not None and dm < self.limits.min_dialogue_to_music_lu:
            out["dialogue_to_music_problem"] = (f"dialogue only {dm:.1f} LU over the music while people speak "
                                                f"(want {self.limits.min_dialogue_to_music_lu:g} LU or more)")
        qc = None
        if self.qc_mix is not None:
            qc = self.qc_mix.result(true_peak_dbtp=res.true_peak_dbtp if res is not None else None)
        return out, res, qc, dlg_gated


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
        As :func:`collect` (``mix``, ``decisions``, ``analysis``, ``target``, ``speech``,
        ``rendered``, ``progress``...); ``progress(done, total)`` also follows the plots.

    Returns
    -------
    Report
    """
    from .html import render_html

    progress = options.pop("progress", None)
    data = collect(session, progress=progress, **options)
    html, plots = render_html(data, progress=progress)
    data["plots"] = plots
    return Report(html=html, data=data)


def _result_path(result: Path, value: Any, key: str) -> Path:
    """A file a result names: absolute as written, relative to the result's folder otherwise; it must exist."""
    if not isinstance(value, str):
        raise MixdownError(f"{key!r} must be a file name, not {type(value).__name__}", file=result)
    q = Path(value)
    full = q if q.is_absolute() else result.parent / q
    if not full.exists():
        rule = "" if q.is_absolute() else f" (a relative path is read relative to the result file's folder: {full})"
        raise MixdownError(f"the {key} it names, {value}, does not exist{rule}", file=result)
    return full


def report_from_result(path: str | Path, *, mix: str | Path | None = None, **options: Any) -> Report:
    """Report of an ``auto --json`` result file (with ``--save-session`` for the per-track plots).

    The result names the mix (``output``), the target and the decisions; when it
    also names the saved session (``session``), that is rendered for the tracks.
    ``auto --json`` writes absolute paths (its JSON goes to stdout, so no folder is
    known to be relative to); a relative path in a result is read relative to the
    result file's folder, as a session's media are.

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
    session = None
    if res.get("session"):
        session = load_session(_result_path(p, res["session"], "session"))
    out = mix if mix is not None else (_result_path(p, res["output"], "output") if res.get("output") else None)
    target = options.pop("target", None)
    if target is None and isinstance(res.get("target"), dict):
        known = {f.name for f in fields(Target)}
        target = Target(**{k: v for k, v in res["target"].items() if k in known})
    return build_report(session, mix=out, decisions=res["decisions"], target=target,
                        title=options.pop("title", p.stem), **options)
