"""The video deliverable of ``auto``: its rendered mix normalised for AAC and muxed into the video."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def deliver_video_after_auto(mix: Path, video: Path, output: Path, *, target: Any, speech: Any = None,
                             codec: str | None = None, keep_original_audio: bool = False, language: str | None = None,
                             title: str | None = None, protect: list[Path] = ()) -> Any:  # type: ignore[assignment]
    """For ``mixdown auto ... --video V -o out.mp4``: mux ``auto``'s rendered mix into ``V``.

    ``auto`` renders its mix to a temporary file (``wav32f``); this normalises and
    limits it for the audio track (the lossy ceiling for a lossy codec), muxes,
    decodes and verifies. ``target`` is the :class:`~mixdown.targets.Target`
    ``auto`` used; a custom target is passed as numbers. ``codec`` is a delivery
    format (``aac``, ``opus``, ``wav24``, ...); None takes the container's default
    (:data:`mixdown.deliver.mux.DEFAULT_AUDIO`).
    """
    from ..session.model import Deliverable
    from ..targets import PRESETS
    from .deliverables import deliver_file

    base = target.name.removesuffix(" (custom)")
    exact = target.name in PRESETS
    d = Deliverable(kind="video", path=str(output), video=str(video), format=codec,
                    target=base if base in PRESETS else None,
                    lufs=None if exact else target.integrated_lufs,
                    true_peak=None if exact else target.true_peak_dbtp,
                    keep_original_audio=keep_original_audio, language=language, title=title)
    return deliver_file(mix, [d], speech=speech, protect=list(protect))
