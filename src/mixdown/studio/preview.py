"""The preview bundle: every track's post-fader signal, plus the raw sum, in one multichannel stream.

The page mixes the bundle with Web Audio gain nodes, so faders, mute, solo and A/B
act at once. The bundle is served as one float WAV (``GET /api/audio/preview.wav``
with byte ranges) but never exists whole: it is cut into segments of
:data:`SEGMENT_S` seconds, each rendered on first request from a pre-roll of
:data:`PREROLL_S` seconds (so compressors and filters have settled) and kept in the
studio's temporary folder. An edit marks the segments its range touches stale; a
background thread re-renders the stale ones that were listened to, nearest the
playhead first, and a request for a stale segment renders it at once.

Channel order: for each track in session order, the session's channels of that
track after its fader and pan (rendered with mute and solo off: the page applies
them), then the raw sum (every clip at unity with its fades, no gains, inserts or
routing) for A/B.
"""

from __future__ import annotations

import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np

SEGMENT_S = 10
PREROLL_S = 3
TAIL_S = 3                      # after an edit's range: processors' memory of it
MAX_SEGMENTS = 48               # kept on disk; older ones are dropped (and rendered again if asked for)
HEADER = 44
RAW_KEYS = ("name", "source", "stream", "start", "in", "duration", "fade_in", "fade_out", "mute")


def preview_data(data: dict[str, Any]) -> dict[str, Any]:
    """The session as the bundle renders it: every mute and solo off (the page applies them)."""
    out = dict(data)
    out["tracks"] = [{**t, "mute": False, "solo": False} for t in data.get("tracks", [])]
    out["buses"] = [{**b, "mute": False, "solo": False} for b in data.get("buses", [])]
    out["groups"] = [{**g, "mute": False, "solo": False} for g in data.get("groups", [])]
    return out


def raw_data(data: dict[str, Any]) -> dict[str, Any]:
    """The raw sum's session: the clips as placed, at unity, straight to the master."""
    keep = ("mixdown", "sample_rate", "layout", "frame_rate", "drop_frame", "start_timecode", "duration")
    out = {k: data[k] for k in keep if k in data}
    out["tracks"] = [{"name": t["name"], "role": t.get("role", "other"),
                      "clips": [{k: c[k] for k in RAW_KEYS if k in c} for c in t.get("clips", [])]}
                     for t in data.get("tracks", [])]
    return out


def wav_header(channels: int, sample_rate: int, frames: int) -> bytes:
    """A 32-bit float WAV header for ``frames`` frames (sizes capped at 4 GiB, as streams do)."""
    data = min(frames * channels * 4, 0xFFFFFFFF - 36)
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 3, channels, sample_rate, sample_rate * channels * 4, channels * 4, 32) +
            b"data" + struct.pack("<I", data))


class Preview:
    """Renders and serves the preview bundle of one studio session.

    Parameters
    ----------
    folder : Path
        Where segments are kept (the studio's temporary folder).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.RLock()
        self.version = 0
        self.graph: Any = None
        self.raw: Any = None
        self.tracks: list[str] = []
        self.channels = 0
        self.per = 0
        self.sample_rate = 48000
        self.length = 0
        self.seg = SEGMENT_S * 48000
        self._done: dict[int, tuple[int, Path]] = {}    # segment -> (version, file)
        self._stale: set[int] = set()
        self._seg_locks: dict[int, threading.Lock] = {}
        self._order: list[int] = []                     # least recently used first
        self._focus = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.renders = 0

    # -- session -----------------------------------------------------------------

    def set_session(self, data: dict[str, Any], base_dir: Path, affected: tuple[int, int] | None, *,
                    version: int) -> None:
        """Compile the bundle's graphs for new session data.

        ``affected`` is the timeline range an edit changed (None: everything);
        ``version`` the studio's session version this data is (segments carry it).
        """
        from ..render.graph import check
        from ..session import session_from_data

        graph = check(session_from_data(preview_data(data), base_dir=base_dir))
        raw = check(session_from_data(raw_data(data), base_dir=base_dir))
        with self.lock:
            same_shape = (
                [t.name for t in graph.session.tracks] == self.tracks
                and graph.sample_rate == self.sample_rate
                and graph.channels == self.per
            )
            self.graph, self.raw = graph, raw
            self.tracks = [t.name for t in graph.session.tracks]
            self.per = graph.channels
            self.channels = self.per * (len(self.tracks) + 1)
            self.sample_rate = graph.sample_rate
            self.seg = SEGMENT_S * graph.sample_rate
            self.length = max(graph.length, raw.length)
            self.version = version
            if not same_shape:
                for k in list(self._done):
                    self._drop(k)
            elif affected is None:
                self._stale = set(self._done)
            else:
                a, b = affected
                b += TAIL_S * self.sample_rate
                first, last = max(a // self.seg, 0), b // self.seg
                self._stale |= {k for k in self._done if first <= k <= last}
        self._wake.set()

    def layout(self) -> dict[str, Any]:
        """What the page needs to read the bundle."""
        with self.lock:
            return {
                "version": self.version, "sample_rate": self.sample_rate, "frames": self.length,
                "channels": self.channels, "channels_per_stem": self.per, "header_bytes": HEADER,
                "segment_frames": self.seg,
                "stems": [{"track": t, "first_channel": i * self.per} for i, t in enumerate(self.tracks)],
                "raw_first_channel": len(self.tracks) * self.per,
                "stale": sorted(self._stale),
            }

    # -- bytes -------------------------------------------------------------------

    def size(self) -> int:
        return HEADER + self.length * self.channels * 4

    def read(self, a: int, b: int) -> bytes:
        """Bytes ``[a, b)`` of the bundle WAV, rendering the segments they need."""
        return self.read_versions(a, b)[0]

    def read_versions(self, a: int, b: int) -> tuple[bytes, list[int]]:
        """Bytes ``[a, b)`` and the session version each segment in them was rendered at."""
        out = bytearray()
        versions: list[int] = []
        if a < HEADER:
            out += wav_header(self.channels, self.sample_rate, self.length)[a:min(b, HEADER)]
            a = HEADER
        if a >= b:
            return bytes(out), versions
        fb = self.channels * 4
        f0, f1 = (a - HEADER) // fb, -(-(b - HEADER) // fb)
        cut0 = (a - HEADER) - f0 * fb
        self._focus = f0
        parts = []
        for k in range(f0 // self.seg, (max(f1, f0 + 1) - 1) // self.seg + 1):
            seg, v = self.segment_version(k)
            versions.append(v)
            s0 = k * self.seg
            lo, hi = max(f0 - s0, 0), min(f1 - s0, seg.shape[0])
            parts.append(seg[lo:hi])
        joined = np.concatenate(parts).tobytes() if parts else b""
        out += joined[cut0:cut0 + (b - a)]
        return bytes(out), versions

    def segment(self, k: int) -> np.ndarray:
        """Segment ``k`` as (frames, channels) float32, rendered if missing or stale."""
        return self.segment_version(k)[0]

    def segment_version(self, k: int) -> tuple[np.ndarray, int]:
        """Segment ``k`` and the session version it was rendered at."""
        with self.lock:
            lock = self._seg_locks.setdefault(k, threading.Lock())
        with lock:
            with self.lock:
                hit = self._done.get(k)
                fresh = hit is not None and k not in self._stale
                version = self.version
                snap = (self.graph, self.raw, list(self.tracks), self.per, k * self.seg,
                        min((k + 1) * self.seg, self.length))
            if fresh:
                assert hit is not None
                self._touch(k)
                return np.fromfile(hit[1], dtype=np.float32).reshape(-1, self.channels), hit[0]
            block = self._render(*snap)
            file = self.folder / f"preview-{k}-{version}.f32"
            block.tofile(file)
            with self.lock:
                if self.version == version:
                    old = self._done.get(k)
                    self._done[k] = (version, file)
                    self._stale.discard(k)
                    if old is not None and old[1] != file:
                        old[1].unlink(missing_ok=True)
                    self._touch(k)
                else:  # an edit came in while rendering: serve this once, render again next time
                    file.unlink(missing_ok=True)
            return block, version

    def _render(self, graph: Any, raw: Any, tracks: list[str], per: int, s0: int, s1: int) -> np.ndarray:
        """Frames ``[s0, s1)`` of the bundle from the graphs of one session version."""
        from ..render.engine import Renderer

        n = max(s1 - s0, 0)
        out = np.zeros((n, per * (len(tracks) + 1)), np.float32)
        if n == 0:
            return out
        pre = max(s0 - PREROLL_S * graph.sample_rate, 0)
        taps = {t: [t] for t in tracks}
        for pos, _, tap in Renderer(graph, taps=taps, workers=1).blocks(start=pre, end=s1):
            m = tap[tracks[0]].shape[1] if tracks else 0
            a, b = max(pos, s0), pos + m
            if a >= b:
                continue
            for i, t in enumerate(tracks):
                out[a - s0:b - s0, i * per:(i + 1) * per] = tap[t][:, a - pos:b - pos].T
        for pos, block, _ in Renderer(raw, workers=1).blocks(start=s0, end=s1):
            m = block.shape[1]
            out[pos - s0:pos - s0 + m, len(tracks) * per:] = block.T
        self.renders += 1
        return out

    def _touch(self, k: int) -> None:
        with self.lock:
            if k in self._order:
                self._order.remove(k)
            self._order.append(k)
            while len(self._order) > MAX_SEGMENTS:
                self._drop(self._order[0])

    def _drop(self, k: int) -> None:
        hit = self._done.pop(k, None)
        if hit is not None:
            hit[1].unlink(missing_ok=True)
        if k in self._order:
            self._order.remove(k)
        self._stale.discard(k)

    # -- background --------------------------------------------------------------

    def start(self) -> None:
        """Start the thread that re-renders stale segments after edits."""
        self._worker = threading.Thread(target=self._run, name="mixdown-preview", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                with self.lock:
                    stale = sorted(self._stale, key=lambda k: abs(k * self.seg - self._focus))
                if not stale:
                    break
                try:
                    self.segment(stale[0])
                except Exception:  # noqa: BLE001 - a failing render shows when the page asks for it
                    with self.lock:
                        self._stale.discard(stale[0])
