"""Compile a session into a render graph: every time in samples, every processor built.

This is also where the checks that need media or processors run: missing or
unreadable sources, clips past their source's end, unknown processors, parameters
and automation. Errors are located (file, line, field) like the session loader's.

The graph::

    clip -> clip gain/fades/automation -> track chain -> fader/pan -> sends -> buses -> master chain

Latency of inserts (lookahead limiters) is compensated: every input of a bus is
delayed to line up with its latest input, and the master's total latency is removed
at the output, so the render stays sample-aligned with the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from ..dsp.automation import Envelope
from ..dsp.base import Processor, create, load_all
from ..errors import Loc, MediaError, SessionError
from ..session.model import MASTER, Automation, ProcessorSpec, Session
from ..session.validate import topological_order

FADE_SHAPES = ("linear", "equal-power", "log", "s-curve")


@dataclass
class ClipNode:
    """A clip with every time resolved to samples at the session rate."""

    loc: Loc
    path: Path
    stream: int | None
    start: int          # timeline position of the first sample
    source_in: int      # in-point in the source, session-rate samples
    length: int
    gain_db: float
    gain_env: Envelope | None  # clip-relative positions
    fade_in: int
    fade_in_shape: str
    fade_out: int
    fade_out_shape: str
    channels: int       # of the source

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass
class StripNode:
    """A track, bus or the master, with its processors and routing."""

    name: str
    kind: str                       # "track", "bus" or "master"
    loc: Loc
    channels: int                   # channels inside the strip (1 for a mono track in a stereo session)
    out_channels: int               # channels after the panner
    chain: list[Processor]
    chain_specs: list[ProcessorSpec]
    sidechains: list[str | None]    # per processor: strip whose output keys it
    gain_db: float
    gain_env: Envelope | None
    pan: float
    pan_env: Envelope | None
    mute: bool
    output: str | None              # bus name or "master"; None for the master itself
    sends: list[tuple[str, float, bool]]   # (bus, linear level, pre_fader)
    clips: list[ClipNode] = field(default_factory=list)
    role: str | None = None
    latency: int = 0                # of the chain
    input_latency: int = 0          # at the strip input after compensation


@dataclass
class Graph:
    """A compiled session, ready for :func:`mixdown.render.engine.render_blocks`."""

    session: Session
    sample_rate: int
    channels: int
    length: int                     # programme length in samples
    strips: dict[str, StripNode]
    order: list[str]                # processing order (tracks, buses, master last)
    # (source strip, destination strip) -> samples of compensation delay on that edge
    edge_delay: dict[tuple[str, str], int]
    output_latency: int             # master's total latency, removed at the output
    inputs: dict[str, list[tuple[str, float, bool]]]  # dest -> [(source, level, pre_fader)]

    @property
    def duration_s(self) -> float:
        return self.length / self.sample_rate

    @property
    def source_paths(self) -> set[Path]:
        """Every media file the graph reads (outputs must never overwrite these)."""
        return {c.path for s in self.strips.values() for c in s.clips}


def _envelope(session: Session, keys: list, unit: str, *, offset: int = 0, position: bool = True) -> Envelope:
    positions = [session.samples(k.t, position=position) - offset for k in keys]
    return Envelope(positions, [k.v for k in keys], [k.interp for k in keys], unit=unit)


def build_processor(session: Session, spec: ProcessorSpec, loc: Loc) -> Processor:
    """Instantiate one chain entry, with its automation, or raise a located SessionError."""
    registry = load_all()
    cls = registry.get(spec.type)
    if cls is None:
        raise SessionError(
            f"unknown processor {spec.type!r} (known: {', '.join(sorted(registry))})", loc=loc + ("type",)
        )
    params = spec.params
    for name in params:
        if name not in cls.PARAMS:
            raise SessionError(
                f"{spec.type} has no parameter {name!r} (it has: {', '.join(cls.PARAMS)})", loc=loc + (name,)
            )
    try:
        proc = create(spec.type, **params)
    except ValueError as exc:
        bad = next((n for n in params if n in str(exc)), None)
        raise SessionError(str(exc), loc=loc + ((bad,) if bad else ())) from None
    for name, keys in spec.automation.items():
        aloc = loc + ("automation", name)
        pspec = cls.PARAMS.get(name)
        if pspec is None:
            raise SessionError(f"{spec.type} has no parameter {name!r} to automate", loc=aloc)
        if not pspec.automatable:
            raise SessionError(f"{spec.type}.{name} cannot be automated", loc=aloc)
        try:
            proc.automate(name, _envelope(session, keys, pspec.unit))
        except ValueError as exc:
            raise SessionError(str(exc), loc=aloc) from None
    if spec.sidechain is not None and not cls.SIDECHAIN:
        raise SessionError(f"{spec.type} takes no sidechain input", loc=loc + ("sidechain",))
    return proc


def _strip_automation(session: Session, automation: Automation) -> tuple[Envelope | None, Envelope | None]:
    gain = _envelope(session, automation["gain_db"], "dB") if "gain_db" in automation else None
    pan = _envelope(session, automation["pan"], "") if "pan" in automation else None
    return gain, pan


def _probe(path: Path, loc: Loc):
    from ..media.decode import probe

    try:
        return probe(path)
    except MediaError as exc:
        exc.loc = exc.loc or loc
        raise


def check(session: Session, *, probe_media: bool = True) -> Graph:
    """Validate everything and compile the render graph.

    Parameters
    ----------
    session : Session
    probe_media : bool
        Open every source to check it exists, is readable and is long enough.

    Raises
    ------
    SessionError, MediaError
        Located at the session file's line when the session came from a file.
    """
    try:
        return _build(session, probe_media=probe_media)
    except (SessionError, MediaError) as exc:
        raise exc.located(file=session.file, lines=session.lines) from None


def _build(session: Session, *, probe_media: bool) -> Graph:
    sr = session.sample_rate
    nch = session.channels
    strips: dict[str, StripNode] = {}
    programme_end = 0
    probes: dict[tuple[Path, int | None], Any] = {}

    for ti, track in enumerate(session.tracks):
        tloc: Loc = ("tracks", ti)
        clips: list[ClipNode] = []
        for ci, clip in enumerate(track.clips):
            cloc = tloc + ("clips", ci)
            path = session.resolve(clip.source)
            key = (path, clip.stream)
            if key not in probes:
                if not path.exists():
                    raise MediaError(f"source file not found: {path}", loc=cloc + ("source",))
                if probe_media:
                    info = _probe(path, cloc + ("source",))
                    if clip.stream is not None and clip.stream >= info.audio_stream_count:
                        raise MediaError(
                            f"{path.name} has {info.audio_stream_count} audio stream(s); stream {clip.stream} does not exist",
                            loc=cloc + ("stream",),
                        )
                    probes[key] = info
                else:
                    probes[key] = None
            info = probes[key]
            start = session.samples(clip.start, position=True)
            source_in = session.samples(clip.in_)
            available = None
            if info is not None:
                # exact: source frames converted to session-rate samples, floored
                available = info.frames * sr // info.sample_rate
            if clip.duration is not None:
                length = session.samples(clip.duration)
            elif available is not None:
                length = available - source_in
            else:
                raise SessionError("clip needs a duration when media is not probed", loc=cloc)
            if available is not None and source_in + length > available:
                if source_in >= available:
                    raise MediaError(
                        f"in-point {source_in / sr:.3f} s is past the end of {path.name} ({available / sr:.3f} s)",
                        loc=cloc + ("in",),
                    )
                raise MediaError(
                    f"clip runs past the end of its source: {path.name} is {available / sr:.3f} s, "
                    f"the clip needs {(source_in + length) / sr:.3f} s (in {source_in / sr:.3f} s + duration {length / sr:.3f} s)",
                    loc=cloc + ("duration" if clip.duration is not None else "in",),
                )
            if length <= 0:
                raise SessionError("clip is empty", loc=cloc)
            fade_in = session.samples(clip.fade_in.length) if clip.fade_in else 0
            fade_out = session.samples(clip.fade_out.length) if clip.fade_out else 0
            if fade_in + fade_out > length:
                raise SessionError(
                    f"fades ({(fade_in + fade_out) / sr:.3f} s) are longer than the clip ({length / sr:.3f} s)",
                    loc=cloc + ("fade_out" if clip.fade_out else "fade_in",),
                )
            genv = None
            if "gain_db" in clip.automation:
                try:
                    genv = _envelope(session, clip.automation["gain_db"], "dB", position=False)
                except ValueError as exc:
                    raise SessionError(str(exc), loc=cloc + ("automation", "gain_db")) from None
            if clip.mute:
                continue
            node = ClipNode(
                loc=cloc, path=path, stream=clip.stream, start=start, source_in=source_in, length=length,
                gain_db=clip.gain_db, gain_env=genv,
                fade_in=fade_in, fade_in_shape=clip.fade_in.shape if clip.fade_in else "linear",
                fade_out=fade_out, fade_out_shape=clip.fade_out.shape if clip.fade_out else "linear",
                channels=info.channels if info is not None else nch,
            )
            clips.append(node)
            programme_end = max(programme_end, node.end)
        # a track whose every clip is mono is processed in mono and panned into the layout,
        # like a DAW's mono track; anything else runs at the session's width
        mono = nch == 2 and clips and all(c.channels == 1 for c in clips)
        if nch == 6 and (track.pan != 0 or "pan" in track.automation):
            raise SessionError("panning is not available in 5.1 sessions yet; leave pan at 0", loc=tloc + ("pan",))
        strips[track.name] = _strip(session, track, "track", tloc, 1 if mono else nch, nch, clips)
    for bi, bus in enumerate(session.buses):
        strips[bus.name] = _strip(session, bus, "bus", ("buses", bi), nch, nch, [])
    strips[MASTER] = _strip(session, session.master, "master", ("master",), nch, nch, [])
    apply_groups_and_solo(session, strips)

    # routing and processing order: outputs, sends and sidechains all point forward
    edges: dict[str, set[str]] = {name: set() for name in strips}
    inputs: dict[str, list[tuple[str, float, bool]]] = {name: [] for name in strips}
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
    names = list(strips)
    order = topological_order(edges, names)

    # plugin delay compensation
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

    if session.duration is not None:
        length = session.samples(session.duration)
    else:
        length = programme_end
    return Graph(
        session=session, sample_rate=sr, channels=nch, length=length, strips=strips, order=order,
        edge_delay=edge_delay, output_latency=out_latency[MASTER], inputs=inputs,
    )


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


def _strip(session: Session, strip: Any, kind: str, loc: Loc, channels: int, out_channels: int,
           clips: list[ClipNode]) -> StripNode:
    chain = []
    for pi, spec in enumerate(strip.chain):
        if spec.bypass:
            continue
        chain.append((build_processor(session, spec, loc + ("chain", pi)), spec))
    gain_env, pan_env = _strip_automation(session, strip.automation)
    procs = [p for p, _ in chain]
    for p in procs:
        p.prepare(session.sample_rate, 1, channels)  # latency may depend on the rate; re-prepared at render
    return StripNode(
        name=getattr(strip, "name", MASTER), kind=kind, loc=loc, channels=channels, out_channels=out_channels,
        chain=procs, chain_specs=[s for _, s in chain], sidechains=[s.sidechain for _, s in chain],
        gain_db=strip.gain_db, gain_env=gain_env, pan=getattr(strip, "pan", 0.0), pan_env=pan_env,
        mute=getattr(strip, "mute", False), output=None if kind == "master" else strip.output,
        sends=[(s.bus, float(10 ** (s.level_db / 20)), s.pre_fader) for s in getattr(strip, "sends", [])],
        clips=clips, role=getattr(strip, "role", None), latency=sum(p.latency for p in procs),
    )


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
