"""Progress across the jobs of a batch: done / failed / running, throughput, ETA.

The ETA comes from the realtime factors measured so far: the programme still to do
(the jobs not yet finished, at the mean length of those done, less what the running
ones have rendered) divided by the measured programme seconds per wall second of the
whole batch. On a terminal it is a rich bar on stderr; elsewhere (logs, CI) one line
per finished job.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Display"]


class Display:
    """A listener for :class:`~mixdown.batch.engine.Executor` that shows the batch's progress.

    Parameters
    ----------
    total : int
        Jobs this run will run.
    live : bool
        A rich bar (only when stderr is a terminal).
    lines : bool
        One line per finished job on stderr.
    """

    def __init__(self, total: int, *, live: bool = True, lines: bool = True) -> None:
        self.total = total
        self.done = self.failed = 0
        self.running: dict[str, float] = {}  # name -> fraction rendered
        self.programme_s = 0.0
        self.busy_s = 0.0
        self.t0 = time.monotonic()
        self.lines = lines
        self._bar: Any = None
        self._task: Any = None
        if live and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress("[bold]batch", BarColumn(), TextColumn("{task.fields[stats]}"),
                                 console=Console(stderr=True), transient=False)

    def __enter__(self) -> Display:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("batch", total=max(self.total, 1), stats=self.stats())
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._refresh()
            self._bar.stop()

    def __call__(self, event: str, name: str, data: dict[str, Any]) -> None:
        if event == "start":
            self.running[name] = 0.0
        elif event == "progress" and name in self.running and data.get("total"):
            self.running[name] = min(1.0, float(data["done"]) / float(data["total"]))
        elif event == "retry":
            self.running.pop(name, None)
            self._line(f"mixdown: {name}: its worker died; running it again")
        elif event == "finish":
            self.running.pop(name, None)
            if data.get("status") == "done":
                self.done += 1
                self.programme_s += float(data.get("duration_s") or 0.0)
                self.busy_s += float(data.get("seconds") or 0.0)
                rtf = data.get("realtime_factor")
                self._line(f"mixdown: {name}: done, {_f(data.get('integrated_lufs'), '{:.2f}')} LUFS, "
                           f"{_f(data.get('true_peak_dbtp'), '{:.2f}')} dBTP"
                           + (f", {rtf:.1f}x realtime" if rtf else ""))
            else:
                self.failed += 1
                self._line(f"mixdown: {name}: failed: {data.get('error')}")
        self._refresh()

    # ---------------------------------------------------------------------------
    def throughput(self) -> float | None:
        """Programme minutes per wall minute so far."""
        wall = time.monotonic() - self.t0
        return self.programme_s / wall if wall > 0 and self.programme_s else None

    def eta_s(self) -> float | None:
        """Seconds until every job is finished, from the measured throughput."""
        finished = self.done + self.failed
        rate = self.throughput()
        if not self.done or rate is None:
            return None
        mean = self.programme_s / self.done
        left = (self.total - finished) * mean - sum(self.running.values()) * mean
        return max(0.0, left / rate)

    def stats(self) -> str:
        tp = self.throughput()
        eta = self.eta_s()
        return (f"done {self.done}/{self.total} · failed {self.failed} · running {len(self.running)}"
                + (f" · {tp:.1f} programme-min/min" if tp else "")
                + (f" · ETA {_clock(eta)}" if eta is not None else ""))

    def _refresh(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.done + self.failed, stats=self.stats())

    def _line(self, text: str) -> None:
        if not self.lines:
            return
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)


def _f(x: Any, fmt: str) -> str:
    return "—" if x is None else fmt.format(x)


def _clock(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
