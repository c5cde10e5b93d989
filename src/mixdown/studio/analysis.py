"""Background analyses the page shows: speech regions of dialogue lanes and the programme's loudness curve.

Both run in threads after the page has what it needs to draw (peaks come first),
and both come from mixdown's own code: speech from the VAD ``auto`` uses (its
cached per-file scores), loudness from :class:`~mixdown.analysis.loudness.LoudnessMeter`
over a streaming render of the session as it is now. An edit restarts the loudness
pass (the previous one is abandoned at its next block).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

MAX_POINTS = 4000
RESTART_DELAY_S = 1.0
START_DELAY_S = 3.0


def thin(t: np.ndarray, v: np.ndarray, n: int = MAX_POINTS) -> dict[str, list[float | None]]:
    step = max(1, -(-t.shape[0] // n))
    return {"t": [round(float(x), 2) for x in t[::step]],
            "lufs": [None if not np.isfinite(x) else round(float(x), 2) for x in v[::step]]}


class Analyses:
    """Speech regions and loudness for one :class:`~mixdown.studio.state.Studio`."""

    def __init__(self, studio: Any) -> None:
        self.studio = studio
        self.lock = threading.Lock()
        self.speech: dict[str, list[list[int]]] = {}
        self.speech_state = "pending"
        self.speech_error: str | None = None
        self.loudness: dict[str, Any] | None = None
        self.loudness_state = "idle"
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def start(self) -> None:
        self._spawn(self._speech, "mixdown-speech")
        # after the page has had its first peaks: the pass renders the whole programme
        self.changed(delay=START_DELAY_S)

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            self._generation += 1
        for t in self._threads:
            t.join(timeout=30)

    def _spawn(self, fn: Any, name: str, *args: Any) -> None:
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    # -- speech --------------------------------------------------------------------

    def _speech(self) -> None:
        from ..analysis.vad import detect_file

        st = self.studio
        try:
            with st.lock:
                graph = st.graph
            sr = graph.sample_rate
            by_file: dict[tuple, list[tuple[int, int]]] = {}
            out: dict[str, list[list[int]]] = {}
            for name, strip in graph.strips.items():
                if strip.kind != "track" or strip.role != "dialogue":
                    continue
                regions: list[list[int]] = []
                for c in strip.clips:
                    if self._stop.is_set():
                        return
                    key = (c.path, c.stream)
                    if key not in by_file:
                        by_file[key] = detect_file(c.path, sample_rate=sr, stream=c.stream)
                    for a, b in by_file[key]:
                        a2, b2 = max(a, c.source_in), min(b, c.source_in + c.length)
                        if a2 < b2:
                            regions.append([a2 - c.source_in + c.start, b2 - c.source_in + c.start])
                out[name] = sorted(regions)
            with self.lock:
                self.speech, self.speech_state = out, "ready"
        except Exception as exc:  # noqa: BLE001 - shown in the page, not fatal to the studio
            with self.lock:
                self.speech_state, self.speech_error = "failed", f"{type(exc).__name__}: {exc}"

    # -- loudness ------------------------------------------------------------------

    def changed(self, delay: float = RESTART_DELAY_S) -> None:
        """The session changed: measure it again (after ``delay`` s, abandoning a pass under way)."""
        with self.lock:
            self._generation += 1
            gen = self._generation
            self.loudness_state = "measuring"
        self._spawn(self._loudness, "mixdown-loudness", gen, delay)

    def _loudness(self, gen: int, delay: float) -> None:
        from ..analysis.loudness import LoudnessMeter
        from ..render.engine import Renderer

        if delay and self._stop.wait(delay):
            return
        st = self.studio
        with st.lock:
            graph, version = st.graph, st.version
        if gen != self._generation or self._stop.is_set():
            return
        try:
            meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=graph.session.layout, true_peak=False)
            for _, block, _ in Renderer(graph, workers=1).blocks():
                if gen != self._generation or self._stop.is_set():
                    return
                meter.process(block)
            res = meter.result()
        except Exception as exc:  # noqa: BLE001
            with self.lock:
                if gen == self._generation:
                    self.loudness_state = f"failed: {exc}"
            return
        data = {"version": version, "integrated_lufs": res.integrated_lufs,
                "loudness_range_lu": res.loudness_range_lu,
                "short_term": thin(res.short_term_series.time_s, res.short_term_series.lufs),
                "momentary": thin(res.momentary_series.time_s, res.momentary_series.lufs)}
        with self.lock:
            if gen == self._generation:
                self.loudness, self.loudness_state = data, "ready"
