"""The state one delivery's phases share: the premaster, its measurements, the stems, the stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.activity import RATE, Detector
from ..master import BLOCK_SIZE, MasterParams, StageOutcome, layout_name
from ..media.scratch import ScratchAudio
from ..session.model import ProcessorSpec
from .plan import Item, StageKey
from .results import DeliveryReport

# ``observe(graph) -> (taps, consume)``; ``consume(master_block, taps)`` per block of the programme
Observe = Callable[[Any], tuple[dict[str, list[str]], Callable[[np.ndarray, dict[str, np.ndarray]], None]]]

__all__ = ["Delivery", "ProgressCounter", "speech_stream"]

Progress = Callable[[int, int], None]


class ProgressCounter:
    """Frames of work done of a total that grows when a stage or an encode is repeated."""

    def __init__(self, cb: Progress | None, unit: int) -> None:
        self.cb = cb
        self.unit = max(unit, 1)
        self.total = 0
        self.done = 0

    def plan(self, units: float) -> None:
        self.total += int(units * self.unit)

    def advance(self, frames: int) -> None:
        self.done += frames
        if self.cb is not None:
            self.cb(min(self.done, self.total), max(self.total, self.done))


@dataclass
class Delivery:
    """One delivery: what it writes (``items``), where its scratch files go, and what the phases found.

    Attributes
    ----------
    sr, channels : int
        The premaster's rate (Hz) and channels.
    items : list of Item
    work : Path
        Scratch folder (removed at the end).
    protect : set of Path
        Inputs no output may overwrite.
    length : int
        Programme length, samples.
    premaster : ScratchAudio or None
        The master's output without ``auto``'s stage.
    pre : dict of int to (float or None, float or None)
        Per layout (channels): the premaster's integrated and dialogue-gated loudness, LUFS.
    speech : list of (int, int) or None
        Speech regions, samples (dialogue-gated targets only).
    stems : dict of str to ScratchAudio
        Role stems, at the master fader.
    asis : list of ProcessorSpec
        The session's own master stage (``auto``'s entries, taken out of the render).
    stages : dict of StageKey to StageOutcome
        Accepted master stages, by spec.
    observe : callable, optional
        ``observe(graph) -> (taps, consume)``: a measurement riding on the one render
        (the pipeline's report probes); ``consume(master_block, taps)`` gets every
        block of the programme (the stage's run-on cut off) with the ``taps`` it asked for.
    """

    sr: int
    channels: int
    layout: str
    items: list[Item]
    work: Path
    protect: set[Path]
    master: MasterParams
    vad_method: str = "silero"
    block: int = BLOCK_SIZE
    description: str = ""
    time_reference: int = 0
    length: int = 0
    premaster: ScratchAudio | None = None
    pre: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    speech: list[tuple[int, int]] | None = None
    stems: dict[str, ScratchAudio] = field(default_factory=dict)
    asis: list[ProcessorSpec] = field(default_factory=list)
    stages: dict[StageKey, StageOutcome] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    progress: ProgressCounter = field(default_factory=lambda: ProgressCounter(None, 1))
    observe: Observe | None = None
    _made: int = 0

    def tmp(self, name: str, channels: int) -> ScratchAudio:
        """A new scratch file in the work folder."""
        self._made += 1
        return ScratchAudio(self.work / f"{self._made:03d}-{name}.f32", channels)

    @property
    def needs_speech(self) -> bool:
        return any(it.target is not None and it.target.gating == "dialogue" for it in self.items)

    @property
    def speech_s(self) -> float | None:
        return None if self.speech is None else sum(b - a for a, b in self.speech) / self.sr

    def measure_layouts(self) -> set[int]:
        """Channel counts the premaster is measured in (its own and every deliverable's)."""
        return {it.channels for it in self.items} | {self.channels}

    def cleanup(self) -> None:
        """Remove every scratch file (the work folder itself is the caller's)."""
        for st in self.stages.values():
            if st.output is not None:
                st.output.delete()
        for raw in self.stems.values():
            raw.delete()
        if self.premaster is not None:
            self.premaster.delete()

    def report(self) -> DeliveryReport:
        pre = {}
        for ch, (lufs, dlg) in sorted(self.pre.items()):
            pre[layout_name(ch)] = {"integrated_lufs": None if lufs is None else round(lufs, 3),
                                    "dialogue_gated_lufs": None if dlg is None else round(dlg, 3)}
        return DeliveryReport(outputs=[it.report for it in self.items], sample_rate=self.sr, channels=self.channels,
                              duration_s=self.length / self.sr, premaster=pre, speech_s=self.speech_s,
                              timing=self.timing)


def speech_stream(sample_rate: int, method: str) -> Any:
    """A streaming speech detector: ``push(block)``, ``regions()`` at ``sample_rate``."""
    class _Stream:
        def __init__(self) -> None:
            self.det = Detector(method)
            self.frames = 0
            self.rs = None
            if sample_rate != RATE:
                import soxr

                self.rs = soxr.ResampleStream(sample_rate, RATE, 1, dtype="float32", quality="HQ")

        def push(self, block: np.ndarray) -> None:
            if not block.shape[1]:
                return
            self.frames += block.shape[1]
            mono = block.mean(axis=0, dtype=np.float32)
            self.det.push(mono if self.rs is None else self.rs.resample_chunk(mono))

        def regions(self) -> list[tuple[int, int]]:
            if self.rs is not None:
                tail = self.rs.resample_chunk(np.zeros(0, np.float32), last=True)
                if tail.size:
                    self.det.push(tail)
            act = self.det.finish(self.frames, sample_rate)
            return act.regions(sample_rate, min_relative_db=None)

    return _Stream()
