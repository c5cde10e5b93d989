"""Describe one audio stream of a media file without decoding it: the one probe."""

from __future__ import annotations

import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from . import integrity
from .ffmpeg import audio_stream, has_video, open_container, stream_frames, stream_layout, stream_origin
from .info import MediaInfo, check_file, check_stream_index, layout_name
from .sndfile import codec_name, sf_info


def probe(path: str | os.PathLike[str], *, stream: int | None = None, exact: bool = False) -> MediaInfo:
    """Describe one audio stream of a media file without decoding it.

    Parameters
    ----------
    path : str or PathLike
        Audio or video file.
    stream : int, optional
        Index among the file's audio streams (default 0).
    exact : bool
        For compressed streams, count the samples by decoding the whole stream
        instead of trusting the container's duration (slow for long files).

    Returns
    -------
    MediaInfo

    Raises
    ------
    MediaError
        The file is missing, unreadable, not media, has no audio stream, or has no
        audio stream ``stream``; or it is cut short (its header promises more than it
        holds, see :mod:`.integrity`) and the policy does not allow truncated files.
    """
    p = Path(path)
    check_file(p)
    return _checked(_probe(p, stream, exact))


def _checked(info: MediaInfo) -> MediaInfo:
    """``info`` after the integrity checks: refused, or marked damaged and cut to what is there."""
    integrity.note_suffix(info.path, info.container)
    damage = integrity.inspect(info.path, info)
    if damage is None:
        return info
    integrity.handle(damage)  # raises unless the policy allows truncated files
    rate = info.sample_rate
    # a cut FLAC is decoded by FFmpeg (libsndfile stops at the first broken frame; see open_source)
    backend = "ffmpeg" if info.container == "FLAC" else info.backend
    return replace(info, frames=damage.available, duration_s=damage.available / rate, frames_exact=True,
                   promised_frames=damage.promised, damaged=True, backend=backend)


def _probe(p: Path, stream: int | None, exact: bool) -> MediaInfo:
    info = sf_info(p)
    if info is not None:
        check_stream_index(p, stream, 1)
        codec = codec_name(info)
        return MediaInfo(
            path=p,
            sample_rate=int(info.samplerate),
            channels=int(info.channels),
            layout=layout_name(int(info.channels)),
            frames=int(info.frames),
            duration_s=int(info.frames) / info.samplerate,
            codec=codec,
            has_video=False,
            audio_stream_count=1,
            stream=0,
            container=info.format,
            start_time_s=0.0,
            frames_exact=True,
            backend="soundfile",
        )
    container = open_container(p)
    try:
        st, index = audio_stream(container, p, stream)
        frames, is_exact = stream_frames(container, st, p, exact)
        sr = int(st.codec_context.sample_rate)
        return MediaInfo(
            path=p,
            sample_rate=sr,
            channels=int(st.codec_context.channels),
            layout=stream_layout(st),
            frames=frames,
            duration_s=frames / sr,
            codec=st.codec_context.name,
            has_video=has_video(container),
            audio_stream_count=len(container.streams.audio),
            stream=index,
            container=container.format.name,
            start_time_s=float(Fraction(stream_origin(st)) * st.time_base) if st.time_base else 0.0,
            frames_exact=is_exact,
            backend="ffmpeg",
        )
    finally:
        container.close()
