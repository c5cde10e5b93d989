"""`mixdown batch` on a podcast catalogue against `mixdown auto` run serially in a shell-style loop.

Material: N episodes (default 24) of M minutes (default 3), each two speakers on their
own stems and a music bed, built from the bundled real recordings (examples/podcast):
episode k is the conversation rotated by k x 7 s, at its own level (a few dB apart, as
real episodes are), looped to length, as 16-bit FLAC at 48 kHz; one shared music bed.
Every job runs mixdown's defaults (Silero speech detection, cleanup screening) with an
empty speech-detection cache (MIXDOWN_CACHE_DIR is a fresh folder per run), so the
loop and the batch do the same work.

Runs, in this order, in one process:
1. the serial loop: one `mixdown auto ... --target podcast -o out.wav` per episode;
2. `mixdown batch catalogue.yaml` (default workers: min(cores, RAM / a job's peak RSS));
3. the same command again, which finds every job done (a no-op re-run).

Printed: wall time and throughput (programme minutes per wall minute) of each, the
speed-up, peak RSS of the whole batch (coordinator + scheduler + every worker, sampled
every 50 ms) against workers x one job's peak (the largest `mixdown auto` process of
the loop), the no-op re-run's seconds, and the machine's load average during each run
(the machine may be shared: compare runs made at similar load).

Usage: python benchmarks/batch_catalogue.py [--jobs 24] [--minutes 3] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast" / "media"
SR = 48000
MIXDOWN = [sys.executable, "-m", "mixdown.cli"]


def make_catalogue(folder: Path, jobs: int, minutes: float) -> Path:
    """The episodes, the bed and a manifest; returns the manifest."""
    import soundfile as sf

    from mixdown.media.write import read_audio

    n = int(minutes * 60 * SR)
    host, _ = read_audio(POD / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "guest.flac", sample_rate=SR)
    music, _ = read_audio(POD / "music.ogg", sample_rate=SR)
    m = min(host.shape[1], guest.shape[1])
    reps = -(-n // m)
    rng = np.random.default_rng(7)
    for k in range(jobs):
        d = folder / "episodes" / f"ep{k + 1:02d}"
        d.mkdir(parents=True)
        shift = (k * 7 * SR) % m
        level = 10 ** (rng.uniform(-4, 2) / 20)
        for name, x, g in (("host", host[0, :m], 1.0), ("guest", guest[0, :m], 0.45)):
            y = np.tile(np.roll(x, -shift), reps)[:n] * (g * level)
            sf.write(d / f"{name}.flac", y.astype(np.float32), SR, subtype="PCM_16")
    bed = np.tile(music, (1, -(-n // music.shape[1])))[:, :n]
    sf.write(folder / "bed.flac", bed.T.astype(np.float32), SR, subtype="PCM_16")
    manifest = folder / "catalogue.yaml"
    manifest.write_text(
        "defaults:\n  target: podcast\n  music: bed.flac\n"
        "jobs:\n"
        "  - name: '{parent}'\n"
        "    dialogue: [episodes/*/host.flac, 'episodes/{parent}/guest.flac']\n"
        "    output: out-batch/{name}.wav\n")
    return manifest


class TreeSampler:
    """Peak of the summed RSS of a process and all its descendants, and the largest single one."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.peak_total = 0
        self.peak_single = 0
        self.peak_root = 0
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        last_load = 0.0
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
                if p.pid == self.root.pid:
                    self.peak_root = max(self.peak_root, rss)
            self.peak_total = max(self.peak_total, total)
            if time.monotonic() - last_load > 5:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, TreeSampler, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    out, err = proc.communicate()
    dt = time.perf_counter() - t0
    sampler.stop()
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {err[-800:]}")
    return dt, sampler, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="build the material here and keep it")
    args = ap.parse_args()
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="mixdown-batch-bench-")
        folder = Path(tmp.name)
    else:
        folder = args.keep
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    try:
        run(folder, args)
    finally:
        if tmp is not None:
            tmp.cleanup()


def run(folder: Path, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    manifest = make_catalogue(folder, args.jobs, args.minutes)
    print(f"material: {args.jobs} episodes x {args.minutes:g} min in {time.perf_counter() - t0:.1f} s; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    programme_min = args.jobs * args.minutes
    base_env = {k: v for k, v in os.environ.items() if k != "MIXDOWN_THREADS"}
    # numba's on-disk kernels and the model load once outside the timed runs
    subprocess.run([*MIXDOWN, "auto", "--dialogue", str(POD / "host.flac"), "--target", "podcast", "--vad",
                    "energy", "-o", str(folder / "warmup.wav")], capture_output=True, env=base_env, check=True)

    # 1. the loop a user writes today
    env = dict(base_env, MIXDOWN_CACHE_DIR=str(folder / "cache-serial"))
    (folder / "out-serial").mkdir()
    serial_s, serial_peak, serial_loads = 0.0, 0, []
    for d in sorted((folder / "episodes").iterdir()):
        cmd = [*MIXDOWN, "auto", "--dialogue", str(d / "host.flac"), str(d / "guest.flac"), "--music",
               str(folder / "bed.flac"), "--target", "podcast", "-o", str(folder / "out-serial" / f"{d.name}.wav")]
        dt, s, _ = timed(cmd, env, folder)
        serial_s += dt
        serial_peak = max(serial_peak, s.peak_single)
        serial_loads += s.loads or [os.getloadavg()[0]]
    print(f"serial loop: {serial_s:.1f} s", flush=True)

    # 2. the batch
    env = dict(base_env, MIXDOWN_CACHE_DIR=str(folder / "cache-batch"))
    cmd = [*MIXDOWN, "batch", str(manifest), "--json"] + (["--workers", str(args.workers)] if args.workers else [])
    batch_s, tree, res = timed(cmd, env, folder)
    report = json.loads(res.stdout)
    workers = report["summary"]["workers"]
    job_peak = max(j["peak_rss_mb"] for j in report["jobs"]) * 2**20
    print(f"batch: {batch_s:.1f} s on {workers} workers", flush=True)
    secs = sorted(j["seconds"] for j in report["jobs"])
    print(f"batch jobs' own seconds: median {secs[len(secs) // 2]:.2f}, sum {sum(secs):.1f}", flush=True)

    # 3. nothing left to do
    noop_s, _, res2 = timed(cmd, env, folder)
    again = json.loads(res2.stdout)["summary"]
    if again["skipped"] != args.jobs:
        raise SystemExit(f"the re-run did not skip every job: {again}")

    mb = 2**20
    serial_rate, batch_rate = programme_min / (serial_s / 60), programme_min / (batch_s / 60)
    load = lambda xs: f"{min(xs):.1f}-{max(xs):.1f}" if xs else "?"  # noqa: E731
    print()
    print(f"{args.jobs} jobs x {args.minutes:g} min = {programme_min:g} programme minutes, "
          f"{report['summary']['done']} done, exit {res.returncode}")
    print(f"{'run':34s} {'wall s':>8s} {'prog-min/wall-min':>18s} {'load avg':>10s}")
    print(f"{'mixdown auto, serial loop':34s} {serial_s:8.1f} {serial_rate:18.1f} {load(serial_loads):>10s}")
    print(f"{'mixdown batch (' + str(workers) + ' workers)':34s} {batch_s:8.1f} {batch_rate:18.1f} "
          f"{load(tree.loads):>10s}")
    print(f"{'mixdown batch again (all done)':34s} {noop_s:8.2f}")
    print(f"speed-up of the batch over the loop: {serial_s / batch_s:.2f}x (target >= 1.7x on 2 cores)")
    print(f"no-op re-run: {noop_s:.2f} s for {args.jobs} jobs (target < 5 s)")
    print(f"peak RSS of the whole batch: {tree.peak_total / mb:.0f} MB; one job's peak: {job_peak / mb:.0f} MB in a "
          f"worker, {serial_peak / mb:.0f} MB as a `mixdown auto` process; workers x that = "
          f"{workers * serial_peak / mb:.0f} MB; largest single process of the batch {tree.peak_single / mb:.0f} MB, "
          f"the coordinator (with the scheduler) {tree.peak_root / mb:.0f} MB")
    print(json.dumps({"jobs": args.jobs, "minutes": args.minutes, "workers": workers, "serial_s": round(serial_s, 2),
                      "batch_s": round(batch_s, 2), "speedup": round(serial_s / batch_s, 3),
                      "noop_s": round(noop_s, 2), "batch_peak_rss_mb": round(tree.peak_total / mb),
                      "coordinator_peak_rss_mb": round(tree.peak_root / mb),
                      "job_peak_rss_mb": round(job_peak / mb), "auto_peak_rss_mb": round(serial_peak / mb),
                      "load_serial": serial_loads, "load_batch": tree.loads}))


if __name__ == "__main__":
    main()
