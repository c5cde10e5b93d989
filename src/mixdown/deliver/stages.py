"""One master stage per spec over the delivery's premaster (:mod:`mixdown.master` does the loop).

Deliverables that share a spec (target, layout, true-peak ceiling) share a stage;
it costs a read of the premaster, not a render. A deliverable without a target
gets the session's own stage (the ``auto`` entries taken out of the render), or none.
"""

from __future__ import annotations

import time
from typing import Any

from ..dsp.base import create
from ..master import (
    StageOutcome,
    chain_pass,
    layout_name,
    loudness_gain,
    run_stage,
    stage_latency,
    stage_processors,
)
from .context import Delivery
from .plan import Item, StageKey

__all__ = ["max_stage_latency", "run_loop", "stage", "stage_problems", "stems_gain"]


def _processors(ctx: Delivery, key: StageKey, gain: float, ceiling: float) -> list[Any]:
    if key.target is None:
        return [create(s.type, **s.params) for s in ctx.asis]
    return stage_processors(gain, ceiling, ctx.master, name=key.target.name)


def max_stage_latency(ctx: Delivery) -> int:
    """Latency of the longest master stage (the premaster must cover it), samples."""
    lat = 0
    for key in {it.key for it in ctx.items}:
        procs = _processors(ctx, key, 0.0, key.ceiling or -1.0)
        lat = max(lat, stage_latency(procs, sample_rate=ctx.sr, channels=key.channels, block_size=ctx.block))
    return lat


def _pass(ctx: Delivery, key: StageKey, *, keep: bool) -> Any:
    assert ctx.premaster is not None
    one = chain_pass(ctx.premaster, lambda g, c: _processors(ctx, key, g, c), length=ctx.length, sample_rate=ctx.sr,
                     channels=key.channels, speech=ctx.speech,
                     scratch=(lambda: ctx.tmp("stage", key.channels)) if keep else None, block_size=ctx.block,
                     advance=ctx.progress.advance)

    def run(gain: float, ceiling: float) -> Any:
        ctx.progress.plan(1)
        return one(gain, ceiling)

    return run


def stage(ctx: Delivery, key: StageKey, *, keep: bool = True) -> StageOutcome:
    """The accepted master stage of a spec (run on first use); ``keep`` its output for encoding.

    Raises
    ------
    LoudnessUndefinedError
        When the premaster's loudness for the spec is undefined.
    """
    if key in ctx.stages:
        return ctx.stages[key]
    t0 = time.perf_counter()
    if key.target is None:
        p = _pass(ctx, key, keep=keep)(0.0, 0.0)
        st = StageOutcome.of(p, gain_db=static_gain(ctx), ceiling_db=None, capped=False, passes=1)
        ctx.stages[key] = st
        ctx.timing[f"stage {key.channels}ch as-is"] = time.perf_counter() - t0
        return st
    target = key.target
    assert key.ceiling is not None
    pre, pre_dlg = ctx.pre[key.channels]
    dialogue = target.gating == "dialogue"
    what = "dialogue-gated loudness" if dialogue else "integrated loudness"
    why = "no speech was found" if dialogue and not ctx.speech else "silent, or shorter than 400 ms"
    gain = loudness_gain(pre_dlg if dialogue else pre, target.integrated_lufs, what=f"{target.name}: the mix's {what}",
                         why=why)
    st = run_loop(ctx, key, gain=gain, ceiling=key.ceiling - ctx.master.margin_db, goal=target.integrated_lufs,
                  keep=keep)
    ctx.stages[key] = st
    ctx.timing[f"stage {target.name} {layout_name(key.channels)} {key.ceiling:g} dBTP"] = time.perf_counter() - t0
    return st


def run_loop(ctx: Delivery, key: StageKey, *, gain: float, ceiling: float, goal: float, keep: bool) -> StageOutcome:
    """Gain + limiter until the output is ``goal`` LUFS (:func:`mixdown.master.run_stage`)."""
    target = key.target
    assert target is not None and key.ceiling is not None
    return run_stage(_pass(ctx, key, keep=keep), params=ctx.master, gain=gain, ceiling=ceiling, goal=goal,
                     spec_ceiling=key.ceiling, dialogue=target.gating == "dialogue")


def stage_problems(st: StageOutcome, it: Item, ctx: Delivery) -> list[str]:
    """What a stage's output falls short of (limiting held at its cap)."""
    if not st.capped or it.target is None:
        return []
    mp = ctx.master
    return [(f"reaching {it.target.integrated_lufs:g} LUFS needed more than {mp.max_limiting_db:g} dB "
             f"of limiting; limiting was held at {mp.max_limiting_db:g} dB")]


def static_gain(ctx: Delivery) -> float:
    """Static gain of the session's own master stage (the ``auto-loudness`` entries), dB."""
    return float(sum(float(s.params.get("gain_db", 0.0)) for s in ctx.asis if s.type == "gain"))


def stems_gain(ctx: Delivery, it: Item) -> tuple[float, str]:
    """Loudness gain the stems of ``it`` are written at (dB), and where it comes from."""
    if it.target is not None:
        key = StageKey(it.target, it.channels, it.target.true_peak_dbtp)
        return stage(ctx, key, keep=False).gain_db, f"the {it.target.name} mix's gain"
    for other in ctx.items:
        if other.kind in ("mix", "video") and other.target is not None:
            return (stage(ctx, other.key, keep=False).gain_db,
                    f"the gain of the {other.target.name} mix ({other.path.name})")
    return static_gain(ctx), "the session's own master gain"
