"""The package's version is pyproject's: ``mixdown.version`` holds a copy that must match it."""

import tomllib
from pathlib import Path

import mixdown
from mixdown.version import __version__

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_version_is_pyprojects():
    with PYPROJECT.open("rb") as fh:
        declared = tomllib.load(fh)["project"]["version"]
    assert __version__ == declared
    assert mixdown.__version__ is __version__
