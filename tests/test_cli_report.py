"""`mixdown report` in the three documented forms, and `render --report` in one render (CLI as a subprocess)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

DATA = Path(__file__).parent / "data"


def run(*args, cwd=None, stdout=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=stdout is None,
                          stdout=stdout, stderr=subprocess.PIPE if stdout is not None else None, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def auto_result(tmp_path_factory):
    """The README's form, with relative paths from the project folder: auto ... --save-session --json > out/r.json."""
    d = tmp_path_factory.mktemp("readme")
    (d / "media").mkdir()
    shutil.copy(DATA / "speech_host_16k.flac", d / "media" / "host.flac")
    shutil.copy(DATA / "music_16k.flac", d / "media" / "music.flac")
    (d / "out").mkdir()
    with open(d / "out" / "result.json", "w") as fh:
        r = run("auto", "--dialogue", "media/host.flac", "--music", "media/music.flac", "--target", "podcast",
                "-o", "out/mix.wav", "--save-session", "out/decided.yaml", "--json", cwd=d, stdout=fh)
    assert r.returncode in (0, 3), r.stderr
    return d


def _plots(html: str) -> int:
    return len(re.findall(r"<img ", html))


def test_report_of_the_auto_json_written_from_the_project_folder(auto_result):
    d = auto_result
    result = json.loads((d / "out" / "result.json").read_text())
    # stdout has no folder to be relative to: the paths in it are absolute
    assert Path(result["session"]).is_absolute() and Path(result["output"]).is_absolute()
    r = run("report", "out/result.json", "-o", "r.html", cwd=d)
    assert r.returncode == 0, r.stderr
    html = (d / "r.html").read_text()
    assert _plots(html) >= 4  # loudness, levels and the tracks' waveforms: the session was found
    # and from any other folder
    r = run("report", d / "out" / "result.json", "-o", "r2.html", cwd=d / "media")
    assert r.returncode == 0, r.stderr


def test_a_relative_path_in_a_result_is_read_relative_to_the_result(auto_result, tmp_path):
    d = auto_result
    result = json.loads((d / "out" / "result.json").read_text())
    result["session"], result["output"] = "decided.yaml", "mix.wav"
    (d / "out" / "relative.json").write_text(json.dumps(result))
    r = run("report", "out/relative.json", "-o", tmp_path / "r.html", cwd=d)
    assert r.returncode == 0, r.stderr
    result["session"] = "nowhere.yaml"
    (d / "out" / "missing.json").write_text(json.dumps(result))
    r = run("report", "out/missing.json", "-o", tmp_path / "r.html", cwd=d)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "nowhere.yaml" in r.stderr and "relative to the result file" in r.stderr


def test_report_of_the_decided_session(auto_result):
    d = auto_result
    r = run("report", "out/decided.yaml", "-o", "r3.html", "--json-out", "r3.json", cwd=d)
    assert r.returncode == 0, r.stderr
    data = json.loads((d / "r3.json").read_text())
    assert [t["name"] for t in data["tracks"]] == ["host", "music"]
    assert data["mix_qc"]["duration_s"] == pytest.approx(data["programme"]["duration_s"], abs=0.01)


def test_report_of_a_media_file_says_what_it_accepts(auto_result):
    d = auto_result
    r = run("report", "out/mix.wav", "-o", "r4.html", cwd=d)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mixdown: error: out/mix.wav")
    assert ".yaml" in lines[0] and "--mix" in lines[0]
    assert not (d / "r4.html").exists()


_COUNTING = """
import sys
from pathlib import Path
import mixdown.render.engine as engine
import mixdown.media.decode as decode
renders, decoded = [], []
_init = engine.Renderer.__init__
def init(self, *a, **k):
    renders.append(1)
    _init(self, *a, **k)
engine.Renderer.__init__ = init
_open = decode.open_source
def open_source(path, *a, **k):
    decoded.append(Path(path).name)
    return _open(path, *a, **k)
decode.open_source = open_source
from mixdown.cli import main
try:
    main(sys.argv[1:])
finally:
    print("RENDERS", len(renders), "OUTPUT_DECODED", decoded.count("out.wav"), file=sys.stderr)
"""


def test_render_report_rides_on_the_render(tmp_path):
    x, fs = sf.read(DATA / "speech_host_16k.flac", dtype="float32")
    sf.write(tmp_path / "host.flac", x, fs)
    m, _ = sf.read(DATA / "music_16k.flac", dtype="float32")
    sf.write(tmp_path / "music.flac", 0.3 * m, fs)
    (tmp_path / "s.yaml").write_text(
        "mixdown: 1\nsample_rate: 48000\ntracks:\n"
        "  - {name: Host, role: dialogue, clips: [{source: host.flac}], chain: [{type: highpass, freq_hz: 80}]}\n"
        "  - {name: Music, role: music, gain_db: -12, clips: [{source: music.flac}]}\n")
    r = subprocess.run([sys.executable, "-c", _COUNTING, "render", str(tmp_path / "s.yaml"), "-o",
                        str(tmp_path / "out.wav"), "--report", str(tmp_path / "r.html"), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    counts = re.search(r"RENDERS (\d+) OUTPUT_DECODED (\d+)", r.stderr)
    assert counts and counts.groups() == ("1", "0"), r.stderr  # one render; the mix is not read back
    summary = json.loads(r.stdout)
    html = (tmp_path / "r.html").read_text()
    data = json.loads(re.search(r'id="mixdown-report-data">(.*?)</script>', html).group(1))
    # the report's numbers are the render's own meter
    assert data["loudness"]["integrated_lufs"] == pytest.approx(summary["measured"]["integrated_lufs"], abs=1e-9)
    assert [t["name"] for t in data["tracks"]] == ["Host", "Music"] and _plots(html) >= 5
    # same bytes as a render without a report
    r2 = run("render", tmp_path / "s.yaml", "-o", tmp_path / "plain.wav")
    assert r2.returncode == 0, r2.stderr
    assert (tmp_path / "plain.wav").read_bytes() == (tmp_path / "out.wav").read_bytes()
    assert np.isfinite(data["mix_qc"]["correlation"])
