"""Manifest entries to batch jobs: globs, versions, placeholders and absolute paths.

- A glob in one input field (``dialogue: episodes/*/host.wav``, ``session: eps/*.yaml``)
  makes one job per match; ``{stem}``, ``{file}`` and ``{parent}`` of the match (and
  ``{index}``, 1-based) fill the placeholders of every other field.
- Versions: a role written as a mapping (``dialogue: {en: en.wav, fr: fr.wav}``), or
  ``tracks: {Dialogue: {en: dx_en.wav, fr: dx_fr.wav}}`` for a session's track (every
  clip of that track gets the version's file as its source), makes one job per version
  sharing everything else; ``{version}`` is the version's name. The versions form a
  group for the catalogue checks.
- ``{name}`` is the job's name. Relative paths are relative to the manifest's folder.
"""

from __future__ import annotations

import glob as _glob
import os
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..auto.build import parse_placed
from ..errors import MixdownError
from ..pipeline import Job
from ..targets import get_target
from .manifest import Entry, ManifestError
from .spec import OUTPUT_FIELDS, ROLES, BatchJob

GLOB_CHARS = frozenset("*?[")
PLACEHOLDERS = ("name", "version", "stem", "file", "parent", "index")

__all__ = ["expand", "from_jobs"]


def expand(entries: list[Entry], *, base_dir: Path) -> list[BatchJob]:
    """Every job the entries stand for, in manifest order.

    Raises
    ------
    ManifestError
        For a glob that matches nothing, versions that do not agree, an unknown
        placeholder, a job with nothing to write, names or outputs used twice.
    """
    sessions: dict[str, Any] = {}
    jobs: list[BatchJob] = []
    for e in entries:
        jobs.extend(_expand_entry(e, base_dir, sessions))
    _check_unique(jobs, entries[0].file if entries else None)
    return jobs


def from_jobs(jobs: list[Job] | tuple[Job, ...], *, base_dir: Path | None = None) -> list[BatchJob]:
    """Batch jobs from pipeline jobs (the Python API); paths made absolute against ``base_dir`` (cwd)."""
    base = (base_dir or Path.cwd()).resolve()
    out = []
    for i, job in enumerate(jobs):
        if not isinstance(job, Job):
            raise MixdownError(f"job {i + 1}: expected a mixdown.pipeline.Job, got {type(job).__name__}")
        changes: dict[str, Any] = {r: tuple(_placed(base, s) for s in getattr(job, r)) for r in ROLES}
        for f in ("session", "video", "media_root", "base_dir") + OUTPUT_FIELDS:
            if getattr(job, f):
                changes[f] = str(_abs(base, getattr(job, f)))
        name = job.name or f"job{i + 1}"
        job = replace(job, name=name, **changes)
        inputs = [(r, parse_placed(s)[0]) for r in ROLES for s in getattr(job, r)]
        inputs += [(f, getattr(job, f)) for f in ("session", "video") if getattr(job, f)]
        out.append(BatchJob(name=name, job=job, inputs=tuple(inputs)))
    _check_unique(out, None)
    return out


# ------------------------------------------------------------------------- entries

def _expand_entry(e: Entry, base: Path, sessions: dict[str, Any]) -> list[BatchJob]:
    where = _find_glob(e)
    matches: list[Path | None] = [None]
    if where is not None:
        field, pattern = where[0], where[2]
        found = sorted(Path(p) for p in _glob.glob(os.path.join(base, pattern), recursive=True) if Path(p).is_file())
        if not found:
            raise e.error(field, f"{pattern!r} matches no file (relative to {base})")
        matches = list(found)
    versions = _versions(e)
    out = []
    for n, match in enumerate(matches, 1):
        ph: dict[str, Any] = {"index": n}
        if match is not None:
            ph.update(stem=match.stem, file=match.name, parent=match.parent.name)
        for v in versions:
            out.append(_make(e, base, dict(ph, **({"version": v} if v is not None else {})), where, match, sessions))
    return out


def _find_glob(e: Entry) -> tuple[str, int | None, str] | None:
    """``(field, list index, pattern)`` of the one glob among the entry's input fields."""
    found = []
    for field in ROLES + ("session", "video"):
        value = e.fields.get(field)
        items = [value] if isinstance(value, str) else (value if isinstance(value, list) else [])
        for i, item in enumerate(items):
            if GLOB_CHARS & set(item):
                found.append((field, i if isinstance(value, list) else None, item))
    if len(found) > 1:
        raise e.error(found[1][0], "only one input of a job may be a glob pattern "
                      f"(this one and {found[0][0]}); use {{stem}} / {{parent}} of the first in the others")
    return found[0] if found else None


def _versions(e: Entry) -> list[str | None]:
    names: list[str] | None = None
    first = ""
    mappings = [(r, e.fields[r]) for r in ROLES if isinstance(e.fields.get(r), dict)]
    mappings += [("tracks", v) for v in (e.fields.get("tracks") or {}).values()]
    for field, mapping in mappings:
        keys = [str(k) for k in mapping]
        if names is None:
            names, first = keys, field
        elif sorted(keys) != sorted(names):
            raise e.error(field, f"its versions ({', '.join(keys)}) differ from those of {first} "
                          f"({', '.join(names)}); every versioned field lists the same versions")
    if "tracks" in e.fields and "session" not in e.fields:
        raise e.error("tracks", "versions of a track need the session they belong to ('session: film.yaml')")
    return list(names) if names else [None]


def _make(e: Entry, base: Path, ph: dict[str, Any], where: tuple[str, int | None, str] | None,
          match: Path | None, sessions: dict[str, Any]) -> BatchJob:
    f = e.fields
    version = ph.get("version")
    name = _name(e, base, ph)
    ph["name"] = name
    inputs: list[tuple[str, str]] = []
    roles: dict[str, tuple[str, ...]] = {}
    for role in ROLES:
        value = f.get(role)
        if value is None:
            continue
        if isinstance(value, dict):
            value = _version_value(value, version)
        items = [value] if isinstance(value, str) else list(value)
        files = []
        for i, item in enumerate(items):
            if where is not None and match is not None and where[0] == role and where[1] in (None, i):
                item = str(match)
            else:
                item = _format(e, role, item, ph)
            files.append(_placed(base, item))
            inputs.append((role, parse_placed(files[-1])[0]))
        roles[role] = tuple(files)
    paths = {}
    for field in ("session", "video", "media_root") + OUTPUT_FIELDS:
        if field in f:
            text = str(match) if where is not None and match is not None and where[0] == field else \
                _format(e, field, f[field], ph)
            paths[field] = str(_abs(base, text))
    inputs += [(k, paths[k]) for k in ("session", "video") if k in paths]
    mode = f.get("mode") or ("render" if "session" in paths and not roles else "auto")
    _check_job(e, mode, roles, paths)
    fields: dict[str, Any] = {"mode": mode, **roles, **paths,
                              **{k: f[k] for k in ("sample_rate", "block_size") if k in f}}
    job = Job(name=name, target=f.get("target"), lufs=f.get("lufs"), true_peak=f.get("true_peak"),
              format=f.get("format"), options=dict(f.get("options") or {}), **fields)
    group = _format(e, "group", f["group"], ph) if "group" in f else None
    if group is None and version is not None:
        group = _group(e, ph)
    explicit_version = _format(e, "version", f["version"], ph) if "version" in f else None
    bjob = BatchJob(name=name, job=job, manifest=e.file, line=e.line, group=group,
                    version=version if version is not None else explicit_version, inputs=tuple(inputs))
    if "tracks" in f:
        bjob = _track_versions(e, base, bjob, ph, sessions)
    return bjob


def _name(e: Entry, base: Path, ph: dict[str, Any]) -> str:
    f = e.fields
    version = ph.get("version")
    template = f.get("name")
    if template is not None:
        name = _format(e, "name", template, ph)
        if version is not None and "{version}" not in template:
            name = f"{name}-{version}"
    elif "output" in f and "{name}" not in f["output"]:
        name = Path(_format(e, "output", f["output"], ph)).stem
    elif "session" in f and "{name}" not in f["session"] and not GLOB_CHARS & set(f["session"]):
        name = Path(f["session"]).stem + (f"-{version}" if version is not None else "")
    elif "stem" in ph:
        name = str(ph["stem"]) + (f"-{version}" if version is not None else "")
    else:
        name = f"job{e.index + 1}" + (f"-{version}" if version is not None else "")
    if not name.strip():
        raise e.error("name", "a job's name cannot be empty")
    return name


def _group(e: Entry, ph: dict[str, Any]) -> str:
    template = e.fields.get("name")
    if template is not None and "{version}" not in template:
        return _format(e, "name", template, {k: v for k, v in ph.items() if k not in ("version", "name")})
    label = "".join(f"[{p}]" if isinstance(p, int) else p for p in e.loc) or f"line {e.line}"
    return label + (f":{ph['stem']}" if "stem" in ph else "")


def _version_value(mapping: dict[Any, Any], version: str | None) -> Any:
    for k, v in mapping.items():
        if str(k) == version:
            return v
    raise AssertionError(version)  # pragma: no cover - _versions checked the names


def _check_job(e: Entry, mode: str, roles: dict[str, Any], paths: dict[str, str]) -> None:
    if roles and "session" in paths:
        raise e.error("session", "a job mixes either a session or files by role (dialogue, music ...), not both")
    if mode in ("render", "deliver") and "session" not in paths:
        raise e.error("mode", f"a {mode} job needs a session (or timeline) to {mode}")
    if mode == "auto":
        if not roles and "session" not in paths and "video" not in paths:
            raise e.error(None, "an auto job needs input files by role (dialogue, music ...) or a session")
        if not any(k in paths for k in ("output", "stems", "save_session")):
            raise e.error(None, "nothing to write: give the job an output (or stems, save_session)")
        if e.fields.get("target") is None and e.fields.get("lufs") is None:
            raise e.error(None, "an auto job needs a target (a preset, see `mixdown targets`, or lufs)")
    if e.fields.get("target") is not None or e.fields.get("lufs") is not None:
        try:
            get_target(e.fields.get("target"), lufs=e.fields.get("lufs"), true_peak=e.fields.get("true_peak"))
        except MixdownError as exc:
            raise e.error("target" if "target" in e.fields else "lufs", exc.message) from None


def _track_versions(e: Entry, base: Path, bjob: BatchJob, ph: dict[str, Any],
                    sessions: dict[str, Any]) -> BatchJob:
    """A session job whose named tracks take the version's file as every clip's source."""
    from ..interchange import open_session
    from ..session.io import session_to_data

    job = bjob.job
    assert job.session is not None
    key = f"{job.session}\0{job.media_root}"
    if key not in sessions:
        try:
            sessions[key] = open_session(job.session, media_root=job.media_root)[0]
        except MixdownError as exc:
            sessions[key] = exc
    session = sessions[key]
    if isinstance(session, MixdownError):
        return bjob.with_error(str(session))
    data = session_to_data(session)
    inputs = list(bjob.inputs)
    for track, versions in e.fields["tracks"].items():
        value = _version_value(versions, ph.get("version"))
        if not isinstance(value, str):
            raise e.error("tracks", f"track {track!r}: a version of a session's track is one file")
        path = _abs(base, _format(e, "tracks", value, ph))
        hits = [t for t in data.get("tracks", []) if t.get("name") == str(track)]
        if not hits:
            names = ", ".join(str(t.get("name")) for t in data.get("tracks", []))
            err = e.error("tracks", f"the session {job.session} has no track {track!r} (its tracks: {names})")
            return bjob.with_error(str(err))
        for clip in hits[0].get("clips", []):
            clip["source"] = str(path)
        inputs.append((f"tracks.{track}", str(path)))
    new = replace(job, session=None, session_data=data, base_dir=str(session.base_dir.resolve()))
    return replace(bjob, job=new, inputs=tuple(inputs))


# -------------------------------------------------------------------------- pieces

def _format(e: Entry, field: str, text: Any, ph: dict[str, Any]) -> str:
    text = str(text)
    try:
        names = [p[1] for p in string.Formatter().parse(text) if p[1] is not None]
    except ValueError as exc:
        raise e.error(field, f"bad placeholder in {text!r}: {exc} (write {{{{ for a literal brace)") from None
    for n in names:
        if n not in ph:
            known = ", ".join("{" + k + "}" for k in PLACEHOLDERS if k in ph)
            why = " (it comes from a glob match)" if n in ("stem", "file", "parent") else \
                " (it comes from versions)" if n == "version" else ""
            raise e.error(field, f"unknown placeholder {{{n}}} in {text!r}{why}; known here: {known or 'none'}")
    return text.format_map(ph)


def _abs(base: Path, text: str) -> Path:
    p = Path(os.path.expanduser(text))
    return p if p.is_absolute() else (base / p)


def _placed(base: Path, spec: str) -> str:
    name, when = parse_placed(spec)
    path = str(_abs(base, name))
    return f"{path}@{when}" if isinstance(when, str) else path


def _check_unique(jobs: list[BatchJob], file: str | None) -> None:
    names: dict[str, BatchJob] = {}
    outputs: dict[str, BatchJob] = {}
    inputs = {os.path.normpath(p): j for j in jobs for _, p in j.inputs}
    for j in jobs:
        if j.name in names:
            other = names[j.name]
            raise ManifestError(
                f"job name {j.name!r} is used twice ({_at(other)} and {_at(j)}); give each job its own name "
                "(placeholders: {stem} {parent} {version} {index})", file=file, line=j.line)
        names[j.name] = j
        for p in j.output_paths():
            norm = os.path.normpath(p)
            if norm in outputs:
                raise ManifestError(
                    f"{p} is written by two jobs ({outputs[norm].name} and {j.name}); put {{name}} or "
                    "{version} in the output", file=file, line=j.line)
            outputs[norm] = j
            if norm in inputs:
                raise ManifestError(f"{p}: an output of job {j.name!r} is an input of job {inputs[norm].name!r}; "
                                    "the jobs of a batch are independent", file=file, line=j.line)


def _at(j: BatchJob) -> str:
    return f"line {j.line}" if j.line else j.name
