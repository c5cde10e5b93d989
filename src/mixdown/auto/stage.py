"""auto's master stage: loudness gain and true-peak limiter over the premaster, measured and corrected.

The premaster (the master's input, rendered once to a scratch file) is run
through the session's own master chain, auto's gain and limiter, and the master
fader; the output is measured; the gain and the ceiling are corrected and the
stage runs again (it costs a read of the premaster, not a render) until the
output is on target or the passes run out (:func:`~mixdown.auto.loudness.next_pass`).
The fader comes after the limiter, so a fader above 0 dB would lift peaks over
the ceiling: the limiter's ceiling starts that much lower.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..media.scratch import ScratchAudio
from ..render.engine import Renderer
from ..render.graph import check
from ..render.sink import BackgroundSink
from ..session.model import MASTER, Master, ProcessorSpec, Session
from .loudness import MasterParams, master_chain, next_pass


@dataclass
class StageOutcome:
    """The accepted pass of the master stage.

    Attributes
    ----------
    gain_db, ceiling_db : float
        Loudness gain and limiter ceiling the output was made with.
    capped : bool
        The gain was held back at ``max_limiting_db`` of limiting.
    passes : int
    result : LoudnessResult
        The output measured.
    dialogue_lufs : float or None
        Its loudness over the speech regions.
    reduction_db : float
        Most gain reduction of the limiter.
    limited_samples : int
    graph : Graph
        The graph of the accepted pass (for the master fader and its latency).
    mix : ScratchAudio or None
        The output as float, when asked for (the stems' residual is measured on it).
    """

    gain_db: float
    ceiling_db: float
    capped: bool
    passes: int
    result: Any
    dialogue_lufs: float | None
    reduction_db: float
    limited_samples: int
    graph: Any
    mix: ScratchAudio | None = None


def fader_max_db(master: Master) -> float:
    """Highest gain the master fader reaches (hand + auto layer, static + keyframes), dB."""
    peak = 0.0
    for keys in (master.automation.get("gain_db"), master.auto.automation.get("gain_db")):
        if keys:
            peak += max(k.v for k in keys)
    return master.gain_db + master.auto.gain_db + peak


def run_stage(s: Session, user_master: list[ProcessorSpec], pre: ScratchAudio, *, target: Any, params: MasterParams,
              gain: float, speech: list[tuple[int, int]], output: Path | None, format: str, protect: set[Path],
              block_size: int, progress: Any = None, keep_mix: Path | None = None) -> StageOutcome:
    """Run the master stage until it is on target (or the passes run out); write ``output`` from the last pass.

    Parameters
    ----------
    s : Session
        The decided session; its master chain is set to ``user_master`` + auto's stage per pass.
    pre : ScratchAudio
        The premaster (master input), latency-aligned with the final output.
    gain : float
        First loudness gain, dB.
    keep_mix : Path, optional
        Also keep the accepted pass's output there as float (for the stems' residual).
    """
    from ..analysis.loudness import LoudnessMeter
    from ..media.write import AudioWriter

    ceiling = target.true_peak_dbtp - params.margin_db - max(0.0, fader_max_db(s.master))
    capped = False
    for attempt in range(1, params.max_passes + 1):
        s_final = s.copy_session()
        s_final.master.chain = user_master + master_chain(gain, ceiling, params)
        graph = check(s_final)
        in_lat = graph.strips[MASTER].input_latency
        meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
        reader = pre.reader()
        renderer = Renderer(graph, block_size=block_size, premaster=lambda pos, n, r=reader: r.read(pos - in_lat, n))
        writer = None if output is None else AudioWriter(output, sample_rate=graph.sample_rate,
                                                         channels=graph.channels, format=format, protect=protect,
                                                         frames=graph.length)
        mix = None if keep_mix is None else ScratchAudio(keep_mix, graph.channels)
        consumers = [meter.process] + ([writer.write] if writer is not None else []) + ([mix.write] if mix else [])
        try:
            with BackgroundSink(*consumers) as sink:
                for _, block, _ in renderer.blocks(progress=progress):
                    sink.put(block)
        except BaseException:
            if writer is not None:
                writer.abort()
            if mix is not None:
                mix.delete()
            raise
        finally:
            reader.close()
        limiter = graph.strips[MASTER].chain[-1]
        res = meter.result()
        got_dlg = meter.integrated_over(speech) if speech else None
        got = got_dlg if target.gating == "dialogue" and speech else res.integrated_lufs
        gr = float(getattr(limiter, "max_reduction_db", 0.0))
        over_tp = (res.true_peak_dbtp or -200) - target.true_peak_dbtp
        nxt = next_pass(params, got=got, goal=target.integrated_lufs, over_tp=over_tp, limited_db=gr,
                        gain=gain, ceiling=ceiling, capped=capped)
        # corrections are taken only by a pass that renders them: when passes run out,
        # gain and ceiling stay the ones the output was made with
        if nxt[3] and attempt < params.max_passes:
            gain, ceiling, capped = nxt[:3]
            if writer is not None:
                writer.abort()
            if mix is not None:
                mix.delete()
            continue
        if writer is not None:
            writer.commit()
        if mix is not None:
            mix.finish()
        return StageOutcome(gain_db=gain, ceiling_db=ceiling, capped=capped, passes=attempt, result=res,
                            dialogue_lufs=got_dlg, reduction_db=gr,
                            limited_samples=int(getattr(limiter, "limited_samples", 0)), graph=graph, mix=mix)
    raise AssertionError("unreachable: the last pass always returns")  # pragma: no cover
