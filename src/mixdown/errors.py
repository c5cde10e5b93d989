"""The one family of errors a user can cause.

Every failure that comes from the user's input (a session file, a media file, a
command-line option, an unreachable target) is a :class:`MixdownError`. The CLI
prints ``str(error)`` as one line on stderr and exits with ``exit_code``; anything
else is a bug and exits 1.

Errors carry *where* they happened: the file, and a location path inside it
(``("tracks", 0, "clips", 2, "gain_db")``). A session loaded from a file keeps a
map from those paths to line numbers, so :func:`format_location` can say
``session.yaml:23``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

Loc = tuple[str | int, ...]


class MixdownError(Exception):
    """Base of every error a user can cause.

    Parameters
    ----------
    message : str
        What is wrong, in words a user understands.
    file : str or Path, optional
        The file the error is about (a session, a media file, a timeline).
    loc : tuple of str or int, optional
        Location inside that file, as a path of keys and indices.
    line : int, optional
        1-based line number in ``file``, when known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        loc: Loc | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.loc = tuple(loc) if loc else ()
        self.line = line

    def located(
        self, *, file: str | Path | None = None, lines: Mapping[Loc, int] | None = None
    ) -> "MixdownError":
        """Fill in the file and the line from a path-to-line map; returns self."""
        if self.file is None and file is not None:
            self.file = str(file)
        if self.line is None and lines and self.loc:
            loc = self.loc
            while loc:
                if loc in lines:
                    self.line = lines[loc]
                    break
                loc = loc[:-1]
        return self

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        path = format_loc(self.loc)
        prefix = ": ".join(p for p in (where, path) if p)
        return f"{prefix}: {self.message}" if prefix else self.message


class SessionError(MixdownError):
    """A session (file or object) is invalid: schema, times, routing, processors."""


class MediaError(MixdownError):
    """A media file is missing, unreadable, too short or of an unsupported layout."""


class TargetError(MixdownError):
    """A delivery target cannot be met, or an option names an unknown target."""


class AnalysisError(MixdownError):
    """An analysis has nothing to work on (no speech, silent programme, too short)."""


class TimelineError(MixdownError):
    """An editor timeline cannot be read or written."""


def format_loc(loc: Sequence[str | int]) -> str:
    """Render a location path as ``tracks[0].clips[2].gain_db``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
