"""Meter points: observe the signal inside a strip during a render, on the timeline's clock.

A meter point is ``(strip, point)`` with ``point`` one of

- ``"input"``: what reaches the strip (a track's clips with their gains and fades;
  a bus's summed inputs), before any insert;
- ``k`` (int): after the strip's insert ``k`` (0-based, bypassed inserts not counted);
- ``"pre"``: after every insert, before the fader;
- ``"post"``: after the fader and panner.

The observer is called as ``observer(position, block)`` with ``block`` (channels,
frames) float32 and ``position`` the *timeline* sample of its first frame: the
latency upstream of the point (the strip's input compensation and the inserts
before it) is taken off, so a region on the timeline selects the same audio at
every point. Each timeline sample ``0 .. length-1`` is delivered exactly once, in
order; the latency fill before 0 and the flush after the end are not. Blocks are
views the render goes on using: copy what you keep. A point on a track without
sidechain inputs may be called from a render worker thread (one track's blocks
always in order); an observer should only touch its own state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..dsp.chain import Chain
from .graph import Graph

__all__ = ["POINTS", "MeterPoints", "Observer", "PointPlan", "plan_points"]

POINTS = ("input", "pre", "post")
Observer = Callable[[int, np.ndarray], None]
MeterPoints = Mapping[tuple[str, "str | int"], Observer]


@dataclass(frozen=True)
class _Watch:
    observer: Observer
    delay: int  # samples the audio at the point lags the timeline


@dataclass
class PointPlan:
    """The meter points of one strip, with their delays."""

    input: list[_Watch]
    inserts: dict[int, list[_Watch]]
    pre: list[_Watch]
    post: list[_Watch]


def plan_points(graph: Graph, chains: Mapping[str, Chain], meters: MeterPoints) -> dict[str, PointPlan]:
    """Check the meter points against the graph and work out each one's delay.

    Raises
    ------
    ValueError
        For an unknown strip or point, or an insert index outside the strip's chain.
    TypeError
        For a point that is neither a name nor an insert index.
    """
    plans: dict[str, PointPlan] = {}
    for (name, point), observer in meters.items():
        strip = graph.strips.get(name)
        if strip is None:
            raise ValueError(f"meter point on {name!r}: no such strip (strips: {', '.join(graph.strips)})")
        chain = chains[name]
        plan = plans.setdefault(name, PointPlan([], {}, [], []))
        base = strip.input_latency
        if isinstance(point, bool) or not isinstance(point, (int, str)):
            raise TypeError(f"meter point on {name!r}: {point!r} is not one of {', '.join(POINTS)} or an insert index")
        if isinstance(point, int):
            if not 0 <= point < len(chain.inserts):
                raise ValueError(f"meter point on {name!r}: insert {point} does not exist "
                                 f"(the chain has {len(chain.inserts)})")
            plan.inserts.setdefault(point, []).append(_Watch(observer, base + chain.latency_after(point)))
        elif point == "input":
            plan.input.append(_Watch(observer, base))
        elif point in ("pre", "post"):
            getattr(plan, point).append(_Watch(observer, base + chain.latency))
        else:
            raise ValueError(f"meter point on {name!r}: {point!r} is not one of {', '.join(POINTS)} or an insert index")
    return plans


def observe(watches: list[_Watch], position: int, block: np.ndarray, length: int) -> None:
    """Hand ``block`` (rendered at ``position``) to each watch, on the timeline, within ``[0, length)``."""
    n = block.shape[1]
    for w in watches:
        t0 = position - w.delay
        a = max(0, -t0)
        b = min(n, length - t0)
        if a < b:
            w.observer(t0 + a, block[:, a:b])
