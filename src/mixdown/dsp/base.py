"""The processor contract every effect, strip and bus follows.

Lifecycle (Ardour's processor list, pedalboard's callables)::

    p = Compressor(threshold_db=-20, ratio=3)
    p.prepare(sample_rate=48000, max_block=8192, channels=2)
    out = p.process(block, position)      # block: float32 (channels, frames)
    p.reset()                              # forget all state (e.g. before a new render)
    p.latency                              # samples of delay the processor adds

or, for one-shot use, ``p(audio, sample_rate)``.

Parameters are declared once per class in ``PARAMS`` (default, range, unit, and the
rate at which automation drives them). Any parameter marked automatable can be given
an :class:`~mixdown.dsp.automation.Envelope` with :meth:`Processor.automate`;
processors read values with :meth:`Processor.value` (``rate="sample"``: one value per
sample, for gains and detector settings) or :meth:`Processor.control_plan`
(``rate="control"``: one value per control segment, for filter coefficients), and a
few spectral or frame-based processors once per analysis frame (``rate="frame"``,
described by the class's ``FRAME_RATE``).

Control segments
    The absolute sample clock is cut at every multiple of ``CONTROL_PERIOD`` and at
    every keyframe position of the parameters concerned. Each segment takes the
    envelope's value at its middle sample (``lo + (hi - lo - 1) // 2``). So a step
    (a ``hold`` keyframe, or two keyframes at one position) at sample *k* switches
    the coefficients exactly at *k*, and along a ramp the coefficients are never
    more than half a period (16 samples) of the ramp away from the per-sample value
    and lag it by no more than half a sample on average. (The value at a period's
    first sample would put a step up to 31 samples late, and a ramp 15.5 on
    average.) Segments depend on absolute positions only, so every block split
    gives the same output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import shown
from .automation import Envelope

CONTROL_PERIOD = 32  # longest stretch between coefficient updates of automated filter parameters

#: How often automation can change a parameter, as ``Param.rate`` says it.
RATES = ("sample", "control", "frame")

REGISTRY: dict[str, type["Processor"]] = {}


@dataclass(frozen=True)
class Param:
    """Declaration of one processor parameter.

    Parameters
    ----------
    default : float, bool or str
        Value when the session does not set it.
    min, max : float, optional
        Inclusive range of numeric values.
    unit : str
        ``dB``, ``Hz``, ``ms``, ``s``, ``ratio``, ``%`` or ``""``; ``dB`` changes how
        automation interpolates (see :mod:`mixdown.dsp.automation`).
    automatable : bool
        Whether keyframes may drive it.
    choices : tuple of str, optional
        Allowed values of a string parameter.
    doc : str
        One line for ``mixdown processors`` and error messages.
    rate : {'sample', 'control', 'frame'}
        When automated: a new value every sample, every control segment (see the
        module doc), or every analysis frame of the processor (``FRAME_RATE``).
    fixed : str
        Why a parameter that is not automatable cannot move (said when automation
        of it is refused), e.g. ``"it sets the latency"``.
    """

    default: Any
    min: float | None = None
    max: float | None = None
    unit: str = ""
    automatable: bool = True
    choices: tuple[str, ...] | None = None
    doc: str = ""
    rate: str = "sample"
    fixed: str = ""

    def __post_init__(self) -> None:
        if self.rate not in RATES:
            raise ValueError(f"unknown control rate {self.rate!r}")
        if self.choices is not None or isinstance(self.default, bool):
            # a choice or a switch has no values in between to move through
            object.__setattr__(self, "automatable", False)

    def check(self, name: str, value: Any) -> Any:
        """Validate and normalise a value; raise ``ValueError`` with a readable reason."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{name} must be one of {', '.join(self.choices)}, not {shown(value)}")
            return value
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, not {shown(value)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, not {shown(value)}")
        try:
            value = float(value)
        except OverflowError:  # an int beyond float's range
            raise ValueError(f"{name} = {shown(value)} is far outside its range") from None
        if value != value:
            raise ValueError(f"{name} must be a number, not NaN")
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"{name} must be a finite number, not {value:g}")
        if self.min is not None and value < self.min:
            raise ValueError(f"{name} = {value:g} is below its minimum {self.min:g} {self.unit}".rstrip())
        if self.max is not None and value > self.max:
            raise ValueError(f"{name} = {value:g} is above its maximum {self.max:g} {self.unit}".rstrip())
        return value


class Processor:
    """Base class: a streaming audio processor with declared, automatable parameters.

    Subclasses set ``kind`` (the name used in session files) and ``PARAMS``, and
    implement :meth:`_prepare`, :meth:`_process` and :meth:`_reset`. They must keep
    all state needed to continue a stream across calls, so that processing in
    blocks of any size equals processing in one pass.

    Parameters
    ----------
    **params
        Parameter values by name; anything not given takes its default.
    """

    kind: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, Param]] = {}
    #: True when :meth:`process` accepts a sidechain ``key`` block.
    SIDECHAIN: ClassVar[bool] = False
    #: What one frame is, for parameters with ``rate="frame"`` (for ``mixdown processors``).
    FRAME_RATE: ClassVar[str] = ""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind:
            REGISTRY[cls.kind] = cls

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.PARAMS)
        if unknown:
            raise ValueError(
                f"{self.kind or type(self).__name__} has no parameter {sorted(unknown)[0]!r} "
                f"(it has: {', '.join(self.PARAMS) or 'none'})"
            )
        self.params: dict[str, Any] = {}
        for name, spec in self.PARAMS.items():
            self.params[name] = spec.check(name, params.get(name, spec.default))
        self.envelopes: dict[str, Envelope] = {}
        self._knots: dict[tuple[str, ...], np.ndarray] = {}
        self.sample_rate = 0
        self.max_block = 0
        self.channels = 0
        self._prepared = False

    # -- configuration -------------------------------------------------------------------
    def automate(self, name: str, envelope: Envelope) -> None:
        """Drive parameter ``name`` from ``envelope`` (values in the parameter's unit).

        Raises
        ------
        ValueError
            For an unknown parameter, one that cannot move (naming the processor,
            the parameter and why), or keyframe values out of its range.
        """
        spec = self.PARAMS.get(name)
        if spec is None:
            raise ValueError(f"{self.kind} has no parameter {name!r}")
        if not spec.automatable:
            raise ValueError(f"{self.kind}.{name} cannot be automated{f' ({spec.fixed})' if spec.fixed else ''}")
        for v in envelope.values:
            spec.check(name, float(v))
        self.envelopes[name] = envelope
        self._knots = {}  # keyframe unions depend on the envelopes

    @classmethod
    def control_rate(cls, name: str) -> dict[str, Any]:
        """How automation drives parameter ``name``, for ``mixdown processors`` (JSON-ready).

        Returns ``{"automatable": False, "fixed": reason}`` or ``{"automatable": True,
        "rate": "sample" | "control" | "frame", ...}`` with ``period_samples`` (the
        control period) or ``frame`` (what one frame is).
        """
        spec = cls.PARAMS[name]
        if not spec.automatable:
            why = spec.fixed or ("a choice" if spec.choices is not None else
                                 "a switch" if isinstance(spec.default, bool) else "fixed")
            return {"automatable": False, "fixed": why}
        out: dict[str, Any] = {"automatable": True, "rate": spec.rate}
        if spec.rate == "control":
            out["period_samples"] = CONTROL_PERIOD
        elif spec.rate == "frame":
            out["frame"] = cls.FRAME_RATE
        return out

    def value(self, name: str, position: int, n: int) -> float | np.ndarray:
        """The parameter over a block: its float value if not automated, else float64 (n,).

        An automated parameter is always an array, even where it holds still: numpy
        then computes every block of it in float64 alike, so block splits cannot
        change the arithmetic (a Python float would let float32 blocks stay float32).
        """
        env = self.envelopes.get(name)
        if env is None:
            return self.params[name]
        return env.evaluate(position, n)

    def control_plan(self, names: tuple[str, ...], position: int, n: int) -> tuple[np.ndarray | None, dict[str, Any]]:
        """Control-rate values of parameters ``names`` over a block (see the module doc).

        Returns
        -------
        bounds : ndarray of int64 or None
            ``None`` when every parameter holds one value over every control segment
            the block touches; else the block offsets where segments start, then
            ``n`` (``len(bounds) = segments + 1``).
        values : dict
            Per name: its value (float) when ``bounds`` is None or the parameter is
            not automated, else float64 (segments,), one value per segment.
        """
        vals: dict[str, Any] = {k: self.params[k] for k in names}
        envs = {k: self.envelopes[k] for k in names if k in self.envelopes}
        if not envs:
            return None, vals
        g0 = position - position % CONTROL_PERIOD
        end = position + n
        g1 = end + (-end) % CONTROL_PERIOD
        # the segments touched lie within [g0, g1): if nothing moves there, one value
        if not any(e.changes_within(g0, g1 - g0) for e in envs.values()):
            mid = control_segments(self._knots_of(tuple(envs)), position, 1)[1]
            for k, e in envs.items():
                vals[k] = float(e.at_samples(mid)[0])
            return None, vals
        starts, mids = control_segments(self._knots_of(tuple(envs)), position, n)
        for k, e in envs.items():
            vals[k] = e.at_samples(mids)
        return np.append(starts - position, n).astype(np.int64), vals

    def _knots_of(self, names: tuple[str, ...]) -> np.ndarray:
        """Sorted keyframe positions of the envelopes of ``names`` (cached)."""
        knots = self._knots.get(names)
        if knots is None:
            knots = self._knots[names] = np.unique(np.concatenate([self.envelopes[k].positions for k in names]))
        return knots

    def segments(self, position: int, n: int, names: tuple[str, ...] | None = None) -> Iterator[tuple[int, int]]:
        """Split a block into pieces within which control-rate parameters are constant.

        Yields ``(start, stop)`` offsets into the block: the whole block when none of
        ``names`` (default: all automated parameters) moves there, else the pieces of
        :meth:`control_plan`.
        """
        bounds, _ = self.control_plan(tuple(names or self.envelopes), position, n)
        if bounds is None:
            yield 0, n
            return
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield int(a), int(b)

    # -- lifecycle -------------------------------------------------------------------------
    def prepare(self, sample_rate: int, max_block: int, channels: int) -> None:
        """Allocate state for a stream of ``channels`` at ``sample_rate`` Hz."""
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self.channels = int(channels)
        self._prepare()
        self._reset()
        self._prepared = True

    def process(self, block: np.ndarray, position: int, *, key: np.ndarray | None = None) -> np.ndarray:
        """Process one block.

        Parameters
        ----------
        block : ndarray of float32, shape (channels, frames)
            Input; not modified.
        position : int
            Absolute sample position of the block's first frame (for automation).
        key : ndarray of float32, shape (channels_key, frames), optional
            External sidechain input, for processors with ``SIDECHAIN``.

        Returns
        -------
        ndarray of float32, shape (channels, frames)
        """
        if not self._prepared:
            raise RuntimeError(f"{self.kind}: prepare() must be called before process()")
        if key is not None and not self.SIDECHAIN:
            raise ValueError(f"{self.kind} takes no sidechain input")
        out = self._process(block, position, key) if self.SIDECHAIN else self._process(block, position)
        return out

    def reset(self) -> None:
        """Clear all internal state (delay lines, envelopes, filter memories)."""
        self._reset()

    @property
    def latency(self) -> int:
        """Delay the processor adds, in samples (reported so the engine can compensate)."""
        return 0

    @property
    def tail(self) -> int:
        """Samples of output that may follow the end of input (reverb, delay), for render length."""
        return 0

    def __call__(self, audio: np.ndarray, sample_rate: int, *, key: np.ndarray | None = None) -> np.ndarray:
        """One-shot: process ``audio`` (channels, frames) from position 0; as many frames out as in.

        The processor is prepared afresh, fed ``latency`` samples of silence after the
        audio to flush what its lookahead holds back, and that delay is taken off
        the front: output frame ``i`` is input frame ``i`` processed, so a lookahead
        limiter or a spectral denoiser loses nothing at the end. (A reverb or delay
        tail past the end is cut: same length out as in.)
        """
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None, :]
        n = audio.shape[1]
        self.prepare(sample_rate, max(n, 1), audio.shape[0])
        lat = self.latency
        if lat:
            self.prepare(sample_rate, n + lat, audio.shape[0])
            audio = np.concatenate([audio, np.zeros((audio.shape[0], lat), dtype=np.float32)], axis=1)
            if key is not None:
                key = np.asarray(key, dtype=np.float32)
                key = np.concatenate([key, np.zeros((key.shape[0], lat), dtype=np.float32)], axis=1)
        out = self.process(audio, 0, key=key) if key is not None else self.process(audio, 0)
        return out[:, lat:] if lat else out

    # -- for subclasses --------------------------------------------------------------------
    def _prepare(self) -> None:
        pass

    def _reset(self) -> None:
        pass

    def _process(self, block: np.ndarray, position: int, *args: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({shown})"


def control_segments(knots: np.ndarray, position: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The control segments that samples ``position .. position+n-1`` fall in.

    Parameters
    ----------
    knots : ndarray of int64
        Sorted keyframe positions; with the ``CONTROL_PERIOD`` grid they cut the clock.
    position, n : int
        The block.

    Returns
    -------
    starts : ndarray of int64
        Absolute position where each piece of the block starts: ``position``, then
        every grid line and keyframe inside the block.
    mids : ndarray of int64
        For each piece, the middle sample of the whole segment it belongs to (which
        may reach outside the block): where the segment's value is read.
    """
    p = CONTROL_PERIOD
    end = position + n
    i0 = int(np.searchsorted(knots, position, side="right"))
    i1 = int(np.searchsorted(knots, end, side="left"))
    if n <= p and i1 - i0 <= 2:
        # small blocks (a few pieces): plain integers are ten times faster than array set operations
        cuts = {position, *range(position - position % p + p, end, p), *(int(k) for k in knots[i0:i1])}
        starts_l = sorted(cuts)
        mids_l = []
        for a in starts_l:
            i = int(np.searchsorted(knots, a, side="right"))
            lo = a - a % p
            hi = lo + p
            if i > 0:
                lo = max(lo, int(knots[i - 1]))
            if i < len(knots):
                hi = min(hi, int(knots[i]))
            mids_l.append(lo + (hi - lo - 1) // 2)
        return np.array(starts_l, dtype=np.int64), np.array(mids_l, dtype=np.int64)
    grid = np.arange(position - position % p + p, end, p, dtype=np.int64)
    inner = knots[i0:i1]
    starts = np.union1d(np.concatenate(([position], grid)), inner).astype(np.int64)
    cell = starts - starts % p
    i = np.searchsorted(knots, starts, side="right")
    prev = np.where(i > 0, knots[np.maximum(i - 1, 0)], np.iinfo(np.int64).min)
    nxt = np.where(i < len(knots), knots[np.minimum(i, len(knots) - 1)], np.iinfo(np.int64).max)
    lo = np.maximum(cell, prev)
    hi = np.minimum(cell + p, nxt)
    return starts, lo + (hi - lo - 1) // 2


def create(kind: str, **params: Any) -> Processor:
    """Instantiate a registered processor by its session name.

    Raises
    ------
    KeyError
        If no processor is called ``kind``.
    ValueError
        For unknown parameters or out-of-range values.
    """
    cls = REGISTRY.get(kind)
    if cls is None:
        raise KeyError(kind)
    return cls(**params)


def load_all() -> dict[str, type[Processor]]:
    """Every registered processor by session name.

    Complete as soon as :mod:`mixdown.dsp` is imported (which importing this module
    does first): the package imports every processor module.
    """
    return REGISTRY
