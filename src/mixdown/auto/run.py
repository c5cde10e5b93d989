"""``auto``'s decisions: pure edits of a session, every one on record.

:func:`decide` only edits a copy of the session it is given: the pipeline
(:func:`mixdown.pipeline.run`) first takes auto's own layer off
(:func:`without_auto`) and analyses the session as the person left it, then
:func:`decide` writes a fresh layer (leveling, chains, balance, ducks), so running
auto on its own output changes nothing. Nothing here renders: the one measurement
that depends on auto's own edits (cleanup's, made with the leveled clip gains) is
asked of the ``measure`` callable the pipeline passes in. The loudness gain and the
limiter are the master stage's (:mod:`mixdown.master`), run by the pipeline;
:func:`stage_decisions` writes what it did into the decision list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..master import BLOCK_SIZE, MasterParams, StageOutcome
from ..session.model import MASTER, Session
from ..targets import Target
from .analyse import Analysis
from .assist import AssistParams
from .balance import BalanceParams, balance_roles
from .bleed import BleedParams
from .cleanup import CleanupParams, TrackMeasure, plan_cleanup, screen_cleanup
from .decisions import Decision
from .ducking import DuckParams, duck_tracks
from .layers import strip_auto
from .leveling import LevelingParams, level_dialogue

# ``measure(session, analysis, params, tracks)``: the cleanup measurement of ``tracks`` as ``session`` has them
MeasureCleanup = Callable[[Session, Analysis, CleanupParams, list[str]], dict[str, TrackMeasure]]

@dataclass(frozen=True)
class AutoOptions:
    """Everything ``auto`` can be told; every field has a sensible default but the target."""

    target: Target
    duck: DuckParams = field(default_factory=DuckParams)
    duck_roles: tuple[str, ...] = ("music", "ambience")
    duck_under_lu: dict[str, float] = field(default_factory=lambda: {"music": 18.0, "ambience": 24.0})
    duck_mode: str = "keyframes"
    bleed: BleedParams = field(default_factory=BleedParams)
    leveling: LevelingParams = field(default_factory=LevelingParams)
    level: bool = True
    cleanup: CleanupParams | None = field(default_factory=CleanupParams)
    cleanup_mode: str = "screen"   # screen | full | off
    balance: BalanceParams = field(default_factory=BalanceParams)
    master: MasterParams = field(default_factory=MasterParams)
    # the mix assistant's second pass is asked for (AssistParams()): it costs a measuring render
    assist: AssistParams = field(default_factory=lambda: AssistParams(speakers=None, unmask=None))
    vad_method: str = "silero"
    vad_threshold: float = 0.5
    cache_dir: Path | None = None
    block_size: int = BLOCK_SIZE


def without_auto(session: Session) -> tuple[Session, list[Decision]]:
    """A copy of the session with auto's layers and ``auto-`` processors taken off (values a person
    edited excepted), and the decisions that say what was kept: what :func:`decide` is given."""
    s = session.copy_session()
    return s, strip_auto(s)


def decide(session: Session, analysis: Analysis, opts: AutoOptions, *,
           measure: MeasureCleanup | None = None) -> tuple[Session, list[Decision]]:
    """An edited copy of the session and the decision list; never renders.

    Parameters
    ----------
    session : Session
        As :func:`without_auto` left it: the session ``analysis`` was made of.
    analysis : Analysis
        :func:`mixdown.auto.analyse.analyse` of ``session``.
    opts : AutoOptions
    measure : callable, optional
        ``measure(session, analysis, params, tracks)``: the cleanup measurement of
        ``tracks`` as the leveled copy has them (the pipeline renders it). Needed when
        cleanup is on and a dialogue track is to be measured.

    Returns
    -------
    session : Session
        A fresh auto layer: leveled dialogue (clip gains, rides, chains), cleanup,
        balanced faders and ducks. Its master stage is set by the pipeline.
    decisions : list of Decision
    """
    s = session.copy_session()
    decisions: list[Decision] = []
    if not analysis.speech:
        decisions.append(Decision(
            "speech", MASTER, "no speech given",
            "the programme has no dialogue track: nothing to level, to balance against or to duck under; "
            "auto sets its loudness and true peak only"))
        return s, decisions
    decisions += _speech_decisions(analysis, opts)
    ref = opts.leveling.reference_lufs
    if opts.level:
        decisions += level_dialogue(s, analysis, opts.leveling)
    if opts.cleanup is not None and opts.cleanup_mode != "off":
        # after leveling: noise is measured with the final clip gains, and leveling only fills empty chains
        tracks = list(analysis.speech)
        if opts.cleanup_mode == "screen":
            tracks, clean = screen_cleanup(s, analysis, params=opts.cleanup)
            decisions += clean
        if tracks:
            if measure is None:
                raise TypeError("decide: cleanup needs measure= (the pipeline's cleanup measurement), "
                                "or cleanup_mode='off'")
            measures = measure(s, analysis, opts.cleanup, tracks)
            decisions += plan_cleanup(s, analysis, opts.cleanup, measures=measures)
    decisions += balance_roles(s, analysis, ref, opts.balance)
    decisions += duck_tracks(s, analysis, ref, opts.duck, roles=opts.duck_roles, under_lu=opts.duck_under_lu,
                             mode=opts.duck_mode)
    return s, decisions


def _speech_decisions(analysis: Analysis, opts: AutoOptions) -> list[Decision]:
    sr = analysis.sample_rate
    out = []
    for name, regions in analysis.speech.items():
        secs = sum(b - a for a, b in regions) / sr
        notes = []
        bleed = analysis.removed_bleed.get(name, 0.0)
        if bleed > 0.05:
            notes.append(f"{bleed:.1f} s dropped as other speakers' bleed (the same sound, louder on their "
                         "microphone)")
        quiet = analysis.removed_quiet.get(name, 0.0)
        if quiet > 0.05:
            notes.append(f"{quiet:.1f} s dropped as more than {opts.bleed.sensitivity_db:g} dB under this speaker's "
                         "level (--duck-sensitivity)")
        out.append(Decision(
            "speech", name, f"{len(regions)} speech regions, {secs:.1f} s",
            f"{opts.vad_method} voice activity detection on the source" + "".join(f"; {n}" for n in notes),
            data={"regions_s": [[round(a / sr, 3), round(b / sr, 3)] for a, b in regions[:2000]]}))
    return out


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def stage_decisions(stage: StageOutcome, *, premaster_lufs: float | None, premaster_dialogue_lufs: float | None,
                    target: Target, mp: MasterParams, dialogue_gated: bool, has_speech: bool) -> list[Decision]:
    """What the master stage did (loudness gain, limiter), as decisions."""
    what = "dialogue-gated loudness" if dialogue_gated else "integrated loudness"
    measured_pre = premaster_dialogue_lufs if dialogue_gated else premaster_lufs
    reason = f"premaster {what} {measured_pre:.2f} LUFS; target {target.integrated_lufs:g} LUFS ({target.name})"
    if target.gating == "dialogue" and not has_speech:
        reason += "; the target gates on dialogue, but no speech was given: measured on the whole programme"
    out = [
        Decision(
            "loudness",
            MASTER,
            f"gain {stage.gain_db:+.2f} dB",
            reason,
            value_db=stage.gain_db,
            data={"premaster_lufs": _r(premaster_lufs), "premaster_dialogue_lufs": _r(premaster_dialogue_lufs)},
        ),
        Decision(
            "limiter",
            MASTER,
            f"true-peak limiter at {stage.ceiling_db:.2f} dBTP, up to {stage.reduction_db:.1f} dB of gain reduction",
            f"ceiling {target.true_peak_dbtp:g} dBTP ({target.name}) less a {mp.margin_db:g} dB margin for meter "
            f"differences; {stage.limited_samples} samples limited",
            value_db=-stage.reduction_db,
            data={"limited_samples": stage.limited_samples},
        ),
    ]
    return out
