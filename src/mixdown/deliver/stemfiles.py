"""Stems, M&E and the premaster file of a delivery, from the scratch files of its one render.

Stems are the strips feeding the master grouped by role; M&E is music + sfx +
ambience (``roles`` overrides either). They are written **at the mix's gain**: the
master fader (with its automation) and the static loudness gain of the mix they
belong to (:func:`~mixdown.deliver.stages.stems_gain`), without the limiter and the
master chain's other processors, so they sum exactly to the mix before its limiter.
A stem louder than full scale is clipped by integer formats; the report says so.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..analysis.truepeak import TruePeakDetector
from ..master.premaster import premaster_gain, write_premaster
from ..media.channels import map_channels
from .context import Delivery
from .encode import open_encoder
from .formats import SUFFIXES
from .plan import Item
from .stages import stems_gain

__all__ = ["write_premaster_file", "write_stems"]


def write_stems(ctx: Delivery, it: Item) -> None:
    """A ``stems`` (one file per role, in a folder) or ``me`` deliverable."""
    t0 = time.perf_counter()
    rep = it.report
    gain, why = stems_gain(ctx, it)
    rep.gain_db = gain
    rep.note(f"at {why}: {gain:+.2f} dB, after the master fader, before the limiter")
    amp = np.float32(10.0 ** (gain / 20.0))
    if it.kind == "stems":
        suffix = SUFFIXES[it.fmt][0]
        targets = [(role, [role], it.path / f"{role}{suffix}") for role in (it.roles or sorted(ctx.stems))]
        it.path.mkdir(parents=True, exist_ok=True)
    else:
        targets = [("me", it.roles, it.path)]
    absent = sorted({r for _, rs, _ in targets for r in rs if r not in ctx.stems})
    if absent:
        rep.note(f"no track has the role(s) {', '.join(absent)}: written as silence"
                 if it.kind == "stems" else f"no track has the role(s) {', '.join(absent)}")
    integer = it.fmt not in ("wav32f",) and not it.lossy
    for name, roles, path in targets:
        peak = _write_sum(ctx, it, name, roles, path, amp)
        rep.files.append(str(path))
        rep.encodes += 1
        pk = 20 * math.log10(peak) if peak > 0 else None
        rep.measured[name] = {"sample_peak_dbfs": None if pk is None else round(pk, 2)}
        if integer and peak >= 1.0:
            rep.problems.append(f"{name} peaks at {pk:+.2f} dBFS and is clipped in {it.fmt}; "
                                "write stems as wav32f to keep the peaks")
    rep.sample_rate = ctx.sr
    rep.duration_s = ctx.length / ctx.sr
    rep.seconds += time.perf_counter() - t0


def _write_sum(ctx: Delivery, it: Item, name: str, roles: list[str], path: Path, amp: np.float32) -> float:
    """One file: the sum of ``roles``' stems times ``amp``; its sample peak (linear)."""
    ctx.progress.plan(1)
    enc = open_encoder(path, format=it.fmt, sample_rate=ctx.sr, channels=it.channels, bitrate=it.d.bitrate,
                       protect=ctx.protect, bext_description=f"{name} stem", time_reference=ctx.time_reference,
                       frames=ctx.length)
    readers = [ctx.stems[r].reader() for r in roles if r in ctx.stems]
    peak = 0.0
    try:
        for pos in range(0, ctx.length, ctx.block):
            n = min(ctx.block, ctx.length - pos)
            x = np.zeros((ctx.channels, n), dtype=np.float32)
            for rd in readers:
                x += rd.read(pos, n)
            if it.channels != ctx.channels:
                x = map_channels(x, it.channels)
            x *= amp
            if x.size:
                peak = max(peak, float(np.abs(x).max()))
            enc.write(x)
            ctx.progress.advance(n)
        enc.commit()
    except BaseException:
        enc.abort()
        raise
    finally:
        for rd in readers:
            rd.close()
    return peak


def write_premaster_file(ctx: Delivery, it: Item) -> None:
    """The premaster file: the session's premaster (auto's stage left out) at -6 dBTP, 24-bit."""
    t0 = time.perf_counter()
    rep = it.report
    pm = ctx.premaster
    assert pm is not None

    def read(pos: int, n: int, rd: object) -> np.ndarray:
        x = rd.read(pos, n)  # type: ignore[attr-defined]
        return x if it.channels == ctx.channels else map_channels(x, it.channels)

    tp = TruePeakDetector(ctx.sr, it.channels)
    with pm.reader() as rd:
        for pos in range(0, ctx.length, ctx.block):
            tp.process(read(pos, min(ctx.block, ctx.length - pos), rd))
    gain = premaster_gain(tp.peak(), file=it.path)
    ctx.progress.plan(1)
    with pm.reader() as rd:
        m = write_premaster(lambda pos, n: read(pos, n, rd), frames=ctx.length, channels=it.channels,
                            sample_rate=ctx.sr, path=it.path, gain_db=gain, protect=ctx.protect)
    ctx.progress.advance(ctx.length)
    rep.files.append(str(it.path))
    rep.encodes += 1
    rep.gain_db = gain
    rep.measured = {k: m[k] for k in ("true_peak_dbtp", "sample_peak_dbfs")}
    rep.note(f"the mix before the loudness stage, {gain:+.2f} dB to a true peak of -6 dBTP; no limiting")
    rep.sample_rate = ctx.sr
    rep.duration_s = ctx.length / ctx.sr
    rep.seconds += time.perf_counter() - t0
