"""Mux a mix into a copy of a video: video packets copied, never re-encoded.

What :func:`mux_video` writes
-----------------------------
- every video stream of the source (cover pictures excepted), packet for packet:
  the compressed bytes, timestamps and flags are handed to the muxer untouched, so
  the pictures are bit-identical (subtitle, data and timecode streams are not
  copied; the report says how many were left out);
- the mix as a new audio track, first among the audio tracks and marked default,
  encoded as AAC (or Opus, MP3, FLAC, PCM where the container takes them), with
  ``language`` (ISO 639-2, e.g. ``eng``) and ``title`` metadata;
- optionally the source's own audio tracks, copied packet for packet after it and
  not marked default.

Sync
----
The mix's sample 0 is placed at the time of the source audio's sample 0 (its
first *decoded* sample, :attr:`~mixdown.media.decode.MediaInfo.start_time_s`), or of
the first video frame when the source has no audio: so sample ``k`` of the mix
plays at the instant sample ``k`` of the original audio played, which is what
keeps lips in sync when the session placed the camera audio at time 0. In
MP4/MOV an audio track that starts after 0 is delayed by an edit list; its movie
timescale is set to the audio rate so that delay is sample-exact (FFmpeg's
default, 1/1000 s, would move the audio by up to a millisecond).

Length: the new track is as long as the source's audio (or video, if it has no
audio): a longer mix is cut, a shorter one padded with silence, and the report
says by how much -- a soundtrack that runs on after the last picture is a player
bug, and a track that stops early ends the programme early on some players.

Output container from the suffix: ``.mp4``/``.m4v`` (MP4), ``.mov`` (QuickTime),
``.mkv`` (Matroska), ``.webm`` (WebM: Opus only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from ..media.write import atomic_path

_CONTAINER_BY_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
#: Audio formats each output container takes.
CONTAINER_AUDIO = {
    "mp4": ("aac", "mp3", "opus"),
    "mov": ("aac", "mp3", "wav16", "wav24", "wav32f"),
    "matroska": ("aac", "opus", "mp3", "flac", "wav16", "wav24", "wav32f"),
    "webm": ("opus",),
}
#: Video codecs a container takes, where it is picky (the picture is copied, never re-encoded).
CONTAINER_VIDEO = {"webm": ("vp8", "vp9", "av1")}
#: The audio format a video deliverable gets when it names none: what the container is made for.
#: MP4 and QuickTime players expect AAC; WebM takes only Opus (or Vorbis); Matroska takes
#: anything, and is chosen when nothing may be lost, so it keeps the mix as 24-bit PCM.
DEFAULT_AUDIO = {"mp4": "aac", "mov": "aac", "matroska": "wav24", "webm": "opus"}
#: Seconds of audio encoded ahead of the video packet being copied (interleaving).
LEAD_S = 0.5
_READ = 16384


@dataclass
class MuxReport:
    """What :func:`mux_video` did."""

    path: str
    video: str
    container: str
    codec: str
    sample_rate: int
    channels: int
    bitrate: int | None
    audio_start_s: float
    audio_frames: int
    reference_frames: int
    padded_s: float = 0.0
    trimmed_s: float = 0.0
    video_packets: int = 0
    original_audio_tracks: int = 0
    dropped_streams: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def container_for(path: str | os.PathLike[str]) -> str:
    """FFmpeg muxer name for a video output path.

    Raises
    ------
    MediaError
        For a suffix mixdown does not write video to.
    """
    p = Path(path)
    fmt = _CONTAINER_BY_SUFFIX.get(p.suffix.lower())
    if fmt is None:
        raise MediaError(f"a video deliverable must end in {', '.join(_CONTAINER_BY_SUFFIX)}, not "
                         f"{p.suffix or '(no suffix)'!r}", file=p)
    return fmt


#: Audio codec names (``--codec``, a job's ``codec`` option) and the delivery format each stands for.
CODEC_FORMATS = {"aac": "aac", "opus": "opus", "mp3": "mp3", "flac": "flac", "pcm": "wav24"}


def video_audio_format(out: str | os.PathLike[str], codec: str | None) -> str:
    """The audio format inside the video ``out``: ``codec`` checked against its container, or the container's default.

    Raises
    ------
    MediaError
        An unknown codec name, or one the container cannot carry (the message lists those it can).
    """
    container = container_for(out)
    if codec is None:
        return default_video_audio(container)
    if codec not in CODEC_FORMATS:
        raise MediaError(f"unknown audio codec {codec!r}; use one of {', '.join(CODEC_FORMATS)}", file=out)
    if CODEC_FORMATS[codec] not in CONTAINER_AUDIO[container]:
        takes = [name for name, f in CODEC_FORMATS.items() if f in CONTAINER_AUDIO[container]]
        raise MediaError(f"a {Path(out).suffix} file cannot carry {codec} audio; use one of {', '.join(takes)}",
                         file=out)
    return CODEC_FORMATS[codec]


def default_video_audio(container: str) -> str:
    """The audio format of a video deliverable in ``container`` when it names none (:data:`DEFAULT_AUDIO`)."""
    return DEFAULT_AUDIO[container]


def check_video_copy(video: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """Raise unless the container of ``out`` can hold the pictures of ``video`` as they are (stream copy)."""
    import av

    from ..media.ffmpeg import open_container

    allowed = CONTAINER_VIDEO.get(container_for(out))
    if allowed is None:
        return
    pic = av.stream.Disposition.attached_pic
    src = open_container(Path(video))
    try:
        names = [s.codec_context.name for s in src.streams.video if not (s.disposition & pic)]
    finally:
        src.close()
    bad = [n for n in names if n not in allowed]
    if bad:
        raise MediaError(f"a {Path(out).suffix} file cannot carry the {bad[0]} pictures of {Path(video).name} (they "
                         f"are copied, not re-encoded; it takes {', '.join(allowed)}): write .mp4, .mov or .mkv",
                         file=out)


def check_video_audio(path: str | os.PathLike[str], fmt: str) -> str:
    """Raise unless the container of ``path`` takes audio format ``fmt``; returns the container."""
    container = container_for(path)
    if fmt not in CONTAINER_AUDIO[container]:
        raise MediaError(f"a {Path(path).suffix} file cannot carry {fmt} audio; use one of "
                         f"{', '.join(CONTAINER_AUDIO[container])}", file=path)
    return container


@dataclass(frozen=True)
class VideoReference:
    """Where and how long the new audio track must be, from the source video."""

    start_s: float
    duration_s: float
    has_audio: bool


def video_reference(video: str | os.PathLike[str]) -> VideoReference:
    """Start time and length of the source's audio (or of its video when it has none).

    Raises
    ------
    MediaError
        Unreadable, or no video stream.
    """
    import av

    from ..media.decode import probe
    from ..media.ffmpeg import has_video, open_container

    p = Path(video)
    c = open_container(p)
    try:
        if not has_video(c):
            raise MediaError("has no video stream to mux the mix into", file=p)
        v = next(s for s in c.streams.video if not (s.disposition & av.stream.Disposition.attached_pic))
        has_audio = bool(c.streams.audio)
        vstart = float(v.start_time * v.time_base) if v.start_time is not None and v.time_base else 0.0
        if v.duration is not None and v.time_base:
            vdur = float(v.duration * v.time_base)
        elif c.duration is not None:
            vdur = c.duration / 1_000_000 - vstart
        else:
            vdur = 0.0
    finally:
        c.close()
    if has_audio:
        info = probe(p)
        return VideoReference(info.start_time_s, info.duration_s, True)
    return VideoReference(vstart, vdur, False)


def mux_video(
    video: str | os.PathLike[str],
    source: Callable[[int, int], np.ndarray],
    out: str | os.PathLike[str],
    *,
    sample_rate: int,
    channels: int,
    frames: int,
    format: str = "aac",
    bitrate: int | None = None,
    keep_original_audio: bool = False,
    language: str | None = None,
    title: str | None = None,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> MuxReport:
    """Write ``out``: the video streams of ``video`` copied, the mix as a new audio track.

    Parameters
    ----------
    video : path
        Source video (never modified; refused as ``out``).
    source : callable
        ``source(position, n) -> (channels, n) float32``: the mix at ``sample_rate``,
        from sample ``position``; zeros past its end are fine.
    out : path
        Output; ``.mp4``, ``.m4v``, ``.mov``, ``.mkv`` or ``.webm``.
    sample_rate, channels : int
        Of ``source``.
    frames : int
        Length of the mix in samples (to report padding/cutting).
    format : str
        Audio codec: ``aac`` (default), ``opus``, ``mp3``, ``flac``, ``wav16``/``wav24``/``wav32f``.
    bitrate : int, optional
        Lossy codecs, bits per second.
    keep_original_audio : bool
        Copy the source's audio tracks after the new one.
    language, title : str, optional
        Metadata of the new track.
    protect : iterable of path
        More inputs that must not be overwritten.

    Returns
    -------
    MuxReport

    Raises
    ------
    MediaError
        Unreadable source, no video, a codec the container cannot take, a write error.
    """
    import av

    from ..media.ffmpeg import open_container
    from .encode import StreamEncoder

    t0 = time.perf_counter()
    video = Path(video)
    out = Path(out)
    container = check_video_audio(out, format)
    check_video_copy(video, out)
    ref = video_reference(video)
    from .formats import encode_rate, is_lossy

    rate = encode_rate(format, sample_rate) if is_lossy(format) else int(sample_rate)
    start_pts = int(round(ref.start_s * rate))
    want = int(round(ref.duration_s * sample_rate))  # samples of the mix to send, at the mix's rate
    report = MuxReport(path=str(out), video=str(video), container=container, codec=format, sample_rate=rate,
                       channels=int(channels), bitrate=None, audio_start_s=start_pts / rate,
                       audio_frames=0, reference_frames=int(round(ref.duration_s * rate)),
                       padded_s=max(0, want - frames) / sample_rate, trimmed_s=max(0, frames - want) / sample_rate)
    src = open_container(video)
    try:
        pic = av.stream.Disposition.attached_pic
        vids = [s for s in src.streams.video if not (s.disposition & pic)]
        auds = list(src.streams.audio) if keep_original_audio else []
        copied = {s.index for s in vids + auds}
        report.dropped_streams = [f"{s.type} #{s.index} ({s.codec_context.name if s.codec_context else '?'})"
                                  for s in src.streams if s.index not in copied
                                  and not (s.type == "audio" and not keep_original_audio)]
        options = {"fflags": "+bitexact"}  # no random serials or version tags: same inputs, same bytes
        if container in ("mp4", "mov") and start_pts:
            options["movie_timescale"] = str(rate)
        with atomic_path(out, protect=[video, *protect]) as tmp:
            try:
                dst = av.open(str(tmp), mode="w", format=container, options=options)
            except av.error.FFmpegError as exc:
                raise MediaError(f"cannot write {container} ({exc})", file=out) from exc
            try:
                _copy_metadata(src, dst)
                omap: dict[int, Any] = {}
                for s in vids:
                    omap[s.index] = dst.add_stream_from_template(s)
                enc = StreamEncoder(dst, format=format, sample_rate=sample_rate, channels=channels, bitrate=bitrate,
                                    start_pts=start_pts, path=out)
                report.bitrate = enc.bitrate
                enc.stream.disposition = av.stream.Disposition.default
                if language:
                    enc.stream.metadata["language"] = language
                if title:
                    enc.stream.metadata["title"] = title
                    if container in ("mp4", "mov"):
                        enc.stream.metadata["handler_name"] = title
                for s in auds:
                    o = dst.add_stream_from_template(s)
                    o.disposition = s.disposition & ~av.stream.Disposition.default
                    omap[s.index] = o
                report.original_audio_tracks = len(auds)
                sent = 0

                def encode_until(seconds: float) -> None:
                    nonlocal sent
                    stop = (
                        want
                        if seconds == float("inf")
                        else min(want, int(np.ceil((seconds - ref.start_s) * sample_rate)))
                    )
                    while sent < stop:
                        n = min(_READ, stop - sent)
                        block = np.asarray(source(sent, n), dtype=np.float32)
                        if sent + n > frames:  # past the mix: silence, whatever the source says
                            block = block.copy()
                            block[:, max(0, frames - sent):] = 0.0
                        enc.encode(block)
                        sent += n

                for packet in src.demux(*(vids + auds)):
                    if packet.size == 0:
                        continue
                    ts = packet.dts if packet.dts is not None else packet.pts
                    if ts is not None and packet.time_base is not None:
                        encode_until(float(ts * packet.time_base) + LEAD_S)
                    if packet.stream.index in omap and packet.stream.type == "video":
                        report.video_packets += 1
                    packet.stream = omap[packet.stream.index]
                    dst.mux(packet)
                encode_until(float("inf"))
                enc.flush()
                report.audio_frames = int(round(sent * rate / sample_rate))
            except av.error.FFmpegError as exc:
                raise MediaError(f"muxing failed ({exc})", file=out) from exc
            finally:
                try:
                    dst.close()
                except av.error.FFmpegError as exc:
                    raise MediaError(f"muxing failed ({exc})", file=out) from exc
    finally:
        src.close()
    report.seconds = time.perf_counter() - t0
    return report


def _copy_metadata(src: Any, dst: Any) -> None:
    for k, v in src.metadata.items():
        if k.lower() in ("encoder", "major_brand", "minor_version", "compatible_brands", "creation_time"):
            continue
        dst.metadata[k] = v


def video_packet_hashes(path: str | os.PathLike[str], *, stream: int = 0) -> list[str]:
    """SHA-1 of every packet of a video stream, in file order (to prove a copy is a copy)."""
    import hashlib

    from ..media.ffmpeg import open_container

    c = open_container(Path(path))
    try:
        st = c.streams.video[stream]
        return [hashlib.sha1(bytes(p)).hexdigest() for p in c.demux(st) if p.size]
    finally:
        c.close()
