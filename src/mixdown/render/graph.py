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

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dsp.automation import Envelope
from ..dsp.base import Processor, create, load_all
from ..dsp.clipgain import ClipGain
from ..errors import Loc, MediaError, MixdownWarning, SessionError, format_loc, shown
from ..session.model import MASTER, Automation, ProcessorSpec, Session
from ..session.validate import topological_order



@dataclass
class ClipNode:
    """A clip with every time resolved to samples at the session rate."""

    loc: Loc
    path: Path
    stream: int | None
    start: int          # timeline position of the first sample
    source_in: int      # in-point in the source, session-rate samples
    length: int
    gain_db: float      # hand + auto layer
    gain_env: Envelope | EnvelopeSum | None  # hand + auto automation, clip-relative positions
    fade_in: int
    fade_in_shape: str
    fade_out: int
    fade_out_shape: str
    channels: int       # of the source

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def curve(self) -> ClipGain:
        """The clip's gain and fades (what the engine applies and the analysis of ``auto`` reads)."""
        return ClipGain(length=self.length, gain_db=self.gain_db, envelope=self.gain_env, fade_in=self.fade_in,
                        fade_in_shape=self.fade_in_shape, fade_out=self.fade_out, fade_out_shape=self.fade_out_shape)


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
    gain_db: float                  # hand + auto layer
    gain_env: Envelope | EnvelopeSum | None  # hand + auto automation
    pan: float
    pan_env: Envelope | None
    mute: bool
    output: str | None              # bus name or "master"; None for the master itself
    sends: list[tuple[str, float, bool]]   # (bus, linear level, pre_fader)
    clips: list[ClipNode] = field(default_factory=list)
    role: str | None = None
    latency: int = 0                # of the chain
    input_latency: int = 0          # at the strip input after compensation


@dataclass(frozen=True)
class TailCut:
    """The session's ``duration`` ends the programme before a reverb or delay tail has died away."""

    strip: str          # whose tail reaches furthest
    tail_end: int       # where the tails end, samples
    length: int         # the programme length the session sets, samples

    def message(self, sample_rate: int) -> str:
        return (f"the session's duration ({self.length / sample_rate:.3f} s) cuts the reverb/delay tail of "
                f"{self.strip!r}, which runs to {self.tail_end / sample_rate:.3f} s; remove `duration:` "
                "(the programme then ends with its tails) or lengthen it")


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
    content_end: int = 0            # end of the last clip, samples
    tail_cut: TailCut | None = None  # set when ``duration:`` cuts a tail

    @property
    def duration_s(self) -> float:
        return self.length / self.sample_rate

    @property
    def source_paths(self) -> set[Path]:
        """Every media file the graph reads (outputs must never overwrite these)."""
        return {c.path for s in self.strips.values() for c in s.clips}


def _envelope(session: Session, keys: list, unit: str, loc: Loc, *, position: bool = True) -> Envelope:
    """An envelope from keyframes, or a SessionError located at the lane (or the keyframe) at fault."""
    positions = []
    for i, k in enumerate(keys):
        try:
            positions.append(session.samples(k.t, position=position))
        except SessionError as exc:
            exc.loc = exc.loc or loc + (i,)
            raise
    try:
        return Envelope(positions, [k.v for k in keys], [k.interp for k in keys], unit=unit)
    except ValueError as exc:
        raise SessionError(str(exc), loc=loc) from None


class EnvelopeSum:
    """Several gain envelopes read as one: their values added (dB gains multiply).

    A clip's or strip's gain is its hand automation plus its auto layer's
    automation, each evaluated with its own keyframes and interpolation and added
    sample by sample (not merged into one keyframe list, which could not hold a
    sum of ``linear`` and ``exp`` segments exactly). It reads like an
    :class:`~mixdown.dsp.automation.Envelope` for the engine and the analysis.
    """

    def __init__(self, parts: list[Envelope]) -> None:
        self.parts = parts
        self.unit = parts[0].unit

    @property
    def is_constant(self) -> bool:
        return all(p.is_constant for p in self.parts)

    @property
    def positions(self) -> Any:
        import numpy as np

        return np.unique(np.concatenate([p.positions for p in self.parts]))

    def at(self, position: int) -> float:
        return float(sum(p.at(position) for p in self.parts))

    def evaluate(self, position: int, n: int) -> Any:
        out = self.parts[0].evaluate(position, n)
        for p in self.parts[1:]:
            out = out + p.evaluate(position, n)
        return out

    def at_positions(self, positions: Any) -> Any:
        out = self.parts[0].at_positions(positions)
        for p in self.parts[1:]:
            out = out + p.at_positions(positions)
        return out

    def changes_within(self, position: int, n: int) -> bool:
        return any(p.changes_within(position, n) for p in self.parts)


def gain_envelope(session: Session, layers: list[list], *, position: bool, loc: Loc = ()
                  ) -> Envelope | EnvelopeSum | None:
    """The gain curve of a clip or strip from its layers' ``gain_db`` keyframes (hand, auto), or None.

    One layer gives its own :class:`Envelope` (so a session without auto keyframes
    renders exactly as before); two give their :class:`EnvelopeSum`. Errors are located
    at ``loc`` + the lane (``automation.gain_db``, ``auto.automation.gain_db``).
    """
    lanes = (("automation", "gain_db"), ("auto", "automation", "gain_db"))
    envs = [_envelope(session, keys, "dB", loc + lane, position=position) for keys, lane in zip(layers, lanes) if keys]
    if not envs:
        return None
    return envs[0] if len(envs) == 1 else EnvelopeSum(envs)


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
            raise SessionError(f"{spec.type}.{name} cannot be automated ({cls.control_rate(name)['fixed']})",
                               loc=aloc)
        for i, kf in enumerate(keys):
            try:
                pspec.check(name, kf.v)
            except ValueError as exc:
                raise SessionError(str(exc), loc=aloc + (i,)) from None
        try:
            proc.automate(name, _envelope(session, keys, pspec.unit, aloc))
        except ValueError as exc:
            raise SessionError(str(exc), loc=aloc) from None
    if spec.sidechain is not None and not cls.SIDECHAIN:
        raise SessionError(f"{spec.type} takes no sidechain input", loc=loc + ("sidechain",))
    return proc


def _align_automation(strip: StripNode) -> None:
    """Move each insert's keyframes to where the timeline's samples reach it.

    An insert sees timeline sample ``t`` at position ``t + d``, ``d`` the latency
    upstream of it (the strip's input compensation and the inserts before it); the
    engine gives every insert the block's position, so its envelopes are shifted by
    ``d`` and a keyframe at ``t`` acts on the audio of ``t``.
    """
    upstream = strip.input_latency
    for proc in strip.chain:
        if upstream:
            for name, env in list(proc.envelopes.items()):
                proc.automate(name, env.shifted(upstream))
        upstream += proc.latency


def _exists(path: Path, loc: Loc) -> bool:
    """Whether a clip's source exists; a name the system cannot even look up is a located error."""
    try:
        return path.exists()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        why = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"source {shown(str(path), 60)} cannot be looked up ({why})", loc=loc) from None


def _time(session: Session, value: Any, loc: Loc, *, position: bool = False) -> int:
    try:
        return session.samples(value, position=position)
    except SessionError as exc:
        exc.loc = exc.loc or loc
        raise


def _strip_automation(session: Session, strip: Any, loc: Loc) -> tuple[Any, Envelope | None]:
    """Gain (hand + auto automation) and pan envelopes of a track, bus or the master."""
    automation: Automation = strip.automation
    gain = gain_envelope(session, [automation.get("gain_db"), strip.auto.automation.get("gain_db")],
                         position=True, loc=loc)
    pan = _envelope(session, automation["pan"], "", loc + ("automation", "pan")) if "pan" in automation else None
    return gain, pan


def _probe(path: Path, loc: Loc):
    from ..media.decode import probe

    try:
        return probe(path)
    except MediaError as exc:
        exc.loc = exc.loc or loc
        if exc.file is None:
            exc.subject = exc.subject or str(path)
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
                if not _exists(path, cloc + ("source",)):
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
            start = _time(session, clip.start, cloc + ("start",), position=True)
            source_in = _time(session, clip.in_, cloc + ("in",))
            available = None
            if info is not None:
                # exact: source frames converted to session-rate samples, floored; a file cut
                # short and allowed (--allow-truncated) keeps the length it promises, silent past the cut
                available = (info.promised_frames or info.frames) * sr // info.sample_rate
            if clip.duration is not None:
                length = _time(session, clip.duration, cloc + ("duration",))
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
            fade_in = _time(session, clip.fade_in.length, cloc + ("fade_in",)) if clip.fade_in else 0
            fade_out = _time(session, clip.fade_out.length, cloc + ("fade_out",)) if clip.fade_out else 0
            if fade_in + fade_out > length:
                raise SessionError(
                    f"fades ({(fade_in + fade_out) / sr:.3f} s) are longer than the clip ({length / sr:.3f} s)",
                    loc=cloc + ("fade_out" if clip.fade_out else "fade_in",),
                )
            genv = gain_envelope(session, [clip.automation.get("gain_db"), clip.auto.automation.get("gain_db")],
                                 position=False, loc=cloc)
            if clip.mute:
                continue
            node = ClipNode(
                loc=cloc, path=path, stream=clip.stream, start=start, source_in=source_in, length=length,
                gain_db=clip.gain_db + clip.auto.gain_db, gain_env=genv,
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
        _align_automation(s)

    tail_end, tail_strip = _tail_end(strips, order, inputs)
    tail_cut = None
    limit = session.timebase.max_seconds * sr
    if session.duration is not None:
        length = _time(session, session.duration, ("duration",))
        _warn_unheard(session, strips, length)
        if tail_end > max(length, programme_end):
            tail_cut = TailCut(strip=tail_strip, tail_end=tail_end, length=length)
    else:
        length = max(programme_end, tail_end)
        if length > limit:
            last = max((c for st in strips.values() for c in st.clips), key=lambda c: c.end)
            raise SessionError(
                f"the programme would end {length / sr / 3600:.2f} h in, more than {float(limit) / sr / 3600:g} h, "
                "the longest programme mixdown accepts (set MIXDOWN_MAX_HOURS=HOURS to raise the limit)", loc=last.loc)
    return Graph(
        session=session, sample_rate=sr, channels=nch, length=length, strips=strips, order=order,
        edge_delay=edge_delay, output_latency=out_latency[MASTER], inputs=inputs, content_end=programme_end,
        tail_cut=tail_cut,
    )


def _tail_end(strips: dict[str, StripNode], order: list[str],
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


def _warn_unheard(session: Session, strips: dict[str, StripNode], length: int) -> None:
    """Warn about each clip the session's ``duration`` leaves out entirely (it is never heard)."""
    sr = session.sample_rate
    for strip in strips.values():
        for c in strip.clips:
            if c.start < length:
                continue
            ti, ci = c.loc[1], c.loc[3]
            clip = session.tracks[ti].clips[ci]
            line = session.lines.get(c.loc)
            where = f"{session.file}{f':{line}' if line else ''}: " if session.file else ""
            name = f" ({clip.name})" if clip.name else ""
            warnings.warn(
                f"{where}{format_loc(c.loc)}{name} on track {strip.name!r} starts at {c.start / sr:.3f} s, at or after "
                f"the end of the programme (duration: {length / sr:.3f} s): it is not heard",
                MixdownWarning, stacklevel=4)


def _strip(session: Session, strip: Any, kind: str, loc: Loc, channels: int, out_channels: int,
           clips: list[ClipNode]) -> StripNode:
    chain = []
    for pi, spec in enumerate(strip.chain):
        if spec.bypass:
            continue
        chain.append((build_processor(session, spec, loc + ("chain", pi)), spec, loc + ("chain", pi)))
    gain_env, pan_env = _strip_automation(session, strip, loc)
    procs = [p for p, _, _ in chain]
    for p, spec, ploc in chain:
        # latency may depend on the rate; re-prepared at render. Errors that need the rate or the
        # channel count (a filter above Nyquist, a stereo-only effect, an automated delay too short)
        # surface here, located.
        try:
            p.prepare(session.sample_rate, 1, channels)
        except (SessionError, ValueError) as exc:
            message = exc.message if isinstance(exc, SessionError) else str(exc)
            bad = next((n for n in spec.params if f"{spec.type}.{n} " in message), None)
            raise SessionError(message, loc=ploc + ((bad,) if bad else ())) from None
    return StripNode(
        name=getattr(strip, "name", MASTER), kind=kind, loc=loc, channels=channels, out_channels=out_channels,
        chain=procs, chain_specs=[s for _, s, _ in chain], sidechains=[s.sidechain for _, s, _ in chain],
        gain_db=strip.gain_db + strip.auto.gain_db, gain_env=gain_env, pan=getattr(strip, "pan", 0.0), pan_env=pan_env,
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
