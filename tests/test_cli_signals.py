"""Signals during a run (issue 18): Ctrl-C, SIGTERM and SIGHUP end ``render``, ``auto`` and
``deliver`` within seconds, with 128 + the signal's number, and leave nothing behind -- no
``.NAME.mixdown-tmp-*`` file, no ``.mixdown-*`` scratch folder, no half-written output.

The default suite sends each signal once (to a different command each); the tests marked
slow send every signal to every command, and SIGINT at many moments of a render, from
start-up to the end.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

#: Seconds a signalled run may take to clean up and exit.
EXIT_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(3)
    sf.write(d / "n.flac", (0.1 * rng.standard_normal((48000 * 30, 2))).astype(np.float32), 48000,
             subtype="PCM_16")
    return d / "n.flac"


HOST = Path(__file__).resolve().parents[1] / "examples" / "podcast" / "media" / "host.flac"
INPUTS = {"n.flac", "host.flac", "s.yaml"}


def project(folder: Path, source: Path, *, deliverables: bool = False) -> Path:
    """A 10-minute session of three processed tracks (real speech on the dialogue track, so
    that ``auto`` gets to its render): long enough to be interrupted anywhere."""
    folder.mkdir(parents=True)
    os.link(source, folder / "n.flac")
    shutil.copy(HOST, folder / "host.flac")
    noise = "".join(f"      - {{source: n.flac, start: {30 * i}}}\n" for i in range(20))
    speech = "".join(f"      - {{source: host.flac, start: {77.5 * i}}}\n" for i in range(8))
    text = "mixdown: 1\ntracks:\n" + "".join(
        f"  - name: T{t}\n    role: {role}\n    clips:\n{speech if role == 'dialogue' else noise}    chain:\n"
        "      - {type: compressor, threshold_db: -30, ratio: 3}\n      - {type: highpass, freq_hz: 80}\n"
        for t, role in enumerate(("dialogue", "music", "sfx")))
    if deliverables:
        text += "deliverables:\n  - {path: out/mix.wav, target: ebu-r128}\n  - {kind: stems, path: out/stems}\n"
    (folder / "s.yaml").write_text(text)
    return folder


def start(folder: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mixdown.cli", *argv], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def temp_files(folder: Path) -> list[Path]:
    """Temporary outputs and everything in scratch folders."""
    return [p for p in folder.rglob("*") if "mixdown" in p.name or any(".mixdown-" in q.name for q in p.parents)]


def wait_for(cond, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("the run never got there")
        time.sleep(0.02)


def stop(proc: subprocess.Popen, sig: int) -> tuple[float, str]:
    """Send ``sig``; seconds until the process is gone, and its stderr."""
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running 30 s after {signal.Signals(sig).name}") from None
    return time.monotonic() - t0, err


def left_behind(folder: Path, inputs: set[str]) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name not in inputs)


def interrupt(folder: Path, argv: tuple[str, ...], sig: int, ready) -> None:
    """Run ``argv`` in ``folder``, send ``sig`` once ``ready(folder)``, check it ends fast and clean."""
    proc = start(folder, *argv)
    wait_for(lambda: ready(folder) or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()[1]
    time.sleep(0.2)  # inside the work, files growing
    took, err = stop(proc, sig)
    assert proc.returncode == 128 + sig, (argv, proc.returncode, err)
    assert took < EXIT_WITHIN_S, (argv, took)
    assert f"interrupted by {signal.Signals(sig).name}" in err and "Traceback" not in err, err
    assert left_behind(folder, INPUTS) == [], argv


def writing_mix(d: Path) -> bool:
    return any(".mix.mixdown-tmp-" in p.name for p in d.iterdir())


def in_scratch(d: Path) -> bool:
    return any(p.is_file() and p.stat().st_size > 0 for p in temp_files(d))


RENDER = ("render", "s.yaml", "-o", "mix.wav")
AUTO = ("auto", "s.yaml", "--target", "ebu-r128", "-o", "mix.wav", "--stems", "stems")
DELIVER = ("deliver", "s.yaml")


@pytest.mark.parametrize("argv,sig,ready,deliverables", [
    (RENDER, signal.SIGINT, writing_mix, False),
    (AUTO, signal.SIGTERM, lambda d: any(p.name.startswith(".mixdown-auto-") for p in d.iterdir()), False),
    (DELIVER, signal.SIGHUP, in_scratch, True),
])
def test_a_signal_ends_a_command_fast_and_clean(tmp_path: Path, source: Path, argv, sig, ready,
                                                deliverables) -> None:
    interrupt(project(tmp_path / "p", source, deliverables=deliverables), argv, sig, ready)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("argv,ready,deliverables", [
    (RENDER, writing_mix, False), (AUTO, in_scratch, False), (DELIVER, in_scratch, True)])
def test_every_signal_ends_every_command_fast_and_clean(tmp_path: Path, source: Path, argv, sig, ready,
                                                        deliverables) -> None:
    interrupt(project(tmp_path / "p", source, deliverables=deliverables), argv, sig, ready)


@pytest.mark.slow
def test_sigint_at_many_moments_always_exits_fast_and_clean(tmp_path: Path, source: Path) -> None:
    rnd = random.Random(18)
    for i in range(40):
        d = project(tmp_path / f"run{i}", source)
        proc = start(d, "render", "s.yaml", "-o", "mix.wav")
        time.sleep(rnd.uniform(0.0, 6.0))
        if proc.poll() is not None:
            continue
        took, err = stop(proc, signal.SIGINT)
        # before main() installs its handlers Python's own KeyboardInterrupt ends the run (-2/130)
        assert proc.returncode in (130, -signal.SIGINT), (i, proc.returncode, err)
        assert took < EXIT_WITHIN_S, (i, took)
        left = left_behind(d, INPUTS)
        if left == ["mix.wav"]:  # the signal came after the mix was complete and in place: that is fine
            assert sf.info(d / "mix.wav").frames == 620 * 48000, i
            continue
        assert left == [], i


def test_what_a_killed_run_leaves_is_removed_by_the_next(tmp_path: Path, source: Path) -> None:
    d = project(tmp_path / "p", source)
    proc = start(d, *RENDER)
    wait_for(lambda: writing_mix(d) or proc.poll() is not None)
    time.sleep(0.2)
    proc.kill()  # SIGKILL: nothing can clean up
    proc.communicate()
    left = left_behind(d, INPUTS)
    assert len(left) == 1 and ".mix.mixdown-tmp-" in left[0]
    (d / "short.yaml").write_text("mixdown: 1\nduration: 1\ntracks:\n  - name: A\n    clips: [{source: n.flac}]\n")
    r = subprocess.run([sys.executable, "-m", "mixdown.cli", "render", "short.yaml", "-o", "other.wav"], cwd=d,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"mixdown: note: removed {left[0]}" in r.stderr and f"(process {proc.pid})" in r.stderr
    assert left_behind(d, INPUTS | {"short.yaml", "other.wav"}) == []
