"""Memory stays bounded whatever the programme length (issue 18): ``render`` and ``measure``
of a long programme peak at about the RSS of a short one.

Peak RSS is measured from outside, as the operating system counts it (``ru_maxrss`` of
a child process run from a fresh wrapper, so that no other child's peak is mixed in).
The source is one minute of silent FLAC looped by many clips: cheap to store, decode and
render, and the output (FLAC of silence) is tiny. The default suite compares 20 s with
3 minutes -- holding the programme in memory would cost 69 MB more; the test marked
slow renders and measures 10 hours (today ~190 MB either way).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
         "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
         "sys.stderr.write(r.stderr)")


def peak_mb(*argv: object) -> float:
    """Peak resident memory of ``mixdown argv...``, MB."""
    r = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "mixdown.cli", *map(str, argv)],
                       capture_output=True, text=True, timeout=3600)
    rc, kb = map(int, r.stdout.split())
    assert rc == 0, r.stderr
    return kb / 1024


def programme(folder: Path, seconds: int, name: str) -> Path:
    src = folder / "silence.flac"
    if not src.exists():
        sf.write(src, np.zeros((48000 * 60, 2), np.int16), 48000, subtype="PCM_16")
    clips, rest = divmod(seconds, 60)
    lines = "".join(f"      - {{source: silence.flac, start: {i * 60}}}\n" for i in range(clips))
    if rest:
        lines += f"      - {{source: silence.flac, start: {clips * 60}, duration: {rest}}}\n"
    tracks = "".join(f"  - name: {t}\n    clips:\n{lines}" for t in ("A", "B"))
    (folder / f"{name}.yaml").write_text(f"mixdown: 1\ntracks:\n{tracks}")
    return folder / f"{name}.yaml"


def growth(folder: Path, short_s: int, long_s: int) -> tuple[float, float, float, float]:
    peaks = []
    for name, seconds in (("short", short_s), ("long", long_s)):
        session = programme(folder, seconds, name)
        out = folder / f"{name}.flac"
        peaks.append(peak_mb("render", session, "-o", out, "--format", "flac"))
        peaks.append(peak_mb("measure", out))
    return tuple(peaks)  # type: ignore[return-value]


def test_long_programme_costs_no_more_memory_than_a_short_one(tmp_path: Path) -> None:
    r_short, m_short, r_long, m_long = growth(tmp_path, 20, 180)
    assert r_long - r_short < 25, (r_short, r_long)
    assert m_long - m_short < 25, (m_short, m_long)


@pytest.mark.slow
def test_ten_hours_render_and_measure_in_bounded_memory(tmp_path: Path) -> None:
    r_short, m_short, r_long, m_long = growth(tmp_path, 60, 10 * 3600)
    assert r_long - r_short < 40 and r_long < 400, (r_short, r_long)
    assert m_long - m_short < 40 and m_long < 400, (m_short, m_long)
