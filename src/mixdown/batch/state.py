"""Durable batch state in SQLite (WAL): what is done survives any crash of the coordinator.

One row per job: its key, its state (``pending``, ``running``, ``done``, ``failed``,
``skipped`` — done in an earlier run with the same key and found intact, so not run
again), attempts, completions, timings, the error, the outputs with their hashes and
the measured loudness; and an ``events`` table with every transition (the history of
attempts). Only the coordinator writes it, one short transaction per transition, so a
``kill -9`` at any instant leaves the last committed state. A lock file beside it keeps
two coordinators off one state; whoever holds the lock knows a ``running`` row is left
over from a coordinator that died, and puts it back to ``pending``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import MixdownError

SCHEMA_VERSION = "1"
STATES = ("pending", "running", "done", "failed", "skipped")
_COLUMNS = {
    "name": "TEXT PRIMARY KEY", "key": "TEXT NOT NULL", "state": "TEXT NOT NULL",
    "attempts": "INTEGER NOT NULL DEFAULT 0", "completions": "INTEGER NOT NULL DEFAULT 0",
    "error": "TEXT", "error_kind": "TEXT", "worker": "TEXT", "pid": "INTEGER",
    "started_at": "REAL", "finished_at": "REAL", "seconds": "REAL", "duration_s": "REAL",
    "realtime_factor": "REAL", "peak_rss_mb": "REAL", "integrated_lufs": "REAL",
    "true_peak_dbtp": "REAL", "lra_lu": "REAL", "compliant": "INTEGER", "target": "TEXT",
    "outputs": "TEXT", "data": "TEXT", "updated_at": "REAL",
}
_RESULT_FIELDS = ("seconds", "duration_s", "realtime_factor", "peak_rss_mb", "integrated_lufs",
                  "true_peak_dbtp", "lra_lu")

__all__ = ["State", "StateError", "STATES"]


class StateError(MixdownError):
    """The state file cannot be opened, is not a batch state, or is in use by another batch."""


class State:
    """The state database of one batch.

    Parameters
    ----------
    path : str or Path, optional
        The SQLite file (created with its folder); None keeps the state in memory (the
        Python API without ``state=``: nothing survives the process).
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock_fh: Any = None
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", timeout=10,
                                       isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL: a committed transaction survives the process being
            # killed (not a power cut, which costs at most the last transitions)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot use as a batch state: {exc}", file=self.path) from None
        except OSError as exc:
            raise StateError(f"cannot create the batch state: {exc.strerror or exc}", file=self.path) from None

    # ------------------------------------------------------------------ lifecycle
    def _create(self) -> None:
        cols = ", ".join(f"{k} {v}" for k, v in _COLUMNS.items())
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
            db.execute(f"CREATE TABLE IF NOT EXISTS jobs ({cols})")
            db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, "
                       "at REAL, event TEXT, attempt INTEGER, detail TEXT)")
            row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise StateError(f"batch state of schema {row[0]} (this mixdown writes {SCHEMA_VERSION}); "
                                 "use another --state file", file=self.path)

    def lock(self) -> None:
        """Take the lock beside the state file for this process's lifetime.

        Raises
        ------
        StateError
            When another ``mixdown batch`` holds it.
        """
        if self.path is None or self._lock_fh is not None:
            return
        import fcntl

        fh = open(str(self.path) + ".lock", "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip()
            fh.close()
            raise StateError(f"in use by another mixdown batch{f' (pid {pid})' if pid else ''}; "
                             "wait for it, or give this one another --state", file=self.path) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock_fh = fh

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---------------------------------------------------------------------- reads
    def rows(self) -> dict[str, dict[str, Any]]:
        """Every job's row, by name (outputs and data decoded)."""
        return {r["name"]: _decode(r) for r in self._db.execute("SELECT * FROM jobs")}

    def row(self, name: str) -> dict[str, Any] | None:
        r = self._db.execute("SELECT * FROM jobs WHERE name=?", (name,)).fetchone()
        return _decode(r) if r is not None else None

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The history of transitions, oldest first."""
        q, args = ("SELECT * FROM events WHERE name=? ORDER BY id", (name,)) if name else \
            ("SELECT * FROM events ORDER BY id", ())
        return [dict(r) for r in self._db.execute(q, args)]

    # --------------------------------------------------------------------- writes
    def recover(self) -> list[str]:
        """Running jobs of a coordinator that died go back to pending; their names."""
        with self._tx() as db:
            names = [r[0] for r in db.execute("SELECT name FROM jobs WHERE state='running'")]
            for n in names:
                db.execute("UPDATE jobs SET state='pending', worker=NULL, pid=NULL, updated_at=? WHERE name=?",
                           (time.time(), n))
                self._event(db, n, "interrupted", None, "its coordinator died while it ran")
        return names

    def register(self, name: str, key: str) -> dict[str, Any]:
        """The job's row, created pending, or reset to pending when its key changed."""
        now = time.time()
        with self._tx() as db:
            r = db.execute("SELECT key FROM jobs WHERE name=?", (name,)).fetchone()
            if r is None:
                db.execute("INSERT INTO jobs (name, key, state, updated_at) VALUES (?, ?, 'pending', ?)",
                           (name, key, now))
                self._event(db, name, "new", None, None)
            elif r[0] != key:
                sets = ", ".join(f"{c}=NULL" for c in _COLUMNS if c not in
                                 ("name", "key", "state", "attempts", "completions", "updated_at"))
                db.execute(f"UPDATE jobs SET key=?, state='pending', attempts=0, completions=0, {sets}, "
                           "updated_at=? WHERE name=?", (key, now, name))
                self._event(db, name, "changed", None, "its job or an input changed")
        row = self.row(name)
        assert row is not None
        return row

    def set_state(self, name: str, state: str, *, event: str | None = None, detail: str | None = None) -> None:
        assert state in STATES
        with self._tx() as db:
            db.execute("UPDATE jobs SET state=?, updated_at=? WHERE name=?", (state, time.time(), name))
            if event:
                self._event(db, name, event, None, detail)

    def running(self, name: str, *, worker: str | None, pid: int | None, started_at: float) -> int:
        """The job started on a worker: one more attempt; returns its number."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET state='running', attempts=attempts+1, worker=?, pid=?, started_at=?, "
                       "error=NULL, error_kind=NULL, updated_at=? WHERE name=?",
                       (worker, pid, started_at, time.time(), name))
            attempt = db.execute("SELECT attempts FROM jobs WHERE name=?", (name,)).fetchone()[0]
            self._event(db, name, "start", attempt, json.dumps({"worker": worker, "pid": pid}))
        return int(attempt)

    def done(self, name: str, record: dict[str, Any]) -> None:
        """The job's outputs verified: record its results."""
        self._finish(name, "done", record, error=None, kind=None)

    def failed(self, name: str, error: str, kind: str, record: dict[str, Any] | None = None) -> None:
        """The job failed (kind: ``input``, ``target``, ``crash`` or ``bug``)."""
        self._finish(name, "failed", record or {}, error=error, kind=kind)

    def _finish(self, name: str, state: str, record: dict[str, Any], *, error: str | None, kind: str | None) -> None:
        now = time.time()
        values: dict[str, Any] = {k: record.get(k) for k in _RESULT_FIELDS}
        values.update(state=state, error=error, error_kind=kind, finished_at=now, updated_at=now,
                      compliant=None if record.get("compliant") is None else int(bool(record["compliant"])),
                      target=json.dumps(record.get("target")) if record.get("target") is not None else None,
                      outputs=json.dumps(record.get("outputs", [])), data=json.dumps(record.get("data", {})))
        if record.get("worker"):
            values["worker"] = record["worker"]
        sets = ", ".join(f"{k}=?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {sets}{', completions=completions+1' if state == 'done' else ''} "
                       "WHERE name=?", (*values.values(), name))
            attempt = db.execute("SELECT attempts FROM jobs WHERE name=?", (name,)).fetchone()
            self._event(db, name, state, attempt[0] if attempt else None, error)

    def note(self, name: str, event: str, detail: str | None = None) -> None:
        """An event in the job's history that changes nothing else (a retry, a killed worker)."""
        with self._tx() as db:
            attempt = db.execute("SELECT attempts FROM jobs WHERE name=?", (name,)).fetchone()
            self._event(db, name, event, attempt[0] if attempt else None, detail)

    @staticmethod
    def _event(db: sqlite3.Connection, name: str, event: str, attempt: int | None, detail: str | None) -> None:
        db.execute("INSERT INTO events (name, at, event, attempt, detail) VALUES (?, ?, ?, ?, ?)",
                   (name, time.time(), event, attempt, detail))


def _decode(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["outputs"] = json.loads(d["outputs"]) if d.get("outputs") else []
    d["data"] = json.loads(d["data"]) if d.get("data") else {}
    d["target"] = json.loads(d["target"]) if d.get("target") else None
    if d.get("compliant") is not None:
        d["compliant"] = bool(d["compliant"])
    return d
