"""A timeline's intermediate form made into a validated Session, once for every format.

:func:`build_session` merges tracks of the same name and channel pairs of one
stereo clip, resolves media, rounds times to the session's sample clock, trims
keyframes to their clip, turns per-clip pan into track pan, infers roles, and
writes everything it could not carry into the report.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..dsp.automation import Envelope
from ..errors import MediaError, MixdownError, SessionError, TimelineError
from ..media.decode import probe as probe_media
from ..session.model import ROLES, AutoLayer, Clip, Fade, Keyframe, Session, Track
from ..session.validate import validate_session
from ..timebase import frames_to_tc
from .ir import AutoIR, ClipIR, Key, TimelineIR, TrackIR
from .media import MediaResolver, probe, url_to_path
from .report import ImportReport
from .roles import infer_role
from .timing import rate_text

DB_FLOOR = -144.0
GAIN_MAX = 48.0


def _t(samples: int) -> str:
    return f"{samples}s"


def _clip_keys(keys: list[Key], length: int, sr: int, unit: str) -> tuple[list[tuple[int, float, str]], float | None]:
    """Keyframes in samples trimmed to ``[0, length]``; (keys, constant) where constant is set
    when the curve does not change inside the clip."""
    if not keys:
        return [], None
    far = next((k for k in keys if abs(k.t) > 1_000_000), None)  # the sample clock is int64
    if far is not None:
        raise TimelineError(f"a keyframe at {float(far.t):g} s is too far from its clip to be read")
    pts = sorted(((round(k.t * sr), k.v, k.interp) for k in keys), key=lambda x: x[0])
    env = Envelope([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], unit=unit)
    inside = [p for p in pts if 0 <= p[0] <= length]
    out: list[tuple[int, float, str]] = []
    if not inside or inside[0][0] > 0:
        before = [p for p in pts if p[0] < 0]
        interp = before[-1][2] if before else (inside[0][2] if inside else pts[0][2])
        v0 = float(env.at(0))
        if not inside or before or abs(v0 - inside[0][1]) > 1e-9:  # the first value holds before it anyway
            out.append((0, v0, interp))
    out.extend(inside)
    if out[-1][0] < length and any(p[0] > length for p in pts):
        v_end = float(env.at(length))
        if abs(v_end - out[-1][1]) > 1e-9:  # a value that only holds needs no keyframe
            out.append((length, v_end, "linear"))
    vals = {round(v, 9) for _, v, _ in out}
    if len(vals) == 1:
        return [], out[0][1]
    return out, None


def _db(v: float) -> float:
    return min(max(float(v), DB_FLOOR), GAIN_MAX)


def build_session(
    ir: TimelineIR,
    report: ImportReport,
    *,
    path: Path,
    media_root: Path | None,
    roles: dict[str, str] | None,
    sample_rate: int,
    missing_media: str = "error",
    resolver: MediaResolver | None = None,
) -> Session:
    """Make a validated :class:`Session` from a timeline's intermediate form.

    Raises
    ------
    MediaError
        When media cannot be found (all missing files listed) and ``missing_media`` is ``"error"``.
    TimelineError
        For a role override naming no track, or an unknown role.
    """
    sr = int(sample_rate)
    tracks = _merge_named_tracks(ir.tracks)
    _merge_channel_pairs(tracks, report)
    for t in tracks:
        t.clips = [c for c in t.clips if c.duration > 0]
    empty = [t.name for t in tracks if not t.clips]
    if empty:
        report.add("info", "empty track", f"{len(empty)} audio track(s) without clips left out: {', '.join(empty)}")
    tracks = [t for t in tracks if t.clips]

    resolver = resolver or MediaResolver(path.parent, media_root)
    _resolve_media(tracks, resolver, report, path, missing_media)

    start_tc = frames_to_tc(ir.start_frames, ir.frame_rate, ir.drop_frame)
    session_tracks: list[Track] = []
    taken: set[str] = set()
    frame = -(-sr * ir.frame_rate.denominator // ir.frame_rate.numerator)
    for t in tracks:
        name = t.name or "Audio"
        base, n = name, 2
        while name in taken or name == "master":
            name, n = f"{base} ({n})", n + 1
        taken.add(name)
        session_tracks.append(_make_track(t, name, sr, report, frame=frame))

    _apply_role_overrides(session_tracks, roles or {}, report, path)

    session = Session(
        sample_rate=sr,
        layout=ir.layout,  # type: ignore[arg-type]
        frame_rate=rate_text(ir.frame_rate),
        drop_frame=ir.drop_frame,
        start_timecode=start_tc,
        tracks=session_tracks,
    )
    if ir.duration is not None and ir.duration > 0:
        session.duration = _t(round(ir.duration * sr))
    session.base_dir = path.parent.resolve()
    session._file = None
    try:
        validate_session(session)
    except SessionError as exc:  # the reader produced something the model rejects: name the file
        raise TimelineError(f"imported timeline is not a valid session: {exc}", file=path) from None
    report.tracks = len(session_tracks)
    report.clips = sum(len(t.clips) for t in session_tracks)
    return session


def _make_track(t: TrackIR, name: str, sr: int, report: ImportReport, *, frame: int) -> Track:
    """A session track (named ``name``) from a timeline track; ``frame`` = samples of one frame, rounded up."""
    clips: list[Clip] = []
    pan_segments: list[tuple[int, int, list[tuple[int, float, str]] | None, float | None]] = []
    for c in sorted(t.clips, key=lambda c: (c.start, c.name)):
        made = _make_clip(c, sr, report, frame=frame)
        if made is None:
            continue
        clip, pan = made
        clips.append(clip)
        pan_segments.append(pan)
    track = Track(name=name, clips=clips, mute=t.mute, gain_db=_db(t.gain_db), pan=max(-1.0, min(1.0, t.pan)))
    tkeys, tconst = _clip_keys(t.gain_keys, 1 << 62, sr, "dB")
    if tkeys:
        track.automation["gain_db"] = [Keyframe(t=_t(p), v=_db(v), interp=i) for p, v, i in tkeys]
    elif tconst is not None:
        track.gain_db = _db(t.gain_db + tconst)
    if t.auto is not None:
        track.auto = _auto_layer(t.auto, 1 << 62, sr)
    _track_pan(track, t, pan_segments, sr, report)
    hint = t.role_hint
    role, why = infer_role(t.name, [c.name for c in t.clips] + [Path(url_to_path(c.ref)).name for c in t.clips if c.ref], hint)
    track.role = role  # type: ignore[assignment]
    report.roles[name] = (role, why)
    return track


def _merge_named_tracks(tracks: list[TrackIR]) -> list[TrackIR]:
    """Tracks that share a name are one track split by the writer (stereo halves, overlaps)."""
    out: dict[str, TrackIR] = {}
    for t in tracks:
        if t.name in out:
            keep = out[t.name]
            keep.clips.extend(t.clips)
            keep.role_hint = keep.role_hint or t.role_hint
            keep.mute = keep.mute and t.mute
        else:
            out[t.name] = t
    return list(out.values())


def _merge_channel_pairs(tracks: list[TrackIR], report: ImportReport) -> None:
    """One stereo clip written as one clip per channel (Premiere's exploded tracks, EDL ``AA``)."""
    seen: dict[tuple, list[tuple[TrackIR, ClipIR]]] = {}
    for t in tracks:
        keep: list[ClipIR] = []
        for c in t.clips:
            twin = twin_track = None
            for other_track, other in seen.get(c.timing, []):
                linked = c.link is not None and c.link == other.link
                channels = c.channel is not None and other.channel is not None and c.channel != other.channel
                if linked or channels:
                    twin, twin_track = other, other_track
                    break
            if twin is None:
                keep.append(c)
                seen.setdefault(c.timing, []).append((t, c))
                continue
            if (twin.gain_db, [(k.t, k.v) for k in twin.gain_keys]) != (c.gain_db, [(k.t, k.v) for k in c.gain_keys]):
                report.add("approximated", "channel levels",
                           f"the channels of {c.name!r} had different levels; the session uses channel "
                           f"{twin.channel or 1}'s", c.where)
            if twin_track is not t:
                report.add("info", "channel pair",
                           f"{c.name!r} on track {t.name!r} is the other channel of the clip on track "
                           f"{twin_track.name!r}: merged into one clip there", c.where)
            twin.channel = None
            for which in ("fade_in", "fade_out"):
                if getattr(twin, which) is None and getattr(c, which) is not None:
                    setattr(twin, which, getattr(c, which))
                    if which == "fade_in" and c.start < twin.start:
                        twin.move_start(c.start)
                    if which == "fade_out" and c.end > twin.end:
                        twin.duration = c.end - twin.start
        t.clips = keep
    for t in tracks:
        for c in t.clips:
            if c.channel is not None and (c.channel_count or 0) > 1:
                report.add("approximated", "source channel",
                           f"the timeline used only channel {c.channel} of {c.channel_count} of {c.name!r}; "
                           "the session plays all of them (it has no channel selection)", c.where)


def _resolve_media(tracks: list[TrackIR], resolver: MediaResolver, report: ImportReport, path: Path,
                   missing_media: str) -> None:
    missing: dict[str, str] = {}
    for t in tracks:
        for c in t.clips:
            ref = c.ref or ""
            found = resolver.resolve(ref, extra_names=c.extra_names)
            label = ref or (c.extra_names[0] if c.extra_names else c.name)
            report.media[label] = str(found) if found else None
            if found is None:
                missing.setdefault(label, c.where)
                c.ref = url_to_path(ref) if ref else (c.extra_names[0] if c.extra_names else c.name)
                continue
            c.ref = str(found)
            if c.source_is_timecode:
                info = probe(found)
                offset = info.start_seconds if info else Fraction(0)
                if offset:
                    report.add("info", "source timecode",
                               f"source times of {found.name!r} are read against its embedded start "
                               f"{float(offset):.3f} s", c.where)
                c.source_in -= offset
                if c.source_in < 0:
                    report.add("warning", "source timecode",
                               f"{c.name!r}: source time is before the start of {found.name!r}; in-point set to 0",
                               c.where)
                    c.source_in = Fraction(0)
    for ref, where in resolver.ambiguous.items():
        report.add("warning", "media", f"several files match {ref!r}; used {resolver.ambiguous[ref][0]}")
    if missing:
        shown = list(missing.items())[:20]
        lines = "; ".join(f"{url_to_path(r) or r} (first used at {w})" for r, w in shown)
        more = f"; and {len(missing) - 20} more" if len(missing) > 20 else ""
        hint = "pass --media-root DIR to search a folder by file name" if resolver.media_root is None else \
            f"not found under {resolver.media_root} either"
        if missing_media == "error":
            raise MediaError(f"{len(missing)} media file(s) not found: {lines}{more} ({hint})", file=path)
        for r in missing:
            report.add("warning", "missing media", f"{url_to_path(r) or r} not found; kept as written")


def _available(ref: str | None, sr: int) -> int | None:
    """Samples of the media at the session rate, counted as the renderer counts them (None: unreadable)."""
    if not ref or not Path(ref).is_file():
        return None
    try:
        info = probe_media(ref)
    except MixdownError:
        return None
    return info.frames * sr // info.sample_rate if info.frames and info.sample_rate else None


def _make_clip(c: ClipIR, sr: int, report: ImportReport, frame: int = 0):
    """A session clip from a timeline clip; ``frame`` = samples of one timeline frame (rounded up)."""
    start = round(c.start * sr)
    end = round(c.end * sr)
    length = end - start
    if length <= 0:
        report.add("info", "zero-length clip", f"{c.name!r} is shorter than one sample; left out", c.where)
        return None
    if start < 0:
        report.add("approximated", "before start",
                   f"{c.name!r} starts before the sequence start; its head was trimmed", c.where)
        c.move_start(Fraction(0))
        start, length = 0, end
        if length <= 0:
            return None
    src_in = round(c.source_in * sr)
    if src_in < 0:
        report.add("approximated", "in-point", f"{c.name!r} has an in-point before its media start; set to 0", c.where)
        src_in = 0
    available = _available(c.ref, sr)
    if available is not None and src_in + length > available:
        over = src_in + length - available
        if over <= frame and available > src_in:
            # a timeline on a frame grid reaches past the end of its media by part of a frame
            # (an editor rounds clip ends to frames); the session cannot play samples that are not there
            report.add("approximated", "past the media's end",
                       f"{c.name!r} runs {1000 * over / sr:.1f} ms past the end of its media "
                       f"{Path(c.ref).name!r} (less than a frame): ended there", c.where)
            length = available - src_in
            end = start + length
        else:  # more than a frame: not rounding; perhaps another version of the file
            report.add("warning", "past the media's end",
                       f"{c.name!r} needs {over / sr:.3f} s more than its media {Path(c.ref).name!r} has: kept as "
                       "written (the session renders once the media is the right one or the clip is shortened)",
                       c.where)
    clip = Clip(name=c.name or None, source=c.ref or c.name, start=_t(start), duration=_t(length),
                mute=c.mute, stream=c.stream, **{"in": _t(src_in)})
    keys, const = _clip_keys(c.gain_keys, length, sr, "dB")
    if keys:
        # the engine adds a clip's static gain and its keyframes (dB), as the formats do
        clip.automation["gain_db"] = [Keyframe(t=_t(p), v=_db(v), interp=i) for p, v, i in keys]
        clip.gain_db = _db(c.gain_db)
    else:
        clip.gain_db = _db((const if const is not None else 0.0) + c.gain_db)
    if c.auto is not None:
        clip.auto = _auto_layer(c.auto, length, sr)
    fades: dict[str, tuple[int, str]] = {}
    for which in ("fade_in", "fade_out"):
        f = getattr(c, which)
        if f is not None:
            # measured between rounded positions, so a crossfade's fades equal the clips' overlap
            edge = round((c.start + f.length) * sr) - start if which == "fade_in" else end - round((c.end - f.length) * sr)
            n = min(max(edge, 0), length)
            if n > 0:
                fades[which] = (n, f.shape)
    total = sum(n for n, _ in fades.values())
    if total > length:
        report.add("approximated", "fades", f"fades of {c.name!r} are longer than the clip; shortened", c.where)
        fades = {w: (n * length // total, s) for w, (n, s) in fades.items() if n * length // total > 0}
    for which, (n, shape) in fades.items():
        setattr(clip, which, Fade(length=_t(n), shape=shape))
    pan_keys, pan_const = _clip_keys(c.pan_keys, length, sr, "")
    if not pan_keys and pan_const is None:
        pan_const = c.pan
    return clip, (start, start + length, pan_keys or None, pan_const)


def _auto_layer(a: AutoIR, length: int, sr: int) -> AutoLayer:
    keys, const = _clip_keys(a.gain_keys, length, sr, "dB")
    layer = AutoLayer(gain_db=_db(a.gain_db + (const or 0.0)), edited=list(a.edited))  # type: ignore[arg-type]
    if keys:
        layer.automation["gain_db"] = [Keyframe(t=_t(p), v=_db(v), interp=i) for p, v, i in keys]
    return layer


def _track_pan(track: Track, t: TrackIR, segments, sr: int, report: ImportReport) -> None:
    """Per-clip pan (FCP7, FCPXML) becomes the track's pan, or its pan automation if it varies."""
    tkeys, tconst = _clip_keys(t.pan_keys, 1 << 62, sr, "")
    if tkeys:
        track.automation["pan"] = [Keyframe(t=_t(p), v=max(-1.0, min(1.0, v)), interp=i) for p, v, i in tkeys]
        return
    if tconst is not None:
        track.pan = max(-1.0, min(1.0, tconst))
    if not any(seg[2] or seg[3] is not None for seg in segments):
        return
    statics = {round(seg[3] if seg[3] is not None else 0.0, 9) for seg in segments if not seg[2]}
    if all(not seg[2] for seg in segments) and len(statics) == 1:
        track.pan = max(-1.0, min(1.0, statics.pop() + track.pan))
        return
    keys: list[Keyframe] = []
    last_end = -1
    for start, end, ks, const in segments:
        if start < last_end:
            report.add("approximated", "pan", f"overlapping clips on track {t.name!r} had different pans; "
                       "the later clip's pan wins where they overlap")
        pts = [(start + p, v, i) for p, v, i in ks] if ks else [(start, const if const is not None else 0.0, "hold")]
        if keys and keys[-1].v == pts[0][1] and keys[-1].interp == "hold":
            pts = pts[1:] if len(pts) > 1 else []
        for j, (p, v, i) in enumerate(pts):
            last = j == len(pts) - 1
            keys.append(Keyframe(t=_t(max(p, 0)), v=max(-1.0, min(1.0, v + track.pan)), interp="hold" if last else i))
        last_end = max(last_end, end)
    track.pan = 0.0
    track.automation["pan"] = keys
    report.add("approximated", "pan", f"per-clip pan on track {t.name!r} became track pan automation")


def _apply_role_overrides(tracks: list[Track], roles: dict[str, str], report: ImportReport, path: Path) -> None:
    by_name = {t.name.lower(): t for t in tracks}
    for i, t in enumerate(tracks):
        by_name.setdefault(f"a{i + 1}", t)
    for key, role in roles.items():
        role_l = role.strip().lower()
        if role_l not in ROLES:
            raise TimelineError(f"role {role!r} for track {key!r} is not one of {', '.join(ROLES)}", file=path)
        t = by_name.get(key.strip().lower())
        if t is None:
            raise TimelineError(
                f"--role names track {key!r}, but the timeline's audio tracks are: "
                f"{', '.join(t.name for t in tracks) or 'none'}", file=path)
        t.role = role_l  # type: ignore[assignment]
        report.roles[t.name] = (role_l, "set on the command line")
