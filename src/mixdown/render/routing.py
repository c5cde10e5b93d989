"""Routing of a compiled graph: solo and groups, processing order, delay compensation, tails, stems."""

from __future__ import annotations

from ..session.model import MASTER, Session
from ..session.validate import topological_order
from .nodes import Graph, StripNode

__all__ = ["apply_groups_and_solo", "audible_tracks", "compensate", "processing_order", "soloed", "stem_taps",
           "tail_end"]

Inputs = dict[str, list[tuple[str, float, bool]]]


def processing_order(strips: dict[str, StripNode]) -> tuple[Inputs, list[str]]:
    """Each strip's inputs ``[(source, level, pre_fader)]`` and an order in which every input comes first.

    Outputs, sends and sidechains all point forward.
    """
    edges: dict[str, set[str]] = {name: set() for name in strips}
    inputs: Inputs = {name: [] for name in strips}
    for name, s in strips.items():
        if s.output is not None:
            edges[name].add(s.output)
            inputs[s.output].append((name, 1.0, False))
        for bus, level, pre in s.sends:
            edges[name].add(bus)
            inputs[bus].append((name, level, pre))
        for src in s.sidechains:
            if src is not None:
                edges[src].add(name)
    return inputs, topological_order(edges, list(strips))


def compensate(strips: dict[str, StripNode], order: list[str], inputs: Inputs
               ) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Plugin delay compensation: every input of a strip is delayed to line up with its latest one.

    Sets each strip's ``input_latency``; returns the delay per edge ``(source, destination)``
    and each strip's total output latency.
    """
    out_latency: dict[str, int] = {}
    edge_delay: dict[tuple[str, str], int] = {}
    for name in order:
        s = strips[name]
        ins = inputs[name]
        s.input_latency = max((out_latency[src] for src, _, _ in ins), default=0)
        for src, _, _ in ins:
            d = s.input_latency - out_latency[src]
            if d:
                edge_delay[(src, name)] = d
        out_latency[name] = s.input_latency + s.latency
    return edge_delay, out_latency


def tail_end(strips: dict[str, StripNode], order: list[str],
              inputs: dict[str, list[tuple[str, float, bool]]]) -> tuple[int, str]:
    """Where the programme ends with every tail: max over strips of last clip end + tails downstream.

    A strip's signal ends at the latest end of its clips and inputs plus its own
    chain's tail (reverb, delay: :attr:`~mixdown.dsp.base.Processor.tail`); the
    master's end is the programme's. Muted strips carry nothing. Returns the end
    (samples) and the strip whose own tail sets it ("" when no chain has a tail).
    """
    end: dict[str, int] = {}
    setter: dict[str, str] = {}
    for name in order:
        s = strips[name]
        if s.mute:
            end[name], setter[name] = 0, ""
            continue
        e, who = max([(c.end, "") for c in s.clips] + [(end[src], setter[src]) for src, _, _ in inputs[name]],
                     default=(0, ""))
        tail = sum(p.tail for p in s.chain)
        if e > 0 and tail > 0:
            e, who = e + tail, name
        end[name], setter[name] = e, who
    return end[MASTER], setter[MASTER]


def soloed(session: Session) -> set[str]:
    """Tracks and buses soloed, on their own or through a soloed group."""
    names = {t.name for t in session.tracks if t.solo} | {b.name for b in session.buses if b.solo}
    for group in session.groups:
        if group.solo:
            names.update(group.members)
    return names


def audible_tracks(session: Session) -> set[str] | None:
    """The tracks a DAW's solo leaves playing, or None when nothing is soloed.

    Solo on a track keeps that track; solo on a bus keeps every track that feeds it,
    through outputs and sends and any buses in between (what is soloed is heard with
    what makes it). Sidechain keys are not audio paths and do not count.
    """
    solo = soloed(session)
    if not solo:
        return None
    feeds: dict[str, set[str]] = {}  # destination -> strips routed into it
    for strip in list(session.tracks) + list(session.buses):
        for dest in [strip.output] + [s.bus for s in strip.sends]:
            feeds.setdefault(dest, set()).add(strip.name)
    keep, todo = set(solo), list(solo)
    while todo:
        for src in feeds.get(todo.pop(), ()):
            if src not in keep:
                keep.add(src)
                todo.append(src)
    return {t.name for t in session.tracks if t.name in keep}


def apply_groups_and_solo(session: Session, strips: dict[str, StripNode]) -> None:
    """Fold the session's groups and solos into its strips' gains and mutes.

    A group's fader adds to each member's fader (its automation rides on top, so
    the members keep their balance); a group's mute mutes its members; a track left
    silent by someone else's solo is muted (see :func:`audible_tracks`).
    """
    for group in session.groups:
        for member in group.members:
            strips[member].gain_db += group.gain_db
            if group.mute:
                strips[member].mute = True
    keep = audible_tracks(session)
    if keep is not None:
        for track in session.tracks:
            if track.name not in keep:
                strips[track.name].mute = True


def stem_taps(graph: Graph) -> dict[str, list[str]]:
    """Strips feeding the master, grouped by role: their sum is exactly the master's input.

    A bus without a role takes its inputs' role when they share one, else ``other``.
    """
    taps: dict[str, list[str]] = {}
    for name, strip in graph.strips.items():
        if strip.kind == "master" or strip.output != MASTER or strip.mute:
            continue
        role = strip.role
        if strip.kind == "bus" and role is None:
            roles = {graph.strips[src].role for src, _, _ in graph.inputs[name]}
            role = roles.pop() if len(roles) == 1 else "other"
        taps.setdefault(role or "other", []).append(name)
    return taps
