"""The one family of errors a user can cause.

Every failure that comes from the user's input (a session file, a media file, a
command-line option, an unreachable target) is a :class:`MixdownError`. The CLI
prints ``str(error)`` as one line on stderr and exits with ``exit_code``; anything
else is a bug and exits 1.

Errors carry *where* they happened: the file, and a location path inside it
(``("tracks", 0, "clips", 2, "gain_db")``). A session loaded from a file keeps a
map from those paths to line numbers, so :func:`format_location` can say
``session.yaml:23``.

An error about one file found through another — a clip's media file that cannot be
decoded — names both: the session's line and field where the file is used, then the
file itself (its *subject*)::

    session.yaml:12: tracks[0].clips[1].source: /media/host.wav: cannot decode audio (...)

What is valid but almost certainly not meant is a :class:`MixdownWarning`; the CLI
prints it as one ``mixdown: warning:`` line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

Loc = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"\w+")


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
    subject : str or Path, optional
        The file the message is about when ``file``/``loc`` say where it is used
        (a media file named by a session's clip).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        loc: Loc | None = None,
        line: int | None = None,
        subject: str | Path | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.loc = tuple(loc) if loc else ()
        self.line = line
        self.subject = str(subject) if subject is not None else None

    def located(
        self, *, file: str | Path | None = None, lines: Mapping[Loc, int] | None = None
    ) -> MixdownError:
        """Fill in the file and the line from a path-to-line map; returns self.

        ``file`` and ``lines`` describe the document ``loc`` points into. When the
        error already names another file (a media file a clip uses), that file
        becomes the :attr:`subject` and ``file`` the document, so the line number
        printed is the document's.
        """
        if file is not None:
            if self.file is None:
                self.file = str(file)
            elif self.file != str(file) and self.loc and self.line is None:
                self.subject = self.subject or self.file
                self.file = str(file)
        if file is not None and self.file != str(file):
            return self  # the line map belongs to a document this error does not point into
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
        prefix = ": ".join(p for p in (where, path, self.subject) if p)
        text = f"{prefix}: {self.message}" if prefix else self.message
        # one line whatever a file put into a name or a value
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class MixdownWarning(UserWarning):
    """Valid input that is almost certainly not what was meant (a clip that is never heard)."""


class SessionError(MixdownError):
    """A session (file or object) is invalid: schema, times, routing, processors."""


class MediaError(MixdownError):
    """A media file is missing, unreadable, too short or of an unsupported layout."""


class TargetError(MixdownError):
    """A delivery target cannot be met, or an option names an unknown target."""


class AnalysisError(MixdownError):
    """An analysis has nothing to work on (no speech, silent programme, too short)."""


class OptionError(MixdownError):
    """A command-line option is out of its range, not a number, or does not fit the others."""


class TimelineError(MixdownError):
    """An editor timeline cannot be read or written."""


def shown(value: object, limit: int = 40) -> str:
    """A value as a message shows it: short, and a list or mapping by its kind rather than its contents."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_loc(loc: Sequence[str | int]) -> str:
    """Render a location path as ``tracks[0].clips[2].gain_db``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):
            out += f"[{str(part)!r}]"  # a key with spaces, dots or control characters, quoted
        else:
            out += ("." if out else "") + str(part)
    return out
