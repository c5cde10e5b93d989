"""Start the studio: bind 127.0.0.1, print the one line, serve until Ctrl-C, clean up.

The socket is bound here, before anything else starts, so a port in use is a clear
error (exit 2) rather than a server that never comes up; uvicorn is handed the bound
socket. Every file the studio makes lives in one temporary folder removed on the
way out, however the server stops.
"""

from __future__ import annotations

import errno
import secrets
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from ..errors import MixdownError

HOST = "127.0.0.1"


class PortInUse(MixdownError):
    """The port asked for is taken."""


def bind(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:``port`` (0: any free port).

    Raises
    ------
    PortInUse
        When the port is taken (or not ours to take).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(f"port {port} on {HOST} is in use (or not allowed); choose another with --port, "
                            "or --port 0 for any free one") from None
        raise MixdownError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def run(path: Path, *, port: int = 0, open_browser: bool = True, media_root: Path | None = None,
        target: str | None = None) -> None:
    """Open ``path`` in the studio and serve it until interrupted."""
    import uvicorn

    from .app import create_app
    from .state import Studio

    sock = bind(port)
    tmp = Path(tempfile.mkdtemp(prefix="mixdown-studio-"))
    studio = None
    try:
        studio = Studio(path, media_root=media_root, tmp=tmp, target=target)
        token = secrets.token_urlsafe(24)
        app = create_app(studio, token)
        url = f"http://{HOST}:{sock.getsockname()[1]}/?token={token}"
        studio.preview.start()
        studio.analyses.start()
        print(f"studio: {url}", flush=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: a clean stop, not an error
            pass
    finally:
        if studio is not None:
            studio.preview.stop()
            studio.analyses.stop()
            studio.jobs.stop()
        sock.close()
        shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()
