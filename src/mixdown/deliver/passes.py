"""The delivery's one read of its programme: the premaster, the role stems and the speech, measured.

From a session (:func:`premaster_from_graph`): one render with ``auto``'s stage
taken out; the master's output goes to a float scratch file, measured once per
output layout; the role stems the deliverables need (post-fader, aligned with the
master, times the master fader so they follow its fades) go to scratch files in
the same pass, and so does the speech detection for dialogue-gated specs (on the
dialogue stem; on the mix when no track has the dialogue role). From a rendered
mix (:func:`premaster_from_blocks`): the file's blocks, the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..analysis.loudness import LoudnessMeter
from ..master import layout_name, with_length
from ..media.channels import map_channels
from ..render.engine import Renderer
from ..render.envelopes import master_fader
from ..render.graph import stem_taps
from ..session.model import MASTER
from .context import Delivery, speech_stream
from .stages import max_stage_latency

__all__ = ["premaster_from_blocks", "premaster_from_graph"]


def _meters(ctx: Delivery) -> dict[int, LoudnessMeter]:
    return {c: LoudnessMeter(ctx.sr, c, layout=layout_name(c), true_peak=False) for c in ctx.measure_layouts()}


def _wanted_roles(ctx: Delivery, present: dict[str, Any]) -> set[str]:
    wanted: set[str] = set()
    for it in ctx.items:
        if it.kind == "stems":
            wanted |= set(it.roles or present)
        elif it.kind == "me":
            wanted |= set(it.roles)
    return wanted


def premaster_from_graph(ctx: Delivery, graph: Any) -> None:
    """Render once: premaster, stems and speech to ``ctx``; the premaster measured per layout."""
    length = ctx.length
    present = stem_taps(graph)
    wanted = _wanted_roles(ctx, present)
    taps = {r: names for r, names in present.items() if r in wanted}
    speech_src = None
    if ctx.needs_speech:
        if "dialogue" in present:
            taps.setdefault("dialogue", present["dialogue"])
            speech_src = "dialogue"
        else:
            speech_src = MASTER
    ctx.premaster = ctx.tmp("premaster", ctx.channels)
    for role in taps:
        if role in wanted:
            ctx.stems[role] = ctx.tmp(f"stem-{role}", ctx.channels)
    meters = _meters(ctx)
    vad = speech_stream(ctx.sr, ctx.vad_method) if speech_src else None
    fader = master_fader(graph)
    extra, consume = ctx.observe(graph) if ctx.observe is not None else ({}, None)
    if extra:
        taps = {**taps, **extra}
    ctx.progress.plan(1)
    # the premaster runs on for the longest stage's latency (a copy: the shared graph keeps its length)
    for pos, block, tap in Renderer(with_length(graph, length + max_stage_latency(ctx)), block_size=ctx.block,
                                    taps=taps).blocks():
        ctx.premaster.write(block)
        keep = max(0, min(block.shape[1], length - pos))
        if keep == 0:
            continue
        b = block[:, :keep]
        if consume is not None:
            consume(b, {name: tap[name][:, :keep] for name in extra})
        for c, meter in meters.items():
            meter.process(b if c == ctx.channels else map_channels(b, c))
        if ctx.stems:
            amp = fader(pos, keep)
            for role, raw in ctx.stems.items():
                x = tap[role][:, :keep]
                raw.write(x if amp is None else x * amp)
        if vad is not None:
            assert speech_src is not None  # a speech detector runs only with a source to listen to
            vad.push(tap[speech_src][:, :keep] if speech_src != MASTER else b)
        ctx.progress.advance(keep)
    _finish(ctx, meters, vad)


def _finish(ctx: Delivery, meters: dict[int, LoudnessMeter], vad: Any,
            speech: list[tuple[int, int]] | None = None) -> None:
    assert ctx.premaster is not None
    ctx.premaster.finish()
    for raw in ctx.stems.values():
        raw.finish()
    if speech is not None:
        ctx.speech = list(speech)
    elif vad is not None:
        t0 = time.perf_counter()
        ctx.speech = vad.regions()
        ctx.timing["speech"] = time.perf_counter() - t0
    for c, meter in meters.items():
        ctx.pre[c] = (meter.result().integrated_lufs, meter.integrated_over(ctx.speech) if ctx.speech else None)


def premaster_from_blocks(ctx: Delivery, blocks: Iterable[np.ndarray], *,
                          speech: list[tuple[int, int]] | None) -> int:
    """A rendered mix's blocks as the premaster, measured per layout; its length, samples.

    ``speech`` (regions, samples) is used as given; without it, dialogue-gated specs run the VAD.
    """
    ctx.premaster = ctx.tmp("premaster", ctx.channels)
    meters = _meters(ctx)
    vad = speech_stream(ctx.sr, ctx.vad_method) if ctx.needs_speech and speech is None else None
    ctx.progress.plan(1)
    n = 0
    for x in blocks:
        ctx.premaster.write(x)
        for c, meter in meters.items():
            meter.process(x if c == ctx.channels else map_channels(x, c))
        if vad is not None:
            vad.push(x)
        n += x.shape[1]
        ctx.progress.advance(x.shape[1])
    ctx.length = n
    if n:
        _finish(ctx, meters, vad, speech)
    else:
        ctx.premaster.finish()
    return n

