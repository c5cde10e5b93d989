"""Checks across the jobs of a batch: what no single job's report can see.

- **Loudness spread**: the integrated loudness of the episodes (per target) and of the
  versions of each group; listeners hear a jump between episodes long before a
  tolerance is broken, so a spread over the tolerance (at least 1 LU) is a warning.
- **Outliers**: a job whose loudness range, or the gain the master stage had to apply
  (an input recorded far quieter or louder than the others), lies far from the rest —
  a robust z-score (median and MAD) over 3.5 and over a floor that matters to the ear;
  and a programme much shorter than the others (a truncated input).
- **Versions**: within a group, a version whose duration differs from the others, or
  whose M&E does (other sources for a non-dialogue track, or a non-dialogue track at
  another level: its fader plus the master's loudness gain).
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from .result import Finding, JobRecord

DURATION_MATCH_S = 0.05  # versions of one programme are conformed to the frame
ME_MATCH_DB = 1.0
MIN_FOR_OUTLIERS = 5
OUTLIER_Z = 3.5
FLOORS = {"lra_lu": 3.0, "loudness_gain_db": 6.0}
LABELS = {"lra_lu": ("loudness range", "LU"), "loudness_gain_db": ("master loudness gain", "dB")}

__all__ = ["check_catalogue"]


def check_catalogue(jobs: list[JobRecord]) -> list[Finding]:
    """Every finding over the jobs that are done (this run or before)."""
    done = [j for j in jobs if j.ok and j.integrated_lufs is not None]
    out: list[Finding] = []
    by_target: dict[str, list[JobRecord]] = defaultdict(list)
    for j in done:
        by_target[(j.target or {}).get("name", "no target")].append(j)
    for target, group in by_target.items():
        out.extend(_spread(group, f"across {len(group)} jobs (target {target})", "loudness-spread"))
    out.extend(_outliers(done))
    groups: dict[str, list[JobRecord]] = defaultdict(list)
    for j in done:
        if j.group is not None:
            groups[j.group].append(j)
    for name, members in groups.items():
        if len(members) < 2:
            continue
        out.extend(_spread(members, f"across the {len(members)} versions of {name}", "version-loudness"))
        out.extend(_durations(name, members))
        out.extend(_me(name, members))
    return out


def _spread(jobs: list[JobRecord], what: str, check: str) -> list[Finding]:
    if len(jobs) < 2:
        return []
    values = [(j.integrated_lufs, j.name) for j in jobs if j.integrated_lufs is not None]
    lo, hi = min(values), max(values)
    spread = hi[0] - lo[0]
    tol = max((j.target or {}).get("tolerance_lu", 1.0) for j in jobs)
    bad = spread > max(tol, 1.0)
    msg = (f"integrated loudness {what}: {lo[0]:.2f} ({lo[1]}) to {hi[0]:.2f} LUFS ({hi[1]}), "
           f"spread {spread:.2f} LU")
    return [Finding(check, "warning" if bad else "info", msg, [lo[1], hi[1]] if bad else [])]


def _outliers(jobs: list[JobRecord]) -> list[Finding]:
    out: list[Finding] = []
    if len(jobs) < MIN_FOR_OUTLIERS:
        return out
    for key, floor in FLOORS.items():
        values = {j.name: _metric(j, key) for j in jobs}
        xs = [v for v in values.values() if v is not None]
        if len(xs) < MIN_FOR_OUTLIERS:
            continue
        med = statistics.median(xs)
        mad = statistics.median(abs(x - med) for x in xs) * 1.4826
        limit = max(OUTLIER_Z * mad, floor)
        label, unit = LABELS[key]
        for name, v in values.items():
            if v is not None and abs(v - med) > limit:
                out.append(Finding("outlier", "warning",
                                   f"{name}: {label} {v:.1f} {unit}, the others' median is {med:.1f} {unit}", [name]))
    durations = [j.duration_s for j in jobs if j.duration_s]
    if len(durations) >= MIN_FOR_OUTLIERS:
        med = statistics.median(durations)
        for j in jobs:
            if j.duration_s and j.duration_s < 0.5 * med:
                out.append(Finding("outlier", "warning", f"{j.name}: {j.duration_s:.1f} s long, under half the "
                                   f"median of {med:.1f} s (a truncated input?)", [j.name]))
    return out


def _metric(j: JobRecord, key: str) -> float | None:
    v = getattr(j, key, None) if key == "lra_lu" else j.data.get(key)
    return float(v) if v is not None else None


def _durations(group: str, jobs: list[JobRecord]) -> list[Finding]:
    xs = {j.name: j.duration_s for j in jobs if j.duration_s is not None}
    if len(xs) < 2 or max(xs.values()) - min(xs.values()) <= DURATION_MATCH_S:
        return []
    med = statistics.median(xs.values())
    names = {j.name: j.version or j.name for j in jobs}
    odd = [n for n, d in xs.items() if abs(d - med) > DURATION_MATCH_S] or list(xs)
    listing = ", ".join(f"{names[n]} {d:.2f} s" for n, d in xs.items())
    return [Finding("version-duration", "warning",
                    f"{group}: the versions are not one length ({listing})", odd)]


def _me(group: str, jobs: list[JobRecord]) -> list[Finding]:
    """Non-dialogue tracks compared by name across the versions: sources and level."""
    tracks: dict[str, dict[str, tuple[tuple[str, ...], float]]] = defaultdict(dict)
    for j in jobs:
        master = float(j.data.get("loudness_gain_db") or 0.0)
        for t in j.data.get("tracks", []):
            if t.get("role") != "dialogue":
                tracks[str(t["name"])][j.name] = (tuple(t.get("sources", [])), float(t.get("gain_db") or 0.0) + master)
    out = []
    names = {j.name: j.version or j.name for j in jobs}
    for track, per_job in tracks.items():
        missing = [n for n in names if n not in per_job]
        if missing:
            out.append(Finding("version-me", "warning", f"{group}: the M&E track {track!r} is missing from "
                               f"{', '.join(names[n] for n in missing)}", missing))
        sources = [s for s, _ in per_job.values()]
        common = max(set(sources), key=sources.count)
        for n, (src, _) in per_job.items():
            if src != common:
                out.append(Finding("version-me", "warning", f"{group}: version {names[n]} plays other media on the "
                                   f"M&E track {track!r} ({', '.join(src)}) than the others", [n]))
        levels = {n: lvl for n, (_, lvl) in per_job.items()}
        if len(levels) >= 2 and max(levels.values()) - min(levels.values()) > ME_MATCH_DB:
            med = statistics.median(levels.values())
            odd = [n for n, v in levels.items() if abs(v - med) > ME_MATCH_DB / 2]
            listing = ", ".join(f"{names[n]} {v:+.1f} dB" for n, v in levels.items())
            out.append(Finding("version-me", "warning", f"{group}: the M&E track {track!r} is not at one level "
                               f"across the versions (fader + master gain: {listing})", odd))
    return out
