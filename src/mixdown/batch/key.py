"""A job's key: what its result depends on, hashed.

The key is the SHA-256 of the job after the manifest's defaults and overrides (every
field but its name), the identity of every input media file (size, modification time
and a hash of its first and last MiB), the delivery target as resolved, and the
mixdown version. A done job whose key is unchanged is not run again; change an input,
a field or the version and it is.

The first/last MiB hash catches a file replaced by another of the same size and time
(a copy that keeps times) without reading whole programmes on every re-run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..auto.build import parse_placed
from ..errors import MediaError, MixdownError
from ..version import __version__
from .spec import ROLES, BatchJob

MIB = 1 << 20

__all__ = ["InputError", "Keyer", "media_identity"]


class InputError(MixdownError):
    """An input of a job cannot be identified (missing, unreadable, an invalid session)."""


def media_identity(path: str | Path) -> dict[str, Any]:
    """Size, modification time (ns) and SHA-256 of the first and last MiB of a file.

    Raises
    ------
    MediaError
        For a file that does not exist or cannot be read.
    """
    p = Path(path)
    try:
        st = p.stat()
        if not p.is_file():
            raise MediaError("not a file", file=p)
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            h.update(fh.read(MIB))
            if st.st_size > MIB:
                fh.seek(max(MIB, st.st_size - MIB))
                h.update(fh.read(MIB))
    except FileNotFoundError:
        raise MediaError("file not found", file=p) from None
    except IsADirectoryError:
        raise MediaError("not a file", file=p) from None
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}", file=p) from None
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_tail_sha256": h.hexdigest()}


class Keyer:
    """Computes job keys, hashing each media file once however many jobs share it."""

    def __init__(self) -> None:
        self._media: dict[str, dict[str, Any] | MediaError] = {}

    def identity(self, path: str) -> dict[str, Any]:
        norm = os.path.abspath(path)
        if norm not in self._media:
            try:
                self._media[norm] = media_identity(norm)
            except MediaError as exc:
                self._media[norm] = exc
        found = self._media[norm]
        if isinstance(found, MediaError):
            raise found
        return found

    def key(self, bjob: BatchJob) -> str:
        """The job's key.

        Raises
        ------
        MixdownError
            For an input that is missing or unreadable (naming the job's field and the
            file), or a session that does not load.
        """
        job = bjob.job
        media = []
        for field, path in _inputs(bjob):
            try:
                media.append([field, self.identity(path)])
            except MediaError as exc:
                raise InputError(f"{field}: {exc}") from None
        data = dataclasses.asdict(job)
        data.pop("name", None)
        payload = {"job": data, "media": media, "target": _target(job), "mixdown": __version__}
        text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _inputs(bjob: BatchJob) -> list[tuple[str, str]]:
    """Every input file: the ones the entry names, and the sources of its session."""
    job = bjob.job
    out = list(bjob.inputs)
    named = {os.path.abspath(p) for _, p in out}
    for role in ROLES:
        for spec in getattr(job, role):
            path = os.path.abspath(parse_placed(spec)[0])
            if path not in named:
                out.append((role, path))
                named.add(path)
    for field, path in _session_sources(job):
        if os.path.abspath(path) not in named:
            out.append((field, path))
            named.add(os.path.abspath(path))
    return out


def _session_sources(job: Any) -> list[tuple[str, str]]:
    if job.session is None and job.session_data is None:
        return []
    if job.session is not None:
        from ..interchange import open_session

        if not os.path.isfile(job.session):
            raise InputError(f"session: file not found: {job.session}")
        session, _ = open_session(job.session, media_root=job.media_root)
    else:
        from ..session import session_from_data

        session = session_from_data(job.session_data, base_dir=Path(job.base_dir) if job.base_dir else None)
    out = []
    for track in session.tracks:
        for i, clip in enumerate(track.clips):
            src = session.resolve(clip.source)
            assert isinstance(src, Path), "a batch job's session is read from YAML: its sources are paths"
            out.append((f"track {track.name!r} clip {i + 1}", str(src.resolve())))
    return out


def _target(job: Any) -> dict[str, Any] | None:
    if job.target is None and job.lufs is None:
        return None
    from ..targets import get_target

    return get_target(job.target, lufs=job.lufs, true_peak=job.true_peak).to_json()
