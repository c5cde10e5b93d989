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
from pathlib import Path
from typing import Any

from ..dsp.automation import Envelope, EnvelopeSum
from ..dsp.base import Processor, create, load_all
from ..errors import Loc, MediaError, MixdownWarning, SessionError, format_loc, shown
from ..media.decode import probe_clip_source
from ..session.model import MASTER, Automation, ProcessorSpec, Session
from .envelopes import envelope_from_keys, gain_envelope
from .nodes import ClipNode, Graph, StripNode, TailCut
from .routing import (
    apply_groups_and_solo,
    audible_tracks,
    compensate,
    processing_order,
    soloed,
    stem_taps,
    tail_end,
)

__all__ = ["ClipNode", "EnvelopeSum", "Graph", "StripNode", "TailCut", "audible_tracks", "build_processor", "check",
           "gain_envelope", "soloed", "stem_taps"]



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
            proc.automate(name, envelope_from_keys(session, keys, pspec.unit, aloc))
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
    if not isinstance(path, Path):  # audio in memory (session.ArraySource)
        return True
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
    pan = envelope_from_keys(session, automation["pan"], "", loc + ("automation", "pan")) if "pan" in automation else None
    return gain, pan


def _probe(path: Path, loc: Loc):
    try:
        return probe_clip_source(path)
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


def _clip(session: Session, clip: Any, cloc: Loc, probes: dict[tuple[Path, int | None], Any], *,
          probe_media: bool) -> ClipNode | None:
    """One clip compiled (its source probed once per file and stream), or None when it is muted."""
    sr = session.sample_rate
    nch = session.channels
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
        return None
    return ClipNode(
        loc=cloc, path=path, stream=clip.stream, start=start, source_in=source_in, length=length,
        gain_db=clip.gain_db + clip.auto.gain_db, gain_env=genv,
        fade_in=fade_in, fade_in_shape=clip.fade_in.shape if clip.fade_in else "linear",
        fade_out=fade_out, fade_out_shape=clip.fade_out.shape if clip.fade_out else "linear",
        channels=info.channels if info is not None else nch,
    )


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
            node = _clip(session, clip, tloc + ("clips", ci), probes, probe_media=probe_media)
            if node is None:
                continue
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

    inputs, order = processing_order(strips)
    edge_delay, out_latency = compensate(strips, order, inputs)
    for name in order:
        _align_automation(strips[name])

    end_with_tails, tail_strip = tail_end(strips, order, inputs)
    tail_cut = None
    limit = session.timebase.max_seconds * sr
    if session.duration is not None:
        length = _time(session, session.duration, ("duration",))
        _warn_unheard(session, strips, length)
        if end_with_tails > max(length, programme_end):
            tail_cut = TailCut(strip=tail_strip, tail_end=end_with_tails, length=length)
    else:
        length = max(programme_end, end_with_tails)
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


