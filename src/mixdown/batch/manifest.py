"""Read a batch manifest (YAML or CSV) into entries that know their lines.

YAML::

    defaults:                 # optional: fields every job starts from
      target: podcast
      vad: energy
    jobs:
      - name: ep01
        dialogue: [ep01/host.wav, ep01/guest.wav]
        music: [bed.wav]
        output: out/ep01.wav
      - name: trailer
        session: trailer.yaml
        output: out/trailer.wav

CSV: a header row of the same field names and one job per row; a cell holding several
files separates them with ``;``; numbers and booleans are read as YAML scalars; an
empty cell is a field not given.

This module only reads and checks the shape; :mod:`mixdown.batch.expand` turns
entries into jobs (globs, versions, placeholders, paths).
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import Loc, MixdownError
from ..pipeline import AUTO_DEFAULTS
from .spec import OUTPUT_FIELDS, ROLES

STR_FIELDS = ("name", "mode", "target", "format", "group", "version")
PATH_FIELDS = ("session", "media_root", "video")
FLOAT_FIELDS = ("lufs", "true_peak")
INT_FIELDS = ("sample_rate", "block_size")
FIELDS = (STR_FIELDS + PATH_FIELDS + ROLES + OUTPUT_FIELDS + FLOAT_FIELDS + INT_FIELDS
          + ("options", "tracks"))
MODES = ("auto", "render", "deliver")

__all__ = ["Entry", "ManifestError", "read_manifest"]


class ManifestError(MixdownError):
    """A manifest is not valid: syntax, an unknown field, a value of the wrong kind."""


@dataclass
class Entry:
    """One job entry as written, with the lines of its fields.

    Attributes
    ----------
    fields : dict
        Field name to value, after the manifest's ``defaults``.
    lines : dict
        Field name to its 1-based line (defaults point at the ``defaults`` block).
    line : int
        The entry's first line.
    loc : tuple
        Its location path (``("jobs", 3)``; ``()`` for a CSV row).
    file : str
        The manifest.
    index : int
        0-based position among the manifest's entries.
    """

    fields: dict[str, Any]
    lines: dict[str, int]
    line: int
    loc: Loc
    file: str
    index: int
    option_fields: set[str] = field(default_factory=set)

    def error(self, name: str | None, message: str, cls: type[MixdownError] = ManifestError) -> MixdownError:
        """An error located at one of the entry's fields (or the entry itself)."""
        loc = self.loc + ((name,) if name else ())
        line = self.lines.get(name, self.line) if name else self.line
        return cls(message, file=self.file, loc=loc, line=line)


def read_manifest(path: str | Path) -> list[Entry]:
    """The entries of a ``.yaml``/``.yml``/``.json`` or ``.csv`` manifest.

    Raises
    ------
    ManifestError
        For a missing or unreadable file, bad syntax, an unknown field or a value of the
        wrong kind, naming the line and the field.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError("manifest not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read the manifest: {exc}", file=file) from None
    if file.suffix.lower() == ".csv":
        entries = _read_csv(text, str(file))
    elif file.suffix.lower() in (".yaml", ".yml", ".json"):
        entries = _read_yaml(text, str(file))
    else:
        raise ManifestError("a manifest is a .yaml, .yml, .json or .csv file", file=file)
    if not entries:
        raise ManifestError("the manifest lists no jobs", file=file, line=1)
    for e in entries:
        _check(e)
    return entries


# ---------------------------------------------------------------------------- YAML

def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"not valid YAML: {problem}", file=file,
                            line=mark.line + 1 if mark is not None else None) from None


def _keys(node: yaml.MappingNode, file: str, loc: Loc) -> dict[str, tuple[int, yaml.Node]]:
    out: dict[str, tuple[int, yaml.Node]] = {}
    for k, v in node.value:
        key = str(k.value)
        if key in out:
            raise ManifestError(f"field {key!r} appears twice", file=file, loc=loc, line=k.start_mark.line + 1)
        out[key] = (k.start_mark.line + 1, v)
    return out


def _read_yaml(text: str, file: str) -> list[Entry]:
    root = _compose(text, file)
    if root is None:
        raise ManifestError("the manifest is empty", file=file, line=1)
    defaults: dict[str, Any] = {}
    default_lines: dict[str, int] = {}
    prefix: Loc = ()
    if isinstance(root, yaml.SequenceNode):
        jobs_node = root
    elif isinstance(root, yaml.MappingNode):
        top = _keys(root, file, ())
        for key, (line, _) in top.items():
            if key not in ("jobs", "defaults"):
                raise ManifestError(f"unknown top-level field {key!r} (a manifest has 'jobs' and 'defaults')",
                                    file=file, loc=(key,), line=line)
        if "jobs" not in top:
            raise ManifestError("the manifest has no 'jobs' list", file=file, line=1)
        jobs_node, prefix = top["jobs"][1], ("jobs",)
        if "defaults" in top:
            dline, dnode = top["defaults"]
            if not isinstance(dnode, yaml.MappingNode):
                raise ManifestError("'defaults' must be a mapping of fields", file=file, loc=("defaults",), line=dline)
            for key, (line, _) in _keys(dnode, file, ("defaults",)).items():
                default_lines[key] = line
            defaults = yaml.safe_load(yaml.serialize(dnode)) or {}
            if "name" in defaults:
                raise ManifestError("a name cannot be a default", file=file, loc=("defaults", "name"),
                                    line=default_lines["name"])
    else:
        raise ManifestError("a manifest is a mapping with a 'jobs' list (or a list of jobs)", file=file, line=1)
    if not isinstance(jobs_node, yaml.SequenceNode):
        raise ManifestError("'jobs' must be a list", file=file, loc=prefix, line=jobs_node.start_mark.line + 1)
    entries = []
    for i, item in enumerate(jobs_node.value):
        loc = prefix + (i,)
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            raise ManifestError("a job is a mapping of fields (name, dialogue, output ...)", file=file, loc=loc,
                                line=line)
        lines = {k: ln for k, (ln, _) in _keys(item, file, loc).items()}
        values = yaml.safe_load(yaml.serialize(item)) or {}
        base = defaults
        if "session" in values:
            # a session brings its own tracks: default files by role are for the other jobs
            base = {k: v for k, v in defaults.items() if k not in ROLES + ("video",)}
        merged = _merge(base, values)
        all_lines = {**{k: v for k, v in default_lines.items() if k in base}, **lines}
        entries.append(Entry(merged, all_lines, line, loc, file, i))
    return entries


def _merge(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k, v in values.items():
        if k == "options" and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


# ----------------------------------------------------------------------------- CSV

def _read_csv(text: str, file: str) -> list[Entry]:
    rows = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(rows)]
    except StopIteration:
        raise ManifestError("the manifest is empty", file=file, line=1) from None
    except csv.Error as exc:
        raise ManifestError(f"not valid CSV: {exc}", file=file, line=1) from None
    seen: set[str] = set()
    for h in header:
        if not h:
            raise ManifestError("a column has no name in the header row", file=file, line=1)
        if h in seen:
            raise ManifestError(f"column {h!r} appears twice in the header row", file=file, line=1)
        seen.add(h)
    entries: list[Entry] = []
    try:
        for row in rows:
            line = rows.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) > len(header):
                raise ManifestError(f"{len(row)} cells but {len(header)} columns in the header row", file=file,
                                    line=line)
            fields: dict[str, Any] = {}
            for h, cell in zip(header, row):  # noqa: B905 - a short row leaves the last cells empty
                value = _cell(h, cell.strip(), file, line)
                if value is not None:
                    fields[h] = value
            entries.append(Entry(fields, {h: line for h in fields}, line, (), file, len(entries)))
    except csv.Error as exc:
        raise ManifestError(f"not valid CSV: {exc}", file=file, line=rows.line_num) from None
    return entries


def _cell(column: str, cell: str, file: str, line: int) -> Any:
    if not cell:
        return None
    if column in ROLES:
        parts = [p.strip() for p in cell.split(";") if p.strip()]
        return parts if len(parts) > 1 else parts[0]
    if column in STR_FIELDS + PATH_FIELDS + OUTPUT_FIELDS:
        return cell
    try:
        return yaml.safe_load(cell)
    except yaml.YAMLError:
        raise ManifestError(f"cannot read {cell!r}", file=file, loc=(column,), line=line) from None


# -------------------------------------------------------------------------- checks

def _check(e: Entry) -> None:
    """Field names and the kinds of their values; auto options move into ``options``."""
    given = e.fields.get("options", {})
    if not isinstance(given, dict):
        raise e.error("options", "'options' must be a mapping of auto options (vad: energy ...)")
    options = dict(given)
    for name in list(e.fields):
        if name in FIELDS:
            continue
        if name in AUTO_DEFAULTS:
            # auto's options may also be written as fields (a CSV column `vad`)
            options[name] = e.fields.pop(name)
            e.option_fields.add(name)
            continue
        close = difflib.get_close_matches(name, FIELDS + tuple(AUTO_DEFAULTS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise e.error(name, f"unknown field{hint}")
    for k in options:
        if k not in AUTO_DEFAULTS:
            close = difflib.get_close_matches(str(k), tuple(AUTO_DEFAULTS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise e.error("options", f"unknown auto option {k!r}{hint}")
    if options:
        e.fields["options"] = options
    f = e.fields
    for name in STR_FIELDS + PATH_FIELDS + OUTPUT_FIELDS:
        if name in f and (isinstance(f[name], bool) or not isinstance(f[name], (str, int, float))):
            raise e.error(name, "must be a single value (a text or a path)")
        if name in f:
            f[name] = str(f[name])
    if "mode" in f and f["mode"] not in MODES:
        raise e.error("mode", f"must be one of {', '.join(MODES)}, not {f['mode']!r}")
    for name in FLOAT_FIELDS:
        if name in f and (isinstance(f[name], bool) or not isinstance(f[name], (int, float))):
            raise e.error(name, f"must be a number, not {f[name]!r}")
    for name in INT_FIELDS:
        if name in f and (isinstance(f[name], bool) or not isinstance(f[name], int) or f[name] <= 0):
            raise e.error(name, f"must be a positive whole number, not {f[name]!r}")
    for role in ROLES:
        if role in f:
            _check_files(e, role, f[role], versions_allowed=True)
    if "tracks" in f:
        if not isinstance(f["tracks"], dict) or not f["tracks"]:
            raise e.error("tracks", "must map a track name to its versions ({en: en.wav, fr: fr.wav})")
        for track, versions in f["tracks"].items():
            if not isinstance(versions, dict) or not versions:
                raise e.error("tracks", f"track {track!r}: give its versions as a mapping ({{en: en.wav, ...}})")
            _check_files(e, "tracks", versions, versions_allowed=True)


def _check_files(e: Entry, name: str, value: Any, *, versions_allowed: bool) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) for v in value):
            raise e.error(name, "must be a file or a list of files")
        return
    if isinstance(value, dict) and versions_allowed:
        for version, files in value.items():
            if not isinstance(version, (str, int)) or isinstance(version, bool) or not str(version).strip():
                raise e.error(name, f"version name {version!r} must be a text")
            _check_files(e, name, files, versions_allowed=False)
        return
    raise e.error(name, "must be a file, a list of files, or versions ({en: en.wav, fr: fr.wav})")
