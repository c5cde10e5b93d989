"""The ``mixdown`` command: parse, validate first, call the library, show progress.

One module per command, each registering itself on :data:`app`; this module owns
:func:`main`, the one place that turns errors into exit codes.

Exit codes: 0 success; 2 a user error (bad session, missing or unreadable media,
bad option), printed as one line on stderr; 3 a compliance check failed; 1 an
internal error.
"""

from __future__ import annotations

import os
import sys

import typer

from . import auto, check, deliver, measure, processors, render, report, sync, targets, timeline  # noqa: F401  (registration)
from . import batch, studio  # noqa: F401  (registration)
from . import binaural, preview  # noqa: F401  (registration)
from .app import app
from .auto import expand_role_flags

__all__ = ["app", "main"]


class Interrupted(KeyboardInterrupt):
    """A signal turned into an exception in the main thread, so that everything unwinds:
    writers abort (their temporary files go), scratch folders are removed, threads stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: Seconds after the first signal from which a second one exits at once (a clean-up
#: that hangs); what it leaves is removed by the next run in the same folder.
FORCE_AFTER_S = 2.0


_RECEIVED: list[tuple[int, float]] = []  # (signal, when) of the first signal of this run


def forget_signal() -> None:
    """A command for which a signal is the normal way to stop (a server) has stopped: exit 0."""
    _RECEIVED.clear()


def _on_signals() -> dict[int, object]:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (once); returns the old handlers."""
    import signal
    import time

    _RECEIVED.clear()

    from ..interrupts import interrupt

    def handler(signum: int, frame: object) -> None:
        if not _RECEIVED:
            _RECEIVED.append((signum, time.monotonic()))
            interrupt(Interrupted(signum))  # raised now, or when a hand-off between threads ends
            return
        if time.monotonic() - _RECEIVED[0][1] > FORCE_AFTER_S:
            os._exit(128 + signum)
        # a second signal while unwinding: the clean-up is under way, let it finish

    old: dict[int, object] = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        # an ignored signal stays ignored: `nohup mixdown render ...` must survive the hang-up
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
            try:
                old[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread (an embedding app): leave signals alone
                return old
    return old


def _warnings_as_lines() -> None:
    """Show each :class:`~mixdown.errors.MixdownWarning` as one ``mixdown: warning:`` line on stderr."""
    import warnings

    from ..errors import MixdownWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 - warnings' signature
        if issubclass(category, MixdownWarning):
            typer.echo(f"mixdown: warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def _usage_message(exc: Exception) -> str:
    """A command-line usage error as one line, without the parser's own vocabulary."""
    msg = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
    for theirs, ours in (("Input should be a valid integer, unable to parse string as an integer", "must be a whole number"),
                         ("Input should be a valid number, unable to parse string as a number", "must be a number"),
                         ("Input should be a valid integer, got a number with a fractional part", "must be a whole number"),
                         ("Input should be", "must be")):
        msg = msg.replace(theirs, ours)
    ctx = getattr(exc, "ctx", None)
    command = "mixdown" + (f" {ctx.info_name}" if ctx is not None and ctx.parent is not None else "")
    return f"{msg} (see {command} --help)"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every error into an exit code and one line."""
    import gc

    from ..errors import MixdownError
    from ..files.guard import job_guard

    old_handlers = _on_signals()
    # A render allocates a few arrays per block and no reference cycles worth
    # collecting; the default gen-0 threshold (700) ran full collections that cost
    # ~3 % of a long render's CPU.
    gc.set_threshold(100_000, 50, 1000)
    _warnings_as_lines()
    argv = expand_role_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        with job_guard():
            rc = app(args=argv, standalone_mode=False)
        if _RECEIVED:  # typer turned the interrupt into an exit code (130) and returned it
            _interrupted(Interrupted(_RECEIVED[0][0]))
        # without standalone mode, click hands typer.Exit's code back instead of exiting
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except MixdownError as exc:
        typer.echo(f"mixdown: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt) or _RECEIVED:  # typer's answer to Ctrl-C (our signals too)
            _interrupted(Interrupted(_RECEIVED[0][0]) if _RECEIVED else exc.__cause__)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except OSError as exc:
        from ..files.space import is_disk_full

        if not is_disk_full(exc):
            _internal(exc)
        typer.echo(f"mixdown: error: {exc.filename or ''}{': ' if exc.filename else ''}the disk is full "
                   f"({exc.strerror})", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into exit 1
        # click turns a KeyboardInterrupt (our signals too) into Abort, even without standalone mode
        cause = exc.__cause__ if type(exc).__name__ == "Abort" else None
        if isinstance(cause, KeyboardInterrupt):
            _interrupted(cause)
        _internal(exc)
    finally:
        import signal as _signal

        for sig, h in old_handlers.items():
            _signal.signal(sig, h)  # type: ignore[arg-type]
        m = sys.modules.get("mixdown.media.integrity")
        if m is not None:
            m.reset()


def _interrupted(exc: KeyboardInterrupt) -> None:
    import signal

    import threading

    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    typer.echo(f"mixdown: interrupted by {signal.Signals(signum).name}; unfinished outputs and temporary files "
               "removed", err=True)
    # everything has unwound (outputs aborted, scratch removed); a pool thread still busy
    # with a block nobody wants would only hold the exit up: leave without waiting for it
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)
    sys.exit(128 + signum)


def _internal(exc: Exception) -> None:
    # usage errors of the (vendored) click inside typer: one line, like every other error
    if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
        typer.echo(f"mixdown: error: {_usage_message(exc)}", err=True)
        sys.exit(exc.exit_code)
    if type(exc).__name__ == "Abort":
        sys.exit(1)
    if os.environ.get("MIXDOWN_DEBUG"):
        raise exc
    typer.echo(f"mixdown: internal error: {type(exc).__name__}: {exc} (set MIXDOWN_DEBUG=1 for a traceback)",
               err=True)
    sys.exit(1)
