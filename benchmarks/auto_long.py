"""`mixdown auto` on a long two-speaker programme with a music bed, against ffmpeg.

Material: the bundled real conversation (examples/podcast: two speakers on their own
stems) repeated to the programme length, and the real music bed looped under it,
written as 16-bit FLAC at 48 kHz. Each run is a fresh process; peak memory is that
process's maximum resident set.

Runs, each the median of --runs (a round runs the three back to back):
- mixdown cold: speech detection runs (empty cache);
- mixdown warm: speech detection read from its cache (what re-runs cost);
- peer: one ffmpeg filter graph doing the same job — amix of the speakers,
  sidechaincompress of the music keyed by the dialogue, amix, then loudnorm in two
  passes (measure, then apply with the measured values) — when ``ffmpeg`` is on PATH.

Usage: python benchmarks/auto_long.py [--minutes 60] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast" / "media"
SR = 48000


def make_media(folder: Path, minutes: int) -> dict[str, Path]:
    import soundfile as sf

    from mixdown.media.write import read_audio

    n = minutes * 60 * SR
    host, _ = read_audio(POD / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "guest.flac", sample_rate=SR)
    music, _ = read_audio(POD / "music.ogg", sample_rate=SR)
    m = min(host.shape[1], guest.shape[1])
    out = {}
    for name, x in (("host", host[0, :m] * 1.0), ("guest", guest[0, :m] * 0.4), ("music", music)):
        path = folder / f"{name}.flac"
        ch = x.shape[0] if x.ndim == 2 else 1
        with sf.SoundFile(path, "w", samplerate=SR, channels=ch, subtype="PCM_16") as f:
            done = 0
            while done < n:
                k = min(n - done, x.shape[-1])
                f.write((x[..., :k].T if x.ndim == 2 else x[:k]).astype(np.float32))
                done += k
        out[name] = path
    return out


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a command run in a fresh process."""
    # a small intermediate process starts the command, so the child's ru_maxrss (which on Linux
    # includes the image it was forked from) is not inflated by this benchmark's own memory
    probe = ("import resource,subprocess,sys,time,json;t=time.perf_counter();"
             "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
             "dt=time.perf_counter()-t;"
             "print(json.dumps([r.returncode,dt,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,"
             "r.stderr.decode()[-500:]]))")
    r = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, env=env)
    rc, dt, rss, err = json.loads(r.stdout)
    if rc not in (0, 3):
        raise SystemExit(f"{cmd[0]} failed ({rc}): {err}")
    return dt, rss


def ffmpeg_peer(media: dict[str, Path], out: Path) -> float:
    inputs = ["-i", str(media["host"]), "-i", str(media["guest"]), "-i", str(media["music"])]
    graph = ("[0][1]amix=inputs=2:normalize=0,asplit[d1][d2];"
             "[2][d1]sidechaincompress=threshold=0.03:ratio=8:attack=20:release=800[m];"
             "[d2]pan=stereo|c0=c0|c1=c0[d];[d][m]amix=inputs=2:normalize=0")
    t0 = time.perf_counter()
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-y", *inputs, "-filter_complex",
                        graph + ",loudnorm=I=-14:TP=-1:LRA=11:print_format=json", "-f", "null", "-"],
                       capture_output=True, text=True, check=True)
    stats = json.loads(re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", r.stderr, re.S).group(0))
    second = (f"loudnorm=I=-14:TP=-1:LRA=11:measured_I={stats['input_i']}:measured_TP={stats['input_tp']}:"
              f"measured_LRA={stats['input_lra']}:measured_thresh={stats['input_thresh']}:"
              f"offset={stats['target_offset']}:linear=true,aresample=48000")
    subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-y", *inputs, "-filter_complex",
                    graph + "," + second, "-c:a", "pcm_s24le", str(out)], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    secs = args.minutes * 60
    mixdown = [sys.executable, "-m", "mixdown.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        media = make_media(folder, args.minutes)
        cmd = [*mixdown, "auto", "--dialogue", str(media["host"]), str(media["guest"]), "--music", str(media["music"]),
               "--target", "youtube", "-o", str(folder / "mix.wav"), "--json"]
        # compile/load numba kernels once, outside the timed runs (a fresh install pays this once)
        subprocess.run([*mixdown, "auto", "--dialogue", str(POD / "host.flac"), "--target", "youtube",
                        "-o", str(folder / "warmup.wav")], capture_output=True)
        rows = {}
        cold, warm, cold_rss, warm_rss, peer = [], [], [], [], []
        has_peer = shutil.which("ffmpeg") is not None
        # one round = cold, warm, peer back to back: this VM's speed drifts by tens of per
        # cent over minutes, and interleaving keeps each ratio within one stretch of it
        for k in range(args.runs):
            env = dict(os.environ, MIXDOWN_CACHE_DIR=str(folder / f"cache{k}"))
            dt, rss = measured(cmd, env)
            cold.append(dt)
            cold_rss.append(rss)
            dt, rss = measured(cmd, env)
            warm.append(dt)
            warm_rss.append(rss)
            if has_peer:
                peer.append(ffmpeg_peer(media, folder / "peer.wav"))
                print(f"round {k + 1}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s, ffmpeg {peer[-1]:.2f} s "
                      f"-> {peer[-1] / cold[-1]:.1f}x / {peer[-1] / warm[-1]:.1f}x", flush=True)
        rows["mixdown cold (speech detection runs)"] = (statistics.median(cold), statistics.median(cold_rss))
        rows["mixdown warm (speech detection cached)"] = (statistics.median(warm), statistics.median(warm_rss))
        if has_peer:
            rows["ffmpeg amix+sidechaincompress+2-pass loudnorm"] = (statistics.median(peer), float("nan"))
        print(f"{args.minutes}-minute two-speaker programme with music, medians of {args.runs}")
        print(f"{'run':48s} {'seconds':>8s} {'x realtime':>11s} {'peak RSS MB':>12s}")
        for name, (dt, rss) in rows.items():
            print(f"{name:48s} {dt:8.2f} {secs / dt:11.1f} {rss:12.0f}")
        if "ffmpeg amix+sidechaincompress+2-pass loudnorm" in rows:
            p = rows["ffmpeg amix+sidechaincompress+2-pass loudnorm"][0]
            for name, runs in zip(list(rows)[:2], (cold, warm), strict=True):
                per_round = statistics.median(q / t for q, t in zip(peer, runs, strict=True))
                print(f"speed-up vs ffmpeg, {name.split(' (')[0]} {name.split('(')[1][:-1]}: {p / rows[name][0]:.1f}x "
                      f"(median of the rounds' own ratios: {per_round:.1f}x)")


if __name__ == "__main__":
    main()
