"""A consumer thread for rendered blocks: writing and metering run beside rendering.

Encoders (libsndfile via cffi) and the meter's filters release the GIL, so on a
two-core machine the next block renders while the last one is written and measured.
Blocks are handed over in order through a short queue, so memory stays bounded and
output is the same as doing the work inline.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_DONE = object()


class BackgroundSink:
    """Call ``consume(*item)`` for each item put, in order, on a worker thread.

    Parameters
    ----------
    consume : callable
        Called with the arguments given to :meth:`put`.
    depth : int
        Items that may wait in the queue (bounds memory).

    An exception raised by ``consume`` stops the worker and is raised again by the
    next :meth:`put` or by :meth:`close`.
    """

    def __init__(self, consume: Callable[..., None], *, depth: int = 3) -> None:
        self._consume = consume
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mixdown-sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._consume(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
                    self._error = exc

    def put(self, *item: Any) -> None:
        """Queue one item (blocks while the queue is full)."""
        if self._error is not None:
            self.close()
        self._queue.put(item)

    def close(self) -> None:
        """Wait for every queued item; raise the worker's exception, if any."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def __enter__(self) -> "BackgroundSink":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except BaseException:  # noqa: BLE001 - the original exception wins
                pass
