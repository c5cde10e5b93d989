"""A chain of processors is a processor: inserts in series, then an optional fader.

``latency`` is the inserts' sum. ``tail`` is their sum too (not their maximum: a
delay after a reverb repeats the reverb's tail, so the chain rings for both).
Each insert may take a sidechain key, named per insert; :meth:`Chain.run` also
returns the signal after any insert (the meter points of a strip).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

import numpy as np

from .base import Param, Processor
from .fader import Fader

__all__ = ["Chain"]


class Chain(Processor):
    """Processors in series, then a :class:`~mixdown.dsp.fader.Fader` (optional).

    Parameters
    ----------
    inserts : sequence of Processor
    sidechains : sequence of str or None, optional
        Per insert, the name of the key that feeds its sidechain (looked up in the
        ``keys`` given to :meth:`run`), or None.
    fader : Fader, optional
        Gain and pan after the inserts.
    """

    kind = ""  # not registered: sessions write chains as lists
    PARAMS: ClassVar[dict[str, Param]] = {}
    SIDECHAIN = True

    def __init__(self, inserts: Sequence[Processor] = (), *, sidechains: Sequence[str | None] | None = None,
                 fader: Fader | None = None) -> None:
        super().__init__()
        self.inserts = list(inserts)
        self.sidechains = list(sidechains) if sidechains is not None else [None] * len(self.inserts)
        if len(self.sidechains) != len(self.inserts):
            raise ValueError("one sidechain entry (a key name or None) per insert")
        self.fader = fader

    @property
    def latency(self) -> int:
        return sum(p.latency for p in self.inserts)

    @property
    def tail(self) -> int:
        return sum(p.tail for p in self.inserts)

    def latency_after(self, k: int) -> int:
        """Latency of the first ``k + 1`` inserts (the delay at the meter point after insert ``k``)."""
        return sum(p.latency for p in self.inserts[: k + 1])

    def _prepare(self) -> None:
        for p in self.inserts:
            p.prepare(self.sample_rate, self.max_block, self.channels)
        if self.fader is not None:
            self.fader.prepare(self.sample_rate, self.max_block, self.channels)

    def _reset(self) -> None:
        for p in self.inserts:
            p.reset()
        if self.fader is not None:
            self.fader.reset()

    def _process(self, block: np.ndarray, position: int, key: object = None) -> np.ndarray:
        return self.run(block, position, keys=key)[1]

    def run(self, block: np.ndarray, position: int, *, keys: Mapping[str, np.ndarray] | np.ndarray | None = None,
            points: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
        """Process one block: ``(after the inserts, after the fader, {k: after insert k})``.

        ``keys`` maps the sidechain names to their blocks; a single array keys every
        insert that has a sidechain.
        """
        want = set(points)
        at: dict[int, np.ndarray] = {}
        x = block
        for k, (proc, sc) in enumerate(zip(self.inserts, self.sidechains)):
            if sc is not None:
                key = keys if isinstance(keys, np.ndarray) else (keys or {}).get(sc)
                if key is None:
                    raise ValueError(f"{proc.kind}: no block for its sidechain {sc!r}")
                x = proc.process(x, position, key=key)
            else:
                x = proc.process(x, position)
            if k in want:
                at[k] = x
        post = self.fader.process(x, position) if self.fader is not None else x
        return x, post, at
