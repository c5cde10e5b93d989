"""Memory stays bounded whatever the programme length (issues 18 and 12): ``render`` and
``measure`` of a long programme peak at about the RSS of a short one -- measured, from 10 to
60 minutes of programme, not argued from the block size.

Peak RSS is measured from outside, as the operating system counts it (``ru_maxrss`` of
a child process run from a fresh wrapper, so that no other child's peak is mixed in).
The source is one minute of silent FLAC looped by many clips: cheap to store, decode and
render, and the output (FLAC of silence) is tiny. The default suite compares 10 with 60
minutes -- holding the 50 extra minutes of the stereo float32 programme would cost 576 MB
more, holding even one of its tracks' decoded int16 source 288 MB; the tests marked slow
run the same comparison with a tone through a compressor and a reverb on every track
(processor state must not grow either), and render and measure 10 hours (today ~190 MB
either way).
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


def programme(folder: Path, seconds: int, name: str, *, tone: bool = False) -> Path:
    """A session of two tracks, each ``seconds`` long, looping one minute of FLAC.

    ``tone``: a -30 dBFS 1 kHz tone (a whole number of periods a minute: it loops without
    a click) through a compressor and a reverb on each track; else silence, no inserts.
    """
    src = folder / ("tone.flac" if tone else "silence.flac")
    if not src.exists():
        t = np.arange(48000 * 60) / 48000
        x = (1036 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16) if tone else np.zeros(t.size, np.int16)
        sf.write(src, np.stack([x, x], axis=1), 48000, subtype="PCM_16")
    clips, rest = divmod(seconds, 60)
    lines = "".join(f"      - {{source: {src.name}, start: {i * 60}}}\n" for i in range(clips))
    if rest:
        lines += f"      - {{source: {src.name}, start: {clips * 60}, duration: {rest}}}\n"
    chain = "    chain:\n      - {type: compressor, threshold_db: -40}\n      - {type: reverb}\n" if tone else ""
    tracks = "".join(f"  - name: {t}\n    clips:\n{lines}{chain}" for t in ("A", "B"))
    (folder / f"{name}.yaml").write_text(f"mixdown: 1\ntracks:\n{tracks}")
    return folder / f"{name}.yaml"


def growth(folder: Path, short_s: int, long_s: int, *, tone: bool = False) -> tuple[float, float, float, float]:
    """Peak RSS, MB, of (render short, measure short, render long, measure long)."""
    peaks = []
    for name, seconds in (("short", short_s), ("long", long_s)):
        session = programme(folder, seconds, name, tone=tone)
        out = folder / f"{name}.flac"
        peaks.append(peak_mb("render", session, "-o", out, "--format", "flac"))
        peaks.append(peak_mb("measure", out))
    return tuple(peaks)  # type: ignore[return-value]


def test_peak_memory_is_flat_from_10_to_60_minutes(tmp_path: Path) -> None:
    r_short, m_short, r_long, m_long = growth(tmp_path, 10 * 60, 60 * 60)
    # 25 MB: allocator noise and the longer clip list; the programme would be 576 MB
    assert r_long - r_short < 25, (r_short, r_long)
    assert m_long - m_short < 25, (m_short, m_long)


@pytest.mark.slow
def test_peak_memory_with_processors_is_flat_from_10_to_60_minutes(tmp_path: Path) -> None:
    r_short, m_short, r_long, m_long = growth(tmp_path, 10 * 60, 60 * 60, tone=True)
    assert r_long - r_short < 25, (r_short, r_long)
    assert m_long - m_short < 25, (m_short, m_long)


@pytest.mark.slow
def test_ten_hours_render_and_measure_in_bounded_memory(tmp_path: Path) -> None:
    r_short, m_short, r_long, m_long = growth(tmp_path, 60, 10 * 3600)
    assert r_long - r_short < 40 and r_long < 400, (r_short, r_long)
    assert m_long - m_short < 40 and m_long < 400, (m_short, m_long)
