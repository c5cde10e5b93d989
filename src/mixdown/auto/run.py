"""``auto``: analyse, decide, render — the whole job, with every decision on record.

:func:`decide` only edits a copy of the session (leveling, chains, balance, ducks)
and returns it with the decision list; :func:`run_auto` adds the loudness plan and
the master stage, renders the mix (and stems), measures it and says whether the
target was met.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..deliver.targets import Target
from ..errors import AnalysisError
from ..media.scratch import ScratchAudio
from ..render.engine import DEFAULT_BLOCK, MASTER_INPUT, Progress, Renderer
from ..render.graph import check, stem_taps
from ..render.sink import BackgroundSink
from ..session.model import MASTER, Bus, Keyframe, ProcessorSpec, Session
from .analyse import Analysis, analyse
from .balance import BalanceParams, balance_roles
from .cleanup import CleanupParams, measure_cleanup, plan_cleanup, screen_cleanup
from .decisions import Decision
from .ducking import DuckParams, duck_decisions, duck_keyframes
from .leveling import LevelingParams, _combine, level_dialogue
from .loudness import (
    GAIN_ID,
    LIMITER_ID,
    MasterParams,
    loudness_gain,
    master_chain,
    next_pass,
)

STEM_ROLES = ("dialogue", "music", "sfx", "ambience", "other")


@dataclass(frozen=True)
class AutoOptions:
    """Everything ``auto`` can be told; every field has a sensible default but the target."""

    target: Target
    duck: DuckParams = field(default_factory=DuckParams)
    duck_roles: tuple[str, ...] = ("music", "ambience")
    duck_under_lu: dict[str, float] = field(default_factory=lambda: {"music": 18.0, "ambience": 24.0})
    duck_mode: str = "keyframes"
    leveling: LevelingParams = field(default_factory=LevelingParams)
    level: bool = True
    cleanup: CleanupParams | None = field(default_factory=CleanupParams)
    cleanup_mode: str = "screen"   # screen | full | off
    balance: BalanceParams = field(default_factory=BalanceParams)
    master: MasterParams = field(default_factory=MasterParams)
    vad_method: str = "silero"
    vad_threshold: float = 0.5
    cache_dir: Path | None = None
    block_size: int = DEFAULT_BLOCK


@dataclass
class AutoResult:
    """What ``auto`` did and what came out."""

    session: Session
    decisions: list[Decision]
    analysis: Analysis
    output: Path | None = None
    measured: Any = None                  # LoudnessResult of the output
    dialogue_gated_lufs: float | None = None
    premaster_lufs: float | None = None
    premaster_dialogue_lufs: float | None = None
    gain_db: float | None = None
    limiter_max_reduction_db: float | None = None
    passes: int = 0
    compliant: bool = True
    problems: list[str] = field(default_factory=list)
    stems: dict[str, str] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)

    def to_json(self, target: Target) -> dict[str, Any]:
        measured = {"file": str(self.output) if self.output else None}
        if self.measured is not None:
            measured.update(self.measured.to_json())
        return {
            "output": str(self.output) if self.output else None,
            "target": target.to_json(),
            "measured": measured,
            "dialogue_gated_lufs": _r(self.dialogue_gated_lufs),
            "premaster": {"integrated_lufs": _r(self.premaster_lufs),
                          "dialogue_gated_lufs": _r(self.premaster_dialogue_lufs)},
            "loudness_gain_db": _r(self.gain_db, 3),
            "limiter_max_reduction_db": _r(self.limiter_max_reduction_db),
            "master_passes": self.passes,
            "compliant": self.compliant,
            "problems": self.problems,
            "stems": self.stems,
            "speech": {name: {"regions": len(r), "seconds": round(sum(b - a for a, b in r) / self.analysis.sample_rate, 2)}
                       for name, r in self.analysis.speech.items()},
            "decisions": [d.to_json() for d in self.decisions],
            "timing_s": {k: round(v, 3) for k, v in self.timing.items()},
        }


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def decide(session: Session, opts: AutoOptions, *, progress: Progress | None = None) -> tuple[Session, list[Decision], Analysis]:
    """Analyse the session and return an edited copy with the decision list.

    The copy has leveled dialogue (clip gains, rides, chains), balanced faders and
    duck keyframes; its master stage is set by :func:`run_auto`.
    """
    s = session.copy_session()
    analysis = analyse(s, vad_method=opts.vad_method, vad_threshold=opts.vad_threshold, cache_dir=opts.cache_dir,
                       block_size=opts.block_size, progress=progress)
    sr = analysis.sample_rate
    decisions: list[Decision] = []
    for name, regions in analysis.speech.items():
        secs = sum(b - a for a, b in regions) / sr
        extra = analysis.removed_bleed.get(name, 0.0)
        decisions.append(Decision(
            "speech", name, f"{len(regions)} speech regions, {secs:.1f} s",
            f"{opts.vad_method} voice activity detection on the source" +
            (f"; {extra:.1f} s dropped as other speakers' bleed (louder on their own track)" if extra > 0.05 else ""),
            data={"regions_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in regions[:2000]]}))
    ref = opts.leveling.reference_lufs
    if opts.level:
        decisions += level_dialogue(s, analysis, opts.leveling)
    if opts.cleanup is not None and opts.cleanup_mode != "off":
        # after leveling: noise is measured with the final clip gains, and leveling only fills empty chains
        tracks = list(analysis.speech)
        if opts.cleanup_mode == "screen":
            tracks, clean = screen_cleanup(s, analysis, params=opts.cleanup)
            decisions += clean
        if tracks:
            measures = measure_cleanup(s, analysis, opts.cleanup, tracks=tracks)
            decisions += plan_cleanup(s, analysis, opts.cleanup, measures=measures)
    decisions += balance_roles(s, analysis, ref, opts.balance)
    decisions += _duck(s, analysis, ref, opts)
    return s, decisions, analysis


def _duck(s: Session, analysis: Analysis, ref: float, opts: AutoOptions) -> list[Decision]:
    sr = analysis.sample_rate
    speech = analysis.all_speech
    decisions: list[Decision] = []
    for track in s.tracks:
        if track.role not in opts.duck_roles or track.mute:
            continue
        series = analysis.levels[track.name]
        under = opts.duck_under_lu.get(track.role, opts.duck.under_lu)
        if opts.duck.depth_db is not None:
            depth = opts.duck.depth_db
            why = f"fixed depth {depth:g} dB"
        else:
            loud = series.loudness(speech, gain_db=track.gain_db)
            if loud is None:
                decisions.append(Decision("duck", track.name, "no duck",
                                          f"the {track.role} is silent while people speak"))
                continue
            want = ref - under
            depth = float(np.clip(loud - want, opts.duck.min_depth_db, opts.duck.max_depth_db))
            why = (f"{track.role} plays at {loud:.1f} LUFS under speech; ducked to sit {under:g} LU under the "
                   f"{ref:g} LUFS dialogue")
            if loud - want < opts.duck.min_depth_db:
                why += f" (already low: minimum depth {opts.duck.min_depth_db:g} dB)"
        if opts.duck_mode == "sidechain":
            decisions += _sidechain_duck(s, track, depth, ref, opts, why)
            continue
        keys = duck_keyframes(speech, sr, depth, opts.duck, programme_end=analysis.length)
        new = [(p, v) for p, v, _ in keys]
        existing = track.automation.get("gain_db")
        if existing:
            track.automation["gain_db"] = _combine(existing, new, s)
        else:
            track.automation["gain_db"] = [Keyframe(t=p / sr, v=round(v, 2), interp=i) for p, v, i in keys]
        decisions += duck_decisions(track.name, speech, sr, depth, opts.duck, why)
    return decisions


def _sidechain_duck(s: Session, track, depth: float, ref: float, opts: AutoOptions, why: str) -> list[Decision]:
    """The classic alternative: a compressor on the track keyed by a dialogue bus."""
    bus_name = "dialogue"
    dialogue = [t for t in s.tracks if t.role == "dialogue"]
    outs = {t.output for t in dialogue}
    if len(outs) == 1 and next(iter(outs)) != MASTER:
        bus_name = next(iter(outs))
    else:
        if bus_name in {t.name for t in s.tracks}:
            raise AnalysisError("sidechain ducking needs a bus named 'dialogue', but a track has that name")
        if not any(b.name == bus_name for b in s.buses):
            s.buses.append(Bus(name=bus_name, role="dialogue"))
        for t in dialogue:
            t.output = bus_name
    ratio = 10.0
    threshold = ref - depth * ratio / (ratio - 1)
    track.chain.append(ProcessorSpec(
        type="compressor", id="auto-duck", sidechain=bus_name, threshold_db=round(threshold, 1), ratio=ratio,
        knee_db=6.0, attack_ms=opts.duck.attack_s * 1000, release_ms=opts.duck.release_s * 1000, detector="rms"))
    return [Decision("duck", track.name, f"sidechain compressor keyed by '{bus_name}', ~{-depth:+.1f} dB",
                     why + "; sidechain mode (as asked): depth follows the voice's level, no hold between words",
                     value_db=-depth)]


def run_auto(session: Session, opts: AutoOptions, *, output: Path | None, format: str = "wav24",
             stems_dir: Path | None = None, progress: Progress | None = None,
             decided: tuple[Session, list[Decision], Analysis] | None = None) -> AutoResult:
    """Decide, plan loudness, render the mix (and stems), measure and check it.

    Parameters
    ----------
    session : Session
    opts : AutoOptions
    output : Path, optional
        Mix file; None renders and measures without writing one.
    format : str
        ``wav24``, ``wav16``, ``wav32f`` or ``flac``.
    stems_dir : Path, optional
        Writes ``<role>.wav`` (24-bit) per role: post-fader, post-duck, pre-master.

    Returns
    -------
    AutoResult
    """
    from ..analysis.levels import LevelMeter
    from ..analysis.loudness import LoudnessMeter
    from ..media.write import AudioWriter

    t0 = time.perf_counter()
    s, decisions, analysis = decided or decide(session, opts, progress=progress)
    timing = {"analyse_and_decide": time.perf_counter() - t0}
    target = opts.target
    mp = opts.master

    # the master stage is ours: auto's own entries are replaced, the fader's job is the loudness gain
    s.master.chain = [p for p in s.master.chain if p.id not in (GAIN_ID, LIMITER_ID)]
    if s.master.gain_db != 0.0 or s.master.automation:
        decisions.append(Decision("loudness", MASTER, "master fader reset to 0 dB",
                                  "the loudness gain replaces it, before the limiter"))
        s.master.gain_db = 0.0
        s.master.automation = {}
    user_master = list(s.master.chain)

    # final graph shape known up front: the premaster must cover its latency too
    s_final = s.copy_session()
    s_final.master.chain = user_master + master_chain(0.0, target.true_peak_dbtp - mp.margin_db, mp)
    graph_final = check(s_final)
    extra = graph_final.output_latency

    # pass 2: premaster (the master's input) to a float file, measured after the user's master chain
    t1 = time.perf_counter()
    graph2 = check(s)
    length = graph2.length
    graph2.length = length + extra
    taps = stem_taps(graph2) if stems_dir is not None else {}
    speech = analysis.all_speech
    out_dir = (output.parent if output is not None else Path.cwd()).resolve()
    protect = set(graph2.source_paths) | ({Path(s.file)} if s.file else set())
    from ..files.temp import scratch_dir

    with scratch_dir(out_dir, "premaster") as tmpdir:
        level = LevelMeter(graph2.sample_rate, graph2.channels, layout=s.layout)
        stem_writers: dict[str, AudioWriter] = {}
        if stems_dir is not None:
            stems_dir.mkdir(parents=True, exist_ok=True)
            for role in taps:
                stem_writers[role] = AudioWriter(stems_dir / f"{role}.wav", sample_rate=graph2.sample_rate,
                                                 channels=graph2.channels, format="wav24", protect=protect,
                                                 frames=length)
        pre = ScratchAudio(Path(tmpdir) / "premaster.f32", graph2.channels)
        try:

            def programme(pos: int, block: np.ndarray) -> int:
                """Frames of the block inside the programme (the premaster runs on for the master's latency)."""
                return max(0, min(block.shape[1], length - pos))

            def write(pos: int, block: np.ndarray, tap: dict[str, np.ndarray]) -> None:
                pre.write(tap[MASTER_INPUT])
                keep = programme(pos, block)
                for role, w in stem_writers.items():
                    w.write(tap[role][:, :keep])

            def measure(pos: int, block: np.ndarray, tap: dict[str, np.ndarray]) -> None:
                level.process(block[:, :programme(pos, block)])

            r2 = Renderer(graph2, block_size=opts.block_size, taps=taps, master_input_tap=True)
            with BackgroundSink(write, measure) as sink:
                for pos, block, tap in r2.blocks(progress=progress):
                    sink.put(pos, block, tap)
            pre.finish()
            for w in stem_writers.values():
                w.commit()
        except BaseException:
            pre.finish()
            for w in stem_writers.values():
                w.abort()
            raise
        timing["premaster"] = time.perf_counter() - t1
        series = level.series()
        pre_lufs = series.loudness()
        pre_dlg = series.loudness(speech)
        measured_pre = pre_dlg if target.gating == "dialogue" else pre_lufs
        what = "dialogue-gated loudness" if target.gating == "dialogue" else "integrated loudness"
        gain = loudness_gain(measured_pre, target)
        ceiling = target.true_peak_dbtp - mp.margin_db
        in_lat = graph2.strips[MASTER].input_latency

        # pass 3: the master stage, repeated only if the limiter cost loudness or peaks slipped through
        t2 = time.perf_counter()
        result = AutoResult(session=s, decisions=decisions, analysis=analysis, output=output,
                            premaster_lufs=pre_lufs, premaster_dialogue_lufs=pre_dlg)
        capped = False
        for attempt in range(1, mp.max_passes + 1):
            s_final = s.copy_session()
            s_final.master.chain = user_master + master_chain(gain, ceiling, mp)
            graph3 = check(s_final)
            meter = LoudnessMeter(graph3.sample_rate, graph3.channels, layout=s.layout)
            reader = pre.reader()
            renderer = Renderer(graph3, block_size=opts.block_size,
                                premaster=lambda pos, n, r=reader: r.read(pos - in_lat, n))
            writer = None
            if output is not None:
                writer = AudioWriter(output, sample_rate=graph3.sample_rate, channels=graph3.channels,
                                     format=format, protect=protect, frames=graph3.length)
            try:
                with BackgroundSink(meter.process, *([writer.write] if writer is not None else [])) as sink:
                    for _, block, _ in renderer.blocks(progress=progress):
                        sink.put(block)
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            finally:
                reader.close()
            limiter = graph3.strips[MASTER].chain[-1]
            res = meter.result()
            got_dlg = meter.integrated_over(speech)
            got = got_dlg if target.gating == "dialogue" else res.integrated_lufs
            gr = float(getattr(limiter, "max_reduction_db", 0.0))
            over_tp = (res.true_peak_dbtp or -200) - target.true_peak_dbtp
            result.passes = attempt
            nxt = next_pass(mp, got=got, goal=target.integrated_lufs, over_tp=over_tp, limited_db=gr,
                            gain=gain, ceiling=ceiling, capped=capped)
            # corrections are taken only by a pass that renders them: when passes run out,
            # gain and ceiling stay the ones the output was made with
            if nxt[3] and attempt < mp.max_passes:
                gain, ceiling, capped = nxt[:3]
                if writer is not None:
                    writer.abort()
                continue
            if writer is not None:
                writer.commit()
            break
        timing["master"] = time.perf_counter() - t2

    s.master.chain = user_master + master_chain(gain, ceiling, mp)
    result.session = s
    result.measured = res
    result.dialogue_gated_lufs = got_dlg
    result.gain_db = round(gain, 3)  # as written into the master chain
    result.limiter_max_reduction_db = gr
    result.stems = {role: str(stems_dir / f"{role}.wav") for role in stem_writers} if stems_dir else {}
    decisions.append(Decision(
        "loudness", MASTER, f"gain {gain:+.2f} dB",
        f"premaster {what} {measured_pre:.2f} LUFS; target {target.integrated_lufs:g} LUFS ({target.name})",
        value_db=gain, data={"premaster_lufs": _r(pre_lufs), "premaster_dialogue_lufs": _r(pre_dlg)}))
    decisions.append(Decision(
        "limiter", MASTER, f"true-peak limiter at {ceiling:.2f} dBTP, up to {gr:.1f} dB of gain reduction",
        f"ceiling {target.true_peak_dbtp:g} dBTP ({target.name}) less a {mp.margin_db:g} dB margin for meter "
        f"differences; {getattr(limiter, 'limited_samples', 0)} samples limited",
        value_db=-gr, data={"limited_samples": int(getattr(limiter, "limited_samples", 0))}))
    problems = []
    if got is None:
        problems.append("the output's loudness is undefined")
    elif abs(got - target.integrated_lufs) > target.tolerance_lu:
        why = (f" because reaching it would take more than {mp.max_limiting_db:g} dB of limiting "
               f"(allow more with --max-limiting)") if capped else ""
        problems.append(f"{what} {got:.2f} LUFS misses the target {target.integrated_lufs:g} ±{target.tolerance_lu:g} LU{why}")
    elif capped:
        problems.append(f"the target needed more than {mp.max_limiting_db:g} dB of limiting; it was held at "
                        f"{mp.max_limiting_db:g} dB")
    if res.true_peak_dbtp is not None and res.true_peak_dbtp > target.true_peak_dbtp:
        problems.append(f"true peak {res.true_peak_dbtp:.2f} dBTP is over the {target.true_peak_dbtp:g} dBTP ceiling")
    if capped or problems:
        decisions.append(Decision("warning", MASTER, "target not fully met" if problems else "limiting capped",
                                  "; ".join(problems) or "limiting held at the maximum"))
    result.problems = problems
    result.compliant = not any("misses" in p or "over the" in p or "undefined" in p for p in problems)
    timing["total"] = time.perf_counter() - t0
    result.timing = timing
    return result
