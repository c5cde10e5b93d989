"""Small CLI promises: the version flag, and docs that run on any machine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mixdown

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_version_flag():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"mixdown {mixdown.__version__}"


# a path of one machine: a home folder, or the absolute virtualenv the examples were first written with
_MACHINE_PATH = re.compile(r"(?<![\w.])/(?:home/\w|Users/\w|work/|root/|opt/venv|srv/)")


def test_docs_and_usage_lines_name_no_absolute_path():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    bad = []
    for name in tracked:
        if not name.endswith((".md", ".py", ".sh", ".yaml", ".toml")):
            continue
        for i, line in enumerate((ROOT / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _MACHINE_PATH.search(line) and "_MACHINE_PATH" not in line:
                bad.append(f"{name}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_example_readme_load_command_runs_from_the_root():
    text = (ROOT / "examples" / "podcast" / "README.md").read_text(encoding="utf-8")
    cmd = next(line.strip() for line in text.splitlines() if "load_session(" in line)
    assert cmd.startswith(".venv/bin/python -c "), cmd
    code = cmd.split(" -c ", 1)[1].strip().strip('"')
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
