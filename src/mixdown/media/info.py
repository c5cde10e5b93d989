"""What a probe learns about an audio stream, and the checks every opener shares."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MediaError

_LAYOUT_NAMES = {1: "mono", 2: "stereo", 6: "5.1"}


def layout_name(channels: int) -> str:
    """Name of the layout mixdown assumes for a channel count.

    ``1 -> 'mono'``, ``2 -> 'stereo'``, ``6 -> '5.1'`` (order L R C LFE Ls Rs),
    otherwise ``'<n>ch'``.
    """
    return _LAYOUT_NAMES.get(channels, f"{channels}ch")


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` learnt about one audio stream of a file.

    Attributes
    ----------
    path : Path
        The file, as given (not resolved).
    sample_rate : int
        Native rate of the stream, Hz.
    channels : int
        Number of channels.
    layout : str
        ``'mono'``, ``'stereo'``, ``'5.1'`` (also for FFmpeg's ``5.1(side)``), or
        FFmpeg's name / ``'<n>ch'`` for anything else.
    frames : int
        Length in samples at ``sample_rate``. Exact for libsndfile formats (and for
        ``probe(..., exact=True)``); for compressed streams taken from the stream's
        duration, else the container's, else counted by decoding (see
        ``frames_exact``). Reading past it gives zeros.
    duration_s : float
        ``frames / sample_rate``, seconds.
    codec : str
        ``'pcm_s16'``, ``'pcm_s24'``, ``'pcm_f32'``, ``'flac'``, ``'vorbis'``, or
        FFmpeg's decoder name (``'mp3float'``, ``'aac'``, ``'opus'``, ...).
    has_video : bool
        Whether the file has a video stream (attached cover pictures excluded).
    audio_stream_count : int
        Number of audio streams in the file.
    stream : int
        The audio stream described (index among the audio streams).
    container : str
        Container format (``'WAV'``, ``'FLAC'``, ``'mp3'``, ``'mov,mp4,m4a,3gp,3g2,mj2'``...).
    start_time_s : float
        Time of sample 0 on the container's clock, seconds (0 for libsndfile
        formats); what keeps a video's own audio in sync with its pictures.
    frames_exact : bool
        Whether ``frames`` is an exact count rather than a container estimate.
    backend : str
        ``'soundfile'`` or ``'ffmpeg'``: which decoder :func:`open_source` uses.
    promised_frames : int or None
        For a file cut short and read anyway (``--allow-truncated``, see
        :mod:`.integrity`): the frames its header promises, of which ``frames`` are
        there; None for a whole file (or one whose container records no length).
    damaged : bool
        The file is cut short and was read anyway.
    """

    path: Path
    sample_rate: int
    channels: int
    layout: str
    frames: int
    duration_s: float
    codec: str
    has_video: bool
    audio_stream_count: int
    stream: int = 0
    container: str = ""
    start_time_s: float = 0.0
    frames_exact: bool = True
    backend: str = "soundfile"
    promised_frames: int | None = None
    damaged: bool = False



def check_file(path: Path) -> None:
    """Refuse a path that is missing, a folder or unreadable (:class:`MediaError` naming it)."""
    if not path.exists():
        raise MediaError("file not found", file=path)
    if path.is_dir():
        raise MediaError("is a folder, not a media file", file=path)
    if not os.access(path, os.R_OK):
        raise MediaError("file is not readable (permission denied)", file=path)


def check_stream_index(path: Path, stream: int | None, count: int) -> int:
    """The audio stream index asked for (default 0), refused when the file has no such stream."""
    index = 0 if stream is None else int(stream)
    if index < 0 or index >= count:
        have = "1 audio stream (index 0)" if count == 1 else f"{count} audio streams (0..{count - 1})"
        raise MediaError(f"audio stream {index} requested but the file has {have}", file=path)
    return index
