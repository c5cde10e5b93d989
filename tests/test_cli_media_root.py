"""`--media-root DIR` on every command that accepts an editor timeline, with one meaning.

The timeline (Premiere-style FCP7 XML) names its media by absolute paths that no
longer exist: the WAVs were moved to another folder. With ``--media-root`` each
command finds them by file name and does its work (the tones sound where the
editor put them); without it the command stops with one ``mixdown: error:`` line
naming the timeline and the missing files, exit 2. A session file given
``--media-root`` is refused (its sources are paths it names: the option would do
nothing).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.interchange.testing import tone_timeline


def run(*args, cwd: Path):
    env = dict(os.environ, MIXDOWN_CACHE_DIR=str(cwd / "cache"))
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env, check=False)


@pytest.fixture
def moved(tmp_path):
    """``project/cut.xml`` whose three tone WAVs now live in ``DIR/deep``; returns (cwd, tones)."""
    timeline, tones = tone_timeline(tmp_path / "project", "fcp7")
    deep = tmp_path / "DIR" / "deep"
    deep.mkdir(parents=True)
    for t in tones:
        shutil.move(t.path, deep / t.path.name)
    timeline.rename(tmp_path / "project" / "cut.xml")
    return tmp_path, tones


def assert_one_line_missing(r, tones):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    line = lines[0]
    # the timeline named as given (the studio names it absolute), then every missing file
    assert line.startswith("mixdown: error: ") and "project/cut.xml: 3 media file(s) not found: " in line, line
    assert all(t.path.name in line for t in tones) and "--media-root DIR" in line
    assert "Traceback" not in r.stderr


def onsets_at_tones(wav: Path, tones) -> None:
    audio, _ = sf.read(wav, always_2d=True)
    env = np.abs(audio).max(axis=1)
    for tone in tones:
        window = env[tone.onset_sample - 5: tone.onset_sample + 2000]
        onset = int(np.flatnonzero(window > 1e-3)[0]) + tone.onset_sample - 5
        assert onset == tone.onset_sample, (tone.name, onset, tone.onset_sample)


def test_import(moved):
    cwd, tones = moved
    assert_one_line_missing(run("import", "project/cut.xml", "-o", "s.yaml", cwd=cwd), tones)
    assert not (cwd / "s.yaml").exists()
    r = run("import", "project/cut.xml", "-o", "s.yaml", "--media-root", "DIR", cwd=cwd)
    assert r.returncode == 0, r.stderr
    import yaml

    sources = [c["source"] for t in yaml.safe_load((cwd / "s.yaml").read_text())["tracks"] for c in t["clips"]]
    assert sorted((cwd / "s.yaml").parent.joinpath(s).resolve() for s in sources) == \
        sorted((cwd / "DIR" / "deep" / t.path.name).resolve() for t in tones)


def test_render(moved):
    cwd, tones = moved
    assert_one_line_missing(run("render", "project/cut.xml", "-o", "mix.wav", cwd=cwd), tones)
    assert not (cwd / "mix.wav").exists()
    # the README's form
    r = run("render", "project/cut.xml", "-o", "mix.wav", "--media-root", "DIR", cwd=cwd)
    assert r.returncode == 0, r.stderr
    onsets_at_tones(cwd / "mix.wav", tones)


def test_export(moved):
    cwd, tones = moved
    assert_one_line_missing(run("export", "project/cut.xml", "-o", "back.otio", cwd=cwd), tones)
    assert not (cwd / "back.otio").exists()
    r = run("export", "project/cut.xml", "-o", "back.otio", "--media-root", "DIR", cwd=cwd)
    assert r.returncode == 0, r.stderr
    text = (cwd / "back.otio").read_text()
    assert all(f"DIR/deep/{t.path.name}".replace(" ", "%20") in text for t in tones)


def test_auto(moved):
    cwd, tones = moved
    args = ("auto", "project/cut.xml", "--target", "podcast", "--vad", "energy", "-o", "auto.wav")
    assert_one_line_missing(run(*args, cwd=cwd), tones)
    assert not (cwd / "auto.wav").exists()
    r = run(*args, "--media-root", "DIR", cwd=cwd)
    assert r.returncode == 0, r.stderr
    audio, _ = sf.read(cwd / "auto.wav", always_2d=True)
    assert np.abs(audio).max() > 0.01  # the moved tones are in the mix


def test_report(moved):
    cwd, tones = moved
    assert_one_line_missing(run("report", "project/cut.xml", "-o", "r.html", cwd=cwd), tones)
    assert not (cwd / "r.html").exists()
    r = run("report", "project/cut.xml", "-o", "r.html", "--media-root", "DIR", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert "Tones" in (cwd / "r.html").read_text(encoding="utf-8")


def test_deliver(moved):
    cwd, tones = moved
    assert_one_line_missing(run("deliver", "project/cut.xml", cwd=cwd), tones)
    # found: the media are no longer the problem; a timeline lists no deliverables, which is said next
    r = run("deliver", "project/cut.xml", "--media-root", "DIR", cwd=cwd)
    assert r.returncode == 2 and "not found" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "mixdown: error: deliverables: the session lists no deliverables"


def test_studio(moved):
    cwd, tones = moved
    assert_one_line_missing(run("studio", "project/cut.xml", "--no-browser", cwd=cwd), tones)
    env = dict(os.environ, MIXDOWN_CACHE_DIR=str(cwd / "cache"))
    p = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "studio", "project/cut.xml", "--media-root", "DIR",
                          "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    try:
        line = p.stdout.readline()
        assert line.startswith("studio: http://127.0.0.1:"), line
        # the page is served (and Ctrl-C is the server's to handle) once it answers
        with urllib.request.urlopen(line.split(" ", 1)[1].strip(), timeout=30) as r:
            assert r.status == 200
    finally:
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err


@pytest.mark.parametrize("command", [["render", "-o", "mix.wav"], ["studio", "--no-browser"]])
def test_session_file_refuses_media_root(tmp_path, command):
    session = Path(__file__).resolve().parents[1] / "examples" / "podcast" / "session.yaml"
    r = run(command[0], session, *command[1:], "--media-root", tmp_path, cwd=tmp_path)
    assert r.returncode == 2
    refusal = (f"mixdown: error: --media-root applies to editor timelines (.xml .fcpxml .edl .otio), not to {session}: "
               "a session file's clip sources are paths relative to it")
    assert r.stderr.strip().splitlines() == [refusal]
    assert not (tmp_path / "mix.wav").exists()
