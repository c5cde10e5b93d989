"""Read and write session files (YAML or JSON), with line numbers for every error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import Loc, SessionError, shown
from ..files.atomic import write_text_atomic as _write_text
from .array_source import array_clips
from .model import Session
from .validate import validate_session

#: The version this mixdown writes.
SUPPORTED_VERSION = 2
#: Versions it reads (older ones are upgraded on load, see :func:`upgrade`).
READABLE_VERSIONS = (1, 2)


#: Deepest nesting a session may have. Real sessions are ~9 levels deep (a keyframe inside an
#: automation lane inside a processor inside a chain inside a track); the bound keeps the
#: recursive composer, the line map and validation far from Python's recursion limit.
MAX_DEPTH = 32
#: Largest session file read: a 48-hour programme decided by auto is a few MB.
MAX_SESSION_BYTES = 64 * 1024 * 1024
#: Tags a session may carry: the YAML core schema (what JSON and plain YAML resolve to) and
#: timestamps (an unquoted date resolves to one, and the model then asks for text).
_ALLOWED_TAGS = frozenset("tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "str", "seq", "map",
                                                             "timestamp"))


def _mark_line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _SessionLoader(yaml.SafeLoader):
    """The safe loader, minus what lets a small file cost a lot: aliases and unbounded nesting.

    Aliases are refused rather than expanded within a budget: a session is plain data in
    which every value has one place (so every error has one line), mixdown never writes
    them (see :func:`dump_session`), and they are the only YAML feature that makes a few
    hundred bytes expand into gigabytes (the "billion laughs").
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{event.anchor}) are not accepted in a session: write the value out "
                            "where it is used", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep (a session is about 9 levels deep)",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"YAML tag {tag} is not accepted in a session: write plain values", node.start_mark)
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - an int beyond Python's digit limit, a 13th month, !!bool maybe
            if "digits" in str(exc):
                what = "a number with too many digits"
            elif isinstance(exc, (ValueError, OverflowError)):
                what = f"{node.value!r} ({exc})"
            else:
                what = repr(node.value)
            raise yaml.constructor.ConstructorError(None, None, f"cannot read the value {what}",
                                                    node.start_mark) from None


def _parse(text: str, file: Path | None) -> tuple[Any, dict[Loc, int]]:
    """The document's data and a map from every key and list item path to its 1-based line.

    Raises
    ------
    SessionError
        For anything that is not plain YAML/JSON data, naming the line.
    """
    loader = None
    try:
        loader = _SessionLoader(text)  # the reader refuses unprintable characters here
        root = loader.get_single_node()
        lines = _line_map(root, file)
        data = loader.construct_document(root) if root is not None else None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise SessionError(f"not valid YAML/JSON: the file contains the control character #x{exc.character:04x}, "
                           "which YAML does not allow", file=file, line=line) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = _mark_line(getattr(exc, "problem_mark", None))
        raise SessionError(f"not valid YAML/JSON: {problem}", file=file, line=line) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _line_map(root: yaml.Node | None, file: Path | None) -> dict[Loc, int]:
    """Map every key and list item path of a composed document to its 1-based line."""
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, path: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SessionError("a key must be a plain name, not a list or mapping", file=file, loc=path,
                                       line=line)
                key = key_node.value
                if key in seen:
                    raise SessionError(f"key {key!r} appears twice", file=file, loc=path, line=line)
                seen.add(key)
                lines[path + (key,)] = line
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[path + (i,)] = item.start_mark.line + 1
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return lines


#: pydantic error types, in the user's words (``{...}`` are filled from the error's context)
_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text (put it in quotes)",
    "string_too_short": "must not be empty",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list ([...] or lines starting with '-')",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "too_long": "has too many items",
}


def _friendly(err: dict[str, Any]) -> str:
    """One pydantic error as a sentence about the user's field (no pydantic words, no class names)."""
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid"))
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected}" if expected else "is not one of the allowed values"
    if kind in ("value_error", "assertion_error"):
        msg = str(ctx.get("error", msg))
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        return msg
    template = _MESSAGES.get(kind)
    if template is not None:
        try:
            return template.format(**{k: (f"{v:g}" if isinstance(v, float) else v) for k, v in ctx.items()})
        except (KeyError, ValueError, IndexError):
            return template.split(" {")[0]
    # an error type not listed above: keep pydantic's sentence but not its vocabulary
    msg = msg.replace("Input should be", "must be").replace("a valid ", "")
    return msg.split(" or instance of ")[0]


_KEYFRAME_FIELDS = {"t": 0, "v": 1, "interp": 2}


def _user_loc(data: Any, loc: tuple[Any, ...], kind: str) -> Loc:
    """The part of a pydantic error location that names the user's keys and list items.

    pydantic adds steps that are not in the file (members of a union such as ``int``,
    ``function-before[...]``); a step is kept when it indexes into the data, or when it
    is the last one and names a missing field.
    """
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and part in _KEYFRAME_FIELDS and _KEYFRAME_FIELDS[part] < len(node):
            out.append(_KEYFRAME_FIELDS[part])  # a keyframe written [t, v, interp]
            node = node[_KEYFRAME_FIELDS[part]]
        elif kind == "missing" and i == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str):
            out.append(part)
    return tuple(out)


def describe_validation_error(exc: ValidationError, data: Any = None) -> tuple[Loc, str]:
    """The first problem of a pydantic error as (location in ``data``, message in the user's words)."""
    first = exc.errors()[0]
    loc = _user_loc(data, tuple(first["loc"]), first.get("type", "")) if data is not None else \
        tuple(p for p in first["loc"] if isinstance(p, int) or p.isidentifier() and "[" not in p)
    more = exc.error_count() - 1
    return loc, _friendly(first) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def upgrade(data: dict[str, Any], *, file: Path | None = None, lines: dict[Loc, int] | None = None) -> dict[str, Any]:
    """Bring a parsed session document of any readable version to the current one.

    Version 1 has no auto layers: ``auto`` wrote its gains and keyframes into the
    hand values, where they cannot be told apart from a person's, so everything in
    a version-1 file counts as hand-made (a later ``auto`` honours those moves
    instead of replacing them). Processors with an ``auto-`` id stay ``auto``'s, as
    they were in version 1. An ``auto:`` key in a version-1 file is an error: the
    layer exists from version 2.

    Returns
    -------
    dict
        The document at :data:`SUPPORTED_VERSION` (a shallow copy; ``data`` is not changed).
    """
    version = data.get("mixdown")
    if version == 1:
        loc = _find_key(data, "auto")
        if loc is not None:
            raise SessionError("auto layers need 'mixdown: 2' (version 1 has none)", file=file, loc=loc,
                               line=(lines or {}).get(loc))
        data = {**data, "mixdown": SUPPORTED_VERSION}
    return data


def _find_key(data: Any, key: str, path: Loc = ()) -> Loc | None:
    """Location of the first ``key`` on a track, bus, clip or the master of a session document."""
    if not isinstance(data, dict):
        return None
    if path and key in data:
        return path + (key,)
    for name in ("tracks", "buses", "clips"):
        items = data.get(name)
        if isinstance(items, list):
            for i, item in enumerate(items):
                found = _find_key(item, key, path + (name, i))
                if found is not None:
                    return found
    return _find_key(data.get("master"), key, ("master",)) if not path else None


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
    if type(version) is not int:  # `true == 1` in Python
        raise SessionError(f"the session format version is a whole number ({SUPPORTED_VERSION}), not {shown(version)}",
                           file=file, loc=("mixdown",), line=lines.get(("mixdown",)))
    if version not in READABLE_VERSIONS:
        raise SessionError(
            f"session format version {shown(version)} is not supported (this mixdown reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))})",
            file=file, loc=("mixdown",), line=lines.get(("mixdown",)),
        )
    data = upgrade(data, file=file, lines=lines)
    try:
        session = Session.model_validate(data)
    except ValidationError as exc:
        loc, msg = describe_validation_error(exc, data)
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
        if file.is_dir():
            raise SessionError("is a folder, not a session file", file=file)
        if file.exists() and not file.is_file():
            raise SessionError("is not a regular file (a session is a .yaml or .json file)", file=file)
        if file.exists() and file.stat().st_size > MAX_SESSION_BYTES:
            raise SessionError(f"is larger than {MAX_SESSION_BYTES // 2**20} MB, too large for a session file", file=file)
        raw = file.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise SessionError("session file not found", file=file) from None
    except UnicodeDecodeError as exc:
        raise SessionError(f"is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}): a session is a YAML or "
                           "JSON text file", file=file, line=raw.count(b"\n", 0, exc.start) + 1) from None
    except OSError as exc:
        raise SessionError(f"cannot read session file: {exc.strerror or exc}", file=file) from None
    data, lines = _parse(text, file)
    return session_from_data(data, file=file, base_dir=file.parent.resolve(), lines=lines)


def session_to_data(session: Session) -> dict[str, Any]:
    """The session as plain data, defaults left out so files stay short and diff well.

    A clip whose source is an array keeps its :class:`~.array_source.ArraySource` object
    (data for :func:`session_from_data` in memory, a batch job, a pickle; not for a file).
    """
    data = session.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for name, i in array_clips(session):  # json mode wrote its label: the data holds the array itself
        ti = next(k for k, t in enumerate(session.tracks) if t.name == name)
        data["tracks"][ti]["clips"][i]["source"] = session.tracks[ti].clips[i].source
    for key in ("tracks", "buses"):
        # name and role first: that is how people scan a track list
        data[key] = [
            {k: item[k] for k in ("name", "role") if k in item} | {k: v for k, v in item.items() if k not in ("name", "role")}
            for item in data.get(key, [])
        ] or data.pop(key, None) or []
        if not data[key]:
            data.pop(key)
    return {"mixdown": SUPPORTED_VERSION, **{k: v for k, v in data.items() if k != "mixdown"}}


def refuse_arrays(session: Session, what: str) -> None:
    """Refuse to write a session whose clips hold audio in memory (a session file names files).

    Raises
    ------
    SessionError
        Naming the first such track and clip.
    """
    found = array_clips(session)
    if found:
        name, i = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SessionError(f"cannot {what}: track {name!r} clip {i}{more} has an array in memory as its source, and a "
                           "session file can only name files; write the array to a file (mixdown.media.write_audio) "
                           "and make that the clip's source", loc=_array_loc(session, name, i))


def _array_loc(session: Session, name: str, clip: int) -> Loc:
    ti = next(k for k, t in enumerate(session.tracks) if t.name == name)
    return ("tracks", ti, "clips", clip, "source")


def dump_session(session: Session, *, fmt: str = "yaml") -> str:
    """Serialise a session to YAML or JSON text (refused when a clip's source is an array)."""
    refuse_arrays(session, "write the session as a file")
    data = session_to_data(session)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=None, width=100,
                     allow_unicode=True)


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value that appears twice twice: a session never holds aliases (the loader refuses them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def save_session(session: Session, path: str | Path) -> Path:
    """Write a session atomically; JSON if ``path`` ends in ``.json``, else YAML.

    Clip sources are rewritten relative to the new file's folder, so the saved
    session renders the same media wherever it is saved.
    """
    out = Path(path)
    refuse_arrays(session, f"save the session to {out}")
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
    """Write text to a temporary file beside ``path`` and rename it into place.

    Through the one output guard (never over an input of the running job) with the
    permissions any new file gets under the umask; see :mod:`mixdown.files.atomic`.
    """
    _write_text(path, text)
