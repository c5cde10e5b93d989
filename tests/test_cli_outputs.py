"""Outputs of every command (issues 11 and 18): never over an input, checked before any work,
written with the permissions any new file gets.

Every case runs the CLI as a user would (a subprocess in a copy of the bundled example)
and checks the input's bytes afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

POD = Path(__file__).resolve().parents[1] / "examples" / "podcast"


def run(*args, cwd=None, umask=None):
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, preexec_fn=pre)


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a hash of its bytes (what must not change)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() or p.is_symlink()}


@pytest.fixture()
def pod(tmp_path: Path) -> Path:
    d = tmp_path / "pod"
    d.mkdir()
    shutil.copy(POD / "raw.yaml", d)
    shutil.copytree(POD / "media", d / "media")
    return d


@pytest.fixture()
def short(tmp_path: Path) -> Path:
    """A two-second session with one clip: cheap to render."""
    d = tmp_path / "short"
    (d / "media").mkdir(parents=True)
    t = np.arange(2 * 48000) / 48000
    sf.write(d / "media" / "tone.wav", (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000,
             subtype="PCM_24")
    (d / "s.yaml").write_text("mixdown: 1\ntracks:\n  - name: Tone\n    clips:\n      - {source: media/tone.wav}\n")
    return d


def refused(r: subprocess.CompletedProcess, what: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("mixdown: error:") and "refusing to" in lines[-1] and what in lines[-1], r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args,what", [
    (("--target", "podcast", "--save-session", "raw.yaml"), "raw.yaml"),
    (("--target", "podcast", "-o", "mix.wav", "--report", "media/host.flac"), "media/host.flac"),
    (("--target", "podcast", "-o", "mix.wav", "--save-session", "media/typing.flac"), "media/typing.flac"),
    (("--target", "podcast", "-o", "media/guest.flac"), "media/guest.flac"),
])
def test_auto_refuses_to_write_over_its_inputs(pod: Path, args: tuple, what: str) -> None:
    before = digest(pod)
    r = run("auto", "raw.yaml", *args, cwd=pod)
    refused(r, what)
    assert digest(pod) == before  # nothing changed, nothing left behind (no temp file, no scratch folder)


def test_auto_refuses_stems_over_an_input(pod: Path) -> None:
    # the music as a WAV inside the stems folder: the music stem would be written over it
    sf.write(pod / "media" / "music.wav", np.zeros((4800, 2), np.float32), 48000)
    (pod / "raw.yaml").write_text((pod / "raw.yaml").read_text().replace("media/music.ogg", "media/music.wav"))
    before = digest(pod)
    refused(run("auto", "raw.yaml", "--target", "podcast", "--stems", "media", cwd=pod), "media/music.wav")
    assert digest(pod) == before


def test_links_to_an_input_are_inputs(pod: Path) -> None:
    (pod / "link.yaml").symlink_to(pod / "raw.yaml")
    os.link(pod / "media" / "host.flac", pod / "hard.flac")
    before = digest(pod)
    refused(run("auto", "raw.yaml", "--target", "podcast", "--save-session", "link.yaml", cwd=pod), "link.yaml")
    refused(run("auto", "raw.yaml", "--target", "podcast", "-o", "mix.wav", "--report", "hard.flac", cwd=pod),
            "hard.flac")
    assert digest(pod) == before


def test_export_import_report_render_refuse_their_inputs(short: Path) -> None:
    r = run("export", "s.yaml", "-o", "cut.xml", cwd=short)
    assert r.returncode == 0, r.stderr
    before = digest(short)
    refused(run("export", "cut.xml", "-o", "cut.xml", cwd=short), "cut.xml")
    refused(run("export", "s.yaml", "-o", "media/tone.wav", cwd=short), "media/tone.wav")
    refused(run("render", "s.yaml", "-o", "media/tone.wav", cwd=short), "media/tone.wav")
    refused(run("render", "s.yaml", "-o", "mix.wav", "--report", "s.yaml", cwd=short), "s.yaml")
    refused(run("render", "cut.xml", "-o", "cut.xml", cwd=short), "cut.xml")
    refused(run("report", "s.yaml", "-o", "s.yaml", cwd=short), "s.yaml")
    refused(run("report", "s.yaml", "-o", "media/tone.wav", cwd=short), "media/tone.wav")
    refused(run("report", "s.yaml", "-o", "r.html", "--mix", "media/tone.wav", "--json-out", "media/tone.wav",
                cwd=short), "media/tone.wav")
    assert digest(short) == before
    result = short / "result.json"
    result.write_text(json.dumps({"output": "media/tone.wav", "session": "s.yaml", "decisions": []}))
    before = digest(short)
    refused(run("report", "result.json", "-o", "result.json", cwd=short), "result.json")
    refused(run("report", "result.json", "-o", "r.html", "--json-out", "media/tone.wav", cwd=short), "media/tone.wav")
    assert digest(short) == before


@pytest.mark.parametrize("argv,what", [
    (("render", "s.yaml", "-o", "mix.wav", "--report", "nowhere/r.html"), "--report"),
    (("render", "s.yaml", "-o", "nowhere/mix.wav"), "-o"),
    (("render", "s.yaml", "-o", "media"), "-o"),
    (("render", "s.yaml", "-o", "mix.wav", "--report", "mix.wav"), "name the same file"),
    (("auto", "s.yaml", "--target", "podcast", "-o", "mix.wav", "--save-session", "nowhere/d.yaml"),
     "--save-session"),
    (("auto", "s.yaml", "--target", "podcast", "-o", "mix.wav", "--report", "nowhere/r.html"), "--report"),
    (("export", "s.yaml", "-o", "nowhere/cut.xml"), "-o"),
    (("import", "cut.xml", "-o", "nowhere/s.yaml"), "-o"),
    (("report", "s.yaml", "-o", "nowhere/r.html"), "-o"),
])
def test_output_locations_are_checked_before_any_work(short: Path, argv: tuple, what: str) -> None:
    if argv[0] == "import":
        assert run("export", "s.yaml", "-o", "cut.xml", cwd=short).returncode == 0
    before = digest(short)
    r = run(*argv, cwd=short)
    assert r.returncode == 2 and what in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("mixdown: error:")
    assert digest(short) == before  # no mix written first, no temp file left


def test_deliverable_folders_are_checked_before_the_render(short: Path) -> None:
    (short / "blocker").write_text("a file where a folder is needed")
    (short / "d.yaml").write_text((short / "s.yaml").read_text() + (
        "deliverables:\n  - {path: out/mix.wav}\n  - {path: blocker/mix.flac}\n"))
    before = digest(short)
    r = run("deliver", "d.yaml", cwd=short)
    assert r.returncode == 2 and "deliverables[1].path" in r.stderr and "not a folder" in r.stderr, r.stderr
    assert digest(short) == before and not (short / "out").exists()


def test_outputs_get_the_mode_of_any_new_file(short: Path) -> None:
    umask = 0o002  # group-writable: what a shared project folder uses, and not what mkstemp gives
    mode = 0o666 & ~umask
    assert run("render", "s.yaml", "-o", "mix.wav", "--report", "r.html", cwd=short, umask=umask).returncode == 0
    assert run("export", "s.yaml", "-o", "cut.xml", cwd=short, umask=umask).returncode == 0
    assert run("import", "cut.xml", "-o", "back.yaml", cwd=short, umask=umask).returncode == 0
    assert run("render", "s.yaml", "-o", "mix.flac", "--format", "flac", cwd=short, umask=umask).returncode == 0
    for name in ("mix.wav", "r.html", "cut.xml", "back.yaml", "mix.flac"):
        assert (short / name).stat().st_mode & 0o777 == mode, name


def test_stale_temp_files_of_a_dead_run_are_removed_and_said(short: Path) -> None:
    from mixdown.files.temp import temp_name

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    mine = temp_name(short / "mix.wav")  # this (live) process's name: must survive
    mine.write_bytes(b"live")
    left = Path(str(temp_name(short / "mix.wav")).replace(f"-{os.getpid()}-", f"-{pid}-"))
    left.write_bytes(b"half a mix")
    folder = short / f".mixdown-auto-{left.name.split('mixdown-tmp-')[1].rsplit('.', 1)[0]}"
    folder.mkdir()
    (folder / "premaster.f32").write_bytes(b"\0" * 1000)
    r = run("render", "s.yaml", "-o", "mix.wav", cwd=short)
    assert r.returncode == 0, r.stderr
    assert not left.exists() and not folder.exists() and mine.exists()
    assert f"removed {left.name}" in r.stderr and f"removed {folder.name}" in r.stderr
    assert "interrupted mixdown run" in r.stderr


def test_pipeline_jobs_go_through_the_same_guard(pod: Path) -> None:
    from mixdown.errors import MediaError
    from mixdown.pipeline import Job
    from mixdown.pipeline import run as run_job

    before = digest(pod)
    for job in (Job(mode="auto", session=str(pod / "raw.yaml"), target="podcast", save_session=str(pod / "raw.yaml")),
                Job(mode="auto", session=str(pod / "raw.yaml"), target="podcast", output=str(pod / "mix.wav"),
                    report=str(pod / "media" / "host.flac")),
                Job(mode="render", session=str(pod / "raw.yaml"), output=str(pod / "nowhere" / "mix.wav"))):
        with pytest.raises(MediaError, match="refusing to overwrite|does not exist"):
            run_job(job)
    assert digest(pod) == before
