"""One job in, one result out: the owner of a whole mixdown run.

A :class:`Job` says what to mix (a session or timeline file, a session as data, or
files by role), what to do with it (``auto``, ``render`` or ``deliver``) and where the
outputs go. :func:`run` does it and returns a :class:`JobResult`: plain data with the
measured loudness of every output, compliance as a typed field, the decision list,
problems as typed records and timings. Both are picklable, so the CLI, the studio,
batch workers and the Python API all hand the same objects around.

Example
-------
>>> from mixdown.pipeline import Job, run
>>> res = run(Job(mode="auto", session="examples/podcast/raw.yaml", target="podcast",
...               output="out/podcast.wav"))            # doctest: +SKIP
>>> res.compliant, res.outputs[0].measured["integrated_lufs"]   # doctest: +SKIP
(True, -16.0)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import MixdownError, SessionError
from .master import BLOCK_SIZE

Mode = Literal["auto", "render", "deliver"]
Progress = Callable[[int, int], None]
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm")

__all__ = ["Job", "JobResult", "OutputResult", "Problem", "run"]


@dataclass(frozen=True)
class Job:
    """What to mix, what to do and where to write it.

    Exactly one of ``session``, ``session_data`` or role files (``dialogue``, ``music``,
    ``sfx``, ``ambience``, or ``video`` alone for ``auto``) says what to mix.

    Attributes
    ----------
    mode : {"auto", "render", "deliver"}
        ``auto`` decides and renders; ``render`` renders the session as it is (or every
        deliverable it lists when there is no ``output``); ``deliver`` writes every
        deliverable the session lists.
    session : str, optional
        A session file (``.yaml``/``.json``) or an editor timeline.
    session_data : dict, optional
        A session as plain data (the session file's schema), e.g. what the studio holds.
    base_dir : str, optional
        Folder that ``session_data``'s relative sources are relative to (default: cwd).
    dialogue, music, sfx, ambience : tuple of str
        Files by role for ``auto`` (``file@time`` places one on the timeline).
    video : str, optional
        The video whose picture is copied when ``output`` is a video file; its audio is
        the dialogue when no dialogue file is given.
    media_root : str, optional
        Where a timeline's media live.
    target : str, optional
        A delivery preset name; ``lufs``/``true_peak`` override it or make a custom one.
    output : str, optional
        The mix file (``.wav``, ``.flac``) or a video (``.mp4`` …).
    format : str, optional
        ``wav24``, ``wav16``, ``wav32f`` or ``flac`` (default from ``output``).
    stems : str, optional
        Folder for one file per role.
    premaster : str, optional
        ``auto``: also write the -6 dB premaster (24-bit WAV, true peak at -6 dBTP, no limiting).
    save_session : str, optional
        Where ``auto`` writes the decided session.
    report : str, optional
        An HTML report of the result.
    options : dict
        ``auto``'s options by name (the CLI's long options with ``_``: ``duck_under``,
        ``dialogue_level``, ``vad``, ``cleanup`` …); see :func:`auto_options`.
    sample_rate : int
        Session rate when building from files, Hz.
    block_size : int
        Frames per block (memory, not output, depends on it).
    name : str, optional
        A label (batch jobs, studio renders).
    """

    mode: Mode = "auto"
    session: str | None = None
    session_data: dict[str, Any] | None = None
    base_dir: str | None = None
    dialogue: tuple[str, ...] = ()
    music: tuple[str, ...] = ()
    sfx: tuple[str, ...] = ()
    ambience: tuple[str, ...] = ()
    video: str | None = None
    media_root: str | None = None
    target: str | None = None
    lufs: float | None = None
    true_peak: float | None = None
    output: str | None = None
    format: str | None = None
    stems: str | None = None
    premaster: str | None = None
    save_session: str | None = None
    report: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sample_rate: int = 48000
    block_size: int = BLOCK_SIZE
    name: str | None = None

    def replace(self, **changes: Any) -> "Job":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass
class Problem:
    """Something the result falls short of, or a warning about it.

    Attributes
    ----------
    code : str
        ``loudness``, ``true_peak``, ``limiting``, ``undefined``, ``lra`` or ``warning``…
    message : str
        In the user's words, with the numbers.
    fails : bool
        True when it makes the result miss its target (exit 3).
    where : str, optional
        The output path or track it is about.
    """

    code: str
    message: str
    fails: bool = False
    where: str | None = None


@dataclass
class OutputResult:
    """One file (or folder) written, as measured.

    Attributes
    ----------
    kind : str
        ``mix``, ``stems``, ``me``, ``video``, ``premaster``, ``session`` or ``report``.
    path : str
        Absolute path.
    format : str, optional
    measured : dict
        The keys of ``mixdown measure --json`` (empty for sessions and reports).
    target : str, optional
    compliant : bool, optional
        Against the target; None without one.
    files : list of str
        Every file written (stems: one per role).
    """

    kind: str
    path: str
    format: str | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    compliant: bool | None = None
    files: list[str] = field(default_factory=list)


@dataclass
class JobResult:
    """What :func:`run` did and what came out; plain, picklable data.

    Attributes
    ----------
    job : Job
    compliant : bool
        False when an output misses its target.
    outputs : list of OutputResult
    decisions : list of dict
        ``auto``'s decision list (kind, target, action, reason, start_s, end_s, value_db, data).
    session : dict, optional
        The session as rendered (``auto``: the decided one), in the session file's schema.
    target : dict, optional
        The delivery spec used.
    problems : list of Problem
    timings : dict of str to float
        Seconds per phase, and ``total``.
    duration_s : float
        Programme length.
    summary : dict
        The JSON the CLI prints (``--json``) for this job.
    """

    job: Job
    compliant: bool = True
    outputs: list[OutputResult] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    session: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    def output(self, kind: str = "mix") -> OutputResult | None:
        """The first output of a kind."""
        return next((o for o in self.outputs if o.kind == kind), None)

    @property
    def measured(self) -> dict[str, Any]:
        """The mix's (or video's) measured loudness."""
        o = self.output("mix") or self.output("video")
        return o.measured if o is not None else {}


def auto_options(target: Any, options: dict[str, Any], *, block_size: int) -> Any:
    """``auto``'s options from plain names (the CLI's long options with ``_``).

    Raises
    ------
    SessionError
        Naming an option that does not exist.
    """
    from .auto.balance import BalanceParams
    from .auto.bleed import BleedParams
    from .auto.ducking import DuckParams
    from .auto.leveling import LevelingParams
    from .auto.run import AutoOptions
    from .master import MasterParams

    o = dict(AUTO_DEFAULTS)
    unknown = sorted(set(options) - set(o))
    if unknown:
        raise SessionError(f"unknown auto option {unknown[0]!r} (options: {', '.join(sorted(o))})")
    o.update(options)
    roles = tuple(r.strip() for r in str(o["duck_roles"]).split(",") if r.strip()) \
        if isinstance(o["duck_roles"], str) else tuple(o["duck_roles"])
    return AutoOptions(
        target=target,
        duck=DuckParams(depth_db=o["duck_depth"], under_lu=o["duck_under"], attack_s=o["duck_attack"],
                        release_s=o["duck_release"], lookahead_s=o["duck_lookahead"], hold_s=o["duck_hold"],
                        min_duck_s=o["duck_min_length"]),
        duck_roles=roles, duck_under_lu={"music": o["duck_under"], "ambience": o["duck_under"] + 6},
        duck_mode=o["duck_mode"], bleed=BleedParams(sensitivity_db=o["duck_sensitivity"]),
        leveling=LevelingParams(reference_lufs=o["dialogue_level"]), level=o["level"],
        balance=BalanceParams(relative_lu={"music": o["music_lu"], "sfx": o["sfx_lu"],
                                           "ambience": o["ambience_lu"], "other": None}),
        master=MasterParams(max_limiting_db=o["max_limiting"]),
        vad_method=o["vad"], cleanup_mode=o["cleanup"], block_size=block_size,
    )


# the CLI's defaults (``mixdown auto --help``), by option name
AUTO_DEFAULTS: dict[str, Any] = {
    "duck_depth": None, "duck_under": 18.0, "duck_roles": "music,ambience", "duck_mode": "keyframes",
    "duck_attack": 0.3, "duck_release": 0.8, "duck_lookahead": 0.35, "duck_hold": 1.5, "duck_min_length": 0.6,
    "level": True,
    "dialogue_level": -23.0, "music_lu": -6.0, "sfx_lu": -5.0, "ambience_lu": -18.0, "max_limiting": 6.0,
    "vad": "silero", "cleanup": "screen", "duck_sensitivity": 25.0, "stems_format": "wav24", "codec": None,
}


def load(job: Job) -> Any:
    """The job's session: from a file or timeline, from data, or built from role files."""
    from .interchange import open_session
    from .session import session_from_data

    given = [job.session is not None, job.session_data is not None,
             bool(job.dialogue or job.music or job.sfx or job.ambience)]
    if sum(given) > 1:
        raise SessionError("a job mixes one of: a session file, session data, or files by role")
    if job.session is not None:
        s, _ = open_session(Path(job.session), media_root=Path(job.media_root) if job.media_root else None)
        return s
    if job.session_data is not None:
        base = Path(job.base_dir) if job.base_dir else Path.cwd()
        return session_from_data(job.session_data, base_dir=base)
    from .auto.build import session_from_files

    dialogue = list(job.dialogue) or ([job.video] if job.video and job.mode == "auto" else [])
    return session_from_files(dialogue=dialogue, music=list(job.music), sfx=list(job.sfx),
                              ambience=list(job.ambience), sample_rate=job.sample_rate)


def run(job: Job, *, progress: Progress | None = None) -> JobResult:
    """Do the job; every output is written atomically and measured.

    Parameters
    ----------
    job : Job
    progress : callable, optional
        ``progress(done, total)`` in frames of work.

    Returns
    -------
    JobResult

    Raises
    ------
    MixdownError
        For bad input (a session, media, option or target), before any output is written
        where it can be known up front.
    """
    from .files.guard import job_guard

    t0 = time.perf_counter()
    session = load(job)
    with job_guard() as guard:  # no output over an input of this job (see mixdown.files.guard)
        guard.add_session(session)
        guard.add(job.session, "the session file")
        guard.add(job.video, "the video")
        notes = _check_outputs(job)
        if job.mode == "auto":
            result = _run_auto(job, session, progress)
        elif job.mode in ("render", "deliver"):
            result = _run_render(job, session, progress)
        else:
            raise SessionError(f"unknown job mode {job.mode!r} (auto, render or deliver)")
    result.problems += [Problem("warning", n) for n in notes]
    result.timings["total"] = time.perf_counter() - t0
    return result


def _check_outputs(job: Job) -> list[str]:
    """Every output location writable and no input, before any work; notes on removed leftovers."""
    from .files.guard import Output, check_outputs

    def out(path: str | None, what: str, **kw: bool) -> Output | None:
        return None if path is None else Output(Path(path), what, **kw)

    return check_outputs([out(job.output, "output"), out(job.report, "report"),
                          out(job.save_session, "save_session"), out(job.stems, "stems", folder=True, create=True)])


def _target(job: Job) -> Any:
    from .targets import get_target

    return get_target(job.target, lufs=job.lufs, true_peak=job.true_peak)


def _measured(path: str | Path) -> dict[str, Any]:
    from .analysis.measure import measure_file

    data: dict[str, Any] = {"file": str(path)}
    data.update(measure_file(path).to_json())
    return data


def _run_auto(job: Job, session: Any, progress: Progress | None) -> JobResult:
    from .auto.run import run_auto
    from .session import save_session
    from .session.io import session_to_data

    tgt = _target(job)
    opts = auto_options(tgt, job.options, block_size=job.block_size)
    output = Path(job.output) if job.output else None
    video_out = output is not None and output.suffix.lower() in VIDEO_SUFFIXES
    if video_out and job.video is None:
        raise MixdownError(f"{output}: writing a video needs a source video (whose picture is copied)")
    fmt = job.format or (None if output is None or video_out else
                         ("flac" if output.suffix.lower() == ".flac" else "wav24"))
    result = JobResult(job=job, target=tgt.to_json())
    from .files.temp import scratch_dir

    where = output.parent if output is not None else Path.cwd()
    with scratch_dir(where, "auto") as tmp:
        mix_path = Path(tmp) / "mix.wav" if video_out else output
        codec = None
        if video_out:
            from .deliver.mux import check_video_copy, video_audio_format

            assert output is not None and job.video is not None
            codec = video_audio_format(output, job.options.get("codec"))
            check_video_copy(job.video, output)
        res = run_auto(session, opts, output=mix_path, format="wav32f" if video_out else (fmt or "wav24"),
                       stems_dir=Path(job.stems) if job.stems else None,
                       stems_format=job.options.get("stems_format", "wav24"),
                       premaster=Path(job.premaster) if job.premaster else None, progress=progress)
        result.summary = res.to_json(tgt)
        compliant = res.compliant
        problems = [Problem(p.kind, p.message, fails=p.fails) for p in res.problems]
        if video_out:
            from .deliver.video import deliver_video_after_auto

            vrep = deliver_video_after_auto(mix_path, Path(job.video), output, target=tgt, codec=codec,
                                            speech=res.analysis.all_speech if tgt.gating == "dialogue" else None)
            result.summary["output"] = str(output)
            result.summary["video"] = vrep.to_json()
            compliant = compliant and vrep.compliant
            problems += [Problem("video", p, fails=True, where=str(output)) for p in vrep.problems]
            result.outputs.append(OutputResult("video", str(output.resolve()), codec,
                                               _measured(output), tgt.name, vrep.compliant, [str(output)]))
        elif output is not None:
            m = result.summary.get("measured") or {}
            result.outputs.append(OutputResult("mix", str(output.resolve()), fmt, m, tgt.name, res.compliant,
                                               [str(output)]))
    if res.stems is not None:
        stems_format = job.options.get("stems_format", "wav24")
        for path in res.stems.files.values():
            result.outputs.append(OutputResult("stems", str(Path(path).resolve()), stems_format, {}, None, None,
                                               [path]))
    if res.premaster_file is not None:
        pm = res.premaster_file
        result.outputs.append(OutputResult("premaster", str(Path(pm["path"]).resolve()), pm["format"],
                                           {k: pm[k] for k in ("true_peak_dbtp", "sample_peak_dbfs")}, None, None,
                                           [pm["path"]]))
    if job.save_session is not None:
        save_session(res.session, job.save_session)
        result.summary["session"] = str(Path(job.save_session).resolve())
        result.outputs.append(OutputResult("session", str(Path(job.save_session).resolve())))
    if job.report is not None:
        from .report import build_report

        build_report(res.session, mix=output, decisions=res.decisions, analysis=res.analysis, target=tgt).write(
            job.report, protect=[p for p in (job.session,) if p is not None])
        result.outputs.append(OutputResult("report", str(Path(job.report).resolve())))
    result.compliant = compliant
    result.problems = problems
    result.decisions = [d.to_json() for d in res.decisions]
    result.session = session_to_data(res.session)
    result.timings.update(res.timing)
    result.duration_s = float(res.analysis.length / res.analysis.sample_rate)
    return result


def _run_render(job: Job, session: Any, progress: Progress | None) -> JobResult:
    from .session.io import session_to_data

    result = JobResult(job=job, session=session_to_data(session))
    if job.output is None or job.mode == "deliver":
        from .deliver.deliverables import render_deliverables

        rep = render_deliverables(session, progress=progress, block_size=job.block_size)
        result.summary = rep.to_json()
        result.compliant = rep.compliant
        result.duration_s = rep.duration_s
        result.timings.update(rep.timing)
        for o in rep.outputs:
            result.outputs.append(OutputResult(o.kind, str(Path(o.path).resolve()), o.format, dict(o.measured),
                                               o.target, o.compliant, list(o.files)))
            result.problems += [Problem(o.kind, p, fails=o.compliant is False, where=o.path) for p in o.problems]
        result.problems += [Problem("tail", w) for w in rep.warnings]
        return result
    from .analysis.loudness import LoudnessMeter
    from .media.write import AudioWriter
    from .render.engine import Renderer
    from .render.graph import check
    from .render.sink import BackgroundSink

    graph = check(session)
    out = Path(job.output)
    fmt = job.format or ("flac" if out.suffix.lower() == ".flac" else "wav24")
    protect = set(graph.source_paths) | ({Path(session.file).resolve()} if session.file else set())
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=session.layout)
    t0 = time.perf_counter()
    with AudioWriter(out, sample_rate=graph.sample_rate, channels=graph.channels, format=fmt,
                     protect=protect, frames=graph.length) as writer:
        written = writer.mirror()  # measured as the file holds it (quantised, clipped)
        with BackgroundSink(writer.write, lambda b: meter.process(written.written(b))) as sink:
            for _, block, _ in Renderer(graph, block_size=job.block_size).blocks(progress=progress):
                sink.put(block)
    result.timings["render"] = time.perf_counter() - t0
    if written.clipped:
        result.problems.append(Problem("clipping", f"{written.clipped} samples clipped at full scale in {fmt}",
                                       where=str(out)))
    if graph.tail_cut is not None:
        result.problems.append(Problem("tail", graph.tail_cut.message(graph.sample_rate)))
    measured = {"file": str(out)}
    measured.update(meter.result().to_json())
    result.outputs.append(OutputResult("mix", str(out.resolve()), fmt, measured, None, None, [str(out)]))
    result.duration_s = graph.length / graph.sample_rate
    result.summary = {"output": str(out), "format": fmt, "measured": measured,
                      "duration_s": result.duration_s}
    return result
