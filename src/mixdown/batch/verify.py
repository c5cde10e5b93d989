"""A job is done only when its outputs verify: they exist, and re-measured they meet the spec.

Re-measuring reads each audio output back from storage with the meter ``mixdown
measure`` uses (so the file as written is checked, not the samples that were sent to
the writer) and compares it with what the pipeline recorded and with the target.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..pipeline import JobResult, OutputResult

AUDIO_KINDS = ("mix", "video", "me")
# what the file may differ from the pipeline's own measurement (quantisation to the
# output's bit depth moves a 16-bit file's loudness by ~1e-4 LU)
CONSISTENCY_LU = 0.05
# numeric noise allowed on a ceiling or a tolerance edge
EDGE = 0.005

__all__ = ["file_record", "verify"]


def file_record(path: str | Path) -> dict[str, Any]:
    """Size, modification time (ns) and SHA-256 of a written file."""
    p = Path(path)
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h.hexdigest()}


def verify(result: JobResult) -> tuple[list[dict[str, Any]], list[tuple[str, str]], dict[str, Any]]:
    """Check every output of a job.

    Returns
    -------
    outputs : list of dict
        Per file: kind, path, size, mtime_ns, sha256, and for audio the re-measured keys.
    problems : list of (str, str)
        ``(kind, message)``: why the job is not done (empty when it is) — ``bug`` for a
        missing output or a measurement that disagrees with the file, ``target`` for a
        target missed.
    measured : dict
        The re-measured keys of the main output (the mix, else the video).
    """
    outputs: list[dict[str, Any]] = []
    problems: list[tuple[str, str]] = []
    main: dict[str, Any] = {}
    main_kind = ""
    for o in result.outputs:
        files = list(o.files) or [o.path]
        for f in files:
            if not os.path.isfile(f) or os.path.getsize(f) == 0:
                problems.append(("bug", f"{o.kind} output missing or empty: {f}"))
                continue
            rec = {"kind": o.kind, **file_record(f)}
            if o.kind in AUDIO_KINDS and o.measured.get("integrated_lufs") is not None and f == files[0]:
                rec["measured"] = _remeasure(o, f, result, problems)
                if not main or (o.kind == "mix" and main_kind != "mix"):
                    main, main_kind = rec["measured"], o.kind
            outputs.append(rec)
    for p in result.problems:
        if p.fails:
            problems.append(("target", p.message))
    if not result.compliant and not problems:
        problems.append(("target", "the pipeline says the result misses its target"))
    return outputs, problems, main


def _remeasure(o: OutputResult, path: str, result: JobResult, problems: list[tuple[str, str]]) -> dict[str, Any]:
    from ..analysis.measure import measure_file

    m = measure_file(path).to_json()
    name = os.path.basename(path)
    for key in ("integrated_lufs", "true_peak_dbtp"):
        was, now = o.measured.get(key), m.get(key)
        if was is not None and (now is None or abs(now - was) > CONSISTENCY_LU):
            problems.append(("bug", f"{name}: {key} re-measured {now} but the job recorded {was}: the file "
                                    "is not what was rendered"))
    spec = _spec(o, result)
    if spec is not None:
        problems.extend(("target", p) for p in _against(spec, m, result, name))
    if o.compliant is False:
        problems.append(("target", f"{name}: misses its target {o.target}"))
    return m


def _spec(o: OutputResult, result: JobResult) -> dict[str, Any] | None:
    if result.target is not None and (o.target is None or o.target == result.target.get("name")):
        return result.target
    if o.target:
        from ..targets import PRESETS

        t = PRESETS.get(o.target)
        return t.to_json() if t is not None else None
    return None


def _against(spec: dict[str, Any], m: dict[str, Any], result: JobResult, name: str) -> list[str]:
    out = []
    target, tol = spec["integrated_lufs"], spec["tolerance_lu"]
    if spec.get("gating") == "dialogue":
        # dialogue-gated loudness needs the speech regions: the pipeline's own figure
        loud = result.summary.get("dialogue_gated_lufs")
        what = "dialogue-gated loudness"
    else:
        loud = m.get("integrated_lufs")
        what = "integrated loudness"
    if loud is None:
        out.append(f"{name}: {what} is undefined (silent?)")
    elif abs(loud - target) > tol + EDGE:
        out.append(f"{name}: {what} {loud:.2f} LUFS misses the target {target:g} ±{tol:g} ({spec['name']})")
    tp = m.get("true_peak_dbtp")
    if tp is not None and tp > spec["true_peak_dbtp"] + EDGE:
        out.append(f"{name}: true peak {tp:.2f} dBTP is over the ceiling {spec['true_peak_dbtp']:g} dBTP")
    lra, most = m.get("loudness_range_lu"), spec.get("max_lra_lu")
    if most is not None and lra is not None and lra > most + EDGE:
        out.append(f"{name}: loudness range {lra:.1f} LU is over {most:g} LU")
    return out
