"""The report's data, collected by the pipeline: what :mod:`mixdown.report` lays out.

The numbers of the mix come from the meters of ``mixdown measure`` and ``check``:
with a mix file, :func:`mixdown.analysis.measure.measure_media` (loudness and QC
in one decode of the written file); without one, the render's own master meter.
The per-track data come from :class:`~mixdown.pipeline.reportprobes.SessionPass`,
which rides on the job's render (``mixdown render --report``) or, where the job
has no render of the session as it is (``report SESSION``, ``auto --report``),
runs one of its own here. Nothing in :mod:`mixdown.report` renders or measures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__ as version
from ..analysis.qc import QCLimits
from ..deliver.check import measure_media
from ..errors import MixdownError
from ..media.decode import probe
from .reportprobes import COLUMNS, Region, SessionPass
from .reportprobes import finite_round as _r

__all__ = ["auto_report_data", "collect", "result_report_data"]


MAX_SERIES = 6000


def _series(s: Any) -> dict[str, list[float | None]]:
    """A LoudnessSeries as JSON lists, thinned to at most MAX_SERIES points."""
    t, v = np.asarray(s.time_s), np.asarray(s.lufs)
    step = max(1, -(-t.shape[0] // MAX_SERIES))
    return {"t": [round(float(x), 2) for x in t[::step]], "lufs": [_r(x) for x in v[::step]]}


# ------------------------------------------------------------------------ collect


def collect(
    session: Any = None,
    *,
    mix: str | Path | None = None,
    decisions: Sequence[Any] = (),
    analysis: Any = None,
    speech: dict[str, list[Region]] | None = None,
    target: Any = None,
    detect_speech: bool = True,
    limits: QCLimits = QCLimits(),
    block_size: int = 16384,
    columns: int = COLUMNS,
    title: str | None = None,
    rendered: SessionPass | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Measure everything the report shows; returns the report's JSON data (laid out by :mod:`mixdown.report`).

    Parameters
    ----------
    session : Session, optional
        The mix as a session (rendered once, with probes). Without it only the
        mix file is measured.
    mix : path, optional
        The rendered mix; its loudness and QC are measured exactly as ``mixdown
        check`` does (:func:`mixdown.deliver.check.measure_media`).
    decisions : list of Decision or dict
        What ``auto`` did (shown in words).
    analysis : Analysis, optional
        ``auto``'s analysis (speech per track). Otherwise speech comes from
        ``speech``, from the decisions' ``speech`` data, or (``detect_speech``) from
        the voice activity detector.
    target : Target, optional
        Delivery target drawn on the loudness plot and checked.
    rendered : SessionPass, optional
        The measurements of a render that already ran with this pass's probes and
        taps (``mixdown render --report``): nothing is rendered again, and the
        master's loudness is the render's own meter (``rendered.meter``).
    progress : callable, optional
        ``progress(done, total)`` while the session renders (frames).

    Raises
    ------
    MixdownError
        When there is neither a session nor a mix.
    """
    if session is None and mix is None and rendered is None:
        raise MixdownError("a report needs a session or a mix file")
    if rendered is not None:
        session = rendered.session
    dec = [d.to_json() if hasattr(d, "to_json") else dict(d) for d in decisions]
    data: dict[str, Any] = {
        "title": title or (Path(session.file).stem if session is not None and session.file else
                           Path(mix).name if mix else "mix"),
        "generated_by": f"mixdown {version}",
        "target": target.to_json() if target is not None else None,
        "decisions": dec,
        "tracks": [],
    }
    res = mix_qc = dlg_gated = None
    all_speech: list[Region] = []
    if session is not None:
        if rendered is None:
            rendered = SessionPass(session, analysis=analysis, speech=speech, decisions=dec,
                                   detect_speech=detect_speech, limits=limits, columns=columns,
                                   measure_master=mix is None)
            rendered.run(block_size=block_size, progress=progress)
        session_data, res, mix_qc, dlg_gated = rendered.finish()
        all_speech = rendered.all_speech
        data.update(session_data)
        data["loudness_source"] = rendered.loudness_source
    if mix is not None:
        m = measure_media(mix, speech=_rescale(all_speech, rendered, mix) if all_speech else False, limits=limits)
        res, mix_qc, dlg_gated = m.loudness, m.qc, m.dialogue_lufs
        data["loudness_source"] = f"measured from {Path(mix).name} (the meter of `mixdown measure` and `check`)"
        if "dialogue_gated_lufs" in data:
            data["dialogue_gated_lufs"] = _r(dlg_gated)
    assert res is not None
    data["loudness"] = {**res.to_json(), "file": str(mix) if mix else (rendered.output if rendered else None),
                        "momentary": _series(res.momentary_series), "short_term": _series(res.short_term_series)}
    data.setdefault("programme", {"duration_s": round(res.duration_s, 3)})
    data["mix_qc"] = mix_qc.to_json() if mix_qc is not None else None
    data["compliance"] = _compliance(res, target, dlg_gated)
    return data


def _rescale(regions: list[Region], rendered: SessionPass | None, mix: str | Path) -> list[Region]:
    """Speech regions of the session (its rate) as the half-open ranges ``measure_media`` reads at the mix's rate."""
    sr = rendered.sample_rate if rendered is not None else None
    rate = probe(mix).sample_rate
    if sr is None or sr == rate:
        return regions
    return [(a * rate // sr, b * rate // sr) for a, b in regions]


def _compliance(res: Any, target: Any, dialogue_lufs: float | None) -> dict[str, Any]:
    if target is None:
        return {"checked": False}
    got = dialogue_lufs if target.gating == "dialogue" else res.integrated_lufs
    problems = []
    if got is None:
        problems.append("loudness undefined")
    elif abs(got - target.integrated_lufs) > target.tolerance_lu:
        problems.append(f"{'dialogue-gated' if target.gating == 'dialogue' else 'integrated'} loudness "
                        f"{got:.2f} LUFS is outside {target.integrated_lufs:g} ±{target.tolerance_lu:g} LU")
    if res.true_peak_dbtp is not None and res.true_peak_dbtp > target.true_peak_dbtp:
        problems.append(f"true peak {res.true_peak_dbtp:.2f} dBTP is over {target.true_peak_dbtp:g} dBTP")
    if (
        target.max_lra_lu is not None
        and res.loudness_range_lu is not None
        and res.loudness_range_lu > target.max_lra_lu
    ):
        problems.append(f"loudness range {res.loudness_range_lu:.1f} LU is over {target.max_lra_lu:g} LU")
    st, st_max = res.short_term_max_lufs, target.max_short_term_lufs
    if st_max is not None and st is not None and st > st_max:
        problems.append(f"maximum short-term loudness {st:.1f} LUFS is over {st_max:g} LUFS")
    return {"checked": True, "measured_lufs": _r(got), "compliant": not problems, "problems": problems}


def _result_path(result: Path, value: Any, key: str) -> Path:
    """A file a result names: absolute as written, relative to the result's folder otherwise; it must exist."""
    if not isinstance(value, str):
        raise MixdownError(f"{key!r} must be a file name, not {type(value).__name__}", file=result)
    q = Path(value)
    full = q if q.is_absolute() else result.parent / q
    if not full.exists():
        rule = "" if q.is_absolute() else f" (a relative path is read relative to the result file's folder: {full})"
        raise MixdownError(f"the {key} it names, {value}, does not exist{rule}", file=result)
    return full


def result_report_data(path: str | Path, *, mix: str | Path | None = None, **options: Any) -> dict[str, Any]:
    """The report's data of an ``auto --json`` result file (with ``--save-session`` for the per-track plots).

    The result names the mix (``output``), the target and the decisions; when it
    also names the saved session (``session``), that is rendered for the tracks.
    ``auto --json`` writes absolute paths (its JSON goes to stdout, so no folder is
    known to be relative to); a relative path in a result is read relative to the
    result file's folder, as a session's media are.

    Raises
    ------
    MixdownError
        When the file is not such a result, or names neither a mix nor a session.
    """
    from ..session import load_session
    from ..targets import Target

    p = Path(path)
    try:
        res = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MixdownError(f"not a readable result file ({exc})", file=p) from None
    if not isinstance(res, dict) or "decisions" not in res:
        raise MixdownError("not a result of `mixdown auto --json` (no decision list)", file=p)
    session = None
    if res.get("session"):
        session = load_session(_result_path(p, res["session"], "session"))
    out = mix if mix is not None else (_result_path(p, res["output"], "output") if res.get("output") else None)
    target = options.pop("target", None)
    if target is None and isinstance(res.get("target"), dict):
        known = {f.name for f in fields(Target)}
        target = Target(**{k: v for k, v in res["target"].items() if k in known})
    return collect(session, mix=out, decisions=res["decisions"], target=target,
                   title=options.pop("title", p.stem), **options)


def auto_report_data(res: Any, job: Any, *, progress: Any = None) -> dict[str, Any]:
    """The report's data of an auto job: the decided session's tracks, the written mix's numbers."""
    from ..targets import get_target

    mix = job.output
    tgt = get_target(job.target, lufs=job.lufs, true_peak=job.true_peak)
    return collect(res.session, mix=mix, decisions=res.decisions, analysis=res.analysis, target=tgt,
                   progress=progress)
