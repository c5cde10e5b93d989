"""Shutting down on every way out (issue 18): sink threads and the render pool never wait forever."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from mixdown.render import sink as sinkmod
from mixdown.render.sink import BackgroundSink


def finishes(fn, timeout: float = 5.0) -> bool:
    """Run ``fn`` on a thread; whether it returned within ``timeout`` seconds."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive()


def test_close_survives_a_lost_wakeup() -> None:
    # What an interrupted Queue.put can leave: an item in the queue and the consumer not
    # woken. The consumer used to sleep in Queue.get for ever and close() in join() with it.
    got: list[int] = []
    sink = BackgroundSink(got.append)
    w = sink._workers[0]
    time.sleep(0.05)  # the consumer is now waiting in get()
    with w.queue.mutex:
        w.queue.queue.append((7,))  # queued without notify
        w.queue.unfinished_tasks += 1
    assert finishes(sink.close)
    assert got == [7] and not w.thread.is_alive()


def test_an_exception_stops_the_threads_without_draining() -> None:
    started = threading.Event()
    release = threading.Event()

    def slow(x: int) -> None:
        started.set()
        release.wait(0.5)

    sink = BackgroundSink(slow, depth=3)

    def body() -> None:
        with pytest.raises(KeyboardInterrupt):
            with sink:
                for i in range(4):
                    sink.put(i)
                started.wait(2)
                raise KeyboardInterrupt

    t0 = time.monotonic()
    assert finishes(body)
    # the block in hand finishes (0.5 s); the three queued are dropped, not consumed (1.5 s more)
    assert time.monotonic() - t0 < 1.2
    assert not sink.alive


def test_abort_gives_up_on_a_stuck_consumer_after_the_timeout() -> None:
    stuck = threading.Event()
    sink = BackgroundSink(lambda x: stuck.wait(30))
    sink.put(1)
    t0 = time.monotonic()
    sink.abort(timeout=0.3)
    assert time.monotonic() - t0 < 1.0
    stuck.set()
    assert sinkmod.SHUTDOWN_TIMEOUT <= 10  # the bound of an aborting sink's wait


def test_renderer_pool_is_shut_down_when_the_caller_stops(tmp_path) -> None:
    import soundfile as sf

    from mixdown.render.engine import Renderer
    from mixdown.render.graph import check
    from mixdown.session import load_session

    sf.write(tmp_path / "n.wav", np.zeros((48000 * 20, 2), np.float32), 48000)
    (tmp_path / "s.yaml").write_text(
        "mixdown: 1\ntracks:\n" + "".join(f"  - name: T{i}\n    clips: [{{source: n.wav}}]\n" for i in range(4)))
    r = Renderer(check(load_session(tmp_path / "s.yaml")), block_size=4096, workers=2)
    assert r.pool is not None
    blocks = r.blocks()
    for i, _ in enumerate(blocks):
        if i == 3:
            break
    blocks.close()  # what an exception in the caller's loop does to the generator
    assert r.pool._shutdown and not r._submitted
    assert all(not t.is_alive() for t in r.pool._threads)
    assert all(p.reader is None for ps in r.players.values() for p in ps)


def test_a_signal_inside_a_handoff_waits_for_its_end() -> None:
    from mixdown.interrupts import handoff, interrupt

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with handoff():
            interrupt(KeyboardInterrupt())  # what the CLI's signal handler does
            steps.append("the queue operation finished")
    assert steps == ["the queue operation finished"]
    with pytest.raises(KeyboardInterrupt):
        interrupt(KeyboardInterrupt())  # outside a hand-off: at once


def test_signal_handlers_leave_ignored_signals_ignored() -> None:
    import signal

    from mixdown.cli import _on_signals

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what nohup does
    try:
        old = _on_signals()
        try:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
    finally:
        signal.signal(signal.SIGHUP, before)
