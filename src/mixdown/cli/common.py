"""What every command shares: one-line errors, progress bars, number formatting, opening a session.

Library modules are imported inside the functions that use them, so that
``mixdown --help`` does not pay for numpy, scipy, PyAV or numba.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer

FORMATS = ("wav24", "wav16", "wav32f", "flac")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``mixdown: error: message`` on stderr and exit with ``code``."""
    typer.echo(f"mixdown: error: {message}", err=True)
    raise typer.Exit(code)


def number_option(default: Any, *flags: str, help: str, min: float, max: float, unit: str = "") -> Any:  # noqa: A002
    """A Typer option for a number with a documented range; NaN, infinity and out-of-range values are refused.

    The range is shown in ``--help`` and checked while the command line is parsed,
    before any work starts; a bad value is one ``mixdown: error:`` line naming the
    option (``--attack -1: must be between 0 and 10 s``), exit 2.

    Parameters
    ----------
    default : int, float or None
        Default value (None: the option is optional and unset by default).
    *flags : str
        The option's names; the first ``--long`` one names it in errors.
    help : str
        One line for ``--help`` (the range is appended).
    min, max : float
        Inclusive range.
    unit : str
        Unit shown after the range (``s``, ``dB``, ``LU``, ``Hz``, ...).
    """
    name = next((f for f in flags if f.startswith("--")), flags[0] if flags else "option")
    rng = f"between {_plain(min)} and {_plain(max)}{' ' + unit if unit else ''}"

    def check(value: Any) -> Any:
        if value is None:
            return value
        if not math.isfinite(value) or not min <= value <= max:
            from ..errors import OptionError

            raise OptionError(f"{name} {_plain(value)}: must be {rng}")
        return value

    return typer.Option(default, *flags, help=f"{help} [{_plain(min)}..{_plain(max)}{' ' + unit if unit else ''}]",
                        callback=check)


def _plain(x: float) -> str:
    """A number as people write it: 1048576, not 1.04858e+06."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}"


def progress(label: str, enabled: bool) -> Any:
    """A rich progress bar on stderr (hidden when not a terminal or when JSON is asked for)."""
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    return Progress(f"[bold]{label}", BarColumn(), "{task.percentage:>5.1f}%", TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


def callback(bar: Any) -> Any:
    """A ``progress(done, total)`` callable that drives ``bar`` (None without a bar)."""
    if bar is None:
        return None
    from ..interrupts import handoff

    task = bar.add_task("render", total=1)

    def cb(done: int, total: int) -> None:
        with handoff():  # the bar's lock is shared with its refresh thread
            bar.update(task, total=max(total, 1), completed=done)

    return cb


def print_table(title: str, columns: list[str], rows: list[list[str]], *, right: tuple[str, ...] = ()) -> None:
    """A table on stdout: boxed on a terminal (long cells wrap), plain TSV when piped.

    Nothing is ever cut with an ellipsis: piped output (``| cat``, ``> file``) gets
    a header line and one tab-separated line per row with every value in full.
    """
    if not sys.stdout.isatty():
        for line in [columns, *rows]:
            typer.echo("\t".join(str(c).replace("\t", " ").replace("\n", " ") for c in line))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold")
    for r in rows:
        table.add_row(*r)
    Console().print(table)


def num(x: float | None, fmt: str = "{:.1f}") -> str:
    """A number for a table or a sentence; an em dash when undefined."""
    return "—" if x is None else fmt.format(x)


def measure_keys(file: str, res: Any) -> dict[str, Any]:
    """The keys of ``measure --json`` for one file (``layout`` and ``layout_assumed`` when a layout was assumed)."""
    data = {"file": file}
    data.update(res.to_json())
    if getattr(res, "layout_assumed", False):
        data.update({"layout": res.layout, "layout_assumed": True})
    return data


def note_assumed_layout(file: str, layout: str | None, assumed: bool) -> None:
    """Say on stderr which channel layout a file was measured as, when the file named none."""
    if assumed:
        from ..media.channels import LAYOUT_ORDER

        typer.echo(f"mixdown: note: {file} names no channel layout: measured as {layout} "
                   f"({LAYOUT_ORDER.get(layout or '', '?')})", err=True)


#: ``--media-root``: one option, one meaning, on every command that accepts a timeline.
MEDIA_ROOT_HELP = "folder searched by file name for a timeline's media whose written paths are not on this machine"


def media_root_option() -> Any:
    """The ``--media-root DIR`` option of a command that accepts an editor timeline."""
    return typer.Option(None, "--media-root", help=MEDIA_ROOT_HELP)


def check_media_root(path: Path, media_root: Path | None) -> None:
    """Refuse ``--media-root`` with a session file (its clip sources are paths it names; the option would do nothing)."""
    if media_root is None:
        return
    from ..interchange import is_timeline

    if not is_timeline(path):
        fail(f"--media-root applies to editor timelines (.xml .fcpxml .edl .otio), not to {path}: a session file's "
             "clip sources are paths relative to it")


def open_session(path: Path, *, media_root: Optional[Path]) -> Any:
    """A session file, or an editor timeline imported on the fly (its import notes on stderr).

    ``media_root`` is ``--media-root`` (see :func:`check_media_root`). The file and every
    clip's media become inputs of the job: no output may replace them.
    """
    from ..files.guard import current
    from ..interchange import open_session as _open

    check_media_root(path, media_root)
    guard = current()
    if guard is not None:
        guard.add(path, "the session file" if path.suffix.lower() in (".yaml", ".yml", ".json") else "the timeline")
    s, report = _open(path, media_root=media_root)
    if guard is not None:
        guard.add_session(s)
    if report is not None:
        for item in report.items:
            if item.severity in ("dropped", "approximated", "warning"):
                where = f" ({item.where})" if item.where else ""
                typer.echo(f"mixdown: note: {item.severity} {item.what}{where}: {item.detail}", err=True)
    return s


def echo_error(message: str) -> None:
    """``mixdown: error: message`` on stderr, without exiting."""
    typer.echo(f"mixdown: error: {message}", err=True)


#: ``--allow-truncated``, the same on every command that reads media.
ALLOW_TRUNCATED_HELP = "read media cut short (or whose header promises more than it holds) as far as it goes, with a warning"


def read_media(*, allow_truncated: bool) -> None:
    """How this command reads damaged media: refuse a truncated file (exit 2), or with
    ``--allow-truncated`` read what is there; warnings and notes go to stderr, once per file."""
    from ..media import integrity

    p = integrity.policy()
    p.allow_truncated = bool(allow_truncated)
    p.notify = lambda level, message: typer.echo(f"mixdown: {level}: {message}", err=True)


def protect(*paths: Optional[Path], what: str = "an input") -> None:
    """Make files inputs of the job (no output may replace them)."""
    from ..files.guard import register

    register(*paths, what=what)


def check_outputs(*outputs: Any) -> None:
    """Check every output location before any work (see :func:`mixdown.files.guard.check_outputs`);
    notes on removed leftovers of dead runs go to stderr."""
    from ..files.guard import check_outputs as _check

    for note in _check(outputs):
        typer.echo(f"mixdown: note: {note}", err=True)


def out_spec(path: Optional[Path], what: str, **kw: bool) -> Any:
    """An :class:`~mixdown.files.guard.Output` for :func:`check_outputs` (None stays None)."""
    from ..files.guard import Output

    return None if path is None else Output(Path(path), what, **kw)


def check_block_size(block_size: int) -> None:
    """``--block-size`` within :data:`~mixdown.render.engine.MIN_BLOCK` .. ``MAX_BLOCK`` (exit 2 otherwise)."""
    from ..render.engine import MAX_BLOCK, MIN_BLOCK

    if not MIN_BLOCK <= block_size <= MAX_BLOCK:
        fail(f"--block-size {block_size}: give {MIN_BLOCK} to {MAX_BLOCK} frames (the output does not depend on it; "
             "smaller blocks only make the render slower)")
