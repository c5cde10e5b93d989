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
from . import batch  # noqa: F401,E402  (registration)
from .app import app
from .auto import expand_role_flags

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every error into an exit code and one line."""
    import gc

    from ..errors import MixdownError

    # A render allocates a few arrays per block and no reference cycles worth
    # collecting; the default gen-0 threshold (700) ran full collections that cost
    # ~3 % of a long render's CPU.
    gc.set_threshold(100_000, 50, 1000)
    argv = expand_role_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        rc = app(args=argv, standalone_mode=False)
        # without standalone mode, click hands typer.Exit's code back instead of exiting
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except MixdownError as exc:
        typer.echo(f"mixdown: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("mixdown: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into exit 1
        # usage errors of the (vendored) click inside typer: let them print themselves
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        if os.environ.get("MIXDOWN_DEBUG"):
            raise
        typer.echo(f"mixdown: internal error: {type(exc).__name__}: {exc} (set MIXDOWN_DEBUG=1 for a traceback)",
                   err=True)
        sys.exit(1)
