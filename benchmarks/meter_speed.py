"""Speed and memory of the loudness meter against pyebur128 and pyloudnorm.

Measures a 10-minute (``--minutes``) 48 kHz stereo music-like signal: pink-ish
noise under a loudness envelope that moves every 100 ms, with quiet passages.
Each meter runs in its own fresh process (so one cannot warm or bloat another),
``--runs`` times; the table shows medians.

- mixdown:    LoudnessMeter fed 65536-frame blocks: M, S, I, LRA, sample peak
              and true peak (4x); also once more without true peak.
- pyebur128:  libebur128 1.2.6, MODE_I | MODE_LRA | MODE_TRUE_PEAK, fed the
              whole interleaved float32 signal (its native input, made before
              timing).
- pyloudnorm: integrated loudness only (it has no LRA or true peak), on the
              float64 (frames, channels) array it expects.
- Last row: mixdown again on white noise clipped at 0.5 (brick-wall limited),
  where the true-peak bound skips nothing: its worst case.

Memory: "traced" is the peak of Python/numpy allocations during one measurement
(tracemalloc, taken on a separate run so it does not slow the timed ones; C
allocations inside libebur128 are invisible to it but are a few MB); "max RSS" is
the high-water mark of the whole process, input signal included.

Usage::

    python benchmarks/meter_speed.py [--minutes 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

SR = 48000
CHANNELS = 2
BLOCK = 65536


def make_signal(minutes: float, seed: int = 1, *, dense: bool = False) -> np.ndarray:
    """Music-like stereo float32 signal, generated in chunks to keep memory low.

    ``dense=True`` gives white noise clipped at 0.5, like brick-wall limited
    music: every stretch reaches the ceiling, so the true-peak bound skips
    nothing; the worst case for the meter's speed.
    """
    from scipy import signal as sg

    n = int(minutes * 60 * SR)
    rng = np.random.default_rng(seed)
    out = np.empty((CHANNELS, n), dtype=np.float32)
    if dense:
        for start in range(0, n, 1 << 20):
            stop = min(start + (1 << 20), n)
            noise = 0.3 * rng.standard_normal((CHANNELS, stop - start), dtype=np.float32)
            out[:, start:stop] = np.clip(noise, -0.5, 0.5)
        return out
    sos = sg.butter(2, [40 / (SR / 2), 12000 / (SR / 2)], "band", output="sos")
    zi = np.zeros((sos.shape[0], CHANNELS, 2))
    hop = SR // 10
    level = 0.0
    chunk = 48 * hop  # 4.8 s
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        noise = rng.standard_normal((CHANNELS, stop - start))
        noise[1] = 0.6 * noise[0] + 0.8 * noise[1]  # correlated channels, like a mix
        filtered, zi = sg.sosfilt(sos, noise, axis=1, zi=zi)
        steps = -(-(stop - start) // hop)
        walk = level + np.cumsum(rng.normal(0.0, 0.8, steps))
        walk = np.clip(walk, -30.0, 0.0)  # dB; the clip makes quiet passages
        level = float(walk[-1])
        env = np.repeat(10 ** (walk / 20), hop)[: stop - start]
        out[:, start:stop] = 0.25 * filtered * env
    return out


def run_mixdown(x: np.ndarray, true_peak: bool) -> dict:
    from mixdown.analysis.loudness import LoudnessMeter

    meter = LoudnessMeter(SR, CHANNELS, true_peak=true_peak)
    for start in range(0, x.shape[1], BLOCK):
        meter.process(x[:, start : start + BLOCK])
    return meter.result().to_json()


def run_pyebur128(interleaved: np.ndarray, frames: int) -> dict:
    import pyebur128 as E

    mode = E.MeasurementMode
    state = E.R128State(CHANNELS, SR, mode.MODE_I | mode.MODE_LRA | mode.MODE_TRUE_PEAK)
    state.add_frames(interleaved, frames)
    tp = max(E.get_true_peak(state, c) for c in range(CHANNELS))
    return {
        "integrated_lufs": E.get_loudness_global(state),
        "loudness_range_lu": E.get_loudness_range(state),
        "true_peak_dbtp": 20 * np.log10(tp),
    }


def run_pyloudnorm(x64: np.ndarray) -> dict:
    import pyloudnorm

    return {"integrated_lufs": pyloudnorm.Meter(SR).integrated_loudness(x64)}


def child(name: str, minutes: float, runs: int) -> None:
    """Time one meter in this (fresh) process and print a JSON line."""
    x = make_signal(minutes, dense=name.endswith("-dense"))
    if name == "pyebur128":
        data = np.ascontiguousarray(x.T).reshape(-1)
        frames = x.shape[1]
        del x

        def call():
            return run_pyebur128(data, frames)

    elif name == "pyloudnorm":
        data = x.T.astype(np.float64)
        del x

        def call():
            return run_pyloudnorm(data)

    else:
        true_peak = name != "mixdown-no-tp"

        def call():
            return run_mixdown(x, true_peak)

    call()  # warm-up: numba's cached kernel load, imports, page faults
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        values = call()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    call()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "name": name,
                "times": times,
                "traced_mb": traced / 2**20,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "values": {k: (None if v is None else float(v)) for k, v in values.items()},
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.minutes, args.runs)
        return

    seconds = args.minutes * 60
    labels = {
        "mixdown": "mixdown  M S I LRA SP TP(4x)",
        "mixdown-no-tp": "mixdown  M S I LRA SP",
        "pyebur128": "pyebur128  I LRA TP",
        "pyloudnorm": "pyloudnorm  I",
        "mixdown-dense": "mixdown, all, on clipped noise",
    }
    results = {}
    for name in labels:
        runs = min(args.runs, 3) if name == "pyloudnorm" else args.runs
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--minutes", str(args.minutes), "--runs", str(runs)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])

    ours = statistics.median(results["mixdown"]["times"])
    print(f"{args.minutes:g} min of 48 kHz stereo music-like signal; medians of {args.runs} runs (pyloudnorm: <= 3)")
    print(f"{'meter':32} {'median s':>9} {'realtime':>9} {'time / ours':>12} {'traced MB':>10} {'max RSS MB':>11}")
    for name, label in labels.items():
        r = results[name]
        med = statistics.median(r["times"])
        print(
            f"{label:32} {med:9.3f} {seconds / med:8.0f}x {med / ours:12.2f} "
            f"{r['traced_mb']:10.1f} {r['maxrss_mb']:11.0f}"
        )
    print()
    print("readings:")
    for name, label in labels.items():
        vals = ", ".join(
            f"{k}={v:.2f}" for k, v in results[name]["values"].items() if v is not None and k != "duration_s"
        )
        print(f"  {label:32} {vals}")


if __name__ == "__main__":
    main()
