"""Consumer threads for rendered blocks: writing and metering run beside rendering.

Encoders (libsndfile via cffi), the meters' kernels and numpy release the GIL, so
the next block renders while the last one is written and measured. Each consumer
(a writer, a meter) gets its own thread, so a slow encoder and a meter do not queue
behind each other. Blocks are handed over in order through short queues, so memory
stays bounded and the output is the same as doing the work inline. Consumers share
the blocks and must not modify them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_DONE = object()


class _Worker:
    def __init__(self, consume: Callable[..., None], depth: int, index: int) -> None:
        self.consume = consume
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"mixdown-sink-{index}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _DONE:
                return
            if self.error is None:
                try:
                    self.consume(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
                    self.error = exc


class BackgroundSink:
    """Call every ``consume(*item)`` for each item put, in order, each on its own thread.

    Parameters
    ----------
    *consumers : callable
        Called with the arguments given to :meth:`put`; one thread each.
    depth : int
        Items that may wait in each queue (bounds memory).

    An exception raised by a consumer stops that consumer and is raised again by
    the next :meth:`put` or by :meth:`close` (the first consumer's first).
    """

    def __init__(self, *consumers: Callable[..., None], depth: int = 3) -> None:
        if not consumers:
            raise ValueError("BackgroundSink needs at least one consumer")
        self._workers = [_Worker(c, depth, i) for i, c in enumerate(consumers)]

    def _raise_pending(self) -> None:
        for w in self._workers:
            if w.error is not None:
                err, w.error = w.error, None
                raise err

    def put(self, *item: Any) -> None:
        """Queue one item for every consumer (blocks while a queue is full)."""
        if any(w.error is not None for w in self._workers):
            self.close()
        for w in self._workers:
            w.queue.put(item)

    def close(self) -> None:
        """Wait for every queued item; raise a consumer's exception, if any."""
        for w in self._workers:
            if w.thread.is_alive():
                w.queue.put(_DONE)
        for w in self._workers:
            w.thread.join()
        self._raise_pending()

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
