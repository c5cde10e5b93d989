"""The pipeline's plain data: :class:`Job` in, :class:`JobResult` out.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import SessionError
from ..master import BLOCK_SIZE

Mode = Literal["auto", "render", "deliver", "report"]
Progress = Callable[[int, int], None]
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm")

__all__ = ["AUTO_DEFAULTS", "Job", "JobResult", "OutputResult", "Problem", "auto_options"]


@dataclass(frozen=True)
class Job:
    """What to mix, what to do and where to write it.

    Exactly one of ``session``, ``session_data`` or role files (``dialogue``, ``music``,
    ``sfx``, ``ambience``, or ``video`` alone for ``auto``) says what to mix.

    Attributes
    ----------
    mode : {"auto", "render", "deliver", "report"}
        ``auto`` decides and renders; ``render`` renders the session as it is (or every
        deliverable it lists when there is no ``output``); ``deliver`` writes every
        deliverable the session lists; ``report`` renders the session without writing
        a mix (or measures ``output``, a mix already written) for ``report`` alone.
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
        An HTML report of the result; its data are collected during the job's one render.
    report_json : str, optional
        The report's data as JSON, beside the page.
    title : str, optional
        The report's title (default: the session's or the mix's name).
    result : str, optional
        ``report``: the JSON ``auto --json`` printed (the mix, session and decisions it
        names are read from it) instead of a session.
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
    report_json: str | None = None
    title: str | None = None
    result: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sample_rate: int = 48000
    block_size: int = BLOCK_SIZE
    name: str | None = None

    def replace(self, **changes: Any) -> Job:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass
class Problem:
    """Something the result falls short of, or a warning about it.

    Attributes
    ----------
    code : str
        ``loudness``, ``true_peak``, ``limiting``, ``undefined``, ``video``, ``stems``, ``tail``,
        ``clipping``, a deliverable's kind (``mix``, ``stems``…: what it misses), ``warning``, or
        ``note`` (what a person should see as it happened, e.g. a file encoded again).
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
    report : dict, optional
        The report's data (``job.report``), collected during the job's render and laid
        out by :mod:`mixdown.report`; ``report["plots"]`` names the plots drawn.
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
    report: dict[str, Any] | None = None

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
    from ..auto.assist import AssistParams
    from ..auto.balance import BalanceParams
    from ..auto.bleed import BleedParams
    from ..auto.ducking import DuckParams
    from ..auto.leveling import LevelingParams
    from ..auto.run import AutoOptions
    from ..master import MasterParams

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
        # the second pass costs a measuring render of the tapped tracks (about 2x auto's analysis on the
        # example), so it is asked for, not the default
        assist=AssistParams() if o["assist"] else AssistParams(speakers=None, unmask=None),
    )


# the CLI's defaults (``mixdown auto --help``), by option name
AUTO_DEFAULTS: dict[str, Any] = {
    "duck_depth": None, "duck_under": 18.0, "duck_roles": "music,ambience", "duck_mode": "keyframes",
    "duck_attack": 0.3, "duck_release": 0.8, "duck_lookahead": 0.35, "duck_hold": 1.5, "duck_min_length": 0.6,
    "level": True,
    "dialogue_level": -23.0, "music_lu": -6.0, "sfx_lu": -5.0, "ambience_lu": -18.0, "max_limiting": 6.0,
    "vad": "silero", "cleanup": "screen", "duck_sensitivity": 25.0, "stems_format": "wav24", "codec": None,
    "assist": False,
}


