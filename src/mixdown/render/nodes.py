"""The compiled graph's data: clips, strips and the graph, every time in samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..dsp.automation import Envelope, EnvelopeSum
from ..dsp.base import Processor
from ..dsp.clipgain import ClipGain
from ..errors import Loc
from ..session.model import ProcessorSpec, Session

__all__ = ["ClipNode", "Graph", "StripNode", "TailCut"]


@dataclass
class ClipNode:
    """A clip with every time resolved to samples at the session rate."""

    loc: Loc
    path: Path
    stream: int | None
    start: int          # timeline position of the first sample
    source_in: int      # in-point in the source, session-rate samples
    length: int
    gain_db: float      # hand + auto layer
    gain_env: Envelope | EnvelopeSum | None  # hand + auto automation, clip-relative positions
    fade_in: int
    fade_in_shape: str
    fade_out: int
    fade_out_shape: str
    channels: int       # of the source

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def curve(self) -> ClipGain:
        """The clip's gain and fades (what the engine applies and the analysis of ``auto`` reads)."""
        return ClipGain(length=self.length, gain_db=self.gain_db, envelope=self.gain_env, fade_in=self.fade_in,
                        fade_in_shape=self.fade_in_shape, fade_out=self.fade_out, fade_out_shape=self.fade_out_shape)


@dataclass
class StripNode:
    """A track, bus or the master, with its processors and routing."""

    name: str
    kind: str                       # "track", "bus" or "master"
    loc: Loc
    channels: int                   # channels inside the strip (1 for a mono track in a stereo session)
    out_channels: int               # channels after the panner
    chain: list[Processor]
    chain_specs: list[ProcessorSpec]
    sidechains: list[str | None]    # per processor: strip whose output keys it
    gain_db: float                  # hand + auto layer
    gain_env: Envelope | EnvelopeSum | None  # hand + auto automation
    pan: float
    pan_env: Envelope | None
    mute: bool
    output: str | None              # bus name or "master"; None for the master itself
    sends: list[tuple[str, float, bool]]   # (bus, linear level, pre_fader)
    clips: list[ClipNode] = field(default_factory=list)
    role: str | None = None
    latency: int = 0                # of the chain
    input_latency: int = 0          # at the strip input after compensation


@dataclass(frozen=True)
class TailCut:
    """The session's ``duration`` ends the programme before a reverb or delay tail has died away."""

    strip: str          # whose tail reaches furthest
    tail_end: int       # where the tails end, samples
    length: int         # the programme length the session sets, samples

    def message(self, sample_rate: int) -> str:
        return (f"the session's duration ({self.length / sample_rate:.3f} s) cuts the reverb/delay tail of "
                f"{self.strip!r}, which runs to {self.tail_end / sample_rate:.3f} s; remove `duration:` "
                "(the programme then ends with its tails) or lengthen it")


@dataclass
class Graph:
    """A compiled session, ready for :func:`mixdown.render.engine.render_blocks`."""

    session: Session
    sample_rate: int
    channels: int
    length: int                     # programme length in samples
    strips: dict[str, StripNode]
    order: list[str]                # processing order (tracks, buses, master last)
    # (source strip, destination strip) -> samples of compensation delay on that edge
    edge_delay: dict[tuple[str, str], int]
    output_latency: int             # master's total latency, removed at the output
    inputs: dict[str, list[tuple[str, float, bool]]]  # dest -> [(source, level, pre_fader)]
    content_end: int = 0            # end of the last clip, samples
    tail_cut: TailCut | None = None  # set when ``duration:`` cuts a tail

    @property
    def duration_s(self) -> float:
        return self.length / self.sample_rate

    @property
    def source_paths(self) -> set[Path]:
        """Every media file the graph reads (outputs must never overwrite these)."""
        return {c.path for s in self.strips.values() for c in s.clips if isinstance(c.path, Path)}
