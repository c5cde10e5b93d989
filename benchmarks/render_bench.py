"""Render and auto on the noisy interview: median seconds and peak RSS of several runs (issue 12).

The redesign promises "not slower than before". This runs the same commands the byte
identity check runs on the benchmark material (``material.build``: host and guest mics with
bleed, hum, clicks and room noise, a music bed, ambience), each in a fresh process, and
reports for each command the median, min and max wall time and the median peak RSS:

- ``auto``: ``auto --dialogue host guest --music --ambience --target podcast --save-session``
  (a fresh analysis cache per run, so analysis is timed every time);
- ``render``: ``render`` of the session auto decided (every chain auto chose, cleanup included).

The runs of the two commands alternate (auto, render, auto, render ...) so that the drift of
a shared machine's speed falls on both alike. Compare two trees (e.g. main before and after a
merge) by running this from each, back to back, and comparing medians.

Usage: python benchmarks/render_bench.py [--seconds 180] [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import material

# A small process starts the command so that its ru_maxrss counts only the command's own
# peak (a forked child's counter starts from its parent's image on Linux).
_PROBE = ("import resource,subprocess,sys,time,json;t=time.perf_counter();"
          "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
          "dt=time.perf_counter()-t;"
          "print(json.dumps([r.returncode,dt,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,"
          "r.stderr.decode()[-800:]]))")


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` run in a fresh process."""
    r = subprocess.run([sys.executable, "-c", _PROBE, *cmd], capture_output=True, text=True, env=env, check=False)
    rc, dt, rss, err = json.loads(r.stdout)
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd[3:5])} failed ({rc}): {err}")
    return dt, rss


def summary(times: list[float], rss: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 2), "min_s": round(min(times), 2),
            "max_s": round(max(times), 2), "median_rss_mb": round(statistics.median(rss), 1), "runs": len(times)}


def main() -> None:
    import os

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=180.0, help="programme length of the material")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    mixdown = [sys.executable, "-m", "mixdown.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        w = Path(tmp)
        m = material.build(w / "bench", args.seconds)
        decided = w / "decided.yaml"
        auto = [*mixdown, "auto", "--dialogue", str(m["host"]), str(m["guest"]), "--music", str(m["music"]),
                "--ambience", str(m["ambience"]), "--target", "podcast", "-o", str(w / "auto.wav"),
                "--save-session", str(decided)]
        render = [*mixdown, "render", str(decided), "-o", str(w / "render.wav")]
        # warm-up: numba's compiled kernels load from its cache after the first run of a fresh install
        measured(auto, dict(os.environ, MIXDOWN_CACHE_DIR=str(w / "warm")))
        measured(render)
        t_auto, r_auto, t_render, r_render = [], [], [], []
        for k in range(args.runs):
            dt, rss = measured(auto, dict(os.environ, MIXDOWN_CACHE_DIR=str(w / f"cache{k}")))
            t_auto.append(dt)
            r_auto.append(rss)
            dt, rss = measured(render)
            t_render.append(dt)
            r_render.append(rss)
    out = {"programme_s": args.seconds, "auto": summary(t_auto, r_auto), "render": summary(t_render, r_render),
           "auto_all_s": [round(t, 2) for t in t_auto], "render_all_s": [round(t, 2) for t in t_render]}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
