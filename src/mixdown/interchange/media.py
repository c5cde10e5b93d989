"""Media references in timelines: URLs to paths, finding moved media, probing files.

Timelines name media by ``file://`` URL (percent-encoded, ``localhost`` or empty
host, Windows drives as ``/C:/``), by plain path, or only by file name (EDL). A
reference is resolved, in order, as: the path itself if it exists on this machine;
relative to the timeline's folder; relative to ``media_root``; and finally by file
name under ``media_root`` (then under the timeline's folder), preferring the
candidate whose parent folders match the written path best.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import quote, unquote, urlparse

from ..timebase import tc_to_frames

_DRIVE = re.compile(r"^/?([A-Za-z]):[/\\]")
_MAX_INDEX_FILES = 200_000


def url_to_path(ref: str) -> str:
    """The file path a timeline's media reference names (not checked for existence).

    ``file://localhost/Volumes/A%20B/x.wav`` -> ``/Volumes/A B/x.wav``;
    ``file:///C:/x.wav`` -> ``C:/x.wav``; ``file://server/share/x.wav`` -> ``//server/share/x.wav``;
    a plain path is returned unchanged.
    """
    ref = ref.strip()
    if ref.lower().startswith("file:"):
        parsed = urlparse(ref)
        path = unquote(parsed.path)
        host = parsed.netloc
        if host and host.lower() != "localhost":
            return f"//{host}{path}"
        m = _DRIVE.match(path)
        if m:
            return path[1:] if path.startswith("/") else path
        if not parsed.netloc and not ref.lower().startswith("file:/"):
            return path  # "file:relative/x.wav"
        return path
    return ref


def path_to_url(path: str | Path) -> str:
    """A ``file://localhost/...`` URL, percent-encoded, as Premiere and Final Cut write them."""
    p = Path(path)
    text = p.as_posix() if not isinstance(path, str) else str(path).replace("\\", "/")
    if _DRIVE.match(text):
        text = "/" + text.lstrip("/")
    return "file://localhost" + quote(text, safe="/:")


def _expand(p: Path) -> Path:
    try:
        return p.expanduser()
    except RuntimeError:  # ~user of a user this machine does not have
        return p


def _is_file(p: Path) -> bool:
    """Whether ``p`` is a file; a name the system cannot look up (too long, a NUL byte) is not one."""
    try:
        return p.is_file()
    except (OSError, ValueError):
        return False


def _parts(path_text: str) -> list[str]:
    if _DRIVE.match(path_text) or "\\" in path_text:
        return list(PureWindowsPath(path_text).parts)
    return list(PurePosixPath(path_text).parts)


class MediaResolver:
    """Finds the files a timeline references.

    Parameters
    ----------
    timeline_dir : Path
        Folder of the timeline file (relative references start here).
    media_root : Path, optional
        Folder to search for media by file name when the written path is not on this machine.
    """

    def __init__(self, timeline_dir: Path, media_root: Path | None = None) -> None:
        self.timeline_dir = Path(timeline_dir)
        self.media_root = Path(media_root) if media_root is not None else None
        self._indexes: dict[Path, dict[str, list[Path]]] = {}
        self.cache: dict[str, Path | None] = {}
        self.ambiguous: dict[str, list[Path]] = {}

    def _index(self, root: Path, max_depth: int | None) -> dict[str, list[Path]]:
        if root in self._indexes:
            return self._indexes[root]
        index: dict[str, list[Path]] = {}
        count = 0
        base_depth = len(root.parts)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if max_depth is not None and len(Path(dirpath).parts) - base_depth >= max_depth:
                dirnames[:] = []
            for name in sorted(filenames):
                index.setdefault(name.lower(), []).append(Path(dirpath) / name)
                count += 1
            if count > _MAX_INDEX_FILES:
                break
        self._indexes[root] = index
        return index

    def _by_name(self, root: Path, written: str, name: str, max_depth: int | None) -> Path | None:
        hits = self._index(root, max_depth).get(name.lower(), [])
        if not hits:
            stem = Path(name).stem.lower()
            if not Path(name).suffix:  # EDL clip names often lack the extension
                hits = [p for key, ps in self._index(root, max_depth).items() for p in ps
                        if Path(key).stem == stem]
        if not hits:
            return None
        want = [p.lower() for p in _parts(written)][:-1]

        def score(p: Path) -> int:
            have = [q.lower() for q in p.parts[:-1]]
            n = 0
            while n < min(len(want), len(have)) and want[-1 - n] == have[-1 - n]:
                n += 1
            return n

        ranked = sorted(hits, key=lambda p: (-score(p), str(p)))
        if len(ranked) > 1 and score(ranked[0]) == score(ranked[1]):
            self.ambiguous[written] = ranked
        return ranked[0]

    def resolve(self, ref: str, *, extra_names: tuple[str, ...] = ()) -> Path | None:
        """Absolute path of a referenced file, or None when it cannot be found.

        Parameters
        ----------
        ref : str
            The reference as written (URL, path or bare name).
        extra_names : tuple of str
            Other names to search by if ``ref`` is not found (an EDL clip name).
        """
        key = ref + "\0" + "\0".join(extra_names)
        if key in self.cache:
            return self.cache[key]
        found = self._resolve(ref, extra_names)
        self.cache[key] = found
        return found

    def _resolve(self, ref: str, extra_names: tuple[str, ...]) -> Path | None:
        written = url_to_path(ref) if ref else ""
        roots = [self.timeline_dir] + ([self.media_root] if self.media_root else [])
        if written:
            p = _expand(Path(written))
            if p.is_absolute() or written.startswith("//"):
                if _is_file(p):
                    return p.resolve()
            else:
                for root in roots:
                    if _is_file(root / p):
                        return (root / p).resolve()
        last = _parts(written)[-1:] if written else []
        names = [n for n in last + list(extra_names) if n]
        for name in names:
            if self.media_root is not None and self.media_root.is_dir():
                hit = self._by_name(self.media_root, written or name, name, None)
                if hit:
                    return hit.resolve()
            hit = self._by_name(self.timeline_dir, written or name, name, 3)
            if hit:
                return hit.resolve()
        return None


@dataclass(frozen=True)
class MediaInfo:
    """What the exporters need to know about a file.

    Attributes
    ----------
    duration : Fraction or None
        Seconds of audio.
    channels : int or None
    sample_rate : int or None
    has_video : bool
    start_seconds : Fraction
        The media's own start time (embedded timecode / BWF time reference), seconds.
    """

    duration: Fraction | None
    channels: int | None
    sample_rate: int | None
    has_video: bool = False
    start_seconds: Fraction = Fraction(0)


_PROBES: dict[str, MediaInfo | None] = {}


def probe(path: str | Path) -> MediaInfo | None:
    """Duration, channels, rate and embedded start time of a media file (None if unreadable)."""
    p = Path(path)
    try:
        st = p.stat()
        key = f"{p}\0{st.st_mtime_ns}\0{st.st_size}"  # a changed file is probed again
    except OSError:
        return None
    if key not in _PROBES:
        _PROBES[key] = _probe(p)
    return _PROBES[key]


def _tc_seconds(text: str, rate: Fraction | None) -> Fraction | None:
    m = re.match(r"^(\d+):(\d\d):(\d\d)[:;.](\d\d)$", text.strip())
    if not m or not rate:
        return None
    hh, mm, ss, ff = (int(g) for g in m.groups())
    drop = ";" in text and round(rate) in (30, 60)
    try:
        return Fraction(tc_to_frames(hh, mm, ss, ff, rate, drop)) / rate
    except Exception:
        return None


def _probe(path: Path) -> MediaInfo | None:
    if not path.is_file():
        return None
    try:
        import soundfile as sf

        i = sf.info(str(path))
        if i.frames > 0 and i.samplerate > 0:
            start = Fraction(0)
            av_info = _probe_av(path)  # BWF time reference is only visible to FFmpeg
            if av_info is not None:
                start = av_info.start_seconds
            return MediaInfo(Fraction(i.frames, i.samplerate), i.channels, i.samplerate, False, start)
    except Exception:
        pass
    return _probe_av(path)


def _probe_av(path: Path) -> MediaInfo | None:
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency
        return None
    try:
        with av.open(str(path)) as c:
            audio = [s for s in c.streams if s.type == "audio"]
            video = [s for s in c.streams if s.type == "video"]
            duration = None
            channels = rate = None
            if audio:
                a = audio[0]
                channels = a.codec_context.channels
                rate = a.codec_context.sample_rate
                if a.duration is not None and a.time_base is not None:
                    duration = Fraction(a.duration) * Fraction(a.time_base)
            if duration is None and c.duration is not None:
                duration = Fraction(c.duration, 1_000_000)
            start = Fraction(0)
            meta = dict(c.metadata)
            if "time_reference" in meta and rate:
                try:
                    start = Fraction(int(meta["time_reference"]), rate)
                except ValueError:
                    pass
            tc = meta.get("timecode")
            for s in list(video) + [s for s in c.streams if s.type == "data"]:
                tc = tc or dict(s.metadata).get("timecode")
            if tc:
                vrate = None
                if video and video[0].average_rate:
                    vrate = Fraction(video[0].average_rate)
                from ..timebase import parse_rate

                secs = _tc_seconds(tc, parse_rate(vrate) if vrate else None)
                if secs is not None:
                    start = secs
            return MediaInfo(duration, channels, rate, bool(video), start)
    except Exception:
        return None
