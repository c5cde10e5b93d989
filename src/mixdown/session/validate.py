"""Checks of a session that need neither media nor processors.

Names, times, keyframe order and routing (unknown targets, cycles through sends,
outputs and sidechains). Checks that need to open media (missing files, clips past
their source's end) or to know processors (names, parameters, ranges) run when the
render graph is built (:func:`mixdown.render.graph.check`), with the same kind of
located errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Loc, SessionError
from .model import MASTER, Automation, Bus, Session, Track

TRACK_PARAMS = {"gain_db": "dB", "pan": ""}
CLIP_PARAMS = {"gain_db": "dB"}
AUTO_PARAMS = {"gain_db": "dB"}  # what an auto layer may automate, on any clip or strip
#: Ranges of automated strip and clip values: those of the fixed values they move (gain_db, pan).
AUTOMATION_RANGES = {"gain_db": (-144.0, 48.0, "dB"), "pan": (-1.0, 1.0, "")}


def _samples(session: Session, value, loc: Loc, *, position: bool = False, allow_negative: bool = False) -> int:
    try:
        n = session.samples(value, position=position)
    except SessionError as exc:
        exc.loc = exc.loc or loc
        raise
    if n < 0 and not allow_negative:
        raise SessionError(f"time {value!r} is negative", loc=loc)
    return n


def check_automation(session: Session, automation: Automation, allowed: dict[str, str] | None, loc: Loc,
                     *, position: bool) -> None:
    """Keyframes exist, are in time order and not negative; names are allowed ones."""
    for name, keys in automation.items():
        if allowed is not None and name not in allowed:
            raise SessionError(
                f"cannot automate {name!r} here (automatable: {', '.join(allowed)})", loc=loc + ("automation", name)
            )
        if not keys:
            raise SessionError("automation needs at least one keyframe", loc=loc + ("automation", name))
        prev = None
        for i, kf in enumerate(keys):
            t = _samples(session, kf.t, loc + ("automation", name, i), position=position)
            if prev is not None and t < prev:
                raise SessionError(
                    f"keyframes out of order: {kf.t!r} comes before the previous keyframe",
                    loc=loc + ("automation", name, i),
                )
            prev = t
            rng = AUTOMATION_RANGES.get(name) if allowed is not None else None
            if rng is not None and not rng[0] <= kf.v <= rng[1]:
                lo, hi, unit = rng
                hint = " (-144 dB is silence)" if name == "gain_db" and kf.v < lo else ""
                raise SessionError(f"{name} {kf.v:g}{' ' + unit if unit else ''} is outside {lo:g}..{hi:g}{hint}",
                                   loc=loc + ("automation", name, i))


def validate_session(session: Session) -> None:
    """Raise :class:`SessionError` (with a location) for the first problem found."""
    _check_header(session)
    names: dict[str, Loc] = {}
    named: tuple[tuple[str, Sequence[Track | Bus]], ...] = (("tracks", session.tracks), ("buses", session.buses))
    for kind, items in named:
        for i, item in enumerate(items):
            if item.name == MASTER:
                raise SessionError("'master' is reserved for the master bus", loc=(kind, i, "name"))
            if item.name in names:
                raise SessionError(f"name {item.name!r} is used twice", loc=(kind, i, "name"))
            names[item.name] = (kind, i)
    bus_names = {b.name for b in session.buses}

    programme = _samples(session, session.duration, ("duration",)) if session.duration is not None else None
    if programme == 0:
        raise SessionError("duration must be longer than zero", loc=("duration",))
    limit = session.timebase.max_seconds * session.sample_rate
    for ti, track in enumerate(session.tracks):
        tloc: Loc = ("tracks", ti)
        check_automation(session, track.automation, TRACK_PARAMS, tloc, position=True)
        check_automation(session, track.auto.automation, AUTO_PARAMS, tloc + ("auto",), position=True)
        for ci, clip in enumerate(track.clips):
            cloc = tloc + ("clips", ci)
            start = _samples(session, clip.start, cloc + ("start",), position=True)
            _samples(session, clip.in_, cloc + ("in",))
            length = None
            if clip.duration is not None:
                length = _samples(session, clip.duration, cloc + ("duration",))
                if length == 0:
                    raise SessionError("duration must be longer than zero", loc=cloc + ("duration",))
                if start + length > limit:
                    raise SessionError(
                        f"the clip ends {(start + length) / session.sample_rate / 3600:.2f} h into the programme, "
                        f"more than {float(limit) / session.sample_rate / 3600:g} h, the longest programme mixdown "
                        "accepts (set MIXDOWN_MAX_HOURS=HOURS to raise the limit)", loc=cloc + ("duration",))
            fades = 0
            for which in ("fade_in", "fade_out"):
                fade = getattr(clip, which)
                if fade is not None:
                    n = _samples(session, fade.length, cloc + (which, "length"))
                    fades += n
                    if length is not None and n > length:
                        raise SessionError(f"{which} is longer than the clip", loc=cloc + (which,))
            if length is not None and fades > length:
                raise SessionError("fade_in and fade_out together are longer than the clip", loc=cloc + ("fade_out",))
            check_automation(session, clip.automation, CLIP_PARAMS, cloc, position=False)
            check_automation(session, clip.auto.automation, AUTO_PARAMS, cloc + ("auto",), position=False)
    for bi, bus in enumerate(session.buses):
        check_automation(session, bus.automation, TRACK_PARAMS, ("buses", bi), position=True)
        check_automation(session, bus.auto.automation, AUTO_PARAMS, ("buses", bi, "auto"), position=True)
    check_automation(session, session.master.automation, CLIP_PARAMS, ("master",), position=True)
    check_automation(session, session.master.auto.automation, AUTO_PARAMS, ("master", "auto"), position=True)
    if session.duration is not None:
        _samples(session, session.duration, ("duration",))

    # routing: every target exists, and the graph has no cycle
    edges: dict[str, set[str]] = {}
    strips = [("tracks", i, t) for i, t in enumerate(session.tracks)] + [
        ("buses", i, b) for i, b in enumerate(session.buses)
    ]
    for kind, i, strip in strips:
        loc: Loc = (kind, i)
        out = edges.setdefault(strip.name, set())
        if strip.output != MASTER:
            if strip.output not in bus_names:
                raise SessionError(
                    f"output {strip.output!r} is not a bus "
                    f"(buses: {', '.join(sorted(bus_names)) or 'none'}; or 'master')",
                    loc=loc + ("output",),
                )
            out.add(strip.output)
        for si, send in enumerate(strip.sends):
            if send.bus not in bus_names:
                raise SessionError(f"send to {send.bus!r}: no such bus", loc=loc + ("sends", si, "bus"))
            out.add(send.bus)
        for pi, proc in enumerate(strip.chain):
            if proc.sidechain is not None:
                if proc.sidechain not in names:
                    raise SessionError(f"sidechain source {proc.sidechain!r} is not a track or bus",
                                       loc=loc + ("chain", pi, "sidechain"))
                edges.setdefault(proc.sidechain, set()).add(strip.name)
    for pi, proc in enumerate(session.master.chain):
        if proc.sidechain is not None and proc.sidechain not in names:
            raise SessionError(f"sidechain source {proc.sidechain!r} is not a track or bus",
                               loc=("master", "chain", pi, "sidechain"))
    cycle = find_cycle(edges)
    if cycle:
        first = cycle[0]
        raise SessionError("routing cycle: " + " -> ".join(cycle + [first]), loc=names[first])
    validate_groups(session, names)


def validate_groups(session: Session, names: dict[str, Loc]) -> None:
    """Group names are unique; members are tracks or buses, each named once per group."""
    seen: set[str] = set()
    for gi, group in enumerate(session.groups):
        gloc: Loc = ("groups", gi)
        if group.name in seen:
            raise SessionError(f"group name {group.name!r} is used twice", loc=gloc + ("name",))
        seen.add(group.name)
        members: set[str] = set()
        for mi, member in enumerate(group.members):
            if member not in names:
                raise SessionError(f"group member {member!r} is not a track or bus", loc=gloc + ("members", mi))
            if member in members:
                raise SessionError(f"group member {member!r} is listed twice", loc=gloc + ("members", mi))
            members.add(member)


def _check_header(session: Session) -> None:
    """Frame rate, drop-frame flag and start timecode, located at the field that is wrong."""
    from ..timebase import parse_rate

    try:
        parse_rate(session.frame_rate)
    except SessionError as exc:
        exc.loc = exc.loc or ("frame_rate",)
        raise
    from ..timebase import Timebase

    try:
        Timebase.from_session_fields(session.sample_rate, session.frame_rate, session.drop_frame, None)
    except SessionError as exc:
        exc.loc = exc.loc or ("drop_frame",)
        raise
    try:
        _ = session.timebase  # evaluated for its validation of start_timecode
    except SessionError as exc:
        exc.loc = exc.loc or ("start_timecode",)
        raise


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a directed graph as a list of nodes, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(edges: dict[str, set[str]], nodes: list[str]) -> list[str]:
    """Nodes ordered so every edge goes forward (stable: keeps the given order where free)."""
    indeg = {n: 0 for n in nodes}
    for dsts in edges.values():
        for d in dsts:
            if d in indeg:
                indeg[d] += 1
    order: list[str] = []
    ready = [n for n in nodes if indeg[n] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for d in sorted(edges.get(n, ()), key=nodes.index):
            if d in indeg:
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
    return order
