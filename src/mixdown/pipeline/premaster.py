"""The premaster pass: one render of the decided session up to the master stage.

The master's input goes to a float scratch file (the master stage reads it back
once per pass, :func:`mixdown.master.session_pass`); the role stems and the mix
before auto's stage are kept beside it when asked for; its loudness (and the
dialogue's, over speech) is measured on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis.levels import LevelMeter
from ..analysis.truepeak import TruePeakDetector
from ..master import with_length
from ..media.scratch import ScratchAudio
from ..render.engine import MASTER_INPUT, Progress, Renderer
from ..render.graph import check, stem_taps
from ..render.sink import BackgroundSink
from ..session.model import Session

__all__ = ["Premaster", "premaster_pass"]


@dataclass
class Premaster:
    """The premaster pass's products."""

    length: int                            # programme length, samples
    raw: ScratchAudio                      # the master's input, latency-aligned with the final output
    stems: dict[str, ScratchAudio]
    lufs: float | None
    dialogue_lufs: float | None
    mix: ScratchAudio | None               # the master's output without auto's stage (for --premaster)
    true_peak: float = 0.0                 # of ``mix``, linear
    heard_dialogue_lufs: float | None = None  # the dialogue role's strips as they reach the master, over speech

    def delete(self) -> None:
        for raw in [self.raw, *self.stems.values(), *([self.mix] if self.mix else [])]:
            raw.delete()


def premaster_pass(s: Session, extra: int, tmp: Path, *, speech: list[tuple[int, int]],
                    stems: bool, keep_mix: bool, block_size: int, progress: Progress | None) -> Premaster:
    """Render once: the master's input to a scratch file (and the stems, and the mix before auto's stage).

    ``extra`` is the final master stage's latency: the premaster runs on for it.
    """
    base = check(s)
    length = base.length
    graph = with_length(base, length + extra)
    roles = stem_taps(graph)
    taps = roles if stems else {r: roles[r] for r in ("dialogue",) if r in roles and speech}
    level = LevelMeter(graph.sample_rate, graph.channels, layout=s.layout)
    dlg = LevelMeter(graph.sample_rate, graph.channels, layout=s.layout) if "dialogue" in taps and speech else None
    tp = TruePeakDetector(graph.sample_rate, graph.channels) if keep_mix else None
    raw = ScratchAudio(tmp / "premaster.f32", graph.channels)
    scratch = {role: ScratchAudio(tmp / f"stem-{role}.f32", graph.channels) for role in (taps if stems else ())}
    mix = ScratchAudio(tmp / "mix-before-stage.f32", graph.channels) if keep_mix else None

    def write(pos: int, block: np.ndarray, tap: dict[str, np.ndarray]) -> None:
        raw.write(tap[MASTER_INPUT])
        keep = max(0, min(block.shape[1], length - pos))
        for role, w in scratch.items():
            w.write(tap[role][:, :keep])

    def measure(pos: int, block: np.ndarray, tap: dict[str, np.ndarray]) -> None:
        keep = block[:, :max(0, min(block.shape[1], length - pos))]
        level.process(keep)
        if dlg is not None:
            dlg.process(tap["dialogue"][:, :keep.shape[1]])
        if mix is not None:
            assert tp is not None  # made with mix (keep_mix)
            mix.write(keep)
            tp.process(keep)

    try:
        with BackgroundSink(write, measure) as sink:
            for pos, block, tap in Renderer(graph, block_size=block_size, taps=taps,
                                            master_input_tap=True).blocks(progress=progress):
                sink.put(pos, block, tap)
    finally:
        for w in [raw, *scratch.values(), *([mix] if mix else [])]:
            w.finish()
    series = level.series()
    return Premaster(length=length, raw=raw, stems=scratch, lufs=series.loudness(),
                      dialogue_lufs=series.loudness(speech) if speech else None, mix=mix,
                      true_peak=tp.peak() if tp is not None else 0.0,
                      heard_dialogue_lufs=dlg.series().loudness(speech) if dlg is not None else None)
