"""``python -m mixdown.cli``."""

from . import main

main()
