"""Mix and video deliverables: encoded from their stage's output, muxed, verified, judged.

Every file of a stage is written in one read of the stage's output. Every lossy
file (MP3, AAC, Opus, and the audio of every video) is decoded again and measured;
if its true peak is over the spec's ceiling (codec overshoot) or its loudness is off
the target by more than :func:`lossy_retry_lu`, the stage is run again for it (the
limiter lowered by the overshoot plus :data:`OVERSHOOT_MARGIN_DB`, the loudness aimed
past the target by what the codec took away) and it is encoded again, at most
:data:`LOSSY_PASSES` times. Lossless files are measured while they are written.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np

from ..master import StageOutcome, layout_name
from ..targets import Target
from .check import Measurement, evaluate, measure_media
from .context import Delivery
from .encode import open_encoder
from .formats import encode_rate
from .mux import mux_video
from .plan import Item
from .stages import run_loop, stage, stage_problems

__all__ = ["LOSSY_PASSES", "LOSSY_RETRY_MAX_LU", "OVERSHOOT_MARGIN_DB", "encode_group", "lossy_retry_lu"]

#: A lossy file is encoded again when its loudness is off by more than half the spec's
#: tolerance, and at most by this much, LU (R128's +-0.2 LU: 0.1; streaming's +-1 LU: 0.5).
LOSSY_RETRY_MAX_LU = 0.5
#: Encodes of one lossy file at most (the first and the corrections).
LOSSY_PASSES = 4
#: Extra ceiling drop on top of a measured overshoot, dB.
OVERSHOOT_MARGIN_DB = 0.1


def lossy_retry_lu(target: Target) -> float:
    """Loudness error that makes a lossy file be encoded again, LU (see :data:`LOSSY_RETRY_MAX_LU`)."""
    return min(LOSSY_RETRY_MAX_LU, target.tolerance_lu / 2)


def encode_group(ctx: Delivery, items: list[Item]) -> None:
    """Write every mix file of one stage in one read of its output; mux its videos; verify and judge all."""
    st = stage(ctx, items[0].key)
    assert st.output is not None
    files = [it for it in items if it.kind == "mix"]
    if files:
        _encode_files(ctx, st, files)
    for it in items:
        if it.kind == "video":
            _mux(ctx, it, st)
    for it in items:
        _finish(ctx, it, st)


def _encode_files(ctx: Delivery, st: StageOutcome, files: list[Item]) -> None:
    assert st.output is not None
    t0 = time.perf_counter()
    ctx.progress.plan(1)
    encs = []
    spent = [0.0] * len(files)  # each encoder's own time, for the report
    clock = time.perf_counter
    try:
        for it in files:
            encs.append(_open(ctx, it))
        with st.output.reader() as rd:
            for pos in range(0, ctx.length, ctx.block):
                n = min(ctx.block, ctx.length - pos)
                x = rd.read(pos, n)
                for i, e in enumerate(encs):
                    t = clock()
                    e.write(x)
                    spent[i] += clock() - t
                ctx.progress.advance(n)
        for i, (it, e) in enumerate(zip(files, encs, strict=True)):
            t = clock()
            if it.fmt == "bwf":
                e.commit(loudness=st.result)
            else:
                e.commit()
            spent[i] += clock() - t
    except BaseException:
        for e in encs:
            with contextlib.suppress(Exception):
                e.abort()
        raise
    shared = (time.perf_counter() - t0 - sum(spent)) / len(files)  # reading the stage's output
    for it, own in zip(files, spent, strict=True):
        it.report.encodes += 1
        it.report.seconds += own + shared


def _open(ctx: Delivery, it: Item) -> Any:
    meta = {k: v for k, v in (("title", it.d.title), ("language", it.d.language)) if v}
    enc = open_encoder(it.path, format=it.fmt, sample_rate=ctx.sr, channels=it.channels, bitrate=it.d.bitrate,
                       protect=ctx.protect, metadata=meta, bext_description=it.d.title or ctx.description,
                       time_reference=ctx.time_reference, measure_bwf=False, frames=ctx.length)
    it.report.sample_rate = encode_rate(it.fmt, ctx.sr) if it.lossy else ctx.sr
    return enc


def _encode_one(ctx: Delivery, it: Item, st: StageOutcome) -> None:
    """Encode one file again from a corrected stage."""
    assert st.output is not None
    t0 = time.perf_counter()
    ctx.progress.plan(1)
    enc = _open(ctx, it)
    try:
        with st.output.reader() as rd:
            for pos in range(0, ctx.length, ctx.block):
                n = min(ctx.block, ctx.length - pos)
                enc.write(rd.read(pos, n))
                ctx.progress.advance(n)
        enc.commit()
    except BaseException:
        enc.abort()
        raise
    it.report.encodes += 1
    it.report.seconds += time.perf_counter() - t0


def _mux(ctx: Delivery, it: Item, st: StageOutcome) -> None:
    assert st.output is not None and it.video is not None
    ctx.progress.plan(1)
    with st.output.reader() as rd:
        def source(pos: int, n: int) -> np.ndarray:
            ctx.progress.advance(n)
            return rd.read(pos, n)

        rep = mux_video(it.video, source, it.path, sample_rate=ctx.sr, channels=it.channels, frames=ctx.length,
                        format=it.fmt, bitrate=it.d.bitrate, keep_original_audio=it.d.keep_original_audio,
                        language=it.d.language, title=it.d.title, protect=ctx.protect)
    it.report.encodes += 1
    it.report.seconds += rep.seconds
    it.report.sample_rate = rep.sample_rate
    it.report.mux = rep.to_json()
    if rep.trimmed_s > 0:
        it.report.note(f"the mix is {rep.trimmed_s:.3f} s longer than the video: cut to its length", show=True)
    if rep.padded_s > 0:
        it.report.note(f"the mix is {rep.padded_s:.3f} s shorter than the video: padded with silence", show=True)
    if rep.dropped_streams:
        it.report.note("not copied: " + ", ".join(rep.dropped_streams))


def _verify(ctx: Delivery, it: Item) -> Any:
    ctx.progress.plan(1)
    t0 = time.perf_counter()
    speech: bool | list[tuple[int, int]] = False
    if it.target is not None and it.target.gating == "dialogue":
        speech = list(ctx.speech or [])
    m = measure_media(it.path, stream=0, speech=speech, speech_rate=ctx.sr)
    ctx.progress.advance(ctx.length)
    it.report.seconds += time.perf_counter() - t0
    return m


def _take_stage(ctx: Delivery, it: Item, st: StageOutcome) -> None:
    rep = it.report
    rep.gain_db, rep.ceiling_dbtp = st.gain_db, st.ceiling_db
    rep.limiter_max_reduction_db = st.reduction_db if st.ceiling_db is not None else None
    rep.master_passes = st.passes
    rep.problems += [p for p in stage_problems(st, it, ctx) if p not in rep.problems]


def _finish(ctx: Delivery, it: Item, st: StageOutcome) -> None:
    """Measure, judge and (lossy) correct one mix/video deliverable."""
    rep = it.report
    rep.files = [str(it.path)]
    _take_stage(ctx, it, st)
    if not (it.lossy or it.kind == "video"):
        m = Measurement(file=str(it.path), sample_rate=ctx.sr, channels=it.channels, layout=layout_name(it.channels),
                        codec=it.fmt, has_video=False, frames=ctx.length, loudness=st.result,
                        dialogue_lufs=st.dialogue_lufs, speech_s=ctx.speech_s, clipped_runs=st.clipped_runs,
                        clipped_samples=st.clipped_samples)
        rep.verified = "rendered"
        _judge(it, m)
        return
    m = _verify(ctx, it)
    rep.verified = "decoded"
    if it.target is not None:
        m = _correct_lossy(ctx, it, st, m)
    _judge(it, m)


def _correct_lossy(ctx: Delivery, it: Item, st: StageOutcome, m: Any) -> Any:
    """Encode a lossy file again while its decoded peak or loudness misses; the last measurement."""
    target = it.target
    assert target is not None
    dialogue = target.gating == "dialogue"
    cur = st
    for attempt in range(2, LOSSY_PASSES + 1):
        got = m.dialogue_lufs if dialogue else m.loudness.integrated_lufs
        pcm = cur.dialogue_lufs if dialogue else cur.result.integrated_lufs
        tp = m.loudness.true_peak_dbtp
        over = (tp - target.true_peak_dbtp) if tp is not None else -1.0
        off = None if got is None else got - target.integrated_lufs
        fix_level = off is not None and abs(off) > lossy_retry_lu(target) and not cur.capped
        if over <= 0 and not fix_level:
            break
        why = []
        assert cur.ceiling_db is not None
        ceiling = cur.ceiling_db
        if over > 0:
            ceiling -= over + OVERSHOOT_MARGIN_DB
            why.append(f"decoded true peak {tp:.2f} dBTP was {over:.2f} dB over the {target.true_peak_dbtp:g} dBTP "
                       f"ceiling (codec overshoot): limiter lowered to {ceiling:.2f} dBTP")
        # what the codec does to the loudness, measured; the PCM aims that much the other way
        shift = 0.0 if (got is None or pcm is None) else got - pcm
        goal = target.integrated_lufs - shift
        if fix_level:
            why.append(f"decoded loudness {got:.2f} LUFS was {off:+.2f} LU off")
        if abs(shift) > 0.005:
            why.append(f"the codec moves the loudness by {shift:+.2f} LU: the master aims at {goal:.2f} LUFS")
        fixed = run_loop(ctx, it.key, gain=cur.gain_db + (goal - (pcm if pcm is not None else goal)),
                         ceiling=ceiling, goal=goal, keep=True)
        try:
            if it.kind == "video":
                _mux(ctx, it, fixed)
            else:
                _encode_one(ctx, it, fixed)
        finally:
            assert fixed.output is not None
            fixed.output.delete()
            fixed.output = None
        it.report.note(f"encode {attempt - 1} failed verification: " + "; ".join(why) + "; encoded again", show=True)
        _take_stage(ctx, it, fixed)
        cur = fixed
        m = _verify(ctx, it)
    return m


def _judge(it: Item, m: Any) -> None:
    rep = it.report
    rep.duration_s = m.duration_s
    rep.sample_rate = rep.sample_rate or m.sample_rate
    rep.measured = m.to_json()
    if it.target is None:
        rep.compliant = None
        return
    reqs = evaluate(m, it.target, max_silence_s=None)
    rep.requirements = [r.to_json() for r in reqs]
    rep.compliant = all(r.passed or r.advisory for r in reqs)  # advice (a recommended range) never fails
    for r in reqs:
        if not r.passed and not r.advisory:
            rep.problems.append(f"{r.name}: {r.detail} (needs {r.limit})")
