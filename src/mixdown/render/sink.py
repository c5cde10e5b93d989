"""Consumer threads for rendered blocks: writing and metering run beside rendering.

Encoders (libsndfile via cffi), the meters' kernels and numpy release the GIL, so
the next block renders while the last one is written and measured. Each consumer
(a writer, a meter) gets its own thread, so a slow encoder and a meter do not queue
behind each other. Blocks are handed over in order through short queues, so memory
stays bounded and the output is the same as doing the work inline. Consumers share
the blocks and must not modify them.

Shutting down: on a clean exit :meth:`BackgroundSink.close` lets every queued block
be consumed; on an exception (Ctrl-C and the signals the CLI turns into one
included) :meth:`BackgroundSink.abort` tells the threads to stop after the block in
hand and waits at most :data:`SHUTDOWN_TIMEOUT` seconds. No wait is unbounded: the
threads poll their queue and the caller polls too, and the caller's queue operations
run inside :func:`mixdown.interrupts.handoff`, so a signal cannot leave a queue's lock
taken (which left a consumer asleep in ``Queue.get`` and ``close()`` in ``join()``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ..interrupts import handoff

_DONE = object()
#: Seconds an aborting sink waits for its threads to finish the block in hand.
SHUTDOWN_TIMEOUT = 5.0
_POLL = 0.1  # seconds between checks of a blocked queue operation


class _Worker:
    def __init__(self, consume: Callable[..., None], depth: int, index: int) -> None:
        self.consume = consume
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"mixdown-sink-{index}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                item = self.queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _DONE or self.stop.is_set():
                return
            if self.error is None:
                try:
                    self.consume(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
                    self.error = exc

    def put(self, item: Any) -> None:
        """Queue ``item``, waiting while the queue is full (never for a thread that has ended)."""
        while True:
            try:
                with handoff():  # a signal must not leave the queue's lock taken
                    self.queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                if not self.thread.is_alive():
                    return  # stopped: nothing will consume it


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
            w.put(item)

    def close(self) -> None:
        """Wait for every queued item; raise a consumer's exception, if any."""
        try:
            for w in self._workers:
                if w.thread.is_alive():
                    w.put(_DONE)
            for w in self._workers:
                while w.thread.is_alive():
                    w.thread.join(_POLL)
        except BaseException:
            self.abort()
            raise
        self._raise_pending()

    def abort(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Stop every thread after the item in hand, dropping what is queued; waits at most ``timeout`` s."""
        for w in self._workers:
            w.stop.set()
        deadline = time.monotonic() + timeout
        for w in self._workers:
            w.thread.join(max(0.0, deadline - time.monotonic()))
        for w in self._workers:  # let the queued blocks go
            while True:
                try:
                    with handoff():
                        w.queue.get_nowait()
                except queue.Empty:
                    break

    @property
    def alive(self) -> bool:
        """Whether a consumer thread is still running."""
        return any(w.thread.is_alive() for w in self._workers)

    def __enter__(self) -> BackgroundSink:
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()  # the original exception wins; what is queued is not needed any more
