"""Editor round trips render: export -> import -> render of the example session, in every format (subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "podcast"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _clips(path: Path) -> list[tuple[str, float, float]]:
    """(source name, start s, end s) of every clip as the renderer places it, sorted."""
    from mixdown.render.graph import check
    from mixdown.session import load_session

    g = check(load_session(path))
    return sorted((c.path.name, c.start / g.sample_rate, c.end / g.sample_rate)
                  for strip in g.strips.values() for c in strip.clips)


# session.yaml: the hand-made example; raw.yaml: whole-file clips, whose ends are their media's ends (77.50 s
# for host.flac, 1937.5 frames at 25 fps: a clip end rounded to the nearest frame runs past the media)
@pytest.mark.parametrize("ext", ["xml", "fcpxml", "edl", "otio"])
@pytest.mark.parametrize("name,seconds", [("session.yaml", 100.0), ("raw.yaml", 83.5)])
def test_export_import_render(tmp_path, ext, name, seconds):
    r = run("export", EXAMPLE / name, "-o", tmp_path / f"cut.{ext}")
    assert r.returncode == 0, r.stderr
    r = run("import", tmp_path / f"cut.{ext}", "-o", tmp_path / "back.yaml", "--media-root", EXAMPLE)
    assert r.returncode == 0, r.stderr
    r = run("render", tmp_path / "back.yaml", "-o", tmp_path / "back.wav")
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "back.wav").duration == pytest.approx(seconds, abs=0.04)
    # every clip is where the session had it, within the format's frame (25 fps: 40 ms)
    original = _clips(EXAMPLE / name)
    back = _clips(tmp_path / "back.yaml")
    assert [c[0] for c in back] == [c[0] for c in original]
    for (_, a0, a1), (_, b0, b1) in zip(original, back, strict=True):
        assert abs(a0 - b0) <= 0.04 and abs(a1 - b1) <= 0.04


def test_a_clip_past_its_media_by_part_of_a_frame_is_not_imported_exactly(tmp_path):
    """An editor rounds clip ends to frames: a clip may reach past its media (77.52 s of a 77.50 s file)."""
    r = run("export", EXAMPLE / "raw.yaml", "-o", tmp_path / "cut.xml")
    assert r.returncode == 0, r.stderr
    xml = (tmp_path / "cut.xml").read_text()
    # host.flac is 77.50 s, 1937.5 frames at 25 fps; its clip item ends on frame 1937: make it 1938
    item = re.search(r"<clipitem[^>]*>(?:(?!</clipitem>).)*?host\.flac.*?</clipitem>", xml, re.S).group(0)
    out = int(re.search(r"<out>(\d+)</out>", item).group(1))
    end = int(re.search(r"<end>(\d+)</end>", item).group(1))
    edited = item.replace(f"<out>{out}</out>", f"<out>{out + 1}</out>").replace(f"<end>{end}</end>",
                                                                             f"<end>{end + 1}</end>")
    (tmp_path / "late.xml").write_text(xml.replace(item, edited))
    r = run("import", tmp_path / "late.xml", "-o", tmp_path / "late.yaml", "--media-root", EXAMPLE)
    assert r.returncode == 0, r.stderr
    assert "exactly" not in r.stdout and "past the end of its media 'host.flac'" in r.stdout
    r = run("render", tmp_path / "late.yaml", "-o", tmp_path / "late.wav")
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load((tmp_path / "late.yaml").read_text())
    assert data["tracks"]
