"""The processor contract every effect, strip and bus follows.

Lifecycle (Ardour's processor list, pedalboard's callables)::

    p = Compressor(threshold_db=-20, ratio=3)
    p.prepare(sample_rate=48000, max_block=8192, channels=2)
    out = p.process(block, position)      # block: float32 (channels, frames)
    p.reset()                              # forget all state (e.g. before a new render)
    p.latency                              # samples of delay the processor adds

or, for one-shot use, ``p(audio, sample_rate)``.

Parameters are declared once per class in ``PARAMS`` (default, range, unit). Any
parameter marked automatable can be given an :class:`~mixdown.dsp.automation.Envelope`
with :meth:`Processor.automate`; processors read values with :meth:`Processor.value`
(per sample, for gains) or walk :meth:`Processor.segments` (per control period, for
filter coefficients). Control periods sit on a fixed grid of ``CONTROL_PERIOD``
samples of the *absolute* clock, so every block split gives the same output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .automation import Envelope

CONTROL_PERIOD = 32  # samples between coefficient updates of automated filter parameters

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
    """

    default: Any
    min: float | None = None
    max: float | None = None
    unit: str = ""
    automatable: bool = True
    choices: tuple[str, ...] | None = None
    doc: str = ""

    def check(self, name: str, value: Any) -> Any:
        """Validate and normalise a value; raise ``ValueError`` with a readable reason."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{name} must be one of {', '.join(self.choices)}, not {value!r}")
            return value
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, not {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, not {value!r}")
        value = float(value)
        if value != value:
            raise ValueError(f"{name} must be a number, not NaN")
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
        self.sample_rate = 0
        self.max_block = 0
        self.channels = 0
        self._prepared = False

    # -- configuration -------------------------------------------------------------------
    def automate(self, name: str, envelope: Envelope) -> None:
        """Drive parameter ``name`` from ``envelope`` (values in the parameter's unit)."""
        spec = self.PARAMS.get(name)
        if spec is None:
            raise ValueError(f"{self.kind} has no parameter {name!r}")
        if not spec.automatable:
            raise ValueError(f"{self.kind}.{name} cannot be automated")
        for v in envelope.values:
            spec.check(name, float(v))
        self.envelopes[name] = envelope

    def value(self, name: str, position: int, n: int) -> float | np.ndarray:
        """The parameter over a block: a float if constant there, else float64 (n,)."""
        env = self.envelopes.get(name)
        if env is None:
            return self.params[name]
        if not env.changes_within(position, n):
            return env.at(position)
        return env.evaluate(position, n)

    def control(self, name: str, position: int) -> float:
        """The parameter's value for the control period containing ``position``."""
        env = self.envelopes.get(name)
        if env is None:
            return self.params[name]
        return env.at(position - position % CONTROL_PERIOD)

    def segments(self, position: int, n: int, names: tuple[str, ...] | None = None) -> Iterator[tuple[int, int]]:
        """Split a block into pieces within which control parameters are constant.

        Yields ``(start, stop)`` offsets into the block. Without automation on any of
        ``names`` (default: all automated parameters) the whole block is one piece;
        otherwise pieces end on the absolute ``CONTROL_PERIOD`` grid.
        """
        envs = [self.envelopes[k] for k in (names or tuple(self.envelopes)) if k in self.envelopes]
        # the first period's value is read at its grid start, which may lie before the block
        g0 = position - position % CONTROL_PERIOD
        if not any(e.changes_within(g0, position + n - g0) for e in envs):
            yield 0, n
            return
        start = 0
        while start < n:
            stop = min(n, start + CONTROL_PERIOD - (position + start) % CONTROL_PERIOD)
            yield start, stop
            start = stop

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
        """One-shot: prepare, process ``audio`` (channels, frames) from position 0, return it."""
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None, :]
        self.prepare(sample_rate, audio.shape[1], audio.shape[0])
        return self.process(audio, 0, key=key) if key is not None else self.process(audio, 0)

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


def create(kind: str, **params: Any) -> Processor:
    """Instantiate a registered processor by its session name.

    Raises
    ------
    KeyError
        If no processor is called ``kind``.
    ValueError
        For unknown parameters or out-of-range values.
    """
    load_all()
    cls = REGISTRY.get(kind)
    if cls is None:
        raise KeyError(kind)
    return cls(**params)


def load_all() -> dict[str, type[Processor]]:
    """Import every processor module so the registry is complete; returns it."""
    from . import cleanup, color, dynamics, eq, gain, spatial  # noqa: F401

    return REGISTRY
