"""Signals that become exceptions -- but never in the middle of a hand-off between threads.

The CLI turns SIGINT, SIGTERM and SIGHUP into an exception in the main thread, so that
everything unwinds and cleans up. Python raises such an exception at almost any
bytecode, including inside ``queue.Queue.put`` or ``Future.result`` after they have
taken a lock and before they release it: the lock then stays taken, and the thread on
the other side (a sink writing the file, a pool thread rendering a track) waits for it
for ever -- the render hangs instead of stopping.

So the few places where the main thread hands something to another thread run inside
:func:`handoff`; a signal handler calls :func:`interrupt`, which raises at once outside
them and, inside one, when it ends. Hand-offs are short (a queue operation, a wait of at
most a tenth of a second), so the delay is not felt.
"""

from __future__ import annotations

import threading

_MAIN = threading.main_thread().ident
_depth = 0
_pending: BaseException | None = None


class _Handoff:
    __slots__ = ()

    def __enter__(self) -> None:
        global _depth
        if threading.get_ident() == _MAIN:
            _depth += 1

    def __exit__(self, *exc: object) -> None:
        global _depth, _pending
        if threading.get_ident() != _MAIN:
            return
        _depth -= 1
        if _depth == 0 and _pending is not None:
            err, _pending = _pending, None
            raise err


_HANDOFF = _Handoff()


def handoff() -> _Handoff:
    """A context in which a signal's exception waits until the end (see the module docstring)."""
    return _HANDOFF


def interrupt(exc: BaseException) -> None:
    """Raise ``exc`` now, or -- inside a :func:`handoff` -- as soon as it ends. For signal handlers."""
    global _pending
    if _depth > 0 and threading.get_ident() == _MAIN:
        if _pending is None:
            _pending = exc
        return
    raise exc
