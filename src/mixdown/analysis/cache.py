"""Per-source-file analysis caches: small ``.npz`` files keyed by what the result depends on.

A key is a JSON-able dict (resolved path, size, modification time, and the version
of whatever computed the result); its hash names the file and the key itself is
stored inside, so a hash collision or an edited source reads as a miss. Writes go
to a temporary file that is renamed into place: readers never see half a file and
concurrent writers of one key replace each other's whole file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def file_key(path: Path, **fields: Any) -> tuple[str, dict[str, Any]]:
    """Digest and key for a source file plus whatever else the result depends on."""
    st = path.stat()
    key = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, **fields}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32], key


def load(file: Path, key: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """``(meta, arrays)`` of a cache entry whose stored key equals ``key``; None on a miss or damage."""
    try:
        with np.load(file, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("key") != key:
                return None
            return meta, {name: z[name] for name in z.files if name != "meta"}
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None  # missing or damaged: recompute


def store(file: Path, key: dict[str, Any], meta: dict[str, Any], arrays: dict[str, np.ndarray], *,
          what: str = "analysis") -> None:
    """Write a cache entry atomically; a cache that cannot be written only warns."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=file.stem, suffix=".tmp", dir=file.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                # numpy's stub types **kwds so that a dict of arrays could be allow_pickle
                np.savez(fh, **arrays, meta=np.array(json.dumps({**meta, "key": key})))  # type: ignore[arg-type]
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"{what} cache not written to {file.parent}: {exc}", RuntimeWarning, stacklevel=3)
