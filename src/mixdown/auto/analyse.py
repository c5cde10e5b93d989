"""The measuring pass of ``auto``: speech regions and level series for every track.

One streaming render of the *raw* tracks (clips with their clip gains and fades;
no inserts, faders, automation or routing) feeds a :class:`LevelMeter` per track.
Speech is detected per dialogue *source file* (cached, so re-runs are cheap) and
mapped onto the timeline through each clip's in-point and position. A speaker's
microphone also hears the other speakers; speech that is much louder on another
dialogue track at the same moment is that other speaker's bleed, and is removed
from this track's regions (``bleed_margin_db``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis.levels import LevelMeter, LevelSeries
from ..errors import AnalysisError
from ..render.engine import Progress, Renderer
from ..render.graph import check
from ..session.model import MASTER, Master, Session
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


def raw_session(session: Session) -> Session:
    """The session with every track sent straight to the master, dry and at unity."""
    raw = session.copy_session()
    for t in raw.tracks:
        t.chain = []
        t.gain_db = 0.0
        t.automation = {}
        t.pan = 0.0
        t.sends = []
        t.output = MASTER
        t.solo = False
    raw.buses = []
    raw.master = Master()
    return raw


def clip_speech_on_timeline(session: Session, track_index: int, *, method: str, cache_dir: Path | None,
                            threshold: float) -> list[Region]:
    """Speech of a track's clips, detected on their sources and placed on the timeline."""
    from ..analysis.vad import detect_file

    sr = session.sample_rate
    out: list[Region] = []
    track = session.tracks[track_index]
    for clip in track.clips:
        if clip.mute:
            continue
        path = session.resolve(clip.source)
        regions = detect_file(path, sample_rate=sr, method=method, cache_dir=cache_dir, threshold=threshold,
                              stream=clip.stream)
        start = session.samples(clip.start, position=True)
        cin = session.samples(clip.in_)
        if clip.duration is not None:
            cend = cin + session.samples(clip.duration)
        else:
            from ..media.decode import probe

            info = probe(path, stream=clip.stream)
            cend = info.frames * sr // info.sample_rate
        for a, b in regions:
            a2, b2 = max(a, cin), min(b, cend)
            if a2 < b2:
                out.append((a2 - cin + start, b2 - cin + start))
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
            cache_dir: Path | None = None, bleed_margin_db: float = 10.0, block_size: int = 16384,
            progress: Progress | None = None) -> Analysis:
    """Measure every track and find who speaks when.

    Raises
    ------
    AnalysisError
        When the session has no dialogue track, or no speech is found in any of them.
    """
    dialogue = [i for i, t in enumerate(session.tracks) if t.role == "dialogue" and not t.mute]
    if not dialogue:
        raise AnalysisError("no dialogue track: give --dialogue files, or set role: dialogue on a track")
    raw = raw_session(session)
    graph = check(raw)
    if graph.length < 0.4 * graph.sample_rate:
        raise AnalysisError(
            f"the programme is {1000 * graph.length / graph.sample_rate:.0f} ms long: loudness is only defined "
            "from 400 ms (one BS.1770 gating block), so there is nothing to level or normalise")
    meters = {name: LevelMeter(graph.sample_rate, graph.channels, layout=session.layout)
              for name, s in graph.strips.items() if s.kind == "track"}
    renderer = Renderer(graph, block_size=block_size, taps={name: [name] for name in meters})
    for _, _, taps in renderer.blocks(progress=progress):
        for name, block in taps.items():
            meters[name].process(block)
    levels = {name: m.series() for name, m in meters.items()}
    speech: dict[str, list[Region]] = {}
    for i in dialogue:
        speech[session.tracks[i].name] = clip_speech_on_timeline(
            session, i, method=vad_method, cache_dir=cache_dir, threshold=vad_threshold)
    speech, removed = remove_bleed(speech, levels, margin_db=bleed_margin_db)
    # speech so quiet that nothing passes the loudness gate is not dialogue we can level
    for name in list(speech):
        if speech[name] and levels[name].loudness(speech[name]) is None:
            speech[name] = []
    all_speech = merge_regions([r for regs in speech.values() for r in regs], 1)
    if not all_speech:
        names = ", ".join(session.tracks[i].name for i in dialogue)
        raise AnalysisError(f"no speech found on the dialogue track(s) {names}: is the dialogue silent, "
                            "or on a track with another role?")
    return Analysis(levels=levels, speech=speech, all_speech=all_speech, length=graph.length,
                    sample_rate=graph.sample_rate, removed_bleed=removed)
