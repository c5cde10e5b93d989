"""Fuzzed sessions: every mutation of a valid session is a valid session or a located user error.

Mutations start from the example session and small hand-made ones: keys dropped,
types changed, random strings, numbers (NaN, infinities, huge), unicode, deep
nesting, YAML tags and aliases, damaged text. The outcome of loading (and, for a
session that loads, of compiling the render graph with its media probed, and of a
save/load round trip) must be a :class:`~mixdown.session.Session` or a
:class:`~mixdown.errors.MixdownError` naming the file and a line or a field, in one
line without pydantic's words — never another exception. A CLI sample runs a few
mutated files through ``render`` and ``auto`` as subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _mutate import HypothesisChooser, RandomChooser, assert_user_error, mutated_text
from mixdown.errors import MixdownError, MixdownWarning
from mixdown.render.engine import render_array
from mixdown.render.graph import check
from mixdown.session import load_session, save_session

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "podcast" / "session.yaml"

SMALL = [
    """\
mixdown: 1
sample_rate: 48000
frame_rate: 25
start_timecode: "01:00:00:00"
duration: "00:00:03:00"
tracks:
  - name: Tone
    role: dialogue
    gain_db: -3
    pan: -0.2
    clips:
      - {name: a, source: tone.wav, start: "01:00:00:10", in: 0.1, duration: 1.5, gain_db: 2,
         fade_in: 0.05, fade_out: {length: 0.2, shape: s-curve}, automation: {gain_db: [[0, 0], [1, -6, exp]]}}
      - {source: mono.wav, start: "96000s", duration: "00:00:00.500"}
    chain:
      - {type: highpass, freq_hz: 80, slope_db_oct: 24}
      - {type: compressor, threshold_db: -20, ratio: 3, automation: {threshold_db: [[0, -20], [1, -30]]}}
    sends: [{bus: fx, level_db: -6}]
    output: dx
    automation:
      pan: [[0, -0.5], [2, 0.5]]
buses:
  - {name: dx, role: dialogue}
  - {name: fx}
master:
  gain_db: -1
  chain:
    - {type: limiter, ceiling_db: -1.0}
deliverables:
  - {kind: mix, path: out.wav, format: wav24, target: podcast}
""",
    """\
mixdown: 1
frame_rate: "30000/1001"
drop_frame: true
start_timecode: "00:59:59;28"
tracks:
  - name: A
    clips: [{source: tone.wav, start: "01:00:00;02", duration: 1}]
  - name: B
    role: music
    clips: [{source: tone.wav}]
    chain: [{type: compressor, sidechain: A, threshold_db: -30}]
""",
    """{"mixdown": 1, "layout": "mono", "tracks": [{"name": "x", "clips": [{"source": "tone.wav", "start": 0.25}]}]}""",
]


def _seeds() -> list:
    return [yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))] + [yaml.safe_load(t) for t in SMALL]


SEEDS = _seeds()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    (d / "media").symlink_to(EXAMPLE.parent / "media", target_is_directory=True)
    t = np.arange(48000 * 3) / 48000
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(d / "tone.wav", np.stack([tone, tone], axis=1), 48000, subtype="PCM_24")
    sf.write(d / "mono.wav", tone[:48000], 48000, subtype="PCM_16")
    return d


def test_seeds_are_valid(workdir):
    """The seeds themselves load and compile (else the fuzzer only ever tests one error)."""
    for i, text in enumerate(SMALL):
        p = workdir / f"seed{i}.yaml"
        p.write_text(text, encoding="utf-8")
        check(load_session(p))
    check(load_session(EXAMPLE))


def outcome(path: Path) -> str:
    """Load, compile and round-trip one file; a user error must be located, anything else fails the test."""
    try:
        s = load_session(path)
    except MixdownError as exc:
        assert_user_error(exc, path)
        return "load error"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixdownWarning)
            graph = check(s)
            if graph.length <= 4 * graph.sample_rate:  # short programmes are rendered too (processing-time errors)
                audio = render_array(graph, block_size=3000)
                assert audio.shape == (graph.channels, graph.length)
    except MixdownError as exc:
        assert_user_error(exc, path)
        return "graph error"
    copy = path.with_name(path.stem + ".saved.yaml")
    save_session(s, copy)
    again = load_session(copy)
    # sources are rewritten relative to the new file: compare the files they point at
    for a, b in zip((c for t in s.tracks for c in t.clips), (c for t in again.tracks for c in t.clips), strict=True):
        assert again.resolve(b.source).resolve() == s.resolve(a.source).resolve()
        b.source = a.source
    assert again.model_dump() == s.model_dump()
    return "valid"


def _fuzz(workdir, data) -> None:
    text = mutated_text(HypothesisChooser(data), SEEDS)
    path = workdir / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fuzzed_sessions_load_or_fail_located(workdir, data):
    _fuzz(workdir, data)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fuzzed_sessions_long_run(workdir, data):
    _fuzz(workdir, data)


def test_invalid_utf8_and_odd_files(workdir):
    bad = workdir / "latin1.yaml"
    bad.write_bytes(b"mixdown: 1\ntracks:\n  - name: caf\xe9\n")
    with pytest.raises(MixdownError) as info:
        load_session(bad)
    assert_user_error(info.value, bad)
    assert "UTF-8" in str(info.value)
    (workdir / "folder.yaml").mkdir(exist_ok=True)
    with pytest.raises(MixdownError, match="folder"):
        load_session(workdir / "folder.yaml")


def run_cli(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


def _assert_cli(r, allowed=(0, 2)):
    lines = r.stderr.strip().splitlines()
    assert r.returncode in allowed, f"exit {r.returncode}: {r.stderr}"
    if r.returncode == 2:
        assert len(lines) == 1 and lines[0].startswith("mixdown: error: "), r.stderr
    elif r.returncode == 3:
        assert any(line.startswith("mixdown: warning:") for line in lines), r.stderr
    else:
        assert all(line.startswith(("mixdown: warning:", "mixdown: note:")) for line in lines), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_cli_sample_of_mutated_sessions(workdir):
    """A few mutated small sessions through `render` and `auto` as a user runs them: exit 0 or 2, one line."""
    small = [yaml.safe_load(t) for t in SMALL]
    (workdir / "as_is.yaml").write_text(SMALL[0], encoding="utf-8")
    jobs = [("render", workdir / "as_is.yaml", "-o", workdir / "as_is.wav")]  # the unmutated seed renders
    for seed in range(8):
        p = workdir / f"cli{seed}.yaml"
        p.write_text(mutated_text(RandomChooser(seed), small), encoding="utf-8", errors="surrogatepass")
        jobs.append(("render", p, "-o", workdir / f"cli{seed}.wav"))
    for seed in range(8, 11):
        p = workdir / f"cli{seed}.yaml"
        p.write_text(mutated_text(RandomChooser(seed), small[:1]), encoding="utf-8", errors="surrogatepass")
        jobs.append(("auto", p, "--target", "podcast", "--vad", "energy", "--cleanup", "off",
                     "-o", workdir / f"cli{seed}.wav"))
    # a mutation may move a clip an hour out (valid, but slow to render): keep the sample fast by
    # lowering the longest programme accepted, which also runs the MIXDOWN_MAX_HOURS path
    env = dict(os.environ, MIXDOWN_MAX_HOURS="0.005")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda a: run_cli(*a, cwd=workdir, env=env), jobs))
    assert results[0].returncode == 0, results[0].stderr
    for job, r in zip(jobs, results, strict=True):
        _assert_cli(r, allowed=(0, 2, 3) if job[0] == "auto" else (0, 2))
