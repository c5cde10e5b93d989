"""Render a long generated session: realtime factor and peak memory, 10 vs 60 minutes.

The session has five tracks (two voices, music, effects, ambience) of many clips
with fades and clip gains, gain and pan automation, an insert chain per track,
two buses and a master limiter. Sources are FLAC and WAV files at 48 and 44.1 kHz
(so decoding and resampling are part of the run). Each render runs in a fresh
process that reports its own peak memory, so 10 and 60 minutes compare fairly.

Peer, in the same run: an ffmpeg filter graph doing the same mixing (amix of the
tracks with volume, highpass/equalizer and acompressor, a limiter), when the
``ffmpeg`` binary is on PATH.

Usage: python benchmarks/render_long.py [--runs 3] [--minutes 10 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SR = 48000


def make_media(folder: Path) -> None:
    import soundfile as sf
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(3)
    minutes = 5
    n = SR * 60 * minutes
    # voice-like: band-limited noise gated in syllables and phrases
    for name, rate, seed in (("voice_a.flac", 48000, 1), ("voice_b.flac", 44100, 2)):
        r = np.random.default_rng(seed)
        m = rate * 60 * minutes
        x = sosfilt(butter(4, [200, 4000], "bandpass", fs=rate, output="sos"), r.standard_normal(m))
        env = np.repeat(r.random(m // (rate // 5) + 1) > 0.35, rate // 5)[:m]
        x = (0.2 * x * env).astype(np.float32)
        sf.write(folder / name, x, rate, subtype="PCM_24")
    music = sosfilt(butter(2, 6000, fs=SR, output="sos"), rng.standard_normal((n, 2)), axis=0) * 0.1
    sf.write(folder / "music.flac", music.astype(np.float32), SR, subtype="PCM_24")
    fx = np.zeros((SR * 20,), dtype=np.float32)
    for k in range(20):
        fx[k * SR: k * SR + 2000] = rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    sf.write(folder / "fx.wav", fx, SR, subtype="PCM_16")
    amb = sosfilt(butter(2, 800, fs=SR, output="sos"), rng.standard_normal((n, 2)), axis=0) * 0.02
    sf.write(folder / "amb.wav", amb.astype(np.float32), SR, subtype="PCM_16")


def make_session(folder: Path, minutes: int) -> Path:
    total = minutes * 60
    tracks = []
    for name, src, pan in (("Host", "voice_a.flac", -0.2), ("Guest", "voice_b.flac", 0.2)):
        clips = []
        t = 0.0
        k = 0
        while t < total:
            clips.append({"source": src, "start": round(t, 3), "in": float((k * 37) % 240), "duration": 25.0,
                          "gain_db": float((k % 5) - 2), "fade_in": 0.05, "fade_out": 0.1})
            t += 27.0
            k += 1
        tracks.append({"name": name, "role": "dialogue", "pan": pan, "clips": clips, "output": "dx",
                       "chain": [{"type": "highpass", "freq_hz": 80, "slope_db_oct": 24},
                                 {"type": "compressor", "threshold_db": -24, "ratio": 3, "attack_ms": 5,
                                  "release_ms": 120, "detector": "rms"},
                                 {"type": "bell", "freq_hz": 3000, "gain_db": 2, "q": 1.0}]})
    mclips = [{"source": "music.flac", "start": float(t), "duration": 299.0, "fade_in": 1.0, "fade_out": 1.0}
              for t in range(0, total, 300)]
    keys = []
    for t in range(0, total, 10):
        keys += [[float(t), 0.0, "exp"], [t + 0.4, -14.0, "exp"], [t + 8.0, -14.0, "exp"]]
    tracks.append({"name": "Music", "role": "music", "gain_db": -8, "clips": mclips, "automation": {"gain_db": keys},
                   "chain": [{"type": "eq", "band1_type": "low_shelf", "band1_freq_hz": 120, "band1_gain_db": -2,
                              "band2_type": "bell", "band2_freq_hz": 2500, "band2_gain_db": -3, "band2_q": 0.8}]})
    tracks.append({"name": "FX", "role": "sfx", "clips": [{"source": "fx.wav", "start": float(t)} for t in
                                                        range(5, total - 20, 45)],
                   "chain": [{"type": "high_shelf", "freq_hz": 6000, "gain_db": 2}],
                   "automation": {"pan": [[0.0, -0.5], [float(total), 0.5]]}})
    tracks.append({"name": "Room", "role": "ambience", "clips": [
        {"source": "amb.wav", "start": float(t), "duration": 300.0} for t in range(0, total, 300)],
        "chain": [{"type": "lowpass", "freq_hz": 5000}], "gain_db": -6})
    session = {"mixdown": 1, "sample_rate": SR, "duration": float(total), "tracks": tracks,
               "buses": [{"name": "dx", "role": "dialogue", "chain": [{"type": "compressor", "threshold_db": -20,
                                                                     "ratio": 2}]}],
               "master": {"chain": [{"type": "limiter", "ceiling_db": -1.0, "true_peak": True}]}}
    path = folder / f"session_{minutes}.json"
    path.write_text(json.dumps(session))
    return path


def child(session: str, out: str) -> None:
    """Render in this process and print seconds, peak RSS and the programme length."""
    from mixdown.render.engine import render_file
    from mixdown.session import load_session

    t0 = time.perf_counter()
    g = render_file(load_session(session), out, format="wav24")
    dt = time.perf_counter() - t0
    print(json.dumps({"seconds": dt, "peak_rss_mb": peak_rss_mb(), "duration_s": g.length / g.sample_rate}))


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM).

    Not ru_maxrss: on Linux that also carries the high-water mark of the image this
    process was forked from, i.e. the benchmark parent holding the generated media.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ffmpeg_peer(folder: Path, minutes: int, out: Path) -> float | None:
    """The same kind of mix as one ffmpeg filter graph (sources looped to length)."""
    if shutil.which("ffmpeg") is None:
        return None
    total = minutes * 60
    graph = (
        "[0]highpass=f=80:poles=2,highpass=f=80,acompressor=threshold=0.063:ratio=3:attack=5:release=120,"
        "equalizer=f=3000:t=q:w=1:g=2,pan=stereo|c0=c0|c1=c0[a];"
        "[1]aresample=48000,highpass=f=80,acompressor=threshold=0.063:ratio=3,equalizer=f=3000:t=q:w=1:g=2,"
        "pan=stereo|c0=c0|c1=c0[b];"
        "[2]volume=-8dB,equalizer=f=120:t=q:w=0.7:g=-2,equalizer=f=2500:t=q:w=0.8:g=-3[m];"
        "[3]highshelf=f=6000:g=2,pan=stereo|c0=c0|c1=c0[f];[4]lowpass=f=5000,volume=-6dB[r];"
        "[a][b][m][f][r]amix=inputs=5:normalize=0,alimiter=limit=0.89[out]"
    )
    cmd = ["ffmpeg", "-v", "error", "-y"]
    for src in ("voice_a.flac", "voice_b.flac", "music.flac", "fx.wav", "amb.wav"):
        cmd += ["-stream_loop", "-1", "-i", str(folder / src)]
    cmd += ["-filter_complex", graph, "-map", "[out]", "-t", str(total), "-c:a", "pcm_s24le", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--minutes", type=int, nargs="+", default=[10, 60])
    ap.add_argument("--child", nargs=2, metavar=("SESSION", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_media(folder)
        rows = []
        for minutes in args.minutes:
            session = make_session(folder, minutes)
            ours, rss = [], []
            for _ in range(args.runs):
                r = subprocess.run([sys.executable, __file__, "--child", str(session), str(folder / "out.wav")],
                                   capture_output=True, text=True, check=True)
                d = json.loads(r.stdout.strip().splitlines()[-1])
                ours.append(d["seconds"])
                rss.append(d["peak_rss_mb"])
            peer = [ffmpeg_peer(folder, minutes, folder / "peer.wav") for _ in range(args.runs)]
            peer = [p for p in peer if p is not None]
            med = statistics.median(ours)
            row = {"minutes": minutes, "median_s": round(med, 2), "realtime_x": round(minutes * 60 / med, 1),
                   "peak_rss_mb": round(statistics.median(rss), 1), "runs_s": [round(x, 2) for x in ours]}
            if peer:
                pm = statistics.median(peer)
                row["ffmpeg_s"] = round(pm, 2)
                row["ffmpeg_realtime_x"] = round(minutes * 60 / pm, 1)
                row["speedup_vs_ffmpeg"] = round(pm / med, 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
        if len(rows) >= 2:
            print(f"peak memory {rows[-1]['minutes']} min / {rows[0]['minutes']} min: "
                  f"{rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
