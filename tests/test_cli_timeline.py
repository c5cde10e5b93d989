"""Timelines through the CLI: import -> render places tones; export -> auto TIMELINE."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.interchange.testing import tone_timeline

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("fmt", ["fcp7", "fcpxml", "edl", "otio"])
def test_import_then_render_places_tones(tmp_path, fmt):
    # the sequence starts at 01:00:00;00 (EDLs carry no sequence start: the hour of the first event is used)
    timeline, tones = tone_timeline(tmp_path, fmt, frame_rate=Fraction(30000, 1001), drop_frame=True,
                                    start_frame=107892)
    r = run(
        "import", timeline, "-o", tmp_path / "s.yaml", "--json", *(["--frame-rate", "29.97"] if fmt == "edl" else [])
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["session"].endswith("s.yaml")
    r = run("render", tmp_path / "s.yaml", "-o", tmp_path / "out.wav")
    assert r.returncode == 0, r.stderr
    audio, sr = sf.read(tmp_path / "out.wav", always_2d=True)
    env = np.abs(audio).max(axis=1)
    for tone in tones:
        # the first sample at the tone's level lands exactly where the editor put it
        onset = (
            int(np.flatnonzero(env[tone.onset_sample - 5 : tone.onset_sample + 2000] > 1e-3)[0]) + tone.onset_sample - 5
        )
        assert onset == tone.onset_sample, (fmt, onset, tone.onset_sample)


def test_import_errors_are_one_line(tmp_path):
    (tmp_path / "bad.xml").write_text("<xmeml><sequence><name>x</name></sequence>")
    r = run("import", tmp_path / "bad.xml", "-o", tmp_path / "s.yaml")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "bad.xml" in r.stderr
    r = run("import", tmp_path / "bad.xml", "-o", tmp_path / "s.yaml", "--role", "A1")
    assert r.returncode == 2 and "TRACK=ROLE" in r.stderr


def test_export_then_auto_on_the_timeline(tmp_path):
    media = ROOT / "examples" / "podcast" / "media"
    (tmp_path / "s.yaml").write_text(
        "mixdown: 1\ntracks:\n"
        f"  - {{name: Dialogue, role: dialogue, clips: [{{source: {media / 'host.flac'}, start: 1, duration: 20}}]}}\n"
        f"  - {{name: Music, role: music, clips: [{{source: {media / 'music.ogg'}, duration: 22}}]}}\n")
    r = run("export", tmp_path / "s.yaml", "-o", tmp_path / "cut.xml")
    assert r.returncode == 0, r.stderr
    r = run("auto", tmp_path / "cut.xml", "--target", "podcast", "-o", tmp_path / "mix.wav",
            "--save-session", tmp_path / "decided.yaml", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert abs(summary["measured"]["integrated_lufs"] + 16) <= 0.2
    assert any(d["kind"] == "duck" and d["target"] == "Music" for d in summary["decisions"])
    # the decided session goes back to the editor with the duck as volume keyframes
    r = run("export", tmp_path / "decided.yaml", "-o", tmp_path / "decided.xml")
    assert r.returncode == 0, r.stderr
    import xml.etree.ElementTree as ET

    root = ET.parse(tmp_path / "decided.xml").getroot()
    keys = root.findall(".//clipitem/filter/effect[name='Audio Levels']/parameter/keyframe")
    assert len(keys) >= 4
