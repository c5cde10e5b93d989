"""`render` writes the format its output's suffix names, refuses a suffix that contradicts --format, and says
what it does with a session's deliverables (CLI as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest
import soundfile as sf


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture()
def project(tmp_path):
    t = np.arange(48000 * 2) / 48000
    sf.write(tmp_path / "tone.wav", (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000, subtype="PCM_24")
    (tmp_path / "s.yaml").write_text("mixdown: 1\ntracks:\n  - {name: Tone, clips: [{source: tone.wav}]}\n")
    return tmp_path


def _container(path) -> str:
    with av.open(str(path)) as c:
        return c.format.name


@pytest.mark.parametrize("name,container,codec", [
    ("mix.flac", "flac", "flac"), ("mix.mp3", "mp3", "mp3"), ("mix.wav", "wav", "pcm_s24le"),
    ("mix.m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac"), ("mix.opus", "ogg", "opus"),
])
def test_the_suffix_names_the_format(project, name, container, codec):
    r = run("render", project / "s.yaml", "-o", project / name, "--json")
    assert r.returncode == 0, r.stderr
    assert _container(project / name) == container
    with av.open(str(project / name)) as c:
        assert c.streams.audio[0].codec_context.codec.name.startswith(codec)  # mp3 decodes as "mp3float"
    assert json.loads(r.stdout)["format"] == {"mix.flac": "flac", "mix.mp3": "mp3", "mix.wav": "wav24",
                                             "mix.m4a": "aac", "mix.opus": "opus"}[name]


def test_a_suffix_that_contradicts_format_is_refused(project):
    r = run("render", project / "s.yaml", "-o", project / "mix.flac", "--format", "wav24")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "mix.flac" in r.stderr and ".wav" in r.stderr
    assert not (project / "mix.flac").exists()
    r = run("render", project / "s.yaml", "-o", project / "mix.xyz")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    # --format alone picks the default name's suffix
    r = run("render", project / "s.yaml", "--format", "flac")
    assert r.returncode == 0, r.stderr
    assert _container(project / "s.flac") == "flac"


def test_deliverables_with_render_options(project):
    (project / "d.yaml").write_text(
        "mixdown: 1\ntracks:\n  - {name: Tone, clips: [{source: tone.wav}]}\n"
        "deliverables:\n  - {kind: mix, path: out/d.wav, format: wav24}\n")
    # --format cannot apply to deliverables that name their own: said, not ignored
    r = run("render", project / "d.yaml", "--format", "flac")
    assert r.returncode == 2 and "deliverable" in r.stderr and not (project / "out").exists()
    # --report applies: the page is written beside the deliverables
    r = run("render", project / "d.yaml", "--report", project / "r.html")
    assert r.returncode == 0, r.stderr
    assert (project / "out" / "d.wav").exists() and "<img" in (project / "r.html").read_text()
    # -o renders the master alone, and says the deliverables are not written
    r = run("render", project / "d.yaml", "-o", project / "m.wav")
    assert r.returncode == 0 and "deliverable" in r.stderr and "not written" in r.stderr


def test_auto_refuses_a_suffix_that_contradicts_format(project):
    r = run("auto", "--music", project / "tone.wav", "--lufs", "-20", "-o", project / "a.flac", "--format", "wav24")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "a.flac" in r.stderr
    assert not (project / "a.flac").exists()
