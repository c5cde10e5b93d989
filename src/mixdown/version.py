"""The package version, in a module of its own so that any layer can name it without importing ``mixdown``.

The version in ``pyproject.toml`` is the source of truth; this copy must match it (a test checks).
"""

__version__ = "0.1.0"
