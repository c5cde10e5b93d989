"""Golden baselines (OpenTimelineIO-style) for ``mixdown auto`` on the bundled example (issue 12).

``mixdown auto examples/podcast/raw.yaml --target podcast --save-session S --json`` is run as
a user runs it; the decided session file ``S`` and the decision list (``decisions`` of the
JSON) must equal the files under ``tests/baselines/``:

- ``podcast_auto_session.yaml``: the saved session, byte for byte, with the clip sources
  written relative to the repository as ``<REPO>/examples/...`` (the file itself writes
  them relative to wherever it was saved);
- ``podcast_auto_decisions.json``: the decisions, as JSON with sorted keys and an indent
  of 1, so that a change shows as a few readable lines.

A difference fails with a unified diff. When a change to auto's decisions is intended,
regenerate the baselines and commit them with the change (the diff is then the review)::

    MIXDOWN_UPDATE_BASELINES=1 .venv/bin/pytest -q tests/test_baselines.py

The regenerating run writes the files and still fails the test, so a stray environment
variable can never make the suite pass silently.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINES = Path(__file__).resolve().parent / "baselines"
RAW = ROOT / "examples" / "podcast" / "raw.yaml"
UPDATE = os.environ.get("MIXDOWN_UPDATE_BASELINES") == "1"
REPO_MARK = "<REPO>"


def normalise_sources(text: str, saved_in: Path) -> str:
    """The session text with every clip source under the repository written ``<REPO>/relative``."""
    def repl(m: re.Match[str]) -> str:
        raw = m.group(2).strip("'\"")
        path = Path(raw) if Path(raw).is_absolute() else saved_in / raw
        path = Path(os.path.normpath(path))
        try:
            rel = path.relative_to(ROOT)
        except ValueError:
            return m.group(0)
        return f"{m.group(1)}{REPO_MARK}/{rel.as_posix()}"

    return re.sub(r"(source: )('[^']*'|\"[^\"]*\"|[^,}\s]+)", repl, text)


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("baselines")
    decided = work / "out" / "decided.yaml"
    decided.parent.mkdir()
    r = subprocess.run([sys.executable, "-m", "mixdown.cli", "auto", str(RAW), "--target", "podcast",
                        "-o", str(work / "auto.wav"), "--save-session", str(decided), "--json"],
                       capture_output=True, text=True, timeout=900, check=False, env={**os.environ, "MIXDOWN_CACHE_DIR": str(work / "cache")})
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    return {"session": normalise_sources(decided.read_text(), decided.parent),
            "decisions": json.dumps(result["decisions"], indent=1, sort_keys=True, ensure_ascii=False) + "\n"}


def compare(name: str, actual: str) -> None:
    path = BASELINES / name
    if UPDATE:
        BASELINES.mkdir(exist_ok=True)
        path.write_text(actual)
        pytest.fail(f"baseline {name} rewritten (MIXDOWN_UPDATE_BASELINES=1); review the diff and commit it")
    assert path.exists(), f"no baseline {path}; create it with MIXDOWN_UPDATE_BASELINES=1"
    expected = path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"baselines/{name}", "this run", n=2))
        pytest.fail(f"{name} differs from its baseline (MIXDOWN_UPDATE_BASELINES=1 regenerates it if intended):\n"
                    + diff, pytrace=False)


def test_decided_session_matches_its_baseline(auto_run: dict[str, Any]) -> None:
    assert f"source: {REPO_MARK}/examples/podcast/media/host.flac" in auto_run["session"]
    assert str(ROOT) not in auto_run["session"]
    compare("podcast_auto_session.yaml", auto_run["session"])


def test_decision_list_matches_its_baseline(auto_run: dict[str, Any]) -> None:
    decisions = json.loads(auto_run["decisions"])
    assert decisions and all({"kind", "target", "action", "reason"} <= set(d) for d in decisions)
    assert str(ROOT) not in auto_run["decisions"]
    compare("podcast_auto_decisions.json", auto_run["decisions"])


def test_paths_are_normalised_wherever_the_session_is_saved(tmp_path: Path) -> None:
    # the same source, written relative from two places and absolute, gives one baseline line
    media = ROOT / "examples" / "podcast" / "media" / "host.flac"
    lines = []
    for where in (tmp_path, tmp_path / "a" / "b"):
        rel = os.path.relpath(media, where)
        lines.append(normalise_sources(f"  - source: {rel}\n", where))
        lines.append(normalise_sources(f"  - {{source: '{media}', start: 6.0}}\n", where))
    assert lines[0] == lines[2] == f"  - source: {REPO_MARK}/examples/podcast/media/host.flac\n"
    assert lines[1] == lines[3] == f"  - {{source: {REPO_MARK}/examples/podcast/media/host.flac, start: 6.0}}\n"
    assert normalise_sources("  - source: /elsewhere/x.wav\n", tmp_path) == "  - source: /elsewhere/x.wav\n"
