"""``mixdown studio``: open a session or timeline as a mixing desk in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import check_media_root, media_root_option, number_option


@app.command()
def studio(
    session: Path = typer.Argument(..., help="session file (.yaml or .json) or editor timeline (.xml .fcpxml .edl .otio)"),
    port: int = number_option(0, "--port", help="port on 127.0.0.1 (0: any free port)", min=0, max=65535),
    no_browser: bool = typer.Option(False, "--no-browser", help="print the address only; do not open a browser"),
    media_root: Path | None = media_root_option(),
    target: Optional[str] = typer.Option(None, "--target", help="delivery preset for the loudness band and Render's "
                                                                 "compliance (default: the session's, else ebu-r128)"),
) -> None:
    """Review, listen to and adjust a session in the browser; what you change is the session file.

    Prints one line, ``studio: http://127.0.0.1:PORT/?token=T``, and serves until Ctrl-C.
    """
    from ..studio.serve import run

    check_media_root(session, media_root)
    run(session, port=port, open_browser=not no_browser, media_root=media_root, target=target)
    # Ctrl-C (or SIGTERM) is how a server is stopped: it unwound cleanly, so exit 0, not 130
    from . import forget_signal

    forget_signal()
