"""The master stage: loudness gain + true-peak limiter over a premaster, measured and corrected.

Measure-then-apply, as ffmpeg-normalize does, but exact: the premaster (everything
before the stage) is rendered once and measured; one static gain takes it to the
target; a true-peak limiter (oversampled detection, lookahead) holds the ceiling.
The output is measured; if the limiter cost loudness, or a true peak is over the
ceiling, the gain and the ceiling are corrected and the stage runs again (a read
of the premaster, not a render) until the output is on target or the passes run
out. If reaching the target would take more limiting than ``max_limiting_db``,
the gain is held there and the caller says by how much the target is missed.

One loop (:func:`run_stage`) serves both users; what differs is one pass:

- :func:`session_pass` (``auto``): the premaster is the master's *input*; a pass
  renders the session's master strip over it (the person's master chain, the
  stage, the fader with its automation) and can write the output file directly.
- :func:`chain_pass` (``deliver``): the premaster is the master's *output*; a pass
  runs the stage's processors over it (downmixed to the deliverable's layout)
  into a float scratch file that the encoders read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.loudness import LoudnessMeter
from ..analysis.qc import CLIP_LEVEL, ClipRuns, QCLimits
from ..dsp.base import create
from ..errors import TargetError
from ..media.channels import map_channels
from ..media.scratch import ScratchAudio
from ..media.write import AudioWriter
from ..render.engine import DEFAULT_BLOCK, Renderer
from ..render.graph import check
from ..render.sink import BackgroundSink
from ..session.model import MASTER, Master, ProcessorSpec, Session

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BLOCK_SIZE", "GAIN_ID", "LIMITER_ID", "Correction", "LoudnessUndefinedError", "MasterParams",
           "PassOutcome", "StageOutcome", "StageRangeError", "chain_pass", "fader_max_db", "loudness_gain",
           "master_chain", "next_pass", "run_stage", "session_pass", "stage_processors"]

#: Frames per block for every streaming pass of the package (memory, never output, depends on it).
BLOCK_SIZE = DEFAULT_BLOCK
GAIN_ID = "auto-loudness"
LIMITER_ID = "auto-limiter"
CLIP_RUN = QCLimits().clip_run
_LAYOUT_NAMES = {1: "mono", 2: "stereo", 6: "5.1"}


class LoudnessUndefinedError(TargetError):
    """The premaster's loudness is undefined, so no loudness gain can be computed."""


class StageRangeError(TargetError):
    """The gain or ceiling the target needs is out of the processors' ranges."""


@dataclass(frozen=True)
class MasterParams:
    """Options of the master stage.

    Attributes
    ----------
    lookahead_ms : float
        Limiter lookahead (its latency; compensated), ms.
    release_ms : float
        Limiter release, ms.
    margin_db : float
        The limiter's ceiling sits this far under the spec's ceiling, so that the
        meter's true-peak reading (a different interpolator) stays under it too, dB.
    max_limiting_db : float
        Most gain reduction accepted to reach the target, dB.
    tolerance_lu : float
        The stage is run again until the output is this close to the target, LU.
    max_passes : int
    """

    lookahead_ms: float = 5.0
    release_ms: float = 80.0
    margin_db: float = 0.1
    max_limiting_db: float = 6.0
    tolerance_lu: float = 0.05
    max_passes: int = 4


@dataclass(frozen=True)
class Correction:
    """What the stage changes after a pass.

    Attributes
    ----------
    gain_db, ceiling_db : float
        Loudness gain and limiter ceiling for the next pass, dB / dBTP.
    capped : bool
        The gain is held at ``max_limiting_db`` of limiting.
    retry : bool
        Another pass is wanted.
    """

    gain_db: float
    ceiling_db: float
    capped: bool
    retry: bool


@dataclass
class PassOutcome:
    """One pass of the stage, measured.

    Attributes
    ----------
    result : LoudnessResult
        The output measured (true peak on).
    dialogue_lufs : float or None
        Its loudness over the speech regions, LUFS.
    reduction_db : float
        Most gain reduction of the limiter, dB.
    limited_samples : int
    clipped_runs, clipped_samples : int
        Runs of clipped samples in the output (the QC's detector; :func:`chain_pass` only).
    graph : Graph or None
        The graph of the pass (:func:`session_pass`: for the master fader and its latency).
    output : ScratchAudio or None
        The output as float, when kept.
    commit, discard : callable
        Keep this pass's files (it is accepted), or remove them (it is not).
    """

    result: Any
    dialogue_lufs: float | None
    reduction_db: float
    limited_samples: int = 0
    clipped_runs: int = 0
    clipped_samples: int = 0
    graph: Any = None
    output: ScratchAudio | None = None
    commit: Callable[[], None] = field(default=lambda: None, repr=False)
    discard: Callable[[], None] = field(default=lambda: None, repr=False)


@dataclass
class StageOutcome:
    """The accepted pass of the master stage.

    Attributes
    ----------
    gain_db, ceiling_db : float
        Loudness gain (dB) and limiter ceiling (dBTP) the output was made with.
    capped : bool
        The gain was held back at ``max_limiting_db`` of limiting.
    passes : int
    result : LoudnessResult
    dialogue_lufs : float or None
    reduction_db : float
    limited_samples, clipped_runs, clipped_samples : int
    graph : Graph or None
    output : ScratchAudio or None
        The accepted output as float, when kept.
    """

    gain_db: float
    ceiling_db: float | None
    capped: bool
    passes: int
    result: Any
    dialogue_lufs: float | None
    reduction_db: float
    limited_samples: int = 0
    clipped_runs: int = 0
    clipped_samples: int = 0
    graph: Any = None
    output: ScratchAudio | None = None

    @classmethod
    def of(cls, p: PassOutcome, *, gain_db: float, ceiling_db: float | None, capped: bool,
           passes: int) -> StageOutcome:
        return cls(gain_db=gain_db, ceiling_db=ceiling_db, capped=capped, passes=passes, result=p.result,
                   dialogue_lufs=p.dialogue_lufs, reduction_db=p.reduction_db, limited_samples=p.limited_samples,
                   clipped_runs=p.clipped_runs, clipped_samples=p.clipped_samples, graph=p.graph, output=p.output)


def layout_name(channels: int) -> str:
    """``mono``, ``stereo``, ``5.1`` or ``<n>ch``."""
    return _LAYOUT_NAMES.get(channels, f"{channels}ch")


def master_chain(gain_db: float, ceiling_db: float, params: MasterParams) -> list[ProcessorSpec]:
    """The stage as session entries: loudness gain, then the true-peak limiter (as ``auto`` writes them)."""
    return [
        ProcessorSpec(type="gain", id=GAIN_ID, gain_db=round(gain_db, 3)),
        ProcessorSpec(type="limiter", id=LIMITER_ID, ceiling_db=round(ceiling_db, 3), true_peak=True,
                      lookahead_ms=params.lookahead_ms, release_ms=params.release_ms),
    ]


def stage_processors(gain_db: float, ceiling_db: float, params: MasterParams, *, name: str) -> list[Any]:
    """The stage as processors (the same values as :func:`master_chain`).

    Raises
    ------
    StageRangeError
        When the gain or the ceiling is out of the processors' ranges (``name`` is the target's).
    """
    try:
        return [create(s.type, **s.params) for s in master_chain(gain_db, ceiling_db, params)]
    except ValueError as exc:
        raise StageRangeError(f"{name}: the master stage cannot be built ({exc}); the mix is too quiet "
                              "or too loud for this target") from None


def loudness_gain(measured: float | None, goal: float, *, what: str, why: str) -> float:
    """Static gain from a measured loudness to ``goal``, dB.

    Raises
    ------
    LoudnessUndefinedError
        When the loudness is undefined: ``what`` names it, ``why`` says why it can be.
    """
    if measured is None:
        raise LoudnessUndefinedError(f"{what} is undefined ({why}), so no loudness gain can be computed")
    return goal - measured


def fader_max_db(master: Master) -> float:
    """Highest gain the master fader reaches (hand + auto layer, static + keyframes), dB."""
    peak = 0.0
    for keys in (master.automation.get("gain_db"), master.auto.automation.get("gain_db")):
        if keys:
            peak += max(k.v for k in keys)
    return master.gain_db + master.auto.gain_db + peak


def next_pass(params: MasterParams, *, got: float | None, goal: float, over_tp: float, limited_db: float,
              gain: float, ceiling: float, capped: bool) -> Correction:
    """What the stage changes after a pass.

    Parameters
    ----------
    got : float or None
        Loudness the pass measured, LUFS (None: undefined).
    goal : float
        Loudness wanted, LUFS.
    over_tp : float
        Measured true peak minus the spec's ceiling, dB (> 0: over).
    limited_db : float
        Largest gain reduction the limiter applied, dB.
    gain, ceiling : float
        This pass's loudness gain (dB) and limiter ceiling (dBTP).
    capped : bool
        The gain is already held at ``max_limiting_db`` of limiting.

    More than ``tolerance_lu`` off moves the gain by the miss (unless capped); a
    true peak over the ceiling lowers the limiter's ceiling by the overshoot and
    0.05 dB more; more than ``max_limiting_db`` of limiting takes the excess off the
    gain and caps it there (the target is then missed, which the caller reports).
    """
    retry = False
    if got is not None and not capped and abs(got - goal) > params.tolerance_lu:
        gain += goal - got
        retry = True
    if over_tp > 0:
        ceiling -= over_tp + 0.05
        retry = True
    if limited_db > params.max_limiting_db + 0.05 and not capped:
        gain -= limited_db - params.max_limiting_db
        capped = True
        retry = True
    return Correction(gain, ceiling, capped, retry)


def run_stage(run_pass: Callable[[float, float], PassOutcome], *, params: MasterParams, gain: float,
              ceiling: float, goal: float, spec_ceiling: float, dialogue: bool) -> StageOutcome:
    """Run passes until the output is on target (or the passes run out).

    Parameters
    ----------
    run_pass : callable
        ``run_pass(gain_db, ceiling_dbtp) -> PassOutcome``: one pass (:func:`session_pass`, :func:`chain_pass`).
    gain, ceiling : float
        The first pass's loudness gain (dB) and limiter ceiling (dBTP).
    goal : float
        Loudness wanted, LUFS.
    spec_ceiling : float
        The true peak the output must stay under, dBTP.
    dialogue : bool
        Judge the loudness over the speech regions (else integrated).

    Returns
    -------
    StageOutcome
        Corrections are taken only by a pass that renders them: when the passes run
        out, the gain and the ceiling are the ones the output was made with.
    """
    capped = False
    attempt = 0
    while True:
        attempt += 1
        p = run_pass(gain, ceiling)
        got = p.dialogue_lufs if dialogue else p.result.integrated_lufs
        tp = p.result.true_peak_dbtp
        over_tp = (tp if tp is not None else -200.0) - spec_ceiling
        c = next_pass(params, got=got, goal=goal, over_tp=over_tp, limited_db=p.reduction_db, gain=gain,
                      ceiling=ceiling, capped=capped)
        if c.retry and attempt < params.max_passes:
            p.discard()
            gain, ceiling, capped = c.gain_db, c.ceiling_db, c.capped
            continue
        p.commit()
        return StageOutcome.of(p, gain_db=gain, ceiling_db=ceiling, capped=capped, passes=attempt)


def session_pass(s: Session, user_master: list[ProcessorSpec], premaster: ScratchAudio, *, params: MasterParams,
                 name: str, speech: list[tuple[int, int]], output: Path | None, format: str, protect: set[Path],
                 block_size: int = BLOCK_SIZE, progress: Any = None,
                 keep: Path | None = None) -> Callable[[float, float], PassOutcome]:
    """A pass over the master's input: the session's master strip with the stage in its chain.

    Parameters
    ----------
    s : Session
        The decided session (not changed: each pass renders a copy).
    user_master : list of ProcessorSpec
        The person's master chain; the stage goes after it.
    premaster : ScratchAudio
        The master's input, latency-aligned with the final output.
    output : Path, optional
        Written by every pass, committed by the accepted one.
    keep : Path, optional
        Also keep the output there as float (the stems' residual is measured on it).
    """

    def run(gain: float, ceiling: float) -> PassOutcome:
        stage_processors(gain, ceiling, params, name=name)  # the same range check as chain_pass
        s_final = s.copy_session()
        s_final.master.chain = user_master + master_chain(gain, ceiling, params)
        graph = check(s_final)
        in_lat = graph.strips[MASTER].input_latency
        meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
        reader = premaster.reader()

        def premastered(pos: int, n: int, r: Any = reader) -> np.ndarray:
            return r.read(pos - in_lat, n)

        renderer = Renderer(graph, block_size=block_size, premaster=premastered)
        writer = None if output is None else AudioWriter(output, sample_rate=graph.sample_rate,
                                                         channels=graph.channels, format=format, protect=protect,
                                                         frames=graph.length)
        mix = None if keep is None else ScratchAudio(keep, graph.channels)

        def discard() -> None:
            if writer is not None:
                writer.abort()
            if mix is not None:
                mix.delete()

        def commit() -> None:
            if writer is not None:
                writer.commit()
            if mix is not None:
                mix.finish()

        consumers = [meter.process] + ([writer.write] if writer is not None else []) + ([mix.write] if mix else [])
        try:
            with BackgroundSink(*consumers) as sink:
                for _, block, _ in renderer.blocks(progress=progress):
                    sink.put(block)
        except BaseException:
            discard()
            raise
        finally:
            reader.close()
        limiter = graph.strips[MASTER].chain[-1]
        return PassOutcome(result=meter.result(), dialogue_lufs=meter.integrated_over(speech) if speech else None,
                           reduction_db=float(getattr(limiter, "max_reduction_db", 0.0)),
                           limited_samples=int(getattr(limiter, "limited_samples", 0)), graph=graph, output=mix,
                           commit=commit, discard=discard)

    return run


def chain_pass(premaster: ScratchAudio, processors: Callable[[float, float], list[Any]], *, length: int,
               sample_rate: int, channels: int, speech: list[tuple[int, int]] | None,
               scratch: Callable[[], ScratchAudio] | None, block_size: int = BLOCK_SIZE,
               advance: Callable[[int], None] = lambda n: None) -> Callable[[float, float], PassOutcome]:
    """A pass over the master's output: premaster -> layout -> processors; measured, optionally kept.

    Parameters
    ----------
    premaster : ScratchAudio
        The master's output (any layout :func:`~mixdown.media.channels.map_channels` maps to ``channels``).
    processors : callable
        ``processors(gain_db, ceiling_dbtp) -> list of Processor`` (:func:`stage_processors`,
        or a session's own stage, which ignores both).
    length : int
        Programme length, samples: the output is exactly that long (latency compensated).
    channels : int
        The output's channels.
    speech : list of (int, int), optional
        Speech regions, samples, for the dialogue-gated loudness.
    scratch : callable, optional
        Makes the scratch file the output is kept in (None: measured only).
    advance : callable
        ``advance(frames)`` for progress.
    """

    def run(gain: float, ceiling: float) -> PassOutcome:
        procs = processors(gain, ceiling)
        for p in procs:
            p.prepare(sample_rate, block_size, channels)
        lat = sum(p.latency for p in procs)
        meter = LoudnessMeter(sample_rate, channels, layout=layout_name(channels) if channels in (1, 2, 6) else None)
        clips = ClipRuns(channels, level=CLIP_LEVEL, run=CLIP_RUN)
        out = scratch() if scratch is not None else None
        with premaster.reader() as rd:
            pos = emitted = 0
            end = length + lat
            while pos < end:
                n = min(block_size, end - pos)
                x = rd.read(pos, n)
                if x.shape[0] != channels:
                    x = map_channels(x, channels)
                for p in procs:
                    x = p.process(x, pos)
                lo = max(0, lat - pos)
                y = x[:, lo:lo + max(0, length - emitted)]
                if y.shape[1]:
                    meter.process(y)
                    clips.process(y)
                    if out is not None:
                        out.write(y)
                    emitted += y.shape[1]
                    advance(y.shape[1])
                pos += n
        clips.finish()
        if out is not None:
            out.finish()
        limiter = procs[-1] if procs and getattr(procs[-1], "kind", "") == "limiter" else None
        return PassOutcome(result=meter.result(), dialogue_lufs=meter.integrated_over(speech) if speech else None,
                           reduction_db=float(getattr(limiter, "max_reduction_db", 0.0)) if limiter else 0.0,
                           limited_samples=int(getattr(limiter, "limited_samples", 0)) if limiter else 0,
                           clipped_runs=clips.runs, clipped_samples=clips.samples, output=out,
                           discard=out.delete if out is not None else (lambda: None))

    return run


def stage_latency(processors: list[Any], *, sample_rate: int, channels: int, block_size: int = BLOCK_SIZE) -> int:
    """Latency of a stage's processors, samples (a premaster must run on for it)."""
    for p in processors:
        p.prepare(sample_rate, block_size, channels)
    return sum(p.latency for p in processors)


def with_length(graph: Any, length: int) -> Any:
    """A shallow copy of a compiled graph that renders ``length`` samples (the shared graph is not changed)."""
    return dataclasses.replace(graph, length=length)
