"""The loudness plan and the master stage.

Measure-then-apply, as ffmpeg-normalize does, but exact: the premaster (everything
before the master chain) is rendered once and measured; one static gain takes it to
the target; a true-peak limiter (oversampled detection, lookahead) holds the
ceiling. Both are written into the session's master chain, so ``mixdown render``
of the saved session produces the same bytes. The output is then measured; if the
limiter cost loudness, the gain is corrected and the (cheap) master stage is run
again. If reaching the target would take more limiting than ``max_limiting_db``,
mixdown stops there, says by how much the target is missed, and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..deliver.targets import Target
from ..session.model import ProcessorSpec

LIMITER_ID = "auto-limiter"
GAIN_ID = "auto-loudness"


@dataclass(frozen=True)
class MasterParams:
    """Options of the master stage.

    Attributes
    ----------
    lookahead_ms : float
        Limiter lookahead (its latency; compensated).
    release_ms : float
        Limiter release.
    margin_db : float
        The limiter's ceiling sits this far under the spec's ceiling, so that the
        meter's true-peak reading (a different interpolator) stays under it too.
    max_limiting_db : float
        Most gain reduction accepted to reach the target.
    tolerance_lu : float
        The master stage is run again until the output is this close to the target.
    max_passes : int
    """

    lookahead_ms: float = 5.0
    release_ms: float = 80.0
    margin_db: float = 0.1
    max_limiting_db: float = 6.0
    tolerance_lu: float = 0.05
    max_passes: int = 4


def master_chain(gain_db: float, ceiling_db: float, params: MasterParams) -> list[ProcessorSpec]:
    """The master chain ``auto`` writes: loudness gain, then the true-peak limiter."""
    return [
        ProcessorSpec(type="gain", id=GAIN_ID, gain_db=round(gain_db, 3)),
        ProcessorSpec(type="limiter", id=LIMITER_ID, ceiling_db=round(ceiling_db, 3), true_peak=True,
                      lookahead_ms=params.lookahead_ms, release_ms=params.release_ms),
    ]


def loudness_gain(measured: float | None, target: Target) -> float:
    """Static gain from a measured loudness to the target.

    Raises
    ------
    AnalysisError
        When the loudness is undefined (programme under 400 ms or below the gates):
        no gain is computed from an undefined value.
    """
    from ..errors import AnalysisError

    if measured is None:
        raise AnalysisError(
            "the premaster's loudness is undefined (shorter than 400 ms, or silent below the -70 LUFS gate): "
            "no loudness gain can be computed")
    return target.integrated_lufs - measured


def next_pass(params: MasterParams, *, got: float | None, goal: float, over_tp: float, limited_db: float,
              gain: float, ceiling: float, capped: bool) -> tuple[float, float, bool, bool]:
    """What the master stage changes after a pass: ``(gain, ceiling, capped, retry)``.

    Parameters
    ----------
    got : float or None
        Loudness the pass measured (LUFS; None when undefined).
    goal : float
        Loudness wanted (LUFS).
    over_tp : float
        Measured true peak minus the spec's ceiling, dB (> 0: over).
    limited_db : float
        Largest gain reduction the limiter applied, dB.
    gain, ceiling : float
        This pass's loudness gain and limiter ceiling, dB.
    capped : bool
        The gain is already held at ``max_limiting_db`` of limiting.

    More than ``tolerance_lu`` off moves the gain by the miss (unless capped); a
    true peak over the ceiling lowers the limiter's ceiling by the overshoot and
    0.05 dB more; more than ``max_limiting_db`` of limiting takes the excess off the
    gain and caps it there (the target is then missed, which the caller reports).
    """
    retry = False
    if got is not None and not capped and abs(got - goal) > params.tolerance_lu:
        gain += goal - got
        retry = True
    if over_tp > 0:
        ceiling -= over_tp + 0.05
        retry = True
    if limited_db > params.max_limiting_db + 0.05 and not capped:
        gain -= limited_db - params.max_limiting_db
        capped = True
        retry = True
    return gain, ceiling, capped, retry
