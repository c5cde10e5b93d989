"""Speed and memory of every mixing processor, against pedalboard (JUCE) where it has a peer.

    .venv/bin/python benchmarks/dsp_speed.py [--seconds 60] [--runs 3] [--block 4096]

Streams ``--seconds`` of 48 kHz stereo noise (and a 9 dB hotter copy for the
limiter's worst case) through each processor in ``--block``-frame blocks, as the
render engine does, and prints the realtime factor (programme seconds per wall
second, median of ``--runs`` fresh instances), the same for the closest
``pedalboard`` plugin streamed the same way (``reset=False``), the ratio
ours/peer, and tracemalloc's peak over one streamed pass (bounded by the block
size, not the programme length). The peers are not equivalent designs (JUCE's
filters are first-order or single biquads, its limiter has no lookahead), so the
ratio says "same ballpark or not", not "who wins".
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc

import numpy as np

from mixdown.dsp.automation import Envelope
from mixdown.dsp.base import load_all

FS = 48000


def _peer(name: str, **kw):
    def make():
        import pedalboard

        return getattr(pedalboard, name)(**kw)

    return make


BELLS = {f"band{i}_type": "bell" for i in range(1, 9)} | {f"band{i}_gain_db": 2.0 for i in range(1, 9)}

# label, kind, params, automation (name, (a, b)) or None, input ("x" or "hot"), peer factory
CASES = [
    ("gain", "gain", {"gain_db": -3.0}, None, "x", _peer("Gain", gain_db=-3.0)),
    ("highpass 24 dB/oct", "highpass", {"freq_hz": 80, "slope_db_oct": 24}, None, "x",
     _peer("HighpassFilter", cutoff_frequency_hz=80)),
    ("highpass, freq automated", "highpass", {"freq_hz": 80, "slope_db_oct": 24}, ("freq_hz", (60, 300)), "x", None),
    ("lowpass 12 dB/oct", "lowpass", {"freq_hz": 12000}, None, "x", _peer("LowpassFilter", cutoff_frequency_hz=12000)),
    ("low_shelf", "low_shelf", {"gain_db": 3}, None, "x", _peer("LowShelfFilter", cutoff_frequency_hz=100, gain_db=3)),
    ("high_shelf", "high_shelf", {"gain_db": -3}, None, "x",
     _peer("HighShelfFilter", cutoff_frequency_hz=8000, gain_db=-3)),
    ("bell", "bell", {"gain_db": 4}, None, "x", _peer("PeakFilter", cutoff_frequency_hz=1000, gain_db=4, q=1.0)),
    ("notch", "notch", {"freq_hz": 50}, None, "x", None),
    ("eq, 8 bells", "eq", BELLS, None, "x", None),
    ("eq, 8 bells, band1 freq automated", "eq", BELLS, ("band1_freq_hz", (100, 1000)), "x", None),
    ("compressor peak", "compressor", {"threshold_db": -20, "ratio": 4}, None, "x",
     _peer("Compressor", threshold_db=-20, ratio=4, attack_ms=10, release_ms=100)),
    ("compressor rms, mix 0.5", "compressor", {"detector": "rms", "mix": 0.5}, None, "x", None),
    ("compressor, threshold automated", "compressor", {}, ("threshold_db", (-30, -10)), "x", None),
    ("compressor rms, rms_ms automated", "compressor", {"detector": "rms"}, ("rms_ms", (5, 50)), "x", None),
    ("gate", "gate", {"threshold_db": -30}, None, "x",
     _peer("NoiseGate", threshold_db=-30, ratio=10, attack_ms=1, release_ms=100)),
    ("limiter sample peak", "limiter", {}, None, "x", _peer("Limiter", threshold_db=-1, release_ms=50)),
    ("limiter true peak", "limiter", {"true_peak": True}, None, "x", None),
    ("limiter sample peak, hot", "limiter", {}, None, "hot", _peer("Limiter", threshold_db=-1, release_ms=50)),
    ("limiter true peak, hot", "limiter", {"true_peak": True}, None, "hot", None),
    ("limiter, ceiling automated, hot", "limiter", {}, ("ceiling_db", (-1, -6)), "hot", None),
    ("pan", "pan", {"pan": 0.3}, None, "x", None),
    ("width", "width", {"width": 1.4}, None, "x", None),
    ("delay, no feedback", "delay", {"feedback": 0.0}, None, "x", _peer("Delay", delay_seconds=0.25, feedback=0.0)),
    ("delay, feedback 0.4", "delay", {"feedback": 0.4}, None, "x", _peer("Delay", delay_seconds=0.25, feedback=0.4)),
    ("delay, feedback 0.4, time automated", "delay", {"feedback": 0.4}, ("time_ms", (200, 300)), "x", None),
    ("reverb", "reverb", {}, None, "x", _peer("Reverb")),
    ("saturation 2x oversampled", "saturation", {}, None, "x", _peer("Distortion", drive_db=6)),
    ("saturation plain", "saturation", {"oversample": False}, None, "x", _peer("Distortion", drive_db=6)),
]


def _stream(proc, x: np.ndarray, block: int) -> None:
    for s in range(0, x.shape[1], block):
        proc.process(x[:, s : s + block], s)


def _stream_peer(plugin, x: np.ndarray, block: int) -> None:
    for s in range(0, x.shape[1], block):
        plugin.process(x[:, s : s + block], FS, reset=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--block", type=int, default=4096)
    args = ap.parse_args()
    reg = load_all()
    n = int(args.seconds * FS)
    rng = np.random.default_rng(0)
    inputs = {"x": (rng.standard_normal((2, n)) * 0.25).astype(np.float32)}
    inputs["hot"] = inputs["x"] * np.float32(2.8)  # peaks ~ +9 dBFS: the limiter works all the time

    def make(kind, params, auto):
        p = reg[kind](**params)
        if auto is not None:
            name, (a, b) = auto
            p.automate(name, Envelope([0, n // 2, n], [a, b, a], ["exp"] * 3, unit=p.PARAMS[name].unit))
        p.prepare(FS, args.block, 2)
        return p

    print(f"{args.seconds:g} s of 48 kHz stereo, {args.block}-frame blocks, median of {args.runs} runs")
    print(f"{'processor':36s} {'x realtime':>11s} {'peer':>9s} {'ours/peer':>10s} {'tracemalloc peak':>17s}")
    for label, kind, params, auto, src, peer in CASES:
        x = inputs[src]
        times = []
        for _ in range(args.runs):
            p = make(kind, params, auto)
            t = time.perf_counter()
            _stream(p, x, args.block)
            times.append(time.perf_counter() - t)
        ours = args.seconds / statistics.median(times)
        p = make(kind, params, auto)
        tracemalloc.start()
        _stream(p, x, args.block)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peer_rt = ""
        ratio = ""
        if peer is not None:
            ptimes = []
            for _ in range(args.runs):
                plug = peer()
                t = time.perf_counter()
                _stream_peer(plug, x, args.block)
                ptimes.append(time.perf_counter() - t)
            prt = args.seconds / statistics.median(ptimes)
            peer_rt = f"{prt:9.0f}"
            ratio = f"{ours / prt:10.2f}"
        print(f"{label:36s} {ours:11.0f} {peer_rt:>9s} {ratio:>10s} {peak / 1e6:14.1f} MB", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {rss:.0f} MB (libraries plus the two {n * 8 / 1e6:.0f} MB test signals)")


if __name__ == "__main__":
    main()
