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
from fractions import Fraction
from pathlib import Path

from ..errors import TimelineError
from ..timebase import frames_to_tc, parse_rate
from .fcpxml_levels import Layer, apply_layers, read_layer
from .ir import ClipIR, TimelineIR, TrackIR, crossfade, fade_shape_from_name
from .report import ImportReport
from .timing import ftime
from .xmlutil import parse_root, whole

STORY = {"asset-clip", "clip", "ref-clip", "sync-clip", "mc-clip", "audio", "video", "gap", "title", "audition",
         "transition", "spine"}
FCP_ROLE = {"dialogue": "dialogue", "music": "music", "effects": "sfx", "sfx": "sfx", "ambience": "ambience"}


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
    def storyline(self, spine: ET.Element, shift: Fraction, layers: list[Layer], window, lane: int) -> list[ClipIR]:
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

    def element(self, el: ET.Element, shift: Fraction, layers: list[Layer], window, lane: int) -> list[ClipIR]:
        """One story element whose parent's local time plus ``shift`` is timeline time.

        ``layers`` are the levels of the enclosing containers, ``window`` the timeline range
        the enclosing container shows. Returns the audio clips made.
        """
        tag = el.tag
        offset = ftime(el.get("offset"), Fraction(0)) or Fraction(0)
        start = ftime(el.get("start"), Fraction(0)) or Fraction(0)
        dur = ftime(el.get("duration"), Fraction(0)) or Fraction(0)
        if el.get("lane") not in (None, ""):
            lane = whole(el.get("lane"), "lane", 0)
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
        own = read_layer(el, local_shift, t_start, t_start + dur, where, self.report)
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

    def connected(self, el: ET.Element, local_shift: Fraction, layers: list[Layer], window, lane: int,
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

    def leaf(self, el: ET.Element, local_shift: Fraction, start: Fraction, dur: Fraction, layers: list[Layer],
             own: Layer | None, window, lane: int, where: str) -> ClipIR | None:
        asset = self.assets.get(el.get("ref", ""))
        if asset is None:
            self.report.add("dropped", "clip", f"{el.get('name') or el.tag!r} references no media asset", where)
            return None
        has_audio = asset.get("hasAudio") == "1" or whole(asset.get("audioSources"), "audioSources", 0) > 0
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
        apply_layers(clip, layers + ([own] if own else []), where, self.report)
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
    root = parse_root(doc)
    if root.tag != "fcpxml":
        raise TimelineError(f"not an FCPXML file (root element <{root.tag}>)", file=doc)
    try:
        ir = _Reader(root, doc, report).read(sequence)
    except TimelineError as exc:
        raise exc.located(file=doc) from None
    return ir, (path if path.is_dir() else doc)


# ---------------------------------------------------------------------------------------------
