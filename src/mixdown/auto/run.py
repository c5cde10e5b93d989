"""``auto``: analyse, decide, render — the whole job, with every decision on record.

:func:`decide` only edits a copy of the session: it takes auto's own layer off
(:func:`~mixdown.auto.layers.strip_auto`), analyses the session as the person left
it, and writes a fresh layer (leveling, chains, balance, ducks), so running it on
its own output changes nothing. :func:`run_auto` adds the loudness plan and the
master stage, renders the mix (and stems, and the -6 dB premaster), measures it
and says whether the target was met.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..deliver.targets import Target
from ..media.scratch import ScratchAudio
from ..render.engine import DEFAULT_BLOCK, MASTER_INPUT, Progress, Renderer
from ..render.graph import check, stem_taps
from ..render.sink import BackgroundSink
from ..session.model import MASTER, Session
from .analyse import Analysis, analyse
from .assist import AssistParams, assist
from .balance import BalanceParams, balance_roles, follow_dialogue
from .bleed import BleedParams
from .cleanup import CleanupParams, measure_cleanup, plan_cleanup, screen_cleanup
from .decisions import Decision
from .ducking import DuckParams, duck_tracks
from .layers import strip_auto
from .leveling import LevelingParams, level_dialogue
from .loudness import MasterParams, loudness_gain, master_chain
from .outputs import StemsReport, master_fader, write_stems
from .stage import StageOutcome, run_stage

STEM_ROLES = ("dialogue", "music", "sfx", "ambience", "other")


@dataclass(frozen=True)
class AutoOptions:
    """Everything ``auto`` can be told; every field has a sensible default but the target."""

    target: Target
    duck: DuckParams = field(default_factory=DuckParams)
    duck_roles: tuple[str, ...] = ("music", "ambience")
    duck_under_lu: dict[str, float] = field(default_factory=lambda: {"music": 18.0, "ambience": 24.0})
    duck_mode: str = "keyframes"
    bleed: BleedParams = field(default_factory=BleedParams)
    leveling: LevelingParams = field(default_factory=LevelingParams)
    level: bool = True
    cleanup: CleanupParams | None = field(default_factory=CleanupParams)
    cleanup_mode: str = "screen"   # screen | full | off
    balance: BalanceParams = field(default_factory=BalanceParams)
    master: MasterParams = field(default_factory=MasterParams)
    assist: AssistParams = field(default_factory=AssistParams)
    vad_method: str = "silero"
    vad_threshold: float = 0.5
    cache_dir: Path | None = None
    block_size: int = DEFAULT_BLOCK


@dataclass(frozen=True)
class Problem:
    """Something about the result a person must know; ``fails`` when it misses the target (exit 3).

    ``kind`` is one of ``loudness``, ``true_peak``, ``undefined``, ``limiting``,
    ``video``, ``stems``.
    """

    kind: str
    message: str
    fails: bool = True


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
    problems: list[Problem] = field(default_factory=list)
    stems: StemsReport | None = None
    premaster_file: dict[str, Any] | None = None
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def compliant(self) -> bool:
        """False when a problem misses the target."""
        return not any(p.fails for p in self.problems)

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
            "premaster_file": self.premaster_file,
            "loudness_gain_db": _r(self.gain_db, 3),
            "limiter_max_reduction_db": _r(self.limiter_max_reduction_db),
            "master_passes": self.passes,
            "compliant": self.compliant,
            "failed": sorted({p.kind for p in self.problems if p.fails}),
            "problems": [p.message for p in self.problems],
            "stems": dict(self.stems.files) if self.stems else {},
            "stems_sum": self.stems.to_json() if self.stems else None,
            "speech": {name: {"regions": len(r), "seconds": round(sum(b - a for a, b in r) / self.analysis.sample_rate, 2)}
                       for name, r in self.analysis.speech.items()},
            "decisions": [d.to_json() for d in self.decisions],
            "timing_s": {k: round(v, 3) for k, v in self.timing.items()},
        }


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def decide(session: Session, opts: AutoOptions, *, progress: Progress | None = None) -> tuple[Session, list[Decision], Analysis]:
    """Analyse the session and return an edited copy with the decision list.

    auto's layers and ``auto-`` processors are taken off first (values a person
    edited excepted); the copy then has a fresh auto layer: leveled dialogue (clip
    gains, rides, chains), balanced faders and ducks. Its master stage is set by
    :func:`run_auto`.
    """
    s = session.copy_session()
    decisions = strip_auto(s)
    analysis = analyse(s, vad_method=opts.vad_method, vad_threshold=opts.vad_threshold, cache_dir=opts.cache_dir,
                       bleed=opts.bleed, block_size=opts.block_size, progress=progress)
    if not analysis.speech:
        decisions.append(Decision(
            "speech", MASTER, "no speech given",
            "the programme has no dialogue track: nothing to level, to balance against or to duck under; "
            "auto sets its loudness and true peak only"))
        return s, decisions, analysis
    decisions += _speech_decisions(analysis, opts)
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
    decisions += duck_tracks(s, analysis, ref, opts.duck, roles=opts.duck_roles, under_lu=opts.duck_under_lu,
                             mode=opts.duck_mode)
    decisions = assist(s, analysis, decisions, opts.assist, ref=ref, leveling=opts.leveling, duck=opts.duck,
                       duck_roles=opts.duck_roles, block_size=opts.block_size)
    return s, decisions, analysis


def _speech_decisions(analysis: Analysis, opts: AutoOptions) -> list[Decision]:
    sr = analysis.sample_rate
    out = []
    for name, regions in analysis.speech.items():
        secs = sum(b - a for a, b in regions) / sr
        notes = []
        bleed = analysis.removed_bleed.get(name, 0.0)
        if bleed > 0.05:
            notes.append(f"{bleed:.1f} s dropped as other speakers' bleed (the same sound, louder on their "
                         "microphone)")
        quiet = analysis.removed_quiet.get(name, 0.0)
        if quiet > 0.05:
            notes.append(f"{quiet:.1f} s dropped as more than {opts.bleed.sensitivity_db:g} dB under this speaker's "
                         "level (--duck-sensitivity)")
        out.append(Decision(
            "speech", name, f"{len(regions)} speech regions, {secs:.1f} s",
            f"{opts.vad_method} voice activity detection on the source" + "".join(f"; {n}" for n in notes),
            data={"regions_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in regions[:2000]]}))
    return out


@dataclass
class _Premaster:
    """The premaster pass's products."""

    length: int                            # programme length, samples
    raw: ScratchAudio                      # the master's input, latency-aligned with the final output
    stems: dict[str, ScratchAudio]
    lufs: float | None
    dialogue_lufs: float | None
    mix: ScratchAudio | None               # the master's output without auto's stage (for --premaster)
    true_peak: float = 0.0                 # of ``mix``, linear
    heard_dialogue_lufs: float | None = None  # the dialogue role's strips as they reach the master, over speech

    def delete(self) -> None:
        for raw in [self.raw, *self.stems.values(), *([self.mix] if self.mix else [])]:
            raw.delete()


def _premaster_pass(s: Session, extra: int, tmp: Path, *, speech: list[tuple[int, int]],
                    stems: bool, keep_mix: bool, block_size: int, progress: Progress | None) -> _Premaster:
    """Render once: the master's input to a scratch file (and the stems, and the mix before auto's stage).

    ``extra`` is the final master stage's latency: the premaster runs on for it.
    """
    from ..analysis.levels import LevelMeter
    from ..analysis.truepeak import TruePeakDetector

    graph = check(s)
    length = graph.length
    graph.length = length + extra
    roles = stem_taps(graph)
    taps = roles if stems else {r: roles[r] for r in ("dialogue",) if r in roles and speech}
    level = LevelMeter(graph.sample_rate, graph.channels, layout=s.layout)
    dlg = LevelMeter(graph.sample_rate, graph.channels, layout=s.layout) if "dialogue" in taps and speech else None
    tp = TruePeakDetector(graph.sample_rate, graph.channels) if keep_mix else None
    raw = ScratchAudio(tmp / "premaster.f32", graph.channels)
    scratch = {role: ScratchAudio(tmp / f"stem-{role}.f32", graph.channels) for role in (taps if stems else ())}
    mix = ScratchAudio(tmp / "mix-before-stage.f32", graph.channels) if keep_mix else None

    def write(pos: int, block: np.ndarray, tap: dict[str, np.ndarray]) -> None:
        raw.write(tap[MASTER_INPUT])
        keep = max(0, min(block.shape[1], length - pos))
        for role, w in scratch.items():
            w.write(tap[role][:, :keep])

    def measure(pos: int, block: np.ndarray, tap: dict[str, np.ndarray]) -> None:
        keep = block[:, :max(0, min(block.shape[1], length - pos))]
        level.process(keep)
        if dlg is not None:
            dlg.process(tap["dialogue"][:, :keep.shape[1]])
        if mix is not None:
            mix.write(keep)
            tp.process(keep)

    try:
        with BackgroundSink(write, measure) as sink:
            for pos, block, tap in Renderer(graph, block_size=block_size, taps=taps,
                                            master_input_tap=True).blocks(progress=progress):
                sink.put(pos, block, tap)
    finally:
        for w in [raw, *scratch.values(), *([mix] if mix else [])]:
            w.finish()
    series = level.series()
    return _Premaster(length=length, raw=raw, stems=scratch, lufs=series.loudness(),
                      dialogue_lufs=series.loudness(speech) if speech else None, mix=mix,
                      true_peak=tp.peak() if tp is not None else 0.0,
                      heard_dialogue_lufs=dlg.series().loudness(speech) if dlg is not None else None)


def run_auto(session: Session, opts: AutoOptions, *, output: Path | None, format: str = "wav24",
             stems_dir: Path | None = None, stems_format: str = "wav24", premaster: Path | None = None,
             progress: Progress | None = None,
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
        Writes ``<role>.wav`` per role: post-fader, post-duck, at the mix's loudness
        gain and master fader, before the limiter (they sum to the mix up to the
        limiter; the residual is in :attr:`AutoResult.stems`).
    stems_format : str
        ``wav24`` or ``wav32f`` (keeps the peaks over full scale that the limiter takes down in the mix).
    premaster : Path, optional
        Writes the -6 dB premaster (:mod:`mixdown.deliver.premaster`): the mix before
        auto's loudness gain and limiter, true peak at -6 dBTP, 24-bit WAV.

    Returns
    -------
    AutoResult
    """
    t0 = time.perf_counter()
    s, decisions, analysis = decided or decide(session, opts, progress=progress)
    timing = {"analyse_and_decide": time.perf_counter() - t0}
    target, mp = opts.target, opts.master
    user_master = list(s.master.chain)  # auto's own stage was taken off by decide
    speech = analysis.all_speech
    # final graph shape known up front: the premaster must cover its latency too
    s_final = s.copy_session()
    s_final.master.chain = user_master + master_chain(0.0, target.true_peak_dbtp - mp.margin_db, mp)
    graph_final = check(s_final)
    protect = set(graph_final.source_paths) | ({Path(s.file)} if s.file else set())
    out_dir = (output.parent if output is not None else Path.cwd()).resolve()
    from ..files.temp import scratch_dir

    with scratch_dir(out_dir, "premaster") as tmpdir:
        tmp = Path(tmpdir)
        t1 = time.perf_counter()
        kw = dict(speech=speech, stems=stems_dir is not None, keep_mix=premaster is not None,
                  block_size=opts.block_size, progress=progress)
        pre = _premaster_pass(s, graph_final.output_latency, tmp, **kw)
        if pre.heard_dialogue_lufs is not None:
            follow = follow_dialogue(s, pre.heard_dialogue_lufs, opts.leveling.reference_lufs, opts.balance)
            if follow:
                # the other roles were balanced against the dialogue as leveled, before its chains and buses
                decisions += follow
                pre.delete()
                pre = _premaster_pass(s, graph_final.output_latency, tmp, **kw)
        timing["premaster"] = time.perf_counter() - t1
        dialogue_gated = target.gating == "dialogue" and bool(speech)
        measured_pre = pre.dialogue_lufs if dialogue_gated else pre.lufs
        t2 = time.perf_counter()
        stage = run_stage(s, user_master, pre.raw, target=target, params=mp, gain=loudness_gain(measured_pre, target),
                          speech=speech, output=output, format=format, protect=protect, block_size=opts.block_size,
                          progress=progress, keep_mix=tmp / "mix.f32" if stems_dir is not None else None)
        timing["master"] = time.perf_counter() - t2
        stems = None
        if stems_dir is not None:
            # at the gain as the master chain holds it (rounded to 0.001 dB there)
            stems = write_stems(pre.stems, stems_dir, gain_db=round(stage.gain_db, 3), fader=master_fader(stage.graph),
                                frames=pre.length, sample_rate=s.sample_rate, channels=s.channels, protect=protect,
                                mix=stage.mix, format=stems_format)
        pm = None
        if premaster is not None:
            from ..deliver.premaster import premaster_gain, write_premaster

            reader = pre.mix.reader()
            try:
                pm = write_premaster(reader.read, frames=pre.length, channels=s.channels, sample_rate=s.sample_rate,
                                     path=premaster, gain_db=premaster_gain(pre.true_peak, file=premaster),
                                     protect=protect)
            finally:
                reader.close()
    s.master.chain = user_master + master_chain(stage.gain_db, stage.ceiling_db, mp)
    decisions += _stage_decisions(stage, pre, target, mp, dialogue_gated, bool(speech))
    result = AutoResult(session=s, decisions=decisions, analysis=analysis, output=output, measured=stage.result,
                        dialogue_gated_lufs=stage.dialogue_lufs, premaster_lufs=pre.lufs,
                        premaster_dialogue_lufs=pre.dialogue_lufs, gain_db=round(stage.gain_db, 3),
                        limiter_max_reduction_db=stage.reduction_db, passes=stage.passes, stems=stems,
                        premaster_file=pm)
    result.problems = _problems(stage, target, mp, dialogue_gated, stems, graph_final)
    if result.problems:
        action = ("target not fully met" if not result.compliant
                  else "limiting capped" if any(p.kind == "limiting" for p in result.problems) else "note")
        decisions.append(Decision("warning", MASTER, action, "; ".join(p.message for p in result.problems)))
    timing["total"] = time.perf_counter() - t0
    result.timing = timing
    return result


def _stage_decisions(stage: StageOutcome, pre: _Premaster, target: Target, mp: MasterParams, dialogue_gated: bool,
                     has_speech: bool) -> list[Decision]:
    what = "dialogue-gated loudness" if dialogue_gated else "integrated loudness"
    measured_pre = pre.dialogue_lufs if dialogue_gated else pre.lufs
    reason = f"premaster {what} {measured_pre:.2f} LUFS; target {target.integrated_lufs:g} LUFS ({target.name})"
    if target.gating == "dialogue" and not has_speech:
        reason += "; the target gates on dialogue, but no speech was given: measured on the whole programme"
    out = [
        Decision("loudness", MASTER, f"gain {stage.gain_db:+.2f} dB", reason, value_db=stage.gain_db,
                 data={"premaster_lufs": _r(pre.lufs), "premaster_dialogue_lufs": _r(pre.dialogue_lufs)}),
        Decision("limiter", MASTER,
                 f"true-peak limiter at {stage.ceiling_db:.2f} dBTP, up to {stage.reduction_db:.1f} dB of gain reduction",
                 f"ceiling {target.true_peak_dbtp:g} dBTP ({target.name}) less a {mp.margin_db:g} dB margin for meter "
                 f"differences; {stage.limited_samples} samples limited",
                 value_db=-stage.reduction_db, data={"limited_samples": stage.limited_samples}),
    ]
    return out


def _problems(stage: StageOutcome, target: Target, mp: MasterParams, dialogue_gated: bool,
              stems: StemsReport | None, graph: Any) -> list[Problem]:
    what = "dialogue-gated loudness" if dialogue_gated else "integrated loudness"
    got = stage.dialogue_lufs if dialogue_gated else stage.result.integrated_lufs
    res = stage.result
    out: list[Problem] = []
    if got is None:
        out.append(Problem("undefined", "the output's loudness is undefined"))
    elif abs(got - target.integrated_lufs) > target.tolerance_lu:
        why = (f" because reaching it would take more than {mp.max_limiting_db:g} dB of limiting "
               f"(allow more with --max-limiting)") if stage.capped else ""
        out.append(Problem("loudness", f"{what} {got:.2f} LUFS misses the target {target.integrated_lufs:g} "
                                       f"±{target.tolerance_lu:g} LU{why}"))
    elif stage.capped:
        out.append(Problem("limiting", f"the target needed more than {mp.max_limiting_db:g} dB of limiting; it was "
                                       f"held at {mp.max_limiting_db:g} dB", fails=False))
    if res.true_peak_dbtp is not None and res.true_peak_dbtp > target.true_peak_dbtp:
        out.append(Problem("true_peak", f"true peak {res.true_peak_dbtp:.2f} dBTP is over the "
                                        f"{target.true_peak_dbtp:g} dBTP ceiling"))
    if stems is not None and stems.clipped:
        out.append(Problem("stems", f"stem(s) {', '.join(stems.clipped)} go over full scale at the mix's gain (the "
                                    "mix's limiter takes those peaks down) and are clipped in their 24-bit files; "
                                    "--stems-format wav32f keeps them", fails=False))
    if graph.tail_cut is not None:
        out.append(Problem("tail", graph.tail_cut.message(graph.sample_rate), fails=False))
    return out
