"""The measuring pass of ``auto``: speech regions and level series for every track.

Every source file is analysed once — its level every 100 ms and, for dialogue, its
speech — and cached, so re-runs decode nothing to decide. A track's raw level
(clips with their gains and fades; no inserts, fader or routing) is assembled from
its clips' sources, and speech is mapped onto the timeline through each clip's
in-point and position. A speaker's microphone also hears the other speakers: what
is their bleed and what is this speaker's own (quiet) speech is told by comparing
the microphones (:mod:`mixdown.auto.bleed`).

The session analysed is the one a person left (``auto``'s own layers are taken
off first, :mod:`mixdown.auto.layers`), so decisions complete the hand mix: the
level a track is *heard* at includes its hand fader and automation and those of
the buses it goes through (:meth:`Analysis.heard`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis.levels import LevelSeries
from ..analysis.source import SourceAnalysis, analyse_source
from ..errors import AnalysisError
from ..render.engine import Progress
from ..render.graph import Graph, check
from ..session.model import MASTER, Session
from .bleed import BleedParams, attribute_speech, timeline_levels
from .ducking import Region, merge_regions


@dataclass
class Analysis:
    """What ``auto`` measured before deciding.

    Attributes
    ----------
    levels : dict of str to LevelSeries
        Per track, the raw track's K-weighted energy every 100 ms (timeline).
    speech : dict of str to list of (start, end)
        Per dialogue track, its own speaker's speech on the timeline (samples).
    all_speech : list of (start, end)
        Union of every dialogue track's speech.
    length : int
        Programme length, samples.
    sample_rate : int
    removed_bleed : dict of str to float
        Seconds of detected speech dropped as another speaker's bleed, per track.
    removed_quiet : dict of str to float
        Seconds dropped as too quiet for the duck sensitivity, per track.
    fader_db : dict of str to ndarray
        Per track, the gain (dB) after its clips every 100 ms: its fader and gain
        automation and those of the buses its output goes through (hand values and
        any kept auto values; not the master's).
    """

    levels: dict[str, LevelSeries]
    speech: dict[str, list[Region]]
    all_speech: list[Region]
    length: int
    sample_rate: int
    removed_bleed: dict[str, float] = field(default_factory=dict)
    removed_quiet: dict[str, float] = field(default_factory=dict)
    fader_db: dict[str, np.ndarray] = field(default_factory=dict)

    def heard(self, name: str, *, extra_db: float | np.ndarray = 0.0) -> LevelSeries:
        """A track's level as the mix hears it (before the inserts' own gain changes): clips, faders, ``extra_db``."""
        series = self.levels[name]
        db = self.fader_db.get(name, 0.0) + np.asarray(extra_db, dtype=np.float64)
        if np.ndim(db) == 0 and float(db) == 0.0:
            return series
        return LevelSeries(series.energy * np.power(10.0, np.broadcast_to(db, series.energy.shape) / 10.0),
                           series.sample_rate, series.hop)


def track_levels(graph: Graph, name: str, sources: dict[tuple[Path, int | None], SourceAnalysis]) -> LevelSeries:
    """A track's raw level (clips with their gains and fades; no chain, no fader) every 100 ms.

    Built from the sources' cached level series: each timeline hop takes the source
    hop under its centre, scaled by the clip's gain there. Overlapping clips add
    their energies (as uncorrelated signals do). This is for deciding, not for
    compliance: what is delivered is measured on the render itself.
    """
    sr = graph.sample_rate
    hop = round(sr / 10)
    n_hops = -(-graph.length // hop)
    energy = np.zeros(n_hops)
    centres = (np.arange(n_hops) + 0.5) * hop
    for clip in graph.strips[name].clips:
        k = np.flatnonzero((centres >= clip.start) & (centres < clip.end))
        if k.size == 0:
            continue
        local = centres[k] - clip.start
        src = sources[(clip.path, clip.stream)].levels
        j = np.floor((clip.source_in + local) / sr * src.sample_rate / src.hop).astype(np.int64)
        inside = (j >= 0) & (j < len(src.energy))
        k, local, j = k[inside], local[inside], j[inside]
        amp = clip.curve.at(local)
        energy[k] += src.energy[j] * amp * amp
    return LevelSeries(energy, sr, hop)


def clip_speech(graph: Graph, name: str, sources: dict[tuple[Path, int | None], SourceAnalysis], *,
                threshold: float) -> list[Region]:
    """Everything the voice detector calls speech on a track's clips, placed on the timeline.

    No level gate here: whose speech it is, and whether it is too quiet to count,
    is decided by :func:`mixdown.auto.bleed.attribute_speech`.
    """
    sr = graph.sample_rate
    out: list[Region] = []
    for clip in graph.strips[name].clips:
        act = sources[(clip.path, clip.stream)].activity
        cin, cend = clip.source_in, clip.source_in + clip.length
        for a, b in act.regions(sr, threshold=threshold, min_relative_db=None):
            a2, b2 = max(a, cin), min(b, cend)
            if a2 < b2:
                out.append((a2 - cin + clip.start, b2 - cin + clip.start))
    return merge_regions(out, 1)


def fader_db(graph: Graph, name: str, n_hops: int) -> np.ndarray:
    """Gain after a track's clips every 100 ms (dB): its fader and automation, then each bus on its way out.

    Sends are left out (a send is a copy, not the way the track is heard); the
    master's fader is the loudness stage's business.
    """
    hop = round(graph.sample_rate / 10)
    centres = ((np.arange(n_hops) + 0.5) * hop).astype(np.int64)
    db = np.zeros(n_hops)
    strip = graph.strips[name]
    seen = set()
    while strip.name != MASTER and strip.name not in seen:
        seen.add(strip.name)
        db += strip.gain_db
        if strip.gain_env is not None:
            db += strip.gain_env.at_positions(centres)
        strip = graph.strips[strip.output or MASTER]
    return db


def analyse(session: Session, *, vad_method: str = "silero", vad_threshold: float = 0.5,
            cache_dir: Path | None = None, bleed: BleedParams = BleedParams(), block_size: int = 65536,
            progress: Progress | None = None) -> Analysis:
    """Measure every track and find who speaks when.

    Every source file is analysed once (levels, and speech for dialogue), from the
    cache when it was seen before; tracks are then assembled from their clips. A
    session without a dialogue track (a music-only programme) has no speech.

    Raises
    ------
    AnalysisError
        When the programme is shorter than 400 ms, or dialogue tracks have no speech.
    """
    dialogue = [t.name for t in session.tracks if t.role == "dialogue" and not t.mute]
    graph = check(session)
    if graph.length < 0.4 * graph.sample_rate:
        raise AnalysisError(
            f"the programme is {1000 * graph.length / graph.sample_rate:.0f} ms long: loudness is only defined "
            "from 400 ms (one BS.1770 gating block), so there is nothing to level or normalise")
    wanted: dict[tuple[Path, int | None], str | None] = {}
    for name, strip in graph.strips.items():
        if strip.kind != "track":
            continue
        for clip in strip.clips:
            key = (clip.path, clip.stream)
            if name in dialogue:
                wanted[key] = vad_method
            else:
                wanted.setdefault(key, None)
    # sources are independent: two at a time (decoding and the speech model release the GIL)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mixdown-analyse") as pool:
        jobs = {key: pool.submit(analyse_source, key[0], stream=key[1], vad_method=method,
                                 cache_dir=cache_dir) for key, method in wanted.items()}
        sources: dict[tuple[Path, int | None], SourceAnalysis] = {}
        for i, (key, job) in enumerate(jobs.items()):
            sources[key] = job.result()
            if progress is not None:
                progress(i + 1, len(jobs))
    levels = {name: track_levels(graph, name, sources) for name, s in graph.strips.items() if s.kind == "track"}
    faders = {name: fader_db(graph, name, len(series)) for name, series in levels.items()}
    speech: dict[str, list[Region]] = {}
    removed: dict[str, float] = {}
    quiet: dict[str, float] = {}
    if dialogue:
        candidates = {name: clip_speech(graph, name, sources, threshold=vad_threshold) for name in dialogue}
        acts = [sources[(c.path, c.stream)].activity for n in dialogue for c in graph.strips[n].clips]
        hop = max(1, round(acts[0].hop(graph.sample_rate))) if acts else round(graph.sample_rate / 10)
        frames = {name: timeline_levels(graph, name, sources, hop=hop) for name in dialogue}
        speech, removed, quiet = attribute_speech(candidates, frames, bleed, graph.sample_rate)
    # speech so quiet that nothing passes the loudness gate is not dialogue we can level
    for name in list(speech):
        if speech[name] and levels[name].loudness(speech[name]) is None:
            speech[name] = []
    all_speech = merge_regions([r for regs in speech.values() for r in regs], 1)
    if dialogue and not all_speech:
        raise AnalysisError(f"no speech found on the dialogue track(s) {', '.join(dialogue)}: is the dialogue silent, "
                            "or on a track with another role?")
    return Analysis(levels=levels, speech=speech, all_speech=all_speech, length=graph.length,
                    sample_rate=graph.sample_rate, removed_bleed=removed, removed_quiet=quiet, fader_db=faders)
