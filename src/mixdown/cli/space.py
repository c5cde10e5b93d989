"""What each command will write, for the disk-space check before any work.

Outputs and scratch both count: ``auto`` renders a float premaster beside its mix
(channels x 4 bytes per frame, plus the master's latency), ``deliver`` a premaster,
one float file per stem role it needs, and one per master stage while it encodes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _length(graph: Any) -> tuple[int, int, int]:
    return int(graph.length), int(graph.channels), int(graph.sample_rate)


def render_needs(out: Path, fmt: str, graph: Any) -> list[Any]:
    from ..files.space import Need, audio_bytes

    frames, ch, sr = _length(graph)
    return [Need(out, audio_bytes(fmt, frames=frames, channels=ch, sample_rate=sr), str(out))]


def auto_needs(graph: Any, *, output: Path | None, fmt: str | None, stems: Path | None, video_out: bool,
               video: Path | None, roles: int) -> list[Any]:
    """``auto``: the premaster (scratch, beside the output), the mix or video, the stems."""
    from ..files.space import Need, audio_bytes

    frames, ch, sr = _length(graph)
    # the master's lookahead is rendered on top of the programme; a second of margin covers it
    pre = audio_bytes("f32", frames=frames + sr, channels=ch, sample_rate=sr)
    folder = output if output is not None else Path.cwd() / "."
    needs = [Need(folder, pre, "the premaster (scratch)")]
    if output is not None and video_out:
        # the mix (float, scratch), the delivery's premaster and stage, and the video's own bytes
        size = os.stat(video).st_size if video is not None and Path(video).is_file() else 0
        needs += [Need(output, 3 * pre, "the mix and the delivery's scratch"), Need(output, size, str(output))]
    elif output is not None:
        needs.append(Need(output, audio_bytes(fmt or "wav24", frames=frames, channels=ch, sample_rate=sr),
                          str(output)))
    if stems is not None and roles:
        needs.append(Need(stems / "x.wav", roles * audio_bytes("wav24", frames=frames, channels=ch, sample_rate=sr),
                          f"{roles} stem(s)"))
    return needs


def deliver_needs(session: Any, graph: Any) -> list[Any]:
    """``deliver``: every deliverable, plus the scratch beside the first one."""
    from ..deliver.formats import default_bitrate, is_lossy, resolve_format
    from ..files.space import Need, audio_bytes
    from ..session.model import LAYOUT_CHANNELS

    frames, ch, sr = _length(graph)
    needs = []
    scratch = 0
    for d in session.deliverables:
        path = session.resolve(d.path)
        dch = LAYOUT_CHANNELS[d.layout] if d.layout else ch
        if d.kind == "stems":
            fmt = d.format or "wav24"
            n = len(d.roles) if d.roles else len(session.tracks)
            needs.append(Need(path / "x", n * audio_bytes(fmt, frames=frames, channels=dch, sample_rate=sr),
                              f"{d.path} (stems)"))
            scratch += n * audio_bytes("f32", frames=frames, channels=ch, sample_rate=sr)
            continue
        try:
            fmt = d.format or ("aac" if d.kind == "video" else resolve_format(path, None))
        except Exception:  # noqa: BLE001 - a bad format is reported by the delivery itself
            continue
        rate = d.bitrate or (default_bitrate(fmt, dch) if is_lossy(fmt) else None)
        size = audio_bytes(fmt, frames=frames, channels=dch, sample_rate=sr, bitrate=rate)
        if d.kind == "video" and d.video:
            v = session.resolve(d.video)
            size += os.stat(v).st_size if v.is_file() else 0
        needs.append(Need(path, size, d.path))
    if needs:
        first = needs[0].path
        # premaster + one stage kept while it encodes
        scratch += 2 * audio_bytes("f32", frames=frames + sr, channels=ch, sample_rate=sr)
        needs.append(Need(first, scratch, "the delivery's scratch"))
    return needs
