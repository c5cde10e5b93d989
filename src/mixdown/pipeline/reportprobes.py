"""The report's data from one render of a session: probes in the compiled graph, meters on the taps.

Per track, pass-through probes inserted into the compiled graph (never into the
session) see the chain's input (the clips with their clip gains) and the signal
after the last cleanup processor (or after the whole chain when there is none):
their waveform envelope and their third-octave spectra over speech and over
pauses, with each probe's regions shifted by the latency of the processors
before it. Post-fader track outputs and role stems are tapped for levels, QC
and the dialogue-to-music ratio. :class:`SessionPass` can ride on any render of
the graph (``mixdown render --report`` feeds it from the render's own sink).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.qc import QCLimits, QCMeter, dialogue_to_music
from ..analysis.spectrum import THIRD_OCTAVE_HZ, SpectrumMeter, band_levels
from ..dsp.base import Processor
from ..errors import AnalysisError

__all__ = ["CLEANUP_TYPES", "COLUMNS", "SessionPass", "finite_round"]

CLEANUP_TYPES = ("dehum", "declick", "denoise", "deesser")
COLUMNS = 1200
Region = tuple[int, int]


def finite_round(x: Any, nd: int = 2) -> float | None:
    """``x`` rounded to ``nd`` places for JSON; None for None and non-finite values."""
    if x is None:
        return None
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


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
            assert self.meter is not None  # its own meter is made whenever it keeps one
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
                "input_lufs": finite_round(self.level_in[t.name].series().loudness()),
                "mix_lufs": finite_round(series[t.name].loudness()),
                "speech_lufs": finite_round(series[t.name].loudness(own)) if own else None,
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
            "programme": {
                "duration_s": round(length / sr, 3),
                "sample_rate": sr,
                "channels": graph.channels,
                "layout": session.layout,
            },
            "speech_origin": self.origin,
            "speech_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in self.all_speech[:5000]],
            "tracks": tracks,
            "dialogue_to_music_lu": finite_round(dm),
            "dialogue_gated_lufs": finite_round(dlg_gated),
            "stems_lufs": {
                name[5:]: finite_round(series[name].loudness()) for name in series if name.startswith("role:")
            },
        }
        if dm is not None and dm < self.limits.min_dialogue_to_music_lu:
            out["dialogue_to_music_problem"] = (f"dialogue only {dm:.1f} LU over the music while people speak "
                                                f"(want {self.limits.min_dialogue_to_music_lu:g} LU or more)")
        qc = None
        if self.qc_mix is not None:
            qc = self.qc_mix.result(true_peak_dbtp=res.true_peak_dbtp if res is not None else None)
        return out, res, qc, dlg_gated
