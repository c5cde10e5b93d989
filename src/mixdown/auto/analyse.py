"""The measuring pass of ``auto``: speech regions and level series for every track.

Every source file is analysed once — its level every 100 ms and, for dialogue, its
speech — and cached, so re-runs decode nothing to decide. A track's raw level
(clips with their gains and fades; no inserts, fader or routing) is assembled from
its clips' sources, and speech is mapped onto the timeline through each clip's
in-point and position. A speaker's
microphone also hears the other speakers; speech that is much louder on another
dialogue track at the same moment is that other speaker's bleed, and is removed
from this track's regions (``bleed_margin_db``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis.levels import LevelSeries
from ..analysis.source import SourceAnalysis, analyse_source
from ..errors import AnalysisError
from ..render.engine import Progress
from ..render.graph import Graph, check
from ..session.model import Session
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
    """

    levels: dict[str, LevelSeries]
    speech: dict[str, list[Region]]
    all_speech: list[Region]
    length: int
    sample_rate: int
    removed_bleed: dict[str, float] = field(default_factory=dict)


def track_levels(graph: Graph, name: str, sources: dict[tuple[Path, int | None], SourceAnalysis]) -> LevelSeries:
    """A track's raw level (clips with their gains and fades; no chain, no fader) every 100 ms.

    Built from the sources' cached level series: each timeline hop takes the source
    hop under its centre, scaled by the clip's gain there. Overlapping clips add
    their energies (as uncorrelated signals do). This is for deciding, not for
    compliance: what is delivered is measured on the render itself.
    """
    from ..render.engine import fade_curve

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
        db = clip.gain_db + (clip.gain_env.at_positions(local) if clip.gain_env is not None else 0.0)
        amp = np.power(10.0, np.asarray(db) / 20.0) * np.ones_like(local)
        if clip.fade_in:
            amp *= np.where(local < clip.fade_in, fade_curve(np.clip(local / clip.fade_in, 0, 1), clip.fade_in_shape), 1.0)
        if clip.fade_out:
            x = np.clip((clip.length - local) / clip.fade_out, 0, 1)
            amp *= np.where(local >= clip.length - clip.fade_out, fade_curve(x, clip.fade_out_shape), 1.0)
        energy[k] += src.energy[j] * amp * amp
    return LevelSeries(energy, sr, hop)


def clip_speech(graph: Graph, name: str, sources: dict[tuple[Path, int | None], SourceAnalysis], *,
                threshold: float) -> list[Region]:
    """Speech of a track's clips, detected on their sources and placed on the timeline."""
    sr = graph.sample_rate
    out: list[Region] = []
    for clip in graph.strips[name].clips:
        act = sources[(clip.path, clip.stream)].activity
        cin, cend = clip.source_in, clip.source_in + clip.length
        for a, b in act.regions(sr, threshold=threshold):
            a2, b2 = max(a, cin), min(b, cend)
            if a2 < b2:
                out.append((a2 - cin + clip.start, b2 - cin + clip.start))
    return merge_regions(out, 1)


def remove_bleed(speech: dict[str, list[Region]], levels: dict[str, LevelSeries], *,
                 margin_db: float) -> tuple[dict[str, list[Region]], dict[str, float]]:
    """Drop the parts of each track's speech where another dialogue track is far louder.

    A hop counts as this track's speech if its level is within ``margin_db`` of the
    loudest dialogue track in that hop. Two people talking at once both keep it.
    """
    names = [n for n in speech if n in levels]
    if len(names) < 2:
        return speech, {}
    n_hops = max(len(levels[n]) for n in names)
    db = np.full((len(names), n_hops), -np.inf)
    for i, n in enumerate(names):
        h = levels[n].hop_lufs()
        db[i, : len(h)] = h
    loudest = db.max(axis=0)
    hop = levels[names[0]].hop
    cleaned: dict[str, list[Region]] = {}
    removed: dict[str, float] = {}
    for i, n in enumerate(names):
        own = db[i] >= loudest - margin_db
        kept: list[Region] = []
        for a, b in speech[n]:
            ha, hb = a // hop, min((b - 1) // hop + 1, n_hops)
            mask = own[ha:hb]
            if mask.all():
                kept.append((a, b))
                continue
            # keep the runs of own hops, clipped to the region
            edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
            for s, e in zip(edges[::2], edges[1::2]):
                ka, kb = max(a, (ha + s) * hop), min(b, (ha + e) * hop)
                if kb > ka:
                    kept.append((ka, kb))
        cleaned[n] = kept
        dropped = sum(b - a for a, b in speech[n]) - sum(b - a for a, b in kept)
        removed[n] = dropped / levels[n].sample_rate
    return cleaned, removed


def analyse(session: Session, *, vad_method: str = "silero", vad_threshold: float = 0.5,
            cache_dir: Path | None = None, bleed_margin_db: float = 10.0, block_size: int = 65536,
            progress: Progress | None = None) -> Analysis:
    """Measure every track and find who speaks when.

    Every source file is analysed once (levels, and speech for dialogue), from the
    cache when it was seen before; tracks are then assembled from their clips.

    Raises
    ------
    AnalysisError
        When the session has no dialogue track, or no speech is found in any of them.
    """
    dialogue = [t.name for t in session.tracks if t.role == "dialogue" and not t.mute]
    if not dialogue:
        raise AnalysisError("no dialogue track: give --dialogue files, or set role: dialogue on a track")
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
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mixdown-analyse") as pool:
        jobs = {key: pool.submit(analyse_source, key[0], stream=key[1], vad_method=method,
                                 cache_dir=cache_dir) for key, method in wanted.items()}
        sources: dict[tuple[Path, int | None], SourceAnalysis] = {}
        for i, (key, job) in enumerate(jobs.items()):
            sources[key] = job.result()
            if progress is not None:
                progress(i + 1, len(jobs))
    levels = {name: track_levels(graph, name, sources) for name, s in graph.strips.items() if s.kind == "track"}
    speech = {name: clip_speech(graph, name, sources, threshold=vad_threshold) for name in dialogue}
    speech, removed = remove_bleed(speech, levels, margin_db=bleed_margin_db)
    # speech so quiet that nothing passes the loudness gate is not dialogue we can level
    for name in list(speech):
        if speech[name] and levels[name].loudness(speech[name]) is None:
            speech[name] = []
    all_speech = merge_regions([r for regs in speech.values() for r in regs], 1)
    if not all_speech:
        raise AnalysisError(f"no speech found on the dialogue track(s) {', '.join(dialogue)}: is the dialogue silent, "
                            "or on a track with another role?")
    return Analysis(levels=levels, speech=speech, all_speech=all_speech, length=graph.length,
                    sample_rate=graph.sample_rate, removed_bleed=removed)
