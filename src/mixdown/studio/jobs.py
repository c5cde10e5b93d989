"""Render jobs: the studio's Render button runs :func:`mixdown.pipeline.run`, as the CLI does.

A job is started with the session as it is now (as data) and runs in a thread,
one at a time; its status carries progress 0-1, then the outputs, the measured
loudness, compliance against the studio's target and the mix's loudness curve.
An ``auto`` job's decided session becomes the studio's session (auto keeps hand
edits) and its decision list is shown.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import MixdownError


def compliance(measured: dict[str, Any], target: Any) -> tuple[bool | None, list[str]]:
    """Integrated loudness within the target's tolerance and true peak under its ceiling."""
    i, tp = measured.get("integrated_lufs"), measured.get("true_peak_dbtp")
    if i is None:
        return None, ["integrated loudness is undefined (too short or silent)"]
    problems = []
    if abs(i - target.integrated_lufs) > target.tolerance_lu + 1e-9:
        problems.append(f"integrated {i:.1f} LUFS misses {target.integrated_lufs:.1f} ± {target.tolerance_lu:g} LU")
    if tp is not None and tp > target.true_peak_dbtp + 1e-9:
        problems.append(f"true peak {tp:.1f} dBTP is over the {target.true_peak_dbtp:.1f} dBTP ceiling")
    return not problems, problems


class Jobs:
    """Render jobs of one studio, by id."""

    def __init__(self, studio: Any) -> None:
        self.studio = studio
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._busy = threading.Lock()

    def start(self, mode: str, target: str | None) -> str:
        from ..targets import get_target

        if mode not in ("render", "auto"):
            raise MixdownError(f"render mode {mode!r} is not 'render' or 'auto'")
        tgt = get_target(target) if target else self.studio.target
        st = self.studio
        data = st.get()
        stem = st.save_path.name.removesuffix(".mixdown.yaml").rsplit(".", 1)[0] if st.imported else st.path.stem
        out = None
        if mode == "auto":
            out = st.save_path.with_name(stem + ".auto.wav")
        elif not data.get("deliverables"):
            out = st.save_path.with_name(stem + ".wav")
        job_id = str(next(self._ids))
        rec: dict[str, Any] = {"id": job_id, "mode": mode, "state": "queued", "progress": 0.0, "outputs": [],
                               "measured": None, "compliant": None, "problems": [], "target": tgt.to_json(),
                               "error": None, "elapsed_s": None}
        with self.lock:
            self.jobs[job_id] = rec
        t = threading.Thread(target=self._run, args=(rec, data, out, tgt), name=f"mixdown-render-{job_id}",
                             daemon=True)
        self._threads.append(t)
        t.start()
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            rec = self.jobs.get(job_id)
            return None if rec is None else {k: v for k, v in rec.items() if not k.startswith("_")}

    def path(self, job_id: str, index: int) -> Path | None:
        """The ``index``-th audio file a finished job wrote."""
        with self.lock:
            rec = self.jobs.get(job_id)
            files = rec.get("_files", []) if rec else []
        return files[index] if 0 <= index < len(files) else None

    def stop(self) -> None:
        for t in self._threads:
            t.join(timeout=60)

    def _run(self, rec: dict[str, Any], data: dict[str, Any], out: Path | None, tgt: Any) -> None:
        from ..analysis.measure import measure_file
        from ..pipeline import Job, run
        from .analysis import thin

        st = self.studio
        t0 = time.perf_counter()

        def progress(done: int, total: int) -> None:
            rec["progress"] = round(min(done / total, 1.0) * 0.97, 4) if total else 0.0

        with self._busy:
            rec["state"] = "running"
            try:
                job = Job(mode=rec["mode"], session_data=data, base_dir=str(st.base_dir),
                          output=str(out) if out else None, target=tgt.name if rec["mode"] == "auto" else None,
                          name=f"studio-{rec['id']}")
                res = run(job, progress=progress)
                mix = res.output("mix") or (res.outputs[0] if res.outputs else None)
                measured = dict(mix.measured) if mix else {}
                ok, problems = compliance(measured, tgt)
                curve = None
                if mix is not None and Path(mix.path).is_file():
                    m = measure_file(mix.path)
                    curve = thin(m.short_term_series.time_s, m.short_term_series.lufs)
                if rec["mode"] == "auto" and res.session is not None:
                    st.put(res.session)
                    st.decisions = res.decisions
                audio = [Path(o.path) for o in res.outputs if o.kind in ("mix", "me") and Path(o.path).is_file()]
                rec.update(state="done", progress=1.0, measured=measured, compliant=ok, problems=problems,
                           outputs=[{"kind": o.kind, "path": o.path, "measured": o.measured} for o in res.outputs],
                           short_term=curve, decisions=len(res.decisions), _files=audio)
            except MixdownError as exc:
                rec.update(state="failed", error=str(exc))
            except Exception as exc:  # noqa: BLE001 - a bug, but the studio keeps running and says so
                rec.update(state="failed", error=f"internal error: {type(exc).__name__}: {exc}")
            rec["elapsed_s"] = round(time.perf_counter() - t0, 3)
