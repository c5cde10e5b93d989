"""The speech-score cache: where it lives, its keys, reading and writing a :class:`SpeechActivity`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import _energy, _silero, cache
from .activity import ALGO_VERSION, RATE, SpeechActivity
from .cache import file_key

__all__ = ["cache_directory", "cache_key", "load_cached", "model_id", "store_cached"]


def cache_directory() -> Path:
    """Where :func:`detect_file` caches scores by default.

    ``$MIXDOWN_CACHE_DIR/vad`` if that variable is set, else
    ``$XDG_CACHE_HOME/mixdown/vad``, else ``~/.cache/mixdown/vad``.
    """
    root = os.environ.get("MIXDOWN_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "vad"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mixdown" / "vad"


def model_id(method: str) -> str:
    if method == "silero":
        return f"{_silero.model_version()}/{ALGO_VERSION}"
    return f"{_energy.VERSION}/{ALGO_VERSION}"


def cache_key(path: Path, method: str, stream: int | None) -> tuple[str, dict]:
    return file_key(path, method=method, model=model_id(method), stream=stream, rate=RATE)


def load_cached(file: Path, key: dict) -> SpeechActivity | None:
    hit = cache.load(file, key)
    if hit is None:
        return None
    meta, arrays = hit
    try:
        return SpeechActivity(
            method=meta["method"],
            model=meta["model"],
            frame=int(meta["frame"]),
            probability=arrays["probability"].astype(np.float32),
            level_db=arrays["level_db"].astype(np.float32),
            source_frames=int(meta["source_frames"]),
            source_rate=int(meta["source_rate"]),
        )
    except KeyError:
        return None


def store_cached(file: Path, key: dict, act: SpeechActivity) -> None:
    meta = {"method": act.method, "model": act.model, "frame": act.frame,
            "source_frames": act.source_frames, "source_rate": act.source_rate}
    cache.store(file, key, meta, {"probability": act.probability, "level_db": act.level_db}, what="VAD")
