"""Compliance check of a finished file against a delivery spec (``mixdown check``).

:func:`measure_media` decodes any file FFmpeg reads (a video's audio stream too),
streaming, at its own rate and layout, and measures in one pass:

- BS.1770 loudness (integrated, LRA, true peak, momentary/short-term maxima), with
  the channel weights of the file's layout (5.1: surrounds +1.5 dB, LFE excluded);
- dialogue-gated loudness over the speech regions found by
  :mod:`mixdown.analysis.vad` (only when the spec gates on dialogue);
- the QC of :mod:`mixdown.analysis.qc` -- the same detector the report runs:
  clipping (runs of 3+ samples at -0.001 dBFS or above), DC offset, left/right
  phase correlation and the loudness lost on a mono fold-down, dropouts, and
  silence at the head, at the tail and inside;
- non-finite samples (NaN/inf in float files).

:func:`check_file` turns that into one :class:`Requirement` per rule of the
:class:`~mixdown.targets.Target` plus the QC rules, and says pass or fail
for each. Undefined is never a pass: a file without a measurable loudness fails
the loudness requirement, one without speech fails a dialogue-gated one.

The whole file is read to its real end (not to the container's announced length),
so a file whose header lies is still measured completely.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..analysis.measure import Measurement, decode_blocks, measure_media
from ..analysis.qc import CLIP_LEVEL, ClipRuns, QCLimits, Requirement, qc_requirements
from ..targets import Target

__all__ = ["CLIP_LEVEL", "CLIP_RUN", "CheckResult", "Measurement", "Requirement", "check_file", "decode_blocks",
           "evaluate", "format_result", "measure_media"]

#: Consecutive clipped samples (one channel) that make a clipped run.
CLIP_RUN = QCLimits().clip_run
#: Level under which the head/tail counts as silence, dBFS (sample peak).
SILENCE_DBFS = QCLimits().silence_db
#: Longest silence accepted at the head, at the tail or inside, seconds (``--max-silence``).
DEFAULT_MAX_SILENCE_S = QCLimits().silence_s


class _ClipCounter(ClipRuns):
    """Runs of >= CLIP_RUN consecutive clipped samples per channel, across blocks (the QC's detector)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, level=CLIP_LEVEL, run=CLIP_RUN)


@dataclass
class CheckResult:
    """A file checked against a target."""

    file: str
    target: Target
    measurement: Measurement
    requirements: list[Requirement] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True only if every requirement passed (and there is at least one); advice never fails."""
        return bool(self.requirements) and all(r.passed or r.advisory for r in self.requirements)

    @property
    def failures(self) -> list[Requirement]:
        return [r for r in self.requirements if not r.passed and not r.advisory]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "target": self.target.to_json(), "passed": self.passed,
                "requirements": [r.to_json() for r in self.requirements], "measured": self.measurement.to_json()}


def evaluate(m: Measurement, target: Target, *, ceiling: float | None = None,
             max_silence_s: float | None = DEFAULT_MAX_SILENCE_S, qc: bool = False) -> list[Requirement]:
    """The requirements of ``target`` (and, with ``qc``, the QC rules) judged on a measurement.

    Parameters
    ----------
    ceiling : float, optional
        True-peak ceiling to hold, dBTP (default: the target's).
    max_silence_s : float or None
        Longest silence at the head, at the tail or (with ``qc``) inside; None leaves
        silence out of the check.
    qc : bool
        Add the QC rules of :func:`~mixdown.analysis.qc_rules.qc_requirements` (DC,
        phase, mono fold-down, dropouts, silence inside), as ``mixdown check`` does;
        the measurement must carry its QC result. Off, the target's rules, clipping
        and head/tail silence only (what a deliverable is judged on).
    """
    reqs = _loudness_requirements(m, target) + _peak_and_range(m, target, ceiling)
    rules = qc_requirements(m.qc, QCLimits(), true_peak=False, silence=max_silence_s is not None,
                            max_silence_s=max_silence_s) if qc and m.qc is not None else None
    if rules is not None:
        reqs += [r for r in rules if r.name not in _SILENCE_RULES]
    else:
        ok = m.clipped_runs == 0
        reqs.append(Requirement("clipping", ok, float(m.clipped_runs), f"no run of {CLIP_RUN}+ samples at full scale",
                                "none" if ok else f"{m.clipped_runs} clipped runs, {m.clipped_samples} samples"))
    if m.nonfinite_samples:
        reqs.append(Requirement("valid_samples", False, float(m.nonfinite_samples), "no NaN or infinite samples",
                                f"{m.nonfinite_samples} non-finite samples"))
    if rules is not None:
        reqs += [r for r in rules if r.name in _SILENCE_RULES]
    elif max_silence_s is not None:
        for name, v in (("head_silence", m.head_silence_s), ("tail_silence", m.tail_silence_s)):
            ok = v <= max_silence_s
            reqs.append(Requirement(name, ok, v, f"<= {max_silence_s:g} s under {SILENCE_DBFS:g} dBFS", f"{v:.2f} s"))
    return reqs


_SILENCE_RULES = ("head_silence", "tail_silence", "silence")


def _peak_and_range(m: Measurement, target: Target, ceiling: float | None) -> list[Requirement]:
    """True peak, and the loudness-range and short-term limits where the target sets them."""
    reqs = []
    c = target.true_peak_dbtp if ceiling is None else ceiling
    tp = m.loudness.true_peak_dbtp
    ok = tp is None or tp <= c
    reqs.append(
        Requirement(
            "true_peak",
            ok,
            tp,
            f"<= {c:g} dBTP",
            "silent: no peak" if tp is None else f"{tp:.2f} dBTP" + ("" if ok else f", {tp - c:+.2f} dB over"),
        )
    )
    lra = m.loudness.loudness_range_lu
    if target.max_lra_lu is not None:
        ok = lra is not None and lra <= target.max_lra_lu
        reqs.append(Requirement("loudness_range", ok, lra, f"<= {target.max_lra_lu:g} LU",
                                "undefined (shorter than 3 s or silent)" if lra is None else f"{lra:.1f} LU"))
    if target.recommended_lra_lu is not None:
        lo, hi = target.recommended_lra_lu
        ok = lra is None or lo <= lra <= hi
        reqs.append(Requirement("loudness_range_recommended", ok, lra, f"{lo:g}-{hi:g} LU (recommended)",
                                "undefined (shorter than 3 s or silent)" if lra is None else
                                f"{lra:.1f} LU" + ("" if ok else f", outside the {lo:g}-{hi:g} LU the spec recommends"),
                                advisory=True))
    if target.max_short_term_lufs is not None:
        st = m.loudness.short_term_max_lufs
        ok = st is None or st <= target.max_short_term_lufs
        reqs.append(Requirement("max_short_term", ok, st, f"<= {target.max_short_term_lufs:g} LUFS",
                                "undefined (shorter than 3 s or silent)" if st is None else
                                f"{st:.2f} LUFS" + ("" if ok else f", {st - target.max_short_term_lufs:+.2f} LU over")))
    return reqs


def _loudness_requirements(m: Measurement, target: Target) -> list[Requirement]:
    tol = target.tolerance_lu
    goal = target.integrated_lufs
    limit = f"{goal:g} ±{tol:g} LU"
    if target.gating == "dialogue":
        v = m.dialogue_lufs
        if v is None:
            why = "no speech found" if not m.speech_s else "speech too short or too quiet to measure"
            return [Requirement("dialogue_loudness", False, None, limit + " (dialogue-gated)",
                                f"dialogue-gated loudness undefined: {why}")]
        ok = abs(v - goal) <= tol
        return [
            Requirement(
                "dialogue_loudness",
                ok,
                v,
                limit + " (dialogue-gated)",
                f"{v:.2f} LUFS over {m.speech_s:.1f} s of speech" + ("" if ok else f", {v - goal:+.2f} LU off"),
            )
        ]
    v = m.loudness.integrated_lufs
    if v is None:
        return [Requirement("integrated_loudness", False, None, limit,
                            "integrated loudness undefined (silent, or shorter than 400 ms)")]
    ok = abs(v - goal) <= tol
    return [
        Requirement("integrated_loudness", ok, v, limit, f"{v:.2f} LUFS" + ("" if ok else f", {v - goal:+.2f} LU off"))
    ]


def check_file(path: str | os.PathLike[str], target: Target, *, stream: int | None = None,
               vad_method: str = "silero", max_silence_s: float | None = DEFAULT_MAX_SILENCE_S,
               ceiling: float | None = None, qc: bool = True) -> CheckResult:
    """Measure a file and judge it against ``target``.

    Parameters
    ----------
    path : str or PathLike
        Any file FFmpeg reads (audio or video).
    target : Target
    stream : int, optional
        Audio stream (default: the first).
    vad_method : str
        Speech detector for dialogue-gated specs.
    max_silence_s : float or None
        Longest silence at the head, at the tail or inside; None skips the silence rules.
    ceiling : float, optional
        A stricter true-peak ceiling than the target's (e.g. a lossy one).
    qc : bool
        Judge the QC rules too (DC, phase, mono fold-down, dropouts, silence inside);
        off, only the target's rules, clipping and head/tail silence.

    Raises
    ------
    MediaError
        The file cannot be read (missing, not media, no audio, decode error).
    """
    limits = QCLimits() if max_silence_s is None else QCLimits(silence_s=min(max_silence_s, QCLimits().silence_s))
    m = measure_media(path, stream=stream, speech=target.gating == "dialogue", vad_method=vad_method, limits=limits)
    return CheckResult(file=str(path), target=target, measurement=m,
                       requirements=evaluate(m, target, ceiling=ceiling, max_silence_s=max_silence_s, qc=qc))


def format_result(res: CheckResult) -> str:
    """A short human-readable verdict, one line per requirement."""
    m = res.measurement
    head = (f"{res.file}: {'PASS' if res.passed else 'FAIL'} for {res.target.name} "
            f"({m.duration_s:.2f} s, {m.sample_rate} Hz, {m.layout}, {m.codec}"
            f"{', video' if m.has_video else ''})")
    lines = [head]
    for r in res.requirements:
        verdict = "ok  " if r.passed else "note" if r.advisory else "FAIL"
        lines.append(f"  {verdict} {r.name:<20} {r.detail}  [{r.limit}]")
    return "\n".join(lines)
