"""The auto job: analyse -> decide -> one premaster render -> master stage -> outputs.

:func:`analyse_and_decide` analyses the session as the person left it and asks
:func:`mixdown.auto.run.decide` (pure) for the edited session; :func:`mix_auto`
renders the premaster once (:mod:`mixdown.pipeline.premaster`), runs the one
master stage (:mod:`mixdown.master`) and writes the mix, the stems and the -6 dB
premaster; :func:`run_auto_job` is the :class:`~mixdown.pipeline.job.Job`'s
``auto`` mode: those plus the video, the decided session and the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..auto.analyse import Analysis, analyse
from ..auto.assist import assist
from ..auto.balance import follow_dialogue
from ..auto.cleanup import CleanupParams, TrackMeasure, measure_cleanup
from ..auto.decisions import Decision
from ..auto.outputs import StemsReport, write_stems
from ..auto.run import AutoOptions, decide, stage_decisions, without_auto
from ..errors import MixdownError
from ..files.temp import missing_folders, removed_if_failed, scratch_dir
from ..master import (
    MasterParams,
    StageOutcome,
    fader_max_db,
    loudness_gain,
    master_chain,
    run_stage,
    session_pass,
)
from ..master.premaster import premaster_gain, write_premaster
from ..render.engine import Progress
from ..render.envelopes import master_fader
from ..render.graph import check
from ..session.model import MASTER, Session
from ..targets import Target, get_target
from .job import VIDEO_SUFFIXES, Job, JobResult, OutputResult, Problem, auto_options
from .premaster import premaster_pass

__all__ = ["AutoResult", "analyse_and_decide", "mix_auto", "run_auto_job"]


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
            "premaster": {
                "integrated_lufs": _r(self.premaster_lufs),
                "dialogue_gated_lufs": _r(self.premaster_dialogue_lufs),
            },
            "premaster_file": self.premaster_file,
            "loudness_gain_db": _r(self.gain_db, 3),
            "limiter_max_reduction_db": _r(self.limiter_max_reduction_db),
            "master_passes": self.passes,
            "compliant": self.compliant,
            "failed": sorted({p.code for p in self.problems if p.fails}),
            "problems": [p.message for p in self.problems],
            "stems": dict(self.stems.files) if self.stems else {},
            "stems_sum": self.stems.to_json() if self.stems else None,
            "speech": {
                name: {"regions": len(r), "seconds": round(sum(b - a for a, b in r) / self.analysis.sample_rate, 2)}
                for name, r in self.analysis.speech.items()
            },
            "decisions": [d.to_json() for d in self.decisions],
            "timing_s": {k: round(v, 3) for k, v in self.timing.items()},
        }


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def _measure_cleanup(
    s: Session, analysis: Analysis, params: CleanupParams, tracks: list[str]
) -> dict[str, TrackMeasure]:
    return measure_cleanup(s, analysis, params, tracks=tracks)


def analyse_and_decide(session: Session, opts: AutoOptions, *,
                       progress: Progress | None = None) -> tuple[Session, list[Decision], Analysis]:
    """auto's layer off, the session analysed as the person left it, then :func:`~mixdown.auto.run.decide`."""
    s, decisions = without_auto(session)
    analysis = analyse(s, vad_method=opts.vad_method, vad_threshold=opts.vad_threshold, cache_dir=opts.cache_dir,
                       bleed=opts.bleed, block_size=opts.block_size, progress=progress)
    decided, more = decide(s, analysis, opts, measure=_measure_cleanup)
    if analysis.speech:
        # the second decision pass: speakers balanced and the bed unmasked as the mix hears them, after
        # the chains decide() chose (it renders the tapped tracks once, so it is the pipeline's to call)
        more = assist(decided, analysis, more, opts.assist, ref=opts.leveling.reference_lufs,
                      leveling=opts.leveling, duck=opts.duck, duck_roles=opts.duck_roles,
                      block_size=opts.block_size)
    return decided, decisions + more, analysis


def mix_auto(session: Session, opts: AutoOptions, *, output: Path | None, format: str = "wav24",
             stems_dir: Path | None = None, stems_format: str = "wav24", premaster: Path | None = None,
             progress: Progress | None = None,
             decided: tuple[Session, list[Decision], Analysis] | None = None) -> AutoResult:
    """Analyse, decide, render the premaster once, run the master stage, write the mix (and stems).

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
        Writes the -6 dB premaster (:mod:`mixdown.master.premaster`): the mix before
        auto's loudness gain and limiter, true peak at -6 dBTP, 24-bit WAV.

    Returns
    -------
    AutoResult
    """
    t0 = time.perf_counter()
    s, decisions, analysis = decided or analyse_and_decide(session, opts, progress=progress)
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
    with scratch_dir(out_dir, "premaster") as tmpdir:
        tmp = Path(tmpdir)
        t1 = time.perf_counter()
        kw: dict[str, Any] = dict(speech=speech, stems=stems_dir is not None, keep_mix=premaster is not None,
                  block_size=opts.block_size, progress=progress)
        pre = premaster_pass(s, graph_final.output_latency, tmp, **kw)
        if pre.heard_dialogue_lufs is not None:
            follow = follow_dialogue(s, pre.heard_dialogue_lufs, opts.leveling.reference_lufs, opts.balance)
            if follow:
                # the other roles were balanced against the dialogue as leveled, before its chains and buses
                decisions += follow
                pre.delete()
                pre = premaster_pass(s, graph_final.output_latency, tmp, **kw)
        timing["premaster"] = time.perf_counter() - t1
        dialogue_gated = target.gating == "dialogue" and bool(speech)
        measured_pre = pre.dialogue_lufs if dialogue_gated else pre.lufs
        t2 = time.perf_counter()
        gain = loudness_gain(measured_pre, target.integrated_lufs, what="the premaster's loudness",
                             why="shorter than 400 ms, or silent below the -70 LUFS gate")
        ceiling = target.true_peak_dbtp - mp.margin_db - max(0.0, fader_max_db(s.master))
        one_pass = session_pass(s, user_master, pre.raw, params=mp, name=target.name, speech=speech, output=output,
                                format=format, protect=protect, block_size=opts.block_size, progress=progress,
                                keep=tmp / "mix.f32" if stems_dir is not None else None)
        stage = run_stage(one_pass, params=mp, gain=gain, ceiling=ceiling, goal=target.integrated_lufs,
                          spec_ceiling=target.true_peak_dbtp, dialogue=target.gating == "dialogue" and bool(speech))
        timing["master"] = time.perf_counter() - t2
        stems = None
        if stems_dir is not None:
            # at the gain as the master chain holds it (rounded to 0.001 dB there)
            stems = write_stems(pre.stems, stems_dir, gain_db=round(stage.gain_db, 3), fader=master_fader(stage.graph),
                                frames=pre.length, sample_rate=s.sample_rate, channels=s.channels, protect=protect,
                                mix=stage.output, format=stems_format)
        pm = None
        if premaster is not None:
            assert pre.mix is not None  # kept because a premaster was asked for (keep_mix)
            reader = pre.mix.reader()
            try:
                pm = write_premaster(reader.read, frames=pre.length, channels=s.channels, sample_rate=s.sample_rate,
                                     path=premaster, gain_db=premaster_gain(pre.true_peak, file=premaster),
                                     protect=protect)
            finally:
                reader.close()
    assert stage.ceiling_db is not None  # auto's stage always ends in its limiter
    s.master.chain = user_master + master_chain(stage.gain_db, stage.ceiling_db, mp)
    decisions += stage_decisions(stage, premaster_lufs=pre.lufs, premaster_dialogue_lufs=pre.dialogue_lufs,
                                 target=target, mp=mp, dialogue_gated=dialogue_gated, has_speech=bool(speech))
    result = AutoResult(session=s, decisions=decisions, analysis=analysis, output=output, measured=stage.result,
                        dialogue_gated_lufs=stage.dialogue_lufs, premaster_lufs=pre.lufs,
                        premaster_dialogue_lufs=pre.dialogue_lufs, gain_db=round(stage.gain_db, 3),
                        limiter_max_reduction_db=stage.reduction_db, passes=stage.passes, stems=stems,
                        premaster_file=pm)
    result.problems = _problems(stage, target, mp, dialogue_gated, stems, graph_final)
    if result.problems:
        action = ("target not fully met" if not result.compliant
                  else "limiting capped" if any(p.code == "limiting" for p in result.problems) else "note")
        decisions.append(Decision("warning", MASTER, action, "; ".join(p.message for p in result.problems)))
    timing["total"] = time.perf_counter() - t0
    result.timing = timing
    return result


def _problems(stage: StageOutcome, target: Target, mp: MasterParams, dialogue_gated: bool,
              stems: StemsReport | None, graph: Any) -> list[Problem]:
    what = "dialogue-gated loudness" if dialogue_gated else "integrated loudness"
    got = stage.dialogue_lufs if dialogue_gated else stage.result.integrated_lufs
    res = stage.result
    out: list[Problem] = []
    if got is None:
        out.append(Problem("undefined", "the output's loudness is undefined", fails=True))
    elif abs(got - target.integrated_lufs) > target.tolerance_lu:
        why = (f" because reaching it would take more than {mp.max_limiting_db:g} dB of limiting "
               f"(allow more with --max-limiting)") if stage.capped else ""
        out.append(Problem("loudness", f"{what} {got:.2f} LUFS misses the target {target.integrated_lufs:g} "
                                       f"±{target.tolerance_lu:g} LU{why}", fails=True))
    elif stage.capped:
        out.append(Problem("limiting", f"the target needed more than {mp.max_limiting_db:g} dB of limiting; it was "
                                       f"held at {mp.max_limiting_db:g} dB", fails=False))
    if res.true_peak_dbtp is not None and res.true_peak_dbtp > target.true_peak_dbtp:
        out.append(Problem("true_peak", f"true peak {res.true_peak_dbtp:.2f} dBTP is over the "
                                        f"{target.true_peak_dbtp:g} dBTP ceiling", fails=True))
    if stems is not None and stems.clipped:
        out.append(Problem("stems", f"stem(s) {', '.join(stems.clipped)} go over full scale at the mix's gain (the "
                                    "mix's limiter takes those peaks down) and are clipped in their 24-bit files; "
                                    "--stems-format wav32f keeps them", fails=False))
    if graph.tail_cut is not None:
        out.append(Problem("tail", graph.tail_cut.message(graph.sample_rate), fails=False))
    return out


def run_auto_job(job: Job, session: Session, progress: Progress | None) -> JobResult:
    """``Job(mode="auto")``: the mix (or video), stems, premaster, decided session and report."""
    tgt = get_target(job.target, lufs=job.lufs, true_peak=job.true_peak)
    opts = auto_options(tgt, job.options, block_size=job.block_size)
    output = Path(job.output) if job.output else None
    video_out = output is not None and output.suffix.lower() in VIDEO_SUFFIXES
    if video_out and job.video is None:
        raise MixdownError(f"{output}: writing a video needs a source video (whose picture is copied)")
    fmt = job.format or (None if output is None or video_out else
                         ("flac" if output.suffix.lower() == ".flac" else "wav24"))
    stems_dir = Path(job.stems) if job.stems else None
    stems_format = job.options.get("stems_format", "wav24")
    result = JobResult(job=job, target=tgt.to_json())
    where = output.parent if output is not None else Path.cwd()
    # a stems folder this run creates goes again if the run fails or is interrupted
    with removed_if_failed(missing_folders(stems_dir) if stems_dir else []), scratch_dir(where, "auto") as tmp:
        mix_path = Path(tmp) / "mix.wav" if video_out else output
        codec = None
        if video_out:
            from ..deliver.mux import check_video_copy, video_audio_format

            assert output is not None and job.video is not None
            codec = video_audio_format(output, job.options.get("codec"))
            check_video_copy(job.video, output)
        res = mix_auto(session, opts, output=mix_path, format="wav32f" if video_out else (fmt or "wav24"),
                       stems_dir=stems_dir, stems_format=stems_format,
                       premaster=Path(job.premaster) if job.premaster else None, progress=progress)
        if video_out:
            from ..deliver.video import deliver_video_after_auto

            assert output is not None and job.video is not None and mix_path is not None
            vrep = deliver_video_after_auto(mix_path, Path(job.video), output, target=tgt, codec=codec,
                                            speech=res.analysis.all_speech if tgt.gating == "dialogue" else None)
            if not vrep.compliant:
                res.problems += [Problem("video", p, fails=True, where=str(output))
                                 for p in vrep.problems or ["the video's audio misses the target"]]
            result.summary = res.to_json(tgt)
            result.summary["output"] = str(output)
            result.summary["video"] = vrep.to_json()
            measured = dict(vrep.outputs[0].measured) if vrep.outputs else {}
            result.outputs.append(OutputResult("video", str(output.resolve()), codec, measured, tgt.name,
                                               vrep.compliant, [str(output)]))
        else:
            result.summary = res.to_json(tgt)
            if output is not None:
                result.outputs.append(OutputResult("mix", str(output.resolve()), fmt, result.summary["measured"],
                                                   tgt.name, res.compliant, [str(output)]))
    _auto_outputs(job, res, result, stems_format)
    result.compliant = res.compliant
    result.problems = list(res.problems)
    result.decisions = [d.to_json() for d in res.decisions]
    result.timings.update(res.timing)
    result.duration_s = float(res.analysis.length / res.analysis.sample_rate)
    return result


def _auto_outputs(job: Job, res: AutoResult, result: JobResult, stems_format: str) -> None:
    """Stems, premaster, decided session and report, as outputs of the job."""
    from ..session import save_session
    from ..session.io import session_to_data

    if res.stems is not None:
        for path in res.stems.files.values():
            result.outputs.append(OutputResult("stems", str(Path(path).resolve()), stems_format, {}, None, None,
                                               [path]))
    if res.premaster_file is not None:
        pm = res.premaster_file
        result.outputs.append(OutputResult("premaster", str(Path(pm["path"]).resolve()), pm["format"],
                                           {k: pm[k] for k in ("true_peak_dbtp", "sample_peak_dbfs")}, None, None,
                                           [pm["path"]]))
    result.session = session_to_data(res.session)
    if job.save_session is not None:
        save_session(res.session, job.save_session)
        result.summary["session"] = str(job.save_session)
        result.outputs.append(OutputResult("session", str(Path(job.save_session).resolve())))
    if job.report is not None:
        from .reportdata import auto_report_data

        result.report = auto_report_data(res, job)
        result.summary["report"] = str(job.report)
