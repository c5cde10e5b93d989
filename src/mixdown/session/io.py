"""Read and write session files (YAML or JSON), with line numbers for every error."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import Loc, SessionError
from .model import Session
from .validate import validate_session

SUPPORTED_VERSION = 2
READABLE_VERSIONS = (1, 2)


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 document as version 2 (a copy; a version-2 document is returned as it is).

    Version 2 adds only optional fields (track and bus ``color``, bus ``solo``,
    ``groups``), each defaulting to what version 1 meant, so the upgrade is the
    version number.
    """
    if data.get("mixdown") == 1:
        return {**data, "mixdown": 2}
    return data


def _line_map(text: str, file: Path) -> dict[Loc, int]:
    """Map every key and list item path of a YAML/JSON document to its 1-based line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SessionError(f"not valid YAML/JSON: {problem}", file=file, line=line) from None
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, path: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    raise SessionError(f"key {key!r} appears twice", file=file, loc=path, line=key_node.start_mark.line + 1)
                seen.add(key)
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[path + (i,)] = item.start_mark.line + 1
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return lines


def _named_loc(data: Any, loc: Loc) -> Loc:
    """Turn ``("tracks", 0, ...)`` into a path whose indices also carry names, for messages."""
    return loc


def _friendly(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    msg = err.get("msg", "invalid")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return msg.replace("Input should be", "must be")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg.replace("Input should be", "must be")


def session_from_data(data: Any, *, file: Path | None = None, base_dir: Path | None = None,
                      lines: dict[Loc, int] | None = None) -> Session:
    """Validate a parsed session document into a :class:`Session`.

    Raises
    ------
    SessionError
        Naming the field (and the line, when ``lines`` is given) of the first problem.
    """
    lines = lines or {}
    if not isinstance(data, dict):
        raise SessionError(f"a session is a mapping with 'mixdown: {SUPPORTED_VERSION}' at the top", file=file, line=1)
    version = data.get("mixdown")
    if version is None:
        raise SessionError(f"missing 'mixdown: {SUPPORTED_VERSION}' version header", file=file, line=1)
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise SessionError(
            f"session format version {version!r} is not supported (this mixdown reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))})",
            file=file, loc=("mixdown",), line=lines.get(("mixdown",)),
        )
    data = upgrade(data)
    try:
        session = Session.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        more = exc.error_count() - 1
        msg = _friendly(first) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        raise SessionError(msg, file=file, loc=loc).located(lines=lines) from None
    session._file = file
    session._lines = lines
    session._base_dir = base_dir if base_dir is not None else (file.parent if file else Path.cwd())
    try:
        validate_session(session)
    except SessionError as exc:
        raise exc.located(file=file, lines=lines) from None
    return session


def load_session(path: str | Path) -> Session:
    """Load and validate a session file (``.yaml``, ``.yml`` or ``.json``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Session
        With :attr:`Session.base_dir` set to the file's folder.

    Raises
    ------
    SessionError
        For a missing or unreadable file or any invalid content, naming the line.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionError("session file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"cannot read session file: {exc}", file=file) from None
    lines = _line_map(text, file)
    data = yaml.safe_load(text)
    return session_from_data(data, file=file, base_dir=file.parent.resolve(), lines=lines)


def session_to_data(session: Session) -> dict[str, Any]:
    """The session as plain data, defaults left out so files stay short and diff well."""
    data = session.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for key in ("tracks", "buses"):
        # name and role first: that is how people scan a track list
        data[key] = [
            {k: item[k] for k in ("name", "role") if k in item} | {k: v for k, v in item.items() if k not in ("name", "role")}
            for item in data.get(key, [])
        ] or data.pop(key, None) or []
        if not data[key]:
            data.pop(key)
    return {"mixdown": SUPPORTED_VERSION, **{k: v for k, v in data.items() if k != "mixdown"}}


def dump_session(session: Session, *, fmt: str = "yaml") -> str:
    """Serialise a session to YAML or JSON text."""
    data = session_to_data(session)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)


def save_session(session: Session, path: str | Path) -> Path:
    """Write a session atomically; JSON if ``path`` ends in ``.json``, else YAML.

    Clip sources are rewritten relative to the new file's folder, so the saved
    session renders the same media wherever it is saved.
    """
    out = Path(path)
    target_dir = out.resolve().parent
    copy = session.model_copy(deep=True)
    for track in copy.tracks:
        for clip in track.clips:
            src = session.resolve(clip.source).resolve()
            try:
                clip.source = os.path.relpath(src, target_dir)
            except ValueError:  # another drive on Windows
                clip.source = str(src)
    text = dump_session(copy, fmt="json" if out.suffix.lower() == ".json" else "yaml")
    write_text_atomic(out, text)
    return out


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
