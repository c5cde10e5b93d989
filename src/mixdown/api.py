"""The Python API's verbs, as thin calls into the engine.

This is the one module through which ``mixdown.render``, ``mixdown.auto``,
``mixdown.measure`` and ``mixdown.deliver`` reach the pipeline, the renderer and the
meter, so that re-pointing them at a restructured engine is an edit here only.
Heavy modules (the renderer, the meter, the pipeline) are imported when a verb is
called, so ``import mixdown`` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import MixdownError
from .session import Session, session_from_data
from .session.io import session_to_data

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .analysis.loudness import LoudnessResult
    from .pipeline import JobResult

__all__ = ["AutoResult", "DeliverResult", "auto", "deliver", "measure", "render"]

#: Frames per render block (memory, never the output, depends on it).
BLOCK_SIZE = 65536


@dataclass
class AutoResult:
    """What :func:`auto` decided and measured.

    Attributes
    ----------
    session : Session
        The decided session (auto's layer filled in); ``render(result.session)`` is the mix.
    decisions : list of dict
        Every decision, in order: ``{"kind", "subject", "action", "reason", ...}``.
    measured : dict
        The mix's loudness as ``measure --json`` gives it: ``integrated_lufs``,
        ``true_peak_dbtp``, ``loudness_range_lu``, ``sample_peak_dbfs``,
        ``momentary_max_lufs``, ``short_term_max_lufs``, ``duration_s``.
    compliant : bool
        Whether the mix meets the target.
    problems : list of str
        What it falls short of, or warnings.
    job_result : JobResult
        The pipeline's full result (summary, timings, outputs written).
    """

    session: Session
    decisions: list[dict[str, Any]]
    measured: dict[str, Any]
    compliant: bool
    problems: list[str] = field(default_factory=list)
    job_result: Any = None

    @property
    def integrated_lufs(self) -> float | None:
        """The mix's integrated loudness, LUFS."""
        return self.measured.get("integrated_lufs")

    @property
    def true_peak_dbtp(self) -> float | None:
        """The mix's true peak, dBTP."""
        return self.measured.get("true_peak_dbtp")


@dataclass
class DeliverResult:
    """What :func:`deliver` wrote: one entry per output file, with its measured loudness."""

    outputs: list[Any]
    compliant: bool
    problems: list[str] = field(default_factory=list)
    job_result: Any = None


def _job_session(session: Session | str | os.PathLike[str]) -> dict[str, Any]:
    """A Job's fields for a session given as an object or a file."""
    if isinstance(session, (str, os.PathLike)):
        return {"session": os.fspath(session)}
    if not isinstance(session, Session):
        raise MixdownError(f"expected a mixdown.Session or a session file, not {type(session).__name__}")
    return {"session_data": session_to_data(session), "base_dir": str(session.base_dir)}


def render(session: Session | str | os.PathLike[str], *, block_size: int = BLOCK_SIZE) -> np.ndarray:
    """Render a session's master into memory.

    Parameters
    ----------
    session : Session or path
        A session (its clips may hold arrays) or a session file.
    block_size : int, keyword-only
        Frames per block; the output does not depend on it.

    Returns
    -------
    ndarray
        float32, shape ``(channels, frames)`` at ``session.sample_rate``, the
        programme's whole length (clips, tails of reverbs and delays included).

    Raises
    ------
    MixdownError
        Bad session or media (naming the track, clip and field).
    """
    from .render.engine import render_array
    from .session import load_session

    s = load_session(session) if isinstance(session, (str, os.PathLike)) else session
    return render_array(s, block_size=block_size)


def auto(session: Session | str | os.PathLike[str], *, target: str = "podcast", lufs: float | None = None,
         true_peak: float | None = None, output: str | os.PathLike[str] | None = None,
         block_size: int = BLOCK_SIZE, **options: Any) -> AutoResult:
    """Mix a session automatically for a delivery target: level, balance, duck, master.

    Parameters
    ----------
    session : Session or path
    target : str, keyword-only
        A delivery preset (``mixdown targets`` lists them): ``podcast``, ``ebu-r128`` ...
    lufs, true_peak : float, optional
        Override the preset's loudness (LUFS) / ceiling (dBTP).
    output : path, optional
        Also write the mix there (``.wav``/``.flac``); without it nothing is written.
    block_size : int
        Frames per block.
    **options
        ``auto``'s options by their CLI names with ``_`` (``duck_under=18``,
        ``dialogue_level=-23``, ``vad="energy"``, ``cleanup="off"`` ...).

    Returns
    -------
    AutoResult
    """
    from .pipeline import Job, run

    res = run(Job(mode="auto", target=target, lufs=lufs, true_peak=true_peak,
                  output=None if output is None else os.fspath(output), options=dict(options),
                  block_size=block_size, **_job_session(session)))
    return _auto_result(res, session)


def _auto_result(res: JobResult, given: Any) -> AutoResult:
    base = given.base_dir if isinstance(given, Session) else None
    decided = session_from_data(res.session, base_dir=base) if base is not None else \
        session_from_data(res.session, base_dir=os.path.dirname(os.path.abspath(os.fspath(given))))
    measured = {k: v for k, v in (res.summary.get("measured") or {}).items() if k != "file"}
    return AutoResult(session=decided, decisions=list(res.decisions), measured=measured, compliant=res.compliant,
                      problems=[p.message for p in res.problems], job_result=res)


def measure(audio: np.ndarray, sample_rate: int, *, layout: str | None = None) -> LoudnessResult:
    """BS.1770-4 / EBU R128 loudness of audio in memory.

    Parameters
    ----------
    audio : ndarray
        ``(channels, frames)`` (a 1-D array is mono), full scale 1.0.
    sample_rate : int
        Hz.
    layout : str, optional
        ``mono``, ``stereo``, ``5.1`` ... (default: the one for the channel count).

    Returns
    -------
    LoudnessResult
        ``integrated_lufs``, ``true_peak_dbtp``, ``loudness_range_lu``,
        ``sample_peak_dbfs``, ``momentary_max_lufs``, ``short_term_max_lufs``,
        ``duration_s`` (the keys of ``measure --json``, see ``to_json()``).
    """
    import numpy as np

    from .analysis.loudness import measure_array
    from .media.channels import measuring_layout
    from .media.info import layout_name

    a = np.asarray(audio)
    channels = 1 if a.ndim == 1 else int(a.shape[0])
    if layout is None:
        layout, _ = measuring_layout(channels, layout_name(channels))
    return measure_array(a, int(sample_rate), layout=layout)


def deliver(session: Session | str | os.PathLike[str], *, block_size: int = BLOCK_SIZE) -> DeliverResult:
    """Write every deliverable a session lists (mix, stems, M&E, video, premaster).

    Parameters
    ----------
    session : Session or path
        Its ``deliverables`` say what to write where (relative to ``session.base_dir``).

    Returns
    -------
    DeliverResult
        ``outputs``: one :class:`~mixdown.pipeline.OutputResult` per output (path,
        format, measured loudness, target, compliance).
    """
    from .pipeline import Job, run

    res = run(Job(mode="deliver", block_size=block_size, **_job_session(session)))
    return DeliverResult(outputs=list(res.outputs), compliant=res.compliant,
                         problems=[p.message for p in res.problems], job_result=res)
