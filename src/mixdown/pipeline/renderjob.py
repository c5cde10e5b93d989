"""The render, deliver and report jobs: the session as it is, rendered once.

``render`` with an output writes the master to one file (any format the encoder
writes), measured as written; with ``report``, the report's probes ride on that
same render (:class:`~mixdown.pipeline.reportprobes.SessionPass`). ``deliver`` (and
``render`` of a session with deliverables and no output) writes every deliverable
from one render (:func:`mixdown.deliver.deliverables.render_deliverables`), the
report's probes riding on it too. ``report`` renders the session without writing a
mix, or reads a result of ``auto --json``, for the report alone.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Any

from ..analysis.loudness import LoudnessMeter
from ..deliver.deliverables import render_deliverables
from ..deliver.encode import open_encoder
from ..deliver.formats import resolve_format
from ..files.space import Need, audio_bytes, check_space
from ..media.write import FORMATS as PCM_FORMATS
from ..render.engine import Progress, Renderer
from ..render.graph import check
from ..render.sink import BackgroundSink
from ..session.io import session_to_data
from ..session.model import Session
from ..targets import get_target
from .job import Job, JobResult, OutputResult, Problem
from .reportdata import collect, result_report_data
from .reportprobes import SessionPass

__all__ = ["run_deliver_job", "run_render_job", "run_report_job"]


def _measured(file: str, res: Any) -> dict[str, Any]:
    """The keys of ``measure --json`` (``layout`` and ``layout_assumed`` when a layout was assumed)."""
    data: dict[str, Any] = {"file": file}
    data.update(res.to_json())
    if getattr(res, "layout_assumed", False):
        data.update({"layout": res.layout, "layout_assumed": True})
    return data


def run_render_job(job: Job, session: Session, progress: Progress | None) -> JobResult:
    """The master to ``job.output``, measured as written; the report's data from the same render."""
    assert job.output is not None
    out = Path(job.output)
    fmt = resolve_format(out, job.format)
    graph = check(session)
    # the disk big enough for the whole file, before any work
    check_space([Need(out, audio_bytes(fmt, frames=graph.length, channels=graph.channels,
                                       sample_rate=graph.sample_rate), str(out))])
    protect = set(graph.source_paths) | ({Path(session.file).resolve()} if session.file else set())
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=session.layout)
    probes = SessionPass(session, graph=graph, meter=meter, output=str(out)) if job.report is not None else None
    t0 = time.perf_counter()
    with open_encoder(out, format=fmt, sample_rate=graph.sample_rate, channels=graph.channels,
                      protect=protect, frames=graph.length) as writer:
        # PCM is measured as written (quantised), so the summary is the file's, clipping included
        written = writer.mirror() if fmt in PCM_FORMATS else None

        def as_written(b: Any) -> Any:
            return written.written(b) if written is not None else b

        consumers = [lambda b, _t: writer.write(b), lambda b, _t: meter.process(as_written(b))]
        if probes is not None:
            consumers += [lambda b, _t: probes.consume_master(b), lambda _b, t: probes.consume_taps(t)]
        with BackgroundSink(*consumers) as sink:
            renderer = Renderer(graph, block_size=job.block_size, taps=probes.taps if probes else None)
            with closing(renderer.blocks(progress=progress)) as blocks:
                for _, block, taps in blocks:
                    sink.put(block, taps)
    elapsed = time.perf_counter() - t0
    measured = _measured(str(out), meter.result())
    result = JobResult(job=job, session=session_to_data(session), duration_s=graph.length / graph.sample_rate)
    result.timings["render"] = elapsed
    clipped = written.clipped if written is not None else 0
    result.summary = {
        "output": str(out), "format": fmt, "sample_rate": graph.sample_rate, "channels": graph.channels,
        "duration_s": result.duration_s, "render_seconds": round(elapsed, 3),
        "realtime_factor": round(result.duration_s / elapsed, 1) if elapsed > 0 else None,
        "measured": measured, "clipped_samples": clipped,
    }
    if clipped:
        result.problems.append(Problem("clipping", f"{clipped} samples clipped at full scale in {fmt}",
                                       where=str(out)))
    if graph.tail_cut is not None:
        result.summary["warnings"] = [graph.tail_cut.message(graph.sample_rate)]
        result.problems.append(Problem("tail", result.summary["warnings"][0]))
    result.outputs.append(OutputResult("mix", str(out.resolve()), fmt, measured, None, None, [str(out)]))
    if probes is not None:
        result.report = collect(rendered=probes)
        result.summary["report"] = str(job.report)
    return result


def run_deliver_job(job: Job, session: Session, progress: Progress | None) -> JobResult:
    """Every deliverable the session lists, from one render; the report's probes ride on it."""
    vad = job.options.get("vad", "silero")
    probes: list[SessionPass] = []
    # the mix's numbers are measured from the first mix file; with none, on the render (before auto's stage)
    has_mix = any(d.kind in ("mix", "video") for d in session.deliverables)

    def observe(graph: Any) -> tuple[dict[str, list[str]], Any]:
        # the delivery's graph (auto's stage out of the master: the tracks are the session's)
        probes.append(SessionPass(session, graph=graph, measure_master=not has_mix))

        def consume(block: Any, taps: dict[str, Any]) -> None:
            probes[0].consume_master(block)
            probes[0].consume_taps(taps)

        return probes[0].taps, consume

    rep = render_deliverables(session, progress=progress, block_size=job.block_size, vad_method=vad,
                              observe=observe if job.report is not None else None)
    result = JobResult(job=job, session=session_to_data(session), summary=rep.to_json(), compliant=rep.compliant,
                       duration_s=rep.duration_s)
    result.timings.update(rep.timing)
    # in the order a person reads them: the notes as they happened, the warnings, what misses its target
    result.problems += [Problem("note", n, where=o.path) for o in rep.outputs for n in o.notes if n in o.shown]
    result.problems += [Problem("tail", w) for w in rep.warnings]
    for o in rep.outputs:
        result.outputs.append(OutputResult(o.kind, str(Path(o.path).resolve()), o.format, dict(o.measured),
                                           o.target, o.compliant, list(o.files)))
        result.problems += [Problem(o.kind, p, fails=o.compliant is False, where=o.path) for p in o.problems]
    if job.report is not None:
        result.report = _deliverables_report(session, rep, probes[0], progress)
    return result


def _deliverables_report(session: Session, rep: Any, probes: SessionPass, progress: Progress | None) -> dict[str, Any]:
    """The report's data of a delivery: the tracks from its render, its first mix's numbers and target."""
    first = next(((d, o) for d, o in zip(session.deliverables, rep.outputs, strict=False)
                  if d.kind in ("mix", "video")), None)
    mix = tgt = None
    if first is not None:
        d, o = first
        mix = Path(o.files[0] if o.files else o.path)
        if d.target or d.lufs is not None:
            tgt = get_target(d.target, lufs=d.lufs, true_peak=d.true_peak)
    return collect(rendered=probes, mix=mix, target=tgt, progress=progress)


def run_report_job(job: Job, session: Session | None, progress: Progress | None) -> JobResult:
    """The report's data alone: a render of the session without writing a mix (or a result's files)."""
    tgt = get_target(job.target, lufs=job.lufs, true_peak=job.true_peak) if job.target or job.lufs else None
    kw: dict[str, Any] = {"target": tgt} if tgt is not None else {}
    if job.title is not None:
        kw["title"] = job.title
    if job.result is not None:
        data = result_report_data(job.result, mix=job.output, progress=progress, **kw)
    else:
        data = collect(session, mix=job.output, progress=progress, **kw)
    return JobResult(job=job, report=data, session=session_to_data(session) if session is not None else None)
