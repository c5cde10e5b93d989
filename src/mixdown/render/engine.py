"""The streaming block engine: renders a compiled :class:`~mixdown.render.graph.Graph`.

It makes no decisions. Each block is ``block_size`` frames of the timeline; every
strip is processed once per block in graph order, so memory is bounded by block
size x strips whatever the programme length, and because every processor keeps its
state across blocks and reads automation from absolute positions, any block size
renders the same samples.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import cast

import numpy as np

from ..dsp.chain import Chain
from ..dsp.clipgain import fade_curve
from ..dsp.fader import Fader
from ..dsp.panlaw import pan_gains
from ..errors import MediaError, MixdownError
from ..interrupts import handoff
from ..media.channels import map_channels
from ..media.decode import SourceReader, open_clip_source
from ..media.write import AudioWriter
from ..session.model import MASTER, Session
from .graph import ClipNode, Graph, StripNode, check
from .meters import MeterPoints, PointPlan, observe, plan_points
from .sink import BackgroundSink

__all__ = ["DEFAULT_BLOCK", "MASTER_INPUT", "Renderer", "fade_curve", "pan_gains", "render_array", "render_file"]

# Frames per block. Output does not depend on it; cost does: per-block work (Python
# dispatch, thread handoffs, the GIL passed between the track pool, the mixer and
# the sinks) is amortised over more samples. 65536 (1.4 s at 48 kHz) renders a
# 60-minute session ~10 % faster than 32768 for ~4 % more peak memory.
DEFAULT_BLOCK = 65536
#: Smallest and largest ``--block-size`` the commands take, frames. Any size renders
#: the same samples; under 64 the per-block work (~0.1 ms of Python per strip) makes
#: a render minutes long, and over 2**20 (22 s at 48 kHz) memory grows for nothing.
MIN_BLOCK = 64
MAX_BLOCK = 1 << 20
#: Seconds a stopping render waits for a track block already running on the pool
#: (its sources stay open if it is still running then; the process is on its way out).
SHUTDOWN_TIMEOUT = 1.0
MASTER_INPUT = "__master_input__"
Progress = Callable[[int, int], None]

def _check_finite(block: np.ndarray, node: ClipNode, at: int, sample_rate: int) -> None:
    """Refuse a source block holding NaN or infinity, naming the file, the clip and where in the file."""
    # one float64 sum per block is cheap and is finite exactly when every sample is
    if block.size and not np.isfinite(np.add.reduce(block, axis=None, dtype=np.float64)):
        bad = int(np.flatnonzero(~np.isfinite(block).all(axis=0))[0])
        raise MediaError(
            f"contains NaN or infinite samples (the first one {(at + bad) / sample_rate:.6f} s into the file)",
            loc=node.loc + ("source",),
            subject=node.path if isinstance(node.path, Path) else node.path.label,  # an ArraySource: its label
        )


class _ClipPlayer:
    """Reads one clip as the timeline passes over it; opens its source lazily."""

    def __init__(self, node: ClipNode, sample_rate: int, channels: int) -> None:
        self.node = node
        self.sample_rate = sample_rate
        self.channels = channels
        self.reader: SourceReader | None = None
        self.next_offset = -1
        self.curve = node.curve

    def read(self, offset: int, n: int) -> np.ndarray:
        node = self.node
        if self.reader is None or offset != self.next_offset:
            self.close()
            try:
                self.reader = open_clip_source(node.path, stream=node.stream, sample_rate=self.sample_rate,
                                          start=node.source_in + offset)
            except MediaError as exc:
                exc.loc = exc.loc or node.loc + ("source",)
                raise
        block = self.reader.read(n)
        self.next_offset = offset + n
        _check_finite(block, node, node.source_in + offset, self.sample_rate)
        if block.shape[0] != self.channels:
            block = map_channels(block, self.channels)
        gain = self.gain(offset, n)
        if gain is not None:
            block = block * np.asarray(gain).astype(np.float32)
        if offset + n >= node.length:
            self.close()
        return block

    def gain(self, offset: int, n: int) -> np.ndarray | float | None:
        """Clip gain x automation x fades over ``[offset, offset+n)`` of the clip, or None for unity."""
        return self.curve.block(offset, n)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class _Delay:
    """A fixed delay line for latency compensation."""

    def __init__(self, channels: int, delay: int) -> None:
        self.buf = np.zeros((channels, delay), dtype=np.float32)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self.buf, block], axis=1)
        n = block.shape[1]
        self.buf = joined[:, n:]
        return joined[:, :n]


def strip_chain(strip: StripNode) -> Chain:
    """A strip's inserts and fader as one :class:`~mixdown.dsp.chain.Chain`.

    The fader reads its automation ``input_latency + latency`` samples earlier, the
    delay of the audio that reaches it (the inserts' own automation is shifted at
    compile time, :func:`mixdown.render.graph.check`).
    """
    fader = Fader(gain_db=strip.gain_db, gain_env=strip.gain_env, pan=strip.pan, pan_env=strip.pan_env,
                  out_channels=strip.out_channels, delay=strip.input_latency + sum(p.latency for p in strip.chain))
    return Chain(strip.chain, sidechains=strip.sidechains, fader=fader)


class Renderer:
    """Runs a graph block by block.

    Parameters
    ----------
    graph : Graph
    block_size : int
        Frames per block (memory scales with it; output does not change).
    taps : dict of str to list of str, optional
        Extra outputs: name -> strips whose post-fader outputs are summed into it
        (stems). Delayed like the master, so they line up with the mix.
    premaster : callable, optional
        ``premaster(position, n) -> (channels, n) float32``: the master's input, read
        instead of rendering tracks and buses (the master stage of ``auto`` runs the
        master chain over a premaster it rendered before; since every processor is
        block-invariant this gives the bytes a full render gives).
    workers : int, optional
        Threads that render the tracks without sidechain inputs, side by side and one
        block ahead of the buses and master, which this thread runs (default: the
        ``MIXDOWN_THREADS`` environment variable, else up to 2; 1 = all inline). Each
        track is computed alone and summed in graph order, so the output does not
        depend on it.
    tap_point : str
        ``post`` (default): taps take strips after fader and pan, at the session's
        width. ``pre``: after the insert chain, before the fader, at the strip's own
        width (a mono track stays mono); for measuring, not for stems.
    meters : dict, optional
        Meter points: ``{(strip, point): observer}``, see :mod:`mixdown.render.meters`
        (``point`` is ``"input"``, ``"pre"``, ``"post"`` or an insert index).
    master_input_tap : bool
        Also yield the master's input (before its chain and fader) as tap
        ``MASTER_INPUT``, delayed by the master chain's latency so that it lines up
        with the output; this is the premaster ``premaster=`` reads back.
    """

    def __init__(self, graph: Graph, *, block_size: int = DEFAULT_BLOCK,
                 taps: dict[str, list[str]] | None = None,
                 premaster: Callable[[int, int], np.ndarray] | None = None,
                 master_input_tap: bool = False, tap_point: str = "post", workers: int | None = None,
                 meters: MeterPoints | None = None) -> None:
        if block_size < 1:
            raise ValueError("block_size must be positive")
        self.graph = graph
        self.block_size = int(block_size)
        self.taps = taps or {}
        if tap_point not in ("pre", "post"):
            raise ValueError("tap_point is 'pre' or 'post'")
        self.tap_point = tap_point
        self.premaster = premaster
        if premaster is not None and self.taps:
            raise ValueError("taps need the full graph; a premaster source skips it")
        sr = graph.sample_rate
        self.players: dict[str, list[_ClipPlayer]] = {}
        self.chains: dict[str, Chain] = {}
        for name, strip in graph.strips.items():
            chain = self.chains[name] = strip_chain(strip)
            chain.prepare(sr, self.block_size, strip.channels)
            self.players[name] = [_ClipPlayer(c, sr, strip.channels) for c in strip.clips]
        self.points: dict[str, PointPlan] = plan_points(graph, self.chains, meters or {})
        # one delay line per route, not per (source, destination): a strip both routed and sent to one bus
        # feeds two signals through its compensation each block, and one shared line would mix their histories
        self.delays: dict[tuple[str, int], _Delay] = {}
        # taps line up with the master output: delay each tapped strip by what separates it from the output
        self.tap_delays: dict[tuple[str, str], _Delay] = {}
        self.master_input_tap = master_input_tap
        m = graph.strips[MASTER]
        self.master_in_delay = _Delay(m.channels, m.latency) if master_input_tap and m.latency else None
        for tap, names in self.taps.items():
            for name in names:
                s = graph.strips[name]
                d = graph.output_latency - (s.input_latency + s.latency)
                if d > 0:
                    self.tap_delays[(tap, name)] = _Delay(s.out_channels, d)
        # tracks that need nothing rendered in the same block (no sidechain) can run in parallel
        self.free_tracks = [name for name in graph.order
                            if graph.strips[name].kind == "track" and not any(graph.strips[name].sidechains)]
        if workers is None:
            workers = int(os.environ.get("MIXDOWN_THREADS", "0") or 0) or min(2, os.cpu_count() or 1)
        self.pool = None
        if workers > 1 and len(self.free_tracks) > 0 and premaster is None:
            self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mixdown-render")
        self._pending: dict[str, tuple[int, Future]] = {}
        self._submitted: dict[Future, str] = {}
        self._end = graph.length + graph.output_latency

    def blocks(self, *, progress: Progress | None = None, start: int = 0, end: int | None = None
               ) -> Generator[tuple[int, np.ndarray, dict[str, np.ndarray]], None, None]:
        """Yield ``(position, master_block, tap_blocks)`` covering the programme exactly once.

        ``start``/``end`` (timeline samples) render only that range, e.g. a preview
        segment. A range that starts after 0 begins with every processor as at the
        programme's start, so its first moments differ from a whole render until the
        processors' memory has filled (render a pre-roll before the part you keep).
        """
        g = self.graph
        total = g.length if end is None else max(start, min(int(end), g.length))
        latency = g.output_latency
        end = total + latency
        self._end = end
        pos = int(start)
        emitted = int(start)
        try:
            while pos < end:
                n = min(self.block_size, end - pos)
                try:
                    master, taps = self._block(pos, n)
                except MixdownError as exc:  # a source that fails mid-render: say where the session uses it
                    raise exc.located(file=g.session.file, lines=g.session.lines) from None
                # drop the master's latency from the front so output sample 0 is timeline sample 0
                lo = max(0, latency - (pos - start))
                if lo < n:
                    out = master[:, lo:]
                    tap_out = {k: v[:, lo:] for k, v in taps.items()}
                    yield emitted, out, tap_out
                    emitted += out.shape[1]
                pos += n
                if progress is not None:
                    progress(min(emitted, total) - start, total - start)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        """Stop the pool and close the sources, on every way out (Ctrl-C included).

        Blocks queued ahead are cancelled; one already running finishes (it reads and
        processes one block) within :data:`SHUTDOWN_TIMEOUT` seconds, or is left to
        the exiting process -- its sources are then not closed under it.
        """
        busy: set[str] = set()
        if self.pool is not None:
            with handoff():  # the pool's locks are shared with its threads: no signal halfway
                for fut in self._submitted:
                    fut.cancel()
                running = {fut for fut in self._submitted if not fut.done()}
                if running:
                    wait(running, timeout=SHUTDOWN_TIMEOUT)
                busy = {name for fut, name in self._submitted.items() if not fut.done()}
                self.pool.shutdown(wait=not busy, cancel_futures=True)
                self._pending.clear()
                self._submitted.clear()
        for name, players in self.players.items():
            if name not in busy:
                for p in players:
                    p.close()

    def _free_tracks(self, pos: int, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The free tracks' results for block ``pos``, and the next block's started.

        A track's block ``k + 1`` is queued as soon as its block ``k`` is collected
        (its processors' state is then final), so the pool renders tracks of the
        next block while this thread runs the buses and the master of this one.
        """
        pending = self._pending
        end = self._end
        nxt = pos + n
        n2 = min(self.block_size, end - nxt)
        done = {}
        for name in self.free_tracks:
            fut = pending.get(name)
            if fut is None or fut[0] != pos:
                fut = (pos, self._submit(name, pos, n))
            done[name] = _result(fut[1])
            pending.pop(name, None)
            del self._submitted[fut[1]]
            if n2 > 0:
                pending[name] = (nxt, self._submit(name, nxt, n2))
        return done

    def _submit(self, name: str, pos: int, n: int) -> Future:
        # every future is kept until collected, so that a shutdown waits for the running ones
        assert self.pool is not None, "tracks are submitted only when the renderer has workers"
        with handoff():
            fut = self.pool.submit(self._track, name, pos, n)
            self._submitted[fut] = name
        return fut

    def _track(self, name: str, pos: int, n: int, outs: dict[str, np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Clips, chain and fader of one track over a block: (pre-fader, post-fader)."""
        s = self.graph.strips[name]
        x = np.zeros((s.channels, n), dtype=np.float32)
        for player in self.players[name]:
            c = player.node
            a = max(pos, c.start)
            b = min(pos + n, c.end)
            if a < b:
                x[:, a - pos:b - pos] += player.read(a - c.start, b - a)
        return self._strip(s, x, pos, outs)

    def _strip(self, s: StripNode, x: np.ndarray, pos: int, outs: dict[str, np.ndarray] | None
               ) -> tuple[np.ndarray, np.ndarray]:
        plan = self.points.get(s.name)
        length = self.graph.length
        if plan is not None and plan.input:
            observe(plan.input, pos, x, length)
        if s.mute:
            z = np.zeros((s.out_channels, x.shape[1]), dtype=np.float32)
            if plan is not None:
                zin = np.zeros_like(x)
                for watches in [*plan.inserts.values(), plan.pre]:
                    observe(watches, pos, zin, length)
                observe(plan.post, pos, z, length)
            return z, z
        pre, post, at = self.chains[s.name].run(x, pos, keys=outs, points=plan.inserts if plan is not None else ())
        if plan is not None:
            for k, watches in plan.inserts.items():
                observe(watches, pos, at[k], length)
            observe(plan.pre, pos, pre, length)
            observe(plan.post, pos, post, length)
        return pre, post

    def _block(self, pos: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        g = self.graph
        inbox: dict[str, np.ndarray] = {}
        outs: dict[str, np.ndarray] = {}
        pres: dict[str, np.ndarray] = {}
        order = g.order
        taps: dict[str, np.ndarray] = {}
        if self.premaster is not None:
            order = [MASTER]
            inbox[MASTER] = self.premaster(pos, n)
        done: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.pool is not None:
            done = self._free_tracks(pos, n)
        for name in order:
            s = g.strips[name]
            if name == MASTER and self.master_input_tap:
                x_in = inbox.get(MASTER)
                x_in = np.zeros((s.channels, n), dtype=np.float32) if x_in is None else x_in.copy()
                taps[MASTER_INPUT] = self.master_in_delay(x_in) if self.master_in_delay else x_in
            if name in done:
                pres[name], outs[name] = done[name]
            elif s.kind == "track":
                pres[name], outs[name] = self._track(name, pos, n, outs)
            else:
                x = inbox.pop(name, None)
                if x is None:
                    x = np.zeros((s.channels, n), dtype=np.float32)
                pres[name], outs[name] = self._strip(s, x, pos, outs)
            if name == MASTER:
                continue
            for k, (dest, level, pre) in enumerate(([(s.output, 1.0, False)] if s.output else []) + list(s.sends)):
                sig = pres[name] if pre else outs[name]
                if sig.shape[0] != g.strips[dest].channels:
                    sig = map_channels(sig, g.strips[dest].channels)
                if level != 1.0:
                    sig = sig * np.float32(level)
                lag = g.edge_delay.get((name, dest))
                if lag:
                    line = self.delays.get((name, k))
                    if line is None:
                        line = self.delays[(name, k)] = _Delay(sig.shape[0], lag)
                    sig = line(sig)
                if dest in inbox:
                    inbox[dest] = inbox[dest] + sig
                else:
                    inbox[dest] = sig.astype(np.float32, copy=True)
        if self.tap_point == "pre":
            for tap, names in self.taps.items():
                # sum() starts at 0; the result is an array (0 + a block), typed as such
                taps[tap] = pres[names[0]] if len(names) == 1 else cast(np.ndarray, sum(pres[k] for k in names))
            return outs[MASTER], taps
        for tap, names in self.taps.items():
            acc = np.zeros((g.channels, n), dtype=np.float32)
            for name in names:
                sig = outs[name]
                if sig.shape[0] != g.channels:
                    sig = map_channels(sig, g.channels)
                d = self.tap_delays.get((tap, name))
                acc += d(sig) if d is not None else sig
            taps[tap] = acc
        return outs[MASTER], taps


def _result(fut: Future) -> tuple[np.ndarray, np.ndarray]:
    """A pool result, waited for in short hand-offs (a signal must not leave the future's lock taken)."""
    while True:
        try:
            with handoff():
                return fut.result(timeout=0.1)
        except FutureTimeout:
            continue


def render_array(session: Session | Graph, *, block_size: int = DEFAULT_BLOCK,
                 progress: Progress | None = None, meters: MeterPoints | None = None) -> np.ndarray:
    """Render the master into memory (for short programmes, tests and the Python API).

    ``meters`` attaches meter-point observers (:mod:`mixdown.render.meters`) to the render.

    Returns
    -------
    ndarray of float32, shape (channels, frames)
    """
    graph = session if isinstance(session, Graph) else check(session)
    out = np.zeros((graph.channels, graph.length), dtype=np.float32)
    for pos, block, _ in Renderer(graph, block_size=block_size, meters=meters).blocks(progress=progress):
        out[:, pos:pos + block.shape[1]] = block
    return out


def render_file(session: Session | Graph, path: str | Path, *, format: str = "wav24",
                block_size: int = DEFAULT_BLOCK, progress: Progress | None = None,
                meters: MeterPoints | None = None) -> Graph:
    """Render the master to an audio file, atomically; never over an input.

    ``meters`` attaches meter-point observers (:mod:`mixdown.render.meters`) to the render.

    Returns
    -------
    Graph
        The compiled graph (length, sample rate) for reporting.
    """
    graph = session if isinstance(session, Graph) else check(session)
    protect = set(graph.source_paths)
    if graph.session.file is not None:
        protect.add(Path(graph.session.file))
    with AudioWriter(path, sample_rate=graph.sample_rate, channels=graph.channels, format=format,
                     protect=protect, frames=graph.length) as writer:
        with BackgroundSink(writer.write) as sink:
            for _, block, _ in Renderer(graph, block_size=block_size, meters=meters).blocks(progress=progress):
                sink.put(block)
    return graph
