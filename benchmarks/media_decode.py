"""Decode/resample/write throughput of mixdown.media, against the raw libraries.

    .venv/bin/python benchmarks/media_decode.py [--seconds 120] [--runs 3]

For each source format, streams the whole file through ``open_source(...).read(4096)``
(what the render engine does) and prints the realtime factor (programme seconds per
wall second, median of ``--runs``), the same for the bare library loop it wraps (the
peer: ``soundfile.blocks``, a PyAV ``container.decode`` loop, ``soxr.resample``), the
ratio ours/peer, and tracemalloc's peak for one streamed pass (bounded by the block
size, not the file length). Then the writers. The files are generated first
(stereo, chirps plus noise, 48 kHz; one WAV at 44.1 kHz for the resampling case).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from mixdown.media import open_source, write_audio

BLOCK = 4096


def signal(seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(0)
    x = np.stack(
        [
            0.3 * np.sin(2 * np.pi * (110 * t + 40 * t * t / seconds)) + 0.05 * rng.standard_normal(n),
            0.3 * np.sin(2 * np.pi * (3000 * t - 20 * t * t / seconds)) + 0.05 * rng.standard_normal(n),
        ]
    )
    return x.astype(np.float32)


def encode(path: Path, x: np.ndarray, sr: int, codec: str) -> Path:
    import av

    c = av.open(str(path), "w")
    s = c.add_stream(codec, rate=sr)
    s.layout = "stereo"
    s.bit_rate = 192000
    for pos in range(0, x.shape[1], 4096):
        fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, pos : pos + 4096]), format="fltp", layout="stereo")
        fr.sample_rate = sr
        fr.pts = pos
        for p in s.encode(fr):
            c.mux(p)
    for p in s.encode(None):
        c.mux(p)
    c.close()
    return path


def ours(path: Path, rate: int, frames: int) -> Callable[[], None]:
    def run() -> None:
        with open_source(path, sample_rate=rate) as r:
            for _ in range(0, frames, BLOCK):
                r.read(BLOCK)

    return run


def peer_sf(path: Path) -> Callable[[], None]:
    def run() -> None:
        for b in sf.blocks(str(path), blocksize=BLOCK, dtype="float32", always_2d=True):
            np.ascontiguousarray(b.T)

    return run


def peer_av(path: Path) -> Callable[[], None]:
    def run() -> None:
        import av

        with av.open(str(path)) as c:
            for f in c.decode(c.streams.audio[0]):
                f.to_ndarray()

    return run


def peer_soxr(path: Path, rate: int) -> Callable[[], None]:
    def run() -> None:
        import soxr

        x, sr = sf.read(str(path), dtype="float32")
        soxr.resample(x, sr, rate, "HQ")

    return run


def timed(fn: Callable[[], None], runs: int) -> float:
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def traced_peak(fn: Callable[[], None]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    secs, runs = args.seconds, args.runs
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        x48 = signal(secs, 48000)
        x44 = signal(secs, 44100)
        n48 = x48.shape[1]
        files = {
            "wav24": folder / "s.wav",
            "flac24": folder / "s.flac",
            "wav44.1": folder / "s441.wav",
        }
        sf.write(files["wav24"], x48.T, 48000, subtype="PCM_24")
        sf.write(files["flac24"], x48.T, 48000, subtype="PCM_24")
        sf.write(files["wav44.1"], x44.T, 44100, subtype="PCM_24")
        files["mp3"] = encode(folder / "s.mp3", x48, 48000, "libmp3lame")
        files["aac"] = encode(folder / "s.m4a", x48, 48000, "aac")
        cases = [
            ("WAV 24-bit 48k", ours(files["wav24"], 48000, n48), peer_sf(files["wav24"]), "soundfile.blocks"),
            ("FLAC 24-bit 48k", ours(files["flac24"], 48000, n48), peer_sf(files["flac24"]), "soundfile.blocks"),
            ("MP3 192k (PyAV)", ours(files["mp3"], 48000, n48), peer_av(files["mp3"]), "PyAV decode loop"),
            ("AAC 192k m4a (PyAV)", ours(files["aac"], 48000, n48), peer_av(files["aac"]), "PyAV decode loop"),
            (
                "WAV 44.1k -> 48k (soxr HQ)",
                ours(files["wav44.1"], 48000, n48),
                peer_soxr(files["wav44.1"], 48000),
                "sf.read + soxr.resample",
            ),
        ]
        print(f"programme: {secs:.0f} s stereo, read blocks of {BLOCK}; median of {runs} runs")
        print(f"{'source':30s} {'ours x RT':>10s} {'peer x RT':>10s} {'ours/peer':>9s} {'peak MiB':>9s}  peer")
        for name, mine, peer, peer_name in cases:
            mine()  # warm caches and lazy imports
            t_mine = timed(mine, runs)
            t_peer = timed(peer, runs)
            peak = traced_peak(mine)
            print(
                f"{name:30s} {secs / t_mine:10.0f} {secs / t_peer:10.0f} {t_peer / t_mine:9.2f} "
                f"{peak:9.1f}  {peer_name}"
            )
        print()
        print(
            f"{'writer':30s} {'ours x RT':>10s} {'peer x RT':>10s} {'ours/peer':>9s}  peer = sf.write of the same data"
        )
        for fmt, suffix, subtype in [
            ("wav16", ".wav", "PCM_16"),
            ("wav24", ".wav", "PCM_24"),
            ("wav32f", ".wav", "FLOAT"),
            ("flac24", ".flac", "PCM_24"),
            ("flac16", ".flac", "PCM_16"),
        ]:
            out = folder / f"out{suffix}"
            t_mine = timed(lambda: write_audio(out, x48, 48000, format=fmt), runs)  # noqa: B023
            t_peer = timed(lambda: sf.write(str(out), x48.T, 48000, subtype=subtype), runs)  # noqa: B023
            print(f"{fmt:30s} {secs / t_mine:10.0f} {secs / t_peer:10.0f} {t_peer / t_mine:9.2f}")
        print(f"\nprocess peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
