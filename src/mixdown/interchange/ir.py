"""The exact intermediate form every timeline reader produces.

Readers turn a file into a :class:`TimelineIR`: tracks of clips whose times are
exact ``Fraction`` seconds (never floats, so an hour of 29.97 drop-frame does not
drift), gains in dB, keyframes relative to the clip start;
:func:`~mixdown.interchange.build.build_session` makes a Session of it. The two
edits every format needs on the IR itself, a transition made into fades and an
editor's fade name made into a fade shape, are here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .report import ImportReport


@dataclass
class Key:
    """A keyframe: time in seconds, value (dB for gain, -1..1 for pan), session interpolation name."""

    t: Fraction
    v: float
    interp: str = "linear"


@dataclass
class FadeIR:
    """A fade at a clip edge."""

    length: Fraction
    shape: str = "equal-power"


@dataclass
class AutoIR:
    """mixdown's auto layer of a clip or track (:class:`~mixdown.session.model.AutoLayer`), keys like the hand ones."""

    gain_db: float = 0.0
    gain_keys: list[Key] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)


@dataclass
class ClipIR:
    """One audio clip of a timeline, times exact.

    Attributes
    ----------
    start, duration : Fraction
        Position on the timeline (seconds from the sequence start) and length.
    source_in : Fraction
        Seconds from the beginning of the media (or, with ``source_is_timecode``,
        on the media's own timecode clock, which :func:`build_session` subtracts).
    gain_keys, pan_keys : list of Key
        Keyframes relative to the clip's start on the timeline.
    channel : int, optional
        The single source channel (1-based) a timeline used, if it said so.
    link : str, optional
        Clips that share ``link`` and timing are one clip taken on several channels.
    """

    name: str
    ref: str | None
    start: Fraction
    duration: Fraction
    source_in: Fraction = Fraction(0)
    gain_db: float = 0.0
    gain_keys: list[Key] = field(default_factory=list)
    pan: float | None = None
    pan_keys: list[Key] = field(default_factory=list)
    fade_in: FadeIR | None = None
    fade_out: FadeIR | None = None
    mute: bool = False
    stream: int | None = None
    channel: int | None = None
    channel_count: int | None = None
    link: str | None = None
    extra_names: tuple[str, ...] = ()
    source_is_timecode: bool = False
    where: str = ""
    timing: tuple | None = None  # as first written, before transitions moved edges: finds channel twins
    auto: AutoIR | None = None   # mixdown's auto layer (only .otio carries it)

    def __post_init__(self) -> None:
        if self.timing is None:
            self.timing = (self.ref, self.start, self.duration, self.source_in)

    @property
    def end(self) -> Fraction:
        return self.start + self.duration

    def move_start(self, new_start: Fraction) -> None:
        """Move the head edit (the media stays where it is on the timeline; keyframes stay put)."""
        delta = self.start - new_start
        self.start = new_start
        self.duration += delta
        self.source_in -= delta
        for k in self.gain_keys + self.pan_keys + (self.auto.gain_keys if self.auto else []):
            k.t += delta


@dataclass
class TrackIR:
    """One audio track; keyframes relative to the sequence start."""

    name: str
    clips: list[ClipIR] = field(default_factory=list)
    role_hint: str | None = None
    gain_db: float = 0.0
    gain_keys: list[Key] = field(default_factory=list)
    pan: float = 0.0
    pan_keys: list[Key] = field(default_factory=list)
    mute: bool = False
    auto: AutoIR | None = None


@dataclass
class TimelineIR:
    """A whole timeline, exact."""

    format: str
    name: str | None
    frame_rate: Fraction
    drop_frame: bool = False
    start_frames: int = 0
    duration: Fraction | None = None
    layout: str = "stereo"
    tracks: list[TrackIR] = field(default_factory=list)


def crossfade(a: ClipIR | None, b: ClipIR | None, t0: Fraction, t1: Fraction, shape: str,
              report: ImportReport, where: str) -> None:
    """Turn the transition region ``[t0, t1)`` into a fade-out of ``a`` and a fade-in of ``b``.

    Both clips are extended to cover the whole region (an editor's transition plays
    the media handles beyond the cut), so the session's overlapping clips sum to the
    same crossfade.
    """
    if t1 <= t0:
        return
    if a is not None:
        if a.end < t1:
            a.duration = t1 - a.start
        a.fade_out = FadeIR(t1 - max(t0, a.start), shape)
    if b is not None:
        if b.start > t0:
            b.move_start(t0)
        if b.source_in < 0:
            report.add("approximated", "transition",
                       f"not enough media before the in-point of {b.name!r} for the transition: it starts later",
                       where)
            b.move_start(b.start - b.source_in)
        b.fade_in = FadeIR(t1 - b.start, shape)


def fade_shape_from_name(name: str) -> str:
    """Session fade shape of a transition or fade named by an editor."""
    n = (name or "").lower()
    if "+3" in n or "power" in n or "equal" in n or "easeout" in n.replace(" ", "").replace("-", ""):
        return "equal-power"
    if "0db" in n.replace(" ", "") or "gain" in n or "linear" in n:
        return "linear"
    if "exponential" in n or "-3" in n or "log" in n or "easein" in n.replace(" ", ""):
        return "log"
    if "s-curve" in n or "scurve" in n or "easeinout" in n.replace(" ", ""):
        return "s-curve"
    return "equal-power"
