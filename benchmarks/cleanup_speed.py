"""Realtime factor of each cleanup processor on 60 minutes of speech.

The programme is the bundled real recording ``examples/podcast/media/host.flac``
(77.5 s, 44.1 kHz, mono), resampled to the session rate and made noisy the way
the cleanup is meant for (white noise at -45 dBFS, 50 Hz hum with 8 harmonics,
one click every two seconds), then repeated to the requested length. It is
streamed in blocks (as the render engine does), never held whole, so memory is
the processor's own.

For each processor: the median over ``--runs`` of (programme seconds / wall
seconds), the peak traced memory of one run, and the ratio to a peer measured in
the same run: the ``bell`` EQ (one biquad per channel, scipy's ``sosfilt``),
the cheapest thing a chain can hold.

    python benchmarks/cleanup_speed.py                 # 60 minutes, 3 runs, 48 kHz mono
    python benchmarks/cleanup_speed.py --minutes 5 --runs 5 --channels 2
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def programme(rate: int, channels: int) -> np.ndarray:
    """One period of the noisy speech (float32, (channels, n)); the benchmark cycles through it."""
    from mixdown.media import read_audio

    x, _ = read_audio(ROOT / "examples/podcast/media/host.flac", sample_rate=rate)
    x = x[0].astype(np.float64)
    n = x.shape[0]
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    x = x + 10 ** (-45 / 20) * rng.standard_normal(n)
    x += sum(10 ** ((-50 - 2 * (k - 1)) / 20) * np.sqrt(2) * np.sin(2 * np.pi * k * 50.0 * t) for k in range(1, 9))
    for p in range(rate, n - rate, 2 * rate):
        x[p : p + 3] += 0.3
    return np.tile(x.astype(np.float32), (channels, 1))


def processors(rate: int) -> dict[str, object]:
    import mixdown.dsp.cleanup as c
    from mixdown.dsp.base import create

    profile = c.noise_profile_params(np.full(30, -62.0))
    return {
        "denoise": lambda: c.Denoise(amount_db=20.0, threshold_db=12.0, **profile),
        "dehum": lambda: c.Dehum(freq_hz=50.0, harmonics=8),
        "declick": lambda: c.Declick(),
        "deesser": lambda: c.DeEsser(freq_hz=min(6500.0, 0.4 * rate), threshold_db=-30.0),
        "bell (peer)": lambda: create("bell", freq_hz=1000.0, gain_db=-3.0, q=1.0),
    }


def run_once(make, period: np.ndarray, rate: int, seconds: float, block: int, *, trace: bool) -> tuple[float, int]:
    """Stream ``seconds`` of the programme through a fresh processor; (wall seconds, peak traced bytes)."""
    proc = make()
    ch, n = period.shape
    proc.prepare(rate, block, ch)
    total = int(seconds * rate)
    buf = np.concatenate([period, period[:, :block]], axis=1)  # a block may wrap around the period's end
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    pos = 0
    while pos < total:
        k = min(block, total - pos)
        off = pos % n
        proc.process(buf[:, off : off + k], pos)
        pos += k
    dt = time.perf_counter() - t0
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return dt, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--block", type=int, default=8192)
    args = ap.parse_args()
    period = programme(args.rate, args.channels)
    seconds = args.minutes * 60.0
    makers = processors(args.rate)
    # warm-up: numba compilation and scipy imports are not the processor's speed
    for make in makers.values():
        run_once(make, period, args.rate, 2.0, args.block, trace=False)
    rtf: dict[str, list[float]] = {k: [] for k in makers}
    for _ in range(args.runs):
        for name, make in makers.items():  # interleaved, so load on the machine hits all alike
            dt, _ = run_once(make, period, args.rate, seconds, args.block, trace=False)
            rtf[name].append(seconds / dt)
    # memory from a separate, shorter traced run (tracing slows the code down)
    mem = {name: run_once(make, period, args.rate, min(seconds, 120.0), args.block, trace=True)[1]
           for name, make in makers.items()}
    peer = statistics.median(rtf["bell (peer)"])
    print(f"cleanup processors on {args.minutes:g} min of speech, {args.rate} Hz, {args.channels} ch, "
          f"blocks of {args.block}, median of {args.runs} runs")
    print(f"{'processor':<14}{'realtime x':>12}{'min..max':>18}{'1 h takes s':>13}{'peak MB':>10}{'vs bell':>10}")
    for name, vals in rtf.items():
        med = statistics.median(vals)
        print(f"{name:<14}{med:>12.0f}{f'{min(vals):.0f}..{max(vals):.0f}':>18}{3600.0 / med:>13.1f}"
              f"{mem[name] / 1e6:>10.1f}{med / peer:>10.3f}")
    import resource

    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
