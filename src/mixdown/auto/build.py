"""Build a session from plain files: ``--dialogue a.wav b.wav --music bed.mp3@2.5``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import MediaError, SessionError
from ..session.model import Clip, Session, Track


def parse_placed(spec: str) -> tuple[str, str | float]:
    """Split ``file@time`` into the file and its timeline position (default 0).

    The last ``@`` separates them only when what follows parses as a time, so file
    names containing ``@`` still work.
    """
    from ..timebase import check_time_syntax

    if "@" in spec:
        name, _, when = spec.rpartition("@")
        try:
            check_time_syntax(when)
            return name, when
        except ValueError:
            pass
    return spec, 0


def session_from_files(*, dialogue: Sequence[str], music: Sequence[str] = (), sfx: Sequence[str] = (),
                       ambience: Sequence[str] = (), sample_rate: int = 48000, layout: str = "stereo",
                       base_dir: Path | None = None) -> Session:
    """One track per file, named after the file, with its role; clips start at 0 unless ``file@time``.

    Dialogue is not required: a music-only (or effects-only) programme is normalised
    without leveling, balance or ducking.

    Raises
    ------
    MediaError
        For a file that does not exist.
    SessionError
        When no file is given at all.
    """
    tracks: list[Track] = []
    used: set[str] = set()
    for role, files in (("dialogue", dialogue), ("music", music), ("sfx", sfx), ("ambience", ambience)):
        for spec in files:
            name, when = parse_placed(spec)
            path = Path(name)
            if not path.exists():
                raise MediaError(f"--{role}: file not found", file=name)
            track_name = path.stem or role
            k = 2
            while track_name in used:
                track_name = f"{path.stem} {k}"
                k += 1
            used.add(track_name)
            tracks.append(Track(name=track_name, role=role,
                                clips=[Clip(source=str(path.resolve()), start=when)]))
    if not tracks:
        raise SessionError("nothing to mix: give --dialogue, --music, --sfx or --ambience files (or a session)")
    s = Session(sample_rate=sample_rate, layout=layout, tracks=tracks)
    s.base_dir = base_dir or Path.cwd()
    return s
