"""FCPXML (Final Cut Pro X/11, also written and read by DaVinci Resolve): ``.fcpxml`` and ``.fcpxmld``.

FCPXML has no tracks: a primary storyline (``spine``) of story elements, with
connected clips and secondary storylines attached to them on ``lane``\\ s, and audio
organised by *roles*. Every element has an ``offset`` (where it sits in its
parent's time), a ``start`` (its own local time at its first frame) and a
``duration``, all exact rationals (``1001/30000s``), so a local time ``t`` of an
element is at ``parent_offset + offset + (t - start)`` on the timeline; this
reader follows that rule through gaps, clips, compound clips (``ref-clip``),
synchronized clips and multicam clips, and flattens them.

Audio clips are grouped into session tracks by audio role (``dialogue.Host`` ->
track ``Host``, role dialogue); clips without a role are grouped by lane.
``adjust-volume`` (static ``amount`` and keyframes, which Final Cut interpolates
linearly in dB: the session's ``exp``), its ``fadeIn``/``fadeOut``, and
``adjust-panner`` are read; transitions in a storyline become crossfades. Split
edits (``audioStart``/``audioDuration``) place the audio where it is heard.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..errors import TimelineError, shown
from ..timebase import frames_to_tc
from .ir import ClipIR, FadeIR, Key, TimelineIR, TrackIR, crossfade, fade_shape_from_name
from .report import ImportReport

STORY = {"asset-clip", "clip", "ref-clip", "sync-clip", "mc-clip", "audio", "video", "gap", "title", "audition",
         "transition", "spine"}
FCP_ROLE = {"dialogue": "dialogue", "music": "music", "effects": "sfx", "sfx": "sfx", "ambience": "ambience"}
_DB = re.compile(r"^\s*(-?(?:\d+(?:\.\d*)?|\.\d+)|-?inf)\s*(dB)?\s*$", re.I)
# rationals and decimals with bounded digits: Fraction("1e999999999") would build ten to that power
_TIME = re.compile(r"^-?(\d{1,20}(/\d{1,20})?|\d{0,20}\.\d{1,20})$")


def ftime(text: str | None, default: Fraction | None = None) -> Fraction | None:
    """An FCPXML time (``"1001/30000s"``, ``"5s"``) in exact seconds."""
    if text is None or text == "":
        return default
    t = text.strip()
    if t.endswith("s"):
        t = t[:-1]
    if not _TIME.match(t):
        raise TimelineError(f"{shown(text)} is not an FCPXML time (like 1001/30000s or 5s)")
    try:
        return Fraction(t)
    except ZeroDivisionError:
        raise TimelineError(f"{shown(text)} is not an FCPXML time (it divides by zero)") from None


def _number(text: str | None, what: str, default: float) -> float:
    """A plain number attribute, or a TimelineError naming it (never a silent default)."""
    if text is None or text.strip() == "":
        return default
    try:
        v = float(text)
    except ValueError:
        raise TimelineError(f"{what} {shown(text)} is not a number") from None
    if not math.isfinite(v):
        raise TimelineError(f"{what} {shown(text)} is not a finite number")
    return v


def _whole(text: str | None, what: str, default: int) -> int:
    v = _number(text, what, default)
    if v != int(v):
        raise TimelineError(f"{what} {shown(text)} is not a whole number")
    return int(v)


def fmt_time(seconds: Fraction) -> str:
    """Exact FCPXML time text of a Fraction of seconds."""
    f = Fraction(seconds)
    return f"{f.numerator}s" if f.denominator == 1 else f"{f.numerator}/{f.denominator}s"


def parse_db(text: str | None) -> float | None:
    """``"-6dB"`` -> -6.0; ``"-inf"`` -> -144."""
    if text is None:
        return None
    m = _DB.match(text)
    if not m:
        raise TimelineError(f"volume {shown(text)} is not a level in dB (like -6dB)")
    v = m.group(1).lower()
    if "inf" in v:
        return -144.0
    db = float(v)
    if not math.isfinite(db):
        raise TimelineError(f"volume {shown(text)} is not a finite level")
    return max(db, -144.0)


@dataclass
class _Layer:
    """The level an enclosing element (or the clip itself) applies, in timeline seconds."""

    db: float = 0.0
    keys: list[tuple[Fraction, float]] = field(default_factory=list)  # (timeline seconds, dB)
    pan: float | None = None
    pan_keys: list[tuple[Fraction, float]] = field(default_factory=list)
    fade_in: tuple[Fraction, str] | None = None
    fade_out: tuple[Fraction, str] | None = None
    start: Fraction = Fraction(0)  # timeline range the fades sit at the edges of
    end: Fraction = Fraction(0)


def _interp_db(keys: list[tuple[Fraction, float]], t: Fraction) -> float:
    """Value at ``t`` of keyframes linear in dB (constant outside)."""
    if t <= keys[0][0]:
        return keys[0][1]
    if t >= keys[-1][0]:
        return keys[-1][1]
    for (t0, v0), (t1, v1) in zip(keys, keys[1:]):
        if t0 <= t <= t1:
            if t1 == t0:
                return v1
            return v0 + (v1 - v0) * float((t - t0) / (t1 - t0))
    return keys[-1][1]


class _Reader:
    def __init__(self, root: ET.Element, path: Path, report: ImportReport) -> None:
        self.root = root
        self.path = path
        self.report = report
        res = root.find("resources")
        self.formats: dict[str, ET.Element] = {}
        self.assets: dict[str, ET.Element] = {}
        self.media: dict[str, ET.Element] = {}
        self.effects: dict[str, ET.Element] = {}
        if res is not None:
            for el in res:
                rid = el.get("id")
                if not rid:
                    continue
                {"format": self.formats, "asset": self.assets, "media": self.media,
                 "effect": self.effects}.get(el.tag, {})[rid] = el
        self.tracks: dict[str, TrackIR] = {}
        self.rate = Fraction(25)
        self.start_frames = 0
        self.drop = False
        self.origin = Fraction(0)
        self.video_items = 0
        self.markers = 0
        self.keywords = 0

    def tc(self, t: Fraction) -> str:
        try:
            return frames_to_tc(self.start_frames + math.floor(t * self.rate), self.rate, self.drop)
        except Exception:
            return f"{float(t):.3f} s"

    # -- project -------------------------------------------------------------------------------
    def read(self, sequence: str | None) -> TimelineIR:
        projects = [p for p in self.root.iter("project") if p.find("sequence") is not None]
        if not projects:
            raise TimelineError("no <project> with a <sequence> in this FCPXML file (export a project, "
                                "not an event or a clip)", file=self.path)
        chosen = projects[0]
        if sequence is not None:
            named = [p for p in projects if p.get("name") == sequence]
            if not named:
                names = ", ".join(repr(p.get("name")) for p in projects)
                raise TimelineError(f"no project named {sequence!r} (projects: {names})", file=self.path)
            chosen = named[0]
        elif len(projects) > 1:
            self.report.add("info", "other projects",
                            f"the file holds {len(projects)} projects; imported the first, {chosen.get('name')!r}")
        seq = chosen.find("sequence")
        assert seq is not None
        fmt = self.formats.get(seq.get("format", ""))
        fd = ftime(fmt.get("frameDuration")) if fmt is not None else None
        if not fd:
            raise TimelineError("the sequence's format has no frameDuration", file=self.path)
        from ..timebase import parse_rate

        self.rate = parse_rate(1 / fd)
        tc_start = ftime(seq.get("tcStart"), Fraction(0)) or Fraction(0)
        self.drop = (seq.get("tcFormat") or "NDF").upper() == "DF" and round(self.rate) in (30, 60) \
            and self.rate.denominator != 1
        self.start_frames = round(tc_start * self.rate)
        spine = seq.find("spine")
        offsets = [ftime(e.get("offset"), Fraction(0)) for e in (spine if spine is not None else []) if e.tag in STORY]
        # Final Cut writes storyline offsets on the timecode clock (first offset = tcStart);
        # other writers start them at 0.
        self.origin = tc_start if offsets and min(offsets) >= tc_start else Fraction(0)
        layout = (seq.get("audioLayout") or "stereo").lower()
        ir = TimelineIR(
            format="fcpxml",
            name=chosen.get("name"),
            frame_rate=self.rate,
            drop_frame=self.drop,
            start_frames=self.start_frames,
            duration=ftime(seq.get("duration")),
            layout={"mono": "mono", "surround": "5.1"}.get(layout, "stereo"),
        )
        self.report.sequence = ir.name
        if spine is not None:
            self.storyline(spine, -self.origin, [], None, 0)
        ir.tracks = list(self.tracks.values())
        if self.video_items:
            self.report.add("dropped", "video", f"{self.video_items} video-only item(s) ignored "
                            "(the session holds audio only)")
        if self.markers:
            self.report.add("dropped", "marker", f"{self.markers} marker(s) not imported")
        if self.keywords:
            self.report.add("info", "keywords", f"{self.keywords} keyword range(s) ignored")
        return ir

    # -- structure walk ------------------------------------------------------------------------
    def storyline(self, spine: ET.Element, shift: Fraction, layers: list[_Layer], window, lane: int) -> list[ClipIR]:
        """A spine: story elements one after another, with transitions between them."""
        produced: list[list[ClipIR]] = []
        kinds: list[ET.Element] = []
        for el in spine:
            if el.tag not in STORY:
                self.other(el)
                continue
            kinds.append(el)
            produced.append([] if el.tag == "transition" else self.element(el, shift, layers, window, lane))
        for i, el in enumerate(kinds):
            if el.tag != "transition":
                continue
            t0 = shift + (ftime(el.get("offset"), Fraction(0)) or Fraction(0))
            t1 = t0 + (ftime(el.get("duration"), Fraction(0)) or Fraction(0))
            name = el.get("name") or "transition"
            fa = el.find("filter-audio")
            shape = fade_shape_from_name(fa.get("name", "") if fa is not None else name)
            where = f"transition {name!r} at {self.tc(t0)}"
            before = produced[i - 1] if i > 0 else []
            after = produced[i + 1] if i + 1 < len(produced) else []
            n = 0
            for a in before:
                if t0 <= a.end <= t1:
                    crossfade(a, None, t0, t1, shape, self.report, where)
                    n += 1
            for b in after:
                if t0 <= b.start <= t1:
                    crossfade(None, b, t0, t1, shape, self.report, where)
                    n += 1
            if n == 0 and (before or after):
                self.report.add("info", "transition", f"transition {name!r} has no audio next to it", where)
        return [c for cs in produced for c in cs]

    def other(self, el: ET.Element) -> None:
        if el.tag in ("marker", "chapter-marker"):
            self.markers += 1
        elif el.tag == "keyword":
            self.keywords += 1

    def element(self, el: ET.Element, shift: Fraction, layers: list[_Layer], window, lane: int) -> list[ClipIR]:
        """One story element whose parent's local time plus ``shift`` is timeline time.

        ``layers`` are the levels of the enclosing containers, ``window`` the timeline range
        the enclosing container shows. Returns the audio clips made.
        """
        tag = el.tag
        offset = ftime(el.get("offset"), Fraction(0)) or Fraction(0)
        start = ftime(el.get("start"), Fraction(0)) or Fraction(0)
        dur = ftime(el.get("duration"), Fraction(0)) or Fraction(0)
        if el.get("lane") not in (None, ""):
            lane = _whole(el.get("lane"), "lane", 0)
        local_shift = shift + offset - start  # this element's local time + local_shift = timeline time
        t_start = shift + offset
        name = el.get("name") or tag
        where = f"{name!r} at {self.tc(t_start)}"
        enabled = el.get("enabled", "1") != "0"
        inner_window = (t_start, t_start + dur) if dur else window
        if window is not None and dur:
            inner_window = (max(window[0], t_start), min(window[1], t_start + dur))
        if tag == "spine":
            # a secondary storyline: its children's offsets count from 0 at the spine's offset
            return self.storyline(el, shift + offset, layers, window, lane)
        if tag == "transition":
            return []
        if tag in ("title", "video"):
            self.video_items += 1
            return self.connected(el, local_shift, layers, window, lane, where)
        if tag == "gap":
            return self.connected(el, local_shift, layers, window, lane, where)
        if tag == "audition":
            kids = [k for k in el if k.tag in STORY]
            if len(kids) > 1:
                self.report.add("dropped", "audition", f"audition {name!r}: only the active pick is imported", where)
            return self.element(kids[0], shift, layers, window, lane) if kids else []
        own = self.layer(el, local_shift, t_start, t_start + dur, where)
        self.speed(el, where)
        if tag in ("asset-clip", "audio"):
            out: list[ClipIR] = []
            leaf = self.leaf(el, local_shift, start, dur, layers, own, window, lane, where)
            if leaf is not None:
                leaf.mute = leaf.mute or not enabled
                out.append(leaf)
            return out + self.connected(el, local_shift, layers, window, lane, where)
        content_layers = layers + ([own] if own else [])
        inner: list[ClipIR] = []
        if tag in ("clip", "sync-clip"):
            # everything inside a container clip is its content: its levels apply, its bounds trim
            inner = self.connected(el, local_shift, content_layers, inner_window, lane, where)
            return [self._mute(c, enabled) for c in inner]
        if tag == "ref-clip":
            media = self.media.get(el.get("ref", ""))
            seq = media.find("sequence") if media is not None else None
            if seq is None or seq.find("spine") is None:
                self.report.add("dropped", "compound clip", f"compound clip {name!r}: its media is not in the file",
                                where)
            elif el.get("srcEnable", "all") == "video":
                self.video_items += 1
            else:
                inner = self.storyline(seq.find("spine"), local_shift, content_layers, inner_window, lane)
                self.report.add("approximated", "compound clip",
                                f"compound clip {name!r} was flattened ({len(inner)} audio clip(s))", where)
        elif tag == "mc-clip":
            inner = self.multicam(el, local_shift, content_layers, inner_window, lane, where)
        inner = [self._mute(c, enabled) for c in inner]
        return inner + self.connected(el, local_shift, layers, window, lane, where)

    @staticmethod
    def _mute(c: ClipIR, enabled: bool) -> ClipIR:
        c.mute = c.mute or not enabled
        return c

    def connected(self, el: ET.Element, local_shift: Fraction, layers: list[_Layer], window, lane: int,
                  where: str) -> list[ClipIR]:
        """The story elements inside ``el`` (on ``el``'s local clock), and what else it carries."""
        out: list[ClipIR] = []
        for k in el:
            if k.tag in STORY:
                out += self.element(k, local_shift, layers, window, lane)
            elif k.tag == "filter-audio":
                self.report.add("dropped", "effect", f"audio effect {k.get('name') or k.get('ref')!r} not imported",
                                where)
            elif k.tag in ("adjust-EQ", "adjust-matchEQ", "adjust-loudness", "adjust-noiseReduction",
                           "adjust-humReduction", "adjust-voiceIsolation", "adjust-reverb"):
                self.report.add("dropped", "effect", f"{k.tag[7:]} adjustment not imported", where)
            else:
                self.other(k)
        return out

    def multicam(self, el: ET.Element, local_shift, layers, window, lane, where) -> list[ClipIR]:
        media = self.media.get(el.get("ref", ""))
        mc = media.find("multicam") if media is not None else None
        if mc is None:
            self.report.add("dropped", "multicam", "multicam clip without its media", where)
            return []
        angle_id = None
        for src in el.findall("mc-source"):
            if src.get("srcEnable", "all") in ("all", "audio"):
                angle_id = src.get("angleID")
                break
        angle = next((a for a in mc.findall("mc-angle") if a.get("angleID") == angle_id), None)
        if angle is None:
            self.report.add("dropped", "multicam", "multicam clip: no active audio angle", where)
            return []
        inner = self.storyline(angle, local_shift, layers, window, lane)
        self.report.add("approximated", "multicam", f"multicam clip: audio angle {angle.get('name')!r} flattened "
                        f"({len(inner)} clip(s))", where)
        return inner

    def speed(self, el: ET.Element, where: str) -> None:
        if el.find("timeMap") is not None:
            self.report.add("dropped", "speed change", "retimed clip imported at normal speed", where)
        cr = el.find("conform-rate")
        if cr is not None and cr.get("scaleEnabled", "1") != "0" and cr.get("srcFrameRate"):
            self.report.add("dropped", "speed change",
                            f"rate conform from {cr.get('srcFrameRate')} fps imported at normal speed", where)

    def _has_audio(self, ref: str | None) -> bool:
        a = self.assets.get(ref or "")
        return a is not None and (a.get("hasAudio") == "1" or _whole(a.get("audioSources"), "audioSources", 0) > 0)

    # -- levels --------------------------------------------------------------------------------
    def layer(self, el: ET.Element, local_shift: Fraction, t0: Fraction, t1: Fraction, where: str) -> _Layer | None:
        """Volume, fades and pan an element applies (its own ``adjust-volume``/``adjust-panner``)."""
        vol = el.find("adjust-volume")
        pan = el.find("adjust-panner")
        if vol is None and pan is None:
            return None
        lay = _Layer(start=t0, end=t1)
        if vol is not None:
            lay.db = parse_db(vol.get("amount")) or 0.0
            for p in vol.findall("param"):
                if p.get("name") != "amount":
                    continue
                if p.get("value") is not None:
                    lay.db = parse_db(p.get("value")) or 0.0
                for k in p.findall("keyframeAnimation/keyframe"):
                    v = parse_db(k.get("value"))
                    t = ftime(k.get("time"))
                    if v is None or t is None:
                        continue
                    lay.keys.append((t + local_shift, v))
                    if k.get("interp") not in (None, "linear") or k.get("curve") == "smooth":
                        self.report.add("approximated", "keyframes",
                                        f"eased volume keyframe ({k.get('interp') or k.get('curve')}) read as linear", where)
                fi, fo = p.find("fadeIn"), p.find("fadeOut")
                if fi is not None:
                    lay.fade_in = (ftime(fi.get("duration"), Fraction(0)), _fade_shape(fi.get("type", "easeOut")))
                if fo is not None:
                    lay.fade_out = (ftime(fo.get("duration"), Fraction(0)), _fade_shape(fo.get("type", "easeOut")))
            lay.keys.sort(key=lambda kv: kv[0])
        if pan is not None:
            mode = pan.get("mode")
            lay.pan = max(-1.0, min(1.0, _number(pan.get("amount"), "pan amount", 0.0) / 100.0))
            for p in pan.findall("param"):
                if p.get("name") == "amount":
                    for k in p.findall("keyframeAnimation/keyframe"):
                        t = ftime(k.get("time"))
                        v = max(-1.0, min(1.0, _number(k.get("value"), "pan keyframe value", 0.0) / 100.0))
                        lay.pan_keys.append((t + local_shift, v))
            if mode not in (None, "", "0", "stereo", "stereo left/right", "1"):
                self.report.add("approximated", "pan", f"panner mode {mode!r} read as stereo left/right", where)
        return lay

    def leaf(self, el: ET.Element, local_shift: Fraction, start: Fraction, dur: Fraction, layers: list[_Layer],
             own: _Layer | None, window, lane: int, where: str) -> ClipIR | None:
        asset = self.assets.get(el.get("ref", ""))
        if asset is None:
            self.report.add("dropped", "clip", f"{el.get('name') or el.tag!r} references no media asset", where)
            return None
        has_audio = asset.get("hasAudio") == "1" or _whole(asset.get("audioSources"), "audioSources", 0) > 0
        if not has_audio or el.get("srcEnable") == "video":
            self.video_items += 1
            return None
        # split edits: the audio may begin and end elsewhere than the picture
        a_start = ftime(el.get("audioStart"), start) or Fraction(0)
        a_dur = ftime(el.get("audioDuration"), dur) or Fraction(0)
        t0 = a_start + local_shift
        t1 = t0 + a_dur
        edges = (t0, t1)
        if window is not None:
            t0, t1 = max(t0, window[0]), min(t1, window[1])
        if t1 <= t0:
            return None
        asset_start = ftime(asset.get("start"), Fraction(0)) or Fraction(0)
        src = asset.get("src")
        rep = asset.find("media-rep")
        if rep is not None and rep.get("src"):
            src = rep.get("src")
        role, enabled_any = self.role_of(el, where)
        name = el.get("name") or asset.get("name") or "clip"
        clip = ClipIR(
            name=name,
            ref=src,
            start=t0,
            duration=t1 - t0,
            source_in=(t0 - local_shift) - asset_start,
            mute=not enabled_any,
            extra_names=(asset.get("name") or "",),
            where=f"clip {where}",
        )
        if own is not None:
            own.start, own.end = edges
        self.apply_layers(clip, layers + ([own] if own else []), where)
        key = role or f"lane {lane}"
        track = self.tracks.get(key)
        if track is None:
            track = TrackIR(name=_track_name(role) if role else ("Storyline" if lane == 0 else f"Lane {lane}"),
                            role_hint=_role_hint(role) if role else None)
            self.tracks[key] = track
        track.clips.append(clip)
        return clip

    def role_of(self, el: ET.Element, where: str) -> tuple[str | None, bool]:
        role = el.get("audioRole") or el.get("role")
        sources = el.findall("audio-channel-source") + el.findall("audio-role-source")
        active = [s for s in sources if s.get("active", "1") != "0" and s.get("enabled", "1") != "0"]
        if sources and not active:
            return role, False
        roles = {s.get("role") for s in active if s.get("role")}
        if roles:
            if len(roles) > 1:
                self.report.add("approximated", "audio components",
                                f"components with several roles ({', '.join(sorted(roles))}): the clip is imported "
                                "whole on the first role's track", where)
            role = sorted(roles)[0] if role is None or role not in roles else role
        if len(sources) > len(active) and active:
            self.report.add("approximated", "audio components",
                            "some audio components are disabled; the session plays all channels", where)
        for s in active:
            for k in s:
                if k.tag == "adjust-volume" and len(active) == 1:
                    continue
                if k.tag.startswith("adjust-") or k.tag == "filter-audio":
                    self.report.add("dropped", "effect", f"{k.get('name') or k.tag[7:] or k.tag} on an audio "
                                    "component not imported", where)
        return role, True

    def apply_layers(self, clip: ClipIR, layers: list[_Layer], where: str) -> None:
        """Sum the levels of the clip and its containers; fades sit at the edges they were set on."""
        if not layers:
            return
        keyed = [l for l in layers if l.keys]
        clip.gain_db = sum(l.db for l in layers if not l.keys)
        if len(keyed) == 1:
            clip.gain_keys = [Key(t=t - clip.start, v=v, interp="exp") for t, v in keyed[0].keys]
        elif keyed:
            # keyframes linear in dB sum to keyframes linear in dB at the union of their times
            times = sorted({t for l in keyed for t, _ in l.keys})
            clip.gain_keys = [Key(t=t - clip.start, v=sum(_interp_db(l.keys, t) for l in keyed), interp="exp")
                              for t in times]
            self.report.add("info", "levels", "volume keyframes of a clip and its container were summed", where)
        for l in reversed(layers):  # the innermost pan wins
            if l.pan is not None or l.pan_keys:
                clip.pan = l.pan
                clip.pan_keys = [Key(t=t - clip.start, v=v) for t, v in l.pan_keys]
                break
        for l in layers:
            if l.fade_in and l.fade_in[0] > 0 and l.start == clip.start:
                clip.fade_in = FadeIR(l.fade_in[0], l.fade_in[1])
            if l.fade_out and l.fade_out[0] > 0 and l.end == clip.end:
                clip.fade_out = FadeIR(l.fade_out[0], l.fade_out[1])


def _fade_shape(kind: str) -> str:
    # Final Cut's fade shapes: linear, S-curve (easeInOut), +3 dB (easeOut, the default), -3 dB (easeIn)
    return {"linear": "linear", "easeInOut": "s-curve", "easeOut": "equal-power", "easeIn": "log"}.get(kind,
                                                                                                      "equal-power")


def fade_type(shape: str) -> str:
    """FCPXML fade type of a session fade shape."""
    return {"linear": "linear", "s-curve": "easeInOut", "equal-power": "easeOut", "log": "easeIn"}[shape]


def _track_name(role: str) -> str:
    main, _, sub = role.partition(".")
    if not sub:
        return main[:1].upper() + main[1:]
    m = re.fullmatch(re.escape(main) + r"-(\d+)", sub, re.I)
    if m:
        n = int(m.group(1))
        base = main[:1].upper() + main[1:]
        return base if n == 1 else f"{base} {n}"
    return sub


def _role_hint(role: str) -> str:
    main = role.partition(".")[0].lower()
    return FCP_ROLE.get(main, main)


def _find_fcpxml(path: Path) -> Path:
    if path.is_dir():
        for name in ("Info.fcpxml", "info.fcpxml"):
            if (path / name).is_file():
                return path / name
        found = sorted(path.glob("*.fcpxml"))
        if found:
            return found[0]
        raise TimelineError("this .fcpxmld bundle holds no Info.fcpxml", file=path)
    return path


def read_fcpxml(path: Path, report: ImportReport, *, sequence: str | None = None) -> tuple[TimelineIR, Path]:
    """Parse an FCPXML file or ``.fcpxmld`` bundle; returns the IR and the file media are relative to."""
    doc = _find_fcpxml(path)
    try:
        root = ET.parse(doc).getroot()
    except ET.ParseError as exc:
        raise TimelineError(f"not valid XML: {exc}", file=doc) from None
    if root.tag != "fcpxml":
        raise TimelineError(f"not an FCPXML file (root element <{root.tag}>)", file=doc)
    try:
        ir = _Reader(root, doc, report).read(sequence)
    except TimelineError as exc:
        raise exc.located(file=doc) from None
    return ir, (path if path.is_dir() else doc)


# ---------------------------------------------------------------------------------------------
# writing

_AUDIO_RATES = {32000: "32k", 44100: "44.1k", 48000: "48k", 88200: "88.2k", 96000: "96k", 176400: "176.4k",
                192000: "192k"}
_ROLE_OUT = {"dialogue": "dialogue", "music": "music", "sfx": "effects", "ambience": "ambience", "other": "other"}


def _db_text(v: float) -> str:
    # short where the value is short, else the shortest text that reads back as the same float
    text = f"{v:.4f}".rstrip("0").rstrip(".") if abs(v - round(v, 4)) < 1e-12 else repr(float(v))
    return f"{text or '0'}dB"


def write_fcpxml(session, path: Path, *, name: str) -> list[str]:
    """Write a session as FCPXML 1.9 (a ``.fcpxmld`` bundle when the suffix says so).

    One gap spans the project; every session clip is a connected ``asset-clip`` on
    its own lane group (one lane per overlap layer of each track), its audio role
    ``<role>.<track name>``; clip and track levels become one ``adjust-volume`` per
    clip (keyframes linear in dB, exact times in samples), fades ``fadeIn``/``fadeOut``.

    Returns
    -------
    list of str
        Notes on what FCPXML could not hold as such.
    """
    from ..session.io import write_text_atomic
    from .gaincurve import approximate, clip_gain, has_gain, track_pan, trim_flat_ends
    from .plan import plan, unsupported_notes

    notes: list[str] = unsupported_notes(session, "FCPXML")
    tb = session.timebase
    sr = session.sample_rate
    rate = tb.frame_rate
    lanes_by_track = plan(session, snap=lambda p: p, notes=notes, typed_tracks=False, crossfades=False)

    def secs(samples: int) -> Fraction:
        return Fraction(samples, sr)

    root = ET.Element("fcpxml", version="1.9")
    res = ET.SubElement(root, "resources")
    ET.SubElement(res, "format", id="r1", frameDuration=fmt_time(1 / rate), width="1920", height="1080")
    assets: dict[str, str] = {}
    asset_start: dict[str, Fraction] = {}
    extents: dict[str, int] = {}
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                key = str(p.path)
                extents[key] = max(extents.get(key, 0), p.src_in + (p.end - p.start))
    from .media import path_to_url

    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                key = str(p.path)
                if key in assets:
                    continue
                rid = f"r{len(assets) + 2}"
                assets[key] = rid
                info = p.info
                start = info.start_seconds if info else Fraction(0)
                asset_start[key] = start
                dur = info.duration if info and info.duration else secs(extents[key])
                attrs = {"id": rid, "name": p.path.stem, "start": fmt_time(start), "duration": fmt_time(dur),
                         "hasAudio": "1", "audioSources": "1", "audioChannels": str(p.channels),
                         "audioRate": str(info.sample_rate if info and info.sample_rate else sr)}
                if info and info.has_video:
                    attrs.update(hasVideo="1", format="r1")
                a = ET.SubElement(res, "asset", attrs)
                ET.SubElement(a, "media-rep", kind="original-media", src=path_to_url(p.path).replace(
                    "file://localhost/", "file:///"))
    lib = ET.SubElement(root, "library")
    event = ET.SubElement(lib, "event", name="mixdown")
    project = ET.SubElement(event, "project", name=name)
    tc_start = Fraction(tb.start_frames) / rate
    total = 0
    for _, lanes in lanes_by_track:
        for lane in lanes:
            for p in lane.items:
                total = max(total, p.end)
    if session.duration is not None:
        total = max(total, tb.samples(session.duration))
    layout = {"mono": "mono", "stereo": "stereo", "5.1": "surround"}[session.layout]
    seq = ET.SubElement(project, "sequence", format="r1", duration=fmt_time(secs(total)),
                        tcStart=fmt_time(tc_start), tcFormat="DF" if session.drop_frame else "NDF",
                        audioLayout=layout, audioRate=_AUDIO_RATES.get(sr, "48k"))
    if sr not in _AUDIO_RATES:
        notes.append(f"FCPXML has no project audio rate of {sr} Hz: written as 48k")
    spine = ET.SubElement(seq, "spine")
    gap = ET.SubElement(spine, "gap", name="Gap", offset=fmt_time(tc_start), start=fmt_time(tc_start),
                        duration=fmt_time(secs(total)))
    lane_no = 0
    worst = 0.0
    folded: list[str] = []
    muted: list[str] = []
    for track, lanes in lanes_by_track:
        if has_gain(track):
            folded.append(track.name)
        if track.mute:
            muted.append(track.name)
        role = f"{_ROLE_OUT[track.role]}.{track.name}"
        pan_curve = track_pan(session, track)
        for lane in lanes:
            lane_no -= 1
            for p in lane.items:
                key = str(p.path)
                local0 = asset_start[key] + secs(p.src_in)  # the clip's local time at its first sample
                attrs = {"ref": assets[key], "lane": str(lane_no), "offset": fmt_time(tc_start + secs(p.start)),
                         "name": p.clip.name or p.path.stem, "start": fmt_time(local0),
                         "duration": fmt_time(secs(p.end - p.start)), "audioRole": role}
                if p.clip.mute or track.mute:
                    attrs["enabled"] = "0"
                ac = ET.SubElement(gap, "asset-clip", attrs)
                curve = clip_gain(session, track, p.clip, with_track=True)
                keys: list[tuple[int, float]] = []
                if curve.constant is None:
                    keys, err = approximate(curve, p.start, p.end, rep="db", snap=lambda x: x)
                    keys = trim_flat_ends(keys)
                    worst = max(worst, err)
                fades = [(w, f) for w, f in (("fadeIn", p.fade_in), ("fadeOut", p.fade_out)) if f]
                if curve.constant is not None and curve.constant != 0.0 or keys or fades:
                    vol = ET.SubElement(ac, "adjust-volume")
                    if curve.constant is not None and curve.constant != 0.0:
                        vol.set("amount", _db_text(curve.constant))
                    if keys or fades:
                        param = ET.SubElement(vol, "param", name="amount")
                        for w, (n, shape) in fades:
                            ET.SubElement(param, w, type=fade_type(shape), duration=fmt_time(secs(n)))
                        if keys:
                            anim = ET.SubElement(param, "keyframeAnimation")
                            for pos, v in keys:
                                ET.SubElement(anim, "keyframe", time=fmt_time(local0 + secs(pos - p.start)),
                                              value=_db_text(v))
                if pan_curve.constant is None or pan_curve.constant != 0.0:
                    pan = ET.SubElement(ac, "adjust-panner")
                    if pan_curve.constant is not None:
                        pan.set("amount", f"{pan_curve.constant * 100:.6g}")
                    else:
                        pkeys, _ = approximate(pan_curve, p.start, p.end, rep="lin", snap=lambda x: x, tol=0.001)
                        pkeys = trim_flat_ends(pkeys)
                        param = ET.SubElement(pan, "param", name="amount")
                        anim = ET.SubElement(param, "keyframeAnimation")
                        for pos, v in pkeys:
                            ET.SubElement(anim, "keyframe", time=fmt_time(local0 + secs(pos - p.start)),
                                          value=f"{v * 100:.6g}")
    if folded:
        notes.append("FCPXML has no track volume: the fader and keyframes of "
                     f"{', '.join(repr(n) for n in folded)} were folded into their clips' volume keyframes")
    if muted:
        notes.append(f"FCPXML has no track mute: the clips of {', '.join(repr(n) for n in muted)} were disabled")
    if worst > 0.01:
        notes.append(f"volume keyframes follow the session's gain within {worst:.3f} dB")
    ET.indent(root, space="    ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n' + ET.tostring(root, encoding="unicode") + "\n"
    if path.suffix.lower() == ".fcpxmld":
        path.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path / "Info.fcpxml", text)
    else:
        write_text_atomic(path, text)
    return list(dict.fromkeys(notes))
