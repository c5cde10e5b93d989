"""Probe and stream-decode any audio source, at any rate, from any in-point.

Two back ends, chosen per file by :func:`probe` and :func:`open_source`:

- **libsndfile** (``soundfile``) for WAV/W64/RF64/AIFF/CAF/FLAC and Ogg Vorbis: the
  sample count is exact and seeking is sample-exact.
- **FFmpeg** (PyAV) for everything else: MP3, AAC/M4A, Opus, AC-3, and the audio
  streams inside video files (MP4, MOV, MKV, ...). ``stream`` picks among a file's
  audio streams (0 = the first *audio* stream, whatever the video streams are).

Sample positions
----------------
Sample 0 of a source is its first *presented* sample: FFmpeg already drops the
encoder priming it knows about (the LAME/Xing header's delay in MP3, the edit list
or ``skip_samples`` in MP4/M4A/MKV, Opus pre-skip), and shifts the timestamps of
the first frame to the stream's ``start_time``. A decoded frame's position is
therefore ``round((frame.pts - stream.start_time) * time_base * rate)``. Formats
that carry no priming information (raw ADTS ``.aac``) keep the encoder delay
(1024 samples for FFmpeg's AAC encoder), exactly as ``ffmpeg`` itself does.
:attr:`MediaInfo.start_time_s` says where sample 0 sits on the container clock, for
anything that must keep sync with a video stream.

Seeking in compressed streams
-----------------------------
A decoder's output depends on a little history (the MDCT overlap of the previous
frame, MP3's bit reservoir, Opus's convergence), so the reader seeks
:data:`PREROLL_S` before the in-point, decodes and throws away everything up to the
exact sample given by the frames' timestamps. If the container lands after the
requested time, the reader seeks again further back, and in the end decodes from
the start. Matroska/WebM stamp packets in whole milliseconds (+-24 samples at
48 kHz); there the reader puts the first frame after a seek on the grid of the
codec's fixed frame size (AAC 1024, Opus 960, ...) counted from the first frame of
the file, and decodes from the start when the frames are not on such a grid. Frames without a timestamp are placed by counting samples; a jump in
timestamps (a gap in the stream) is filled with silence and an overlap is dropped,
so the audio stays in sync with the container clock.

Resampling
----------
When the source rate differs from the wanted rate, ``soxr`` (``HQ``) resamples in
a stream. For an exact in-point, the resampler starts a margin of at least
:data:`RESAMPLE_MARGIN` output samples earlier, at a source sample that is a whole
number of rate-ratio periods (``in_rate / gcd``) from the start of the file, so its
output samples fall on the same instants as those of a resampler run from the start
of the file; the margin (whose output differs while the filter fills) is discarded.
Measured: the filter transient lasts < 500 output samples even for 8 kHz -> 48 kHz;
after it, the samples equal those of a resampling of the whole file to ~3e-7 (soxr
uses FFT convolution, so equal up to float rounding, not bit for bit).

Determinism: a reader's output does not depend on the sizes passed to
:meth:`SourceReader.read` (sources are decoded and resampled in chunks fixed by the
file, not by the caller), and opening the same file at the same in-point gives the
same samples bit for bit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError

#: Seconds decoded and discarded before an in-point in a compressed stream.
PREROLL_S = 0.25
#: Minimum output samples the resampler runs (and discards) before an in-point.
RESAMPLE_MARGIN = 4096
#: Frames read from libsndfile per call (independent of the caller's block size).
SF_BLOCK = 65536
#: Decoded compressed audio is gathered into chunks of at least this many frames
#: before resampling/buffering, to keep the per-call overhead small.
AV_CHUNK = 16384

# libsndfile major formats read through soundfile; everything else goes to FFmpeg.
# (libsndfile also reads MP3 and Opus, but FFmpeg's handling of their priming and
# seeking is the reference the rest of the world uses.)
_SF_FORMATS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "CAF", "FLAC", "OGG"}
_SF_OGG_SUBTYPES = {"VORBIS"}
# First four bytes of those containers (W64's GUID starts with "riff").
_SF_MAGIC = {b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"FORM", b"caff", b"fLaC", b"OggS"}

_SF_CODECS = {
    "PCM_S8": "pcm_s8",
    "PCM_U8": "pcm_u8",
    "PCM_16": "pcm_s16",
    "PCM_24": "pcm_s24",
    "PCM_32": "pcm_s32",
    "FLOAT": "pcm_f32",
    "DOUBLE": "pcm_f64",
    "VORBIS": "vorbis",
    "ULAW": "pcm_mulaw",
    "ALAW": "pcm_alaw",
    "IMA_ADPCM": "adpcm_ima",
    "MS_ADPCM": "adpcm_ms",
}

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


# --------------------------------------------------------------------------- helpers


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError("file not found", file=path)
    if path.is_dir():
        raise MediaError("is a folder, not a media file", file=path)
    if not os.access(path, os.R_OK):
        raise MediaError("file is not readable (permission denied)", file=path)


def _sf_info(path: Path) -> Any | None:
    """soundfile's info if libsndfile should decode this file, else None."""
    import soundfile as sf

    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError:
        return None
    # Ask libsndfile only about its own containers: probing anything else makes it
    # try its MP3 reader, whose libmpg123 prints warnings on stderr.
    if magic not in _SF_MAGIC:
        return None
    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - libsndfile says "not mine" in many ways
        return None
    if info.format not in _SF_FORMATS:
        return None
    if info.format == "OGG" and info.subtype not in _SF_OGG_SUBTYPES:
        return None
    if info.frames <= 0 and info.format == "OGG":
        return None
    return info


def _check_stream_index(path: Path, stream: int | None, count: int) -> int:
    index = 0 if stream is None else int(stream)
    if index < 0 or index >= count:
        have = "1 audio stream (index 0)" if count == 1 else f"{count} audio streams (0..{count - 1})"
        raise MediaError(f"audio stream {index} requested but the file has {have}", file=path)
    return index


def _open_av(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), mode="r")
    except av.error.FileNotFoundError as exc:
        raise MediaError("file not found", file=path) from exc
    except av.error.PermissionError as exc:
        raise MediaError("file is not readable (permission denied)", file=path) from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"not a media file FFmpeg can read, or a damaged or cut-short one ({exc.__class__.__name__}: "
                         f"{exc})", file=path) from exc


def _av_audio_stream(container: Any, path: Path, stream: int | None) -> tuple[Any, int]:
    audio = list(container.streams.audio)
    if not audio:
        what = "has a video stream but no audio stream" if _av_has_video(container) else "has no audio stream"
        raise MediaError(what, file=path)
    index = _check_stream_index(path, stream, len(audio))
    st = audio[index]
    if not st.codec_context.sample_rate or not st.codec_context.channels:
        raise MediaError(f"audio stream {index} has no sample rate or channel count (damaged file?)", file=path)
    return st, index


def _av_has_video(container: Any) -> bool:
    import av

    # A cover picture in an MP3/M4A is a video stream with the attached-pic flag.
    pic = av.stream.Disposition.attached_pic
    return any(not (st.disposition & pic) for st in container.streams.video)


def _av_layout(st: Any) -> str:
    n = st.codec_context.channels
    name = st.codec_context.layout.name if st.codec_context.layout is not None else ""
    if n == 6 and name in ("5.1", "5.1(side)"):
        return "5.1"
    if n in (1, 2) or not name or "channels" in name:
        return layout_name(n)
    return name


def _av_origin(st: Any) -> int:
    return int(st.start_time) if st.start_time is not None else 0


def _av_frames(container: Any, st: Any, path: Path, exact: bool) -> tuple[int, bool]:
    sr = st.codec_context.sample_rate
    if not exact:
        if st.duration is not None and st.duration > 0:
            n = int(round(Fraction(st.duration) * st.time_base * sr))
            if container.format.name == "ogg":
                # Ogg's last granule position counts the Opus pre-skip, which the
                # decoder drops (codec delay).
                n -= int(getattr(st.codec_context, "delay", 0) or 0)
            return max(n, 0), False
        if container.duration is not None and container.duration > 0:
            start = 0
            if container.start_time is not None and st.start_time is not None:
                # The container spans all streams; count from this stream's start.
                start = Fraction(st.start_time) * st.time_base - Fraction(container.start_time, 1_000_000)
            seconds = Fraction(container.duration, 1_000_000) - max(start, Fraction(0))
            return max(0, int(round(seconds * sr))), False
    # Count by decoding: exact, and the only way when the container does not say.
    n = 0
    try:
        for frame in container.decode(st):
            n += frame.samples
    except Exception as exc:  # noqa: BLE001 - av raises many FFmpegError kinds
        raise MediaError(f"cannot decode audio ({exc})", file=path) from exc
    return n, True


# --------------------------------------------------------------------------- probe


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
    _check_file(p)
    return _checked(_probe(p, stream, exact))


def _checked(info: MediaInfo) -> MediaInfo:
    """``info`` after the integrity checks: refused, or marked damaged and cut to what is there."""
    from dataclasses import replace

    from . import integrity

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
    info = _sf_info(p)
    if info is not None:
        _check_stream_index(p, stream, 1)
        codec = "flac" if info.format == "FLAC" else _SF_CODECS.get(info.subtype, info.subtype.lower())
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
    container = _open_av(p)
    try:
        st, index = _av_audio_stream(container, p, stream)
        frames, is_exact = _av_frames(container, st, p, exact)
        sr = int(st.codec_context.sample_rate)
        return MediaInfo(
            path=p,
            sample_rate=sr,
            channels=int(st.codec_context.channels),
            layout=_av_layout(st),
            frames=frames,
            duration_s=frames / sr,
            codec=st.codec_context.name,
            has_video=_av_has_video(container),
            audio_stream_count=len(container.streams.audio),
            stream=index,
            container=container.format.name,
            start_time_s=float(Fraction(_av_origin(st)) * st.time_base) if st.time_base else 0.0,
            frames_exact=is_exact,
            backend="ffmpeg",
        )
    finally:
        container.close()


# --------------------------------------------------------------------------- raw producers
# A producer yields float32 (channels, k) chunks of native-rate audio starting exactly
# at native sample ``start``, in chunks whose sizes depend only on the file.


class _SfProducer:
    def __init__(self, path: Path) -> None:
        import soundfile as sf

        self.path = path
        try:
            self._f = sf.SoundFile(str(path), mode="r")
        except Exception as exc:  # noqa: BLE001
            raise MediaError(f"cannot open audio ({exc})", file=path) from exc
        self.channels = int(self._f.channels)
        self.rate = int(self._f.samplerate)
        self._left = int(self._f.frames)
        self._at = 0

    def start(self, start: int) -> None:
        """Position at native sample ``start`` (call once, before reading)."""
        self._left = max(0, int(self._f.frames) - start)
        self._at = start
        if self._left and start:
            self._f.seek(start)

    def next_chunk(self) -> np.ndarray | None:
        if self._left <= 0:
            return None
        try:
            data = self._f.read(min(SF_BLOCK, self._left), dtype="float32", always_2d=True)
        except Exception as exc:  # noqa: BLE001
            self._stopped(f"decoding fails there (libsndfile: {exc})")
            return None
        if len(data) == 0:
            self._stopped("the data stops there")
            return None
        self._left -= len(data)
        self._at += len(data)
        return np.ascontiguousarray(data.T)

    def _stopped(self, why: str) -> None:
        """The data ended before the header's length: refused, or (allowed) the end."""
        from . import integrity

        promised = int(self._f.frames)
        self._left = 0
        integrity.handle_read_end(self.path, rate=self.rate, delivered=self._at, promised=promised,
                                  why=f"{why}, while its header promises more")

    def close(self) -> None:
        self._f.close()


def _frame_to_array(frame: Any, channels: int) -> np.ndarray:
    """A decoded AVFrame as float32 (channels, samples)."""
    fmt = frame.format.name
    if fmt == "fltp":  # what most FFmpeg audio decoders give: one plane per channel
        n = frame.samples
        out = np.empty((channels, n), np.float32)
        for ch, plane in enumerate(frame.planes):
            out[ch] = np.frombuffer(plane, np.float32, n)
        return out
    a = frame.to_ndarray()
    if not frame.format.is_planar:
        a = a.reshape(-1, channels).T
    base = fmt.rstrip("p")
    if base == "flt":
        out = a
    elif base == "dbl":
        out = a.astype(np.float32)
    elif base == "s16":
        out = a.astype(np.float32) * np.float32(1 / 32768)
    elif base == "s32":
        out = (a * (1.0 / 2147483648.0)).astype(np.float32)
    elif base == "s64":
        out = (a * (1.0 / 9223372036854775808.0)).astype(np.float32)
    elif base == "u8":
        out = (a.astype(np.float32) - 128.0) * np.float32(1 / 128)
    else:  # pragma: no cover - FFmpeg has no other audio sample formats
        raise MediaError(f"unsupported decoded sample format {fmt!r}")
    return np.ascontiguousarray(out, dtype=np.float32)


class _AvProducer:
    def __init__(self, path: Path, stream: int | None) -> None:
        self.path = path
        self._stream_arg = stream
        self._container = _open_av(path)
        try:
            self._st, _ = _av_audio_stream(self._container, path, stream)
        except BaseException:
            self._container.close()
            raise
        cc = self._st.codec_context
        self.channels = int(cc.channels)
        self.rate = int(cc.sample_rate)
        self._tb = self._st.time_base
        self._tb_num, self._tb_den = self._tb.numerator, self._tb.denominator
        self._origin = _av_origin(self._st)
        # Matroska/WebM stamp packets in whole milliseconds: a timestamp then places a
        # frame only to within ``_tol`` samples (see ``_seek`` for how that is undone).
        self._tol = max(1, math.ceil(self._tb * self.rate))
        self._grid: tuple[int, int] | None = None
        self._target = 0  # first native sample not yet delivered
        self._pos = 0  # native index of the next sample of the decoded stream
        self._frames: Any = iter(())
        self._held: tuple[int | None, Any] | None = None  # a frame decoded while positioning
        self._eof = False
        self._fresh = True  # nothing read or sought yet: no need to reopen

    # -- positioning

    def start(self, start: int) -> None:
        """Position at native sample ``start`` (call once, before reading)."""
        self._target = start
        back = int(PREROLL_S * self.rate)
        if start > back and self._tol > 1:
            self._grid = self._frame_grid()
        if start > back and (self._tol == 1 or self._grid is not None):
            for _ in range(4):
                if self._seek(start - back):
                    return
                back *= 4  # the demuxer landed after the in-point, or found nothing
        self._restart()

    def _restart(self) -> None:
        """Decode from the start of the stream (no seek)."""
        if not self._fresh:
            self._container.close()
            self._container = _open_av(self.path)
            self._st, _ = _av_audio_stream(self._container, self.path, self._stream_arg)
        self._fresh = False
        self._frames = self._decode_iter()
        self._held = None
        self._pos = 0
        self._eof = False

    def _seek(self, sample: int) -> bool:
        """Seek before native ``sample``; True if decoding now starts at or before it."""
        ts = self._origin + int(math.floor(Fraction(sample, self.rate) / self._tb))
        self._fresh = False
        try:
            self._container.seek(ts, stream=self._st, backward=True)
        except Exception:  # noqa: BLE001 - unseekable input: decode from the start
            return False
        self._frames = self._decode_iter()
        frame = next(self._frames, None)
        if frame is None:
            return False
        idx = self._frame_index(frame)
        if idx is not None and self._tol > 1:
            idx = self._snap(idx, frame.samples)
        if idx is None or idx > self._target:
            return False
        self._held = (idx, frame)
        self._pos = idx
        self._eof = False
        return True

    def _frame_grid(self) -> tuple[int, int] | None:
        """(size of the first frame, size of the others), decoded from the start.

        Decoders of fixed-frame codecs (AAC 1024, MP3 1152, AC-3 1536, Opus 960 as
        muxed by FFmpeg) put every frame after the first (shortened by the priming
        skip) on a grid ``n0 + k * F``; knowing it turns a millisecond timestamp back
        into an exact sample index.
        """
        self._fresh = False
        frames = self._decode_iter()
        first = next(frames, None)
        second = next(frames, None)
        if first is None or second is None or second.samples <= 0:
            return None
        return int(first.samples), int(second.samples)

    def _snap(self, idx: int, samples: int) -> int | None:
        """Exact index of a frame whose timestamp is only known to ``_tol`` samples."""
        if self._grid is None:
            return None
        n0, size = self._grid
        if idx <= self._tol and samples == n0:
            return 0
        if samples != size:
            return None  # not on the fixed grid: decode from the start instead
        exact = n0 + round((idx - n0) / size) * size
        return exact if abs(exact - idx) <= self._tol else None

    def _decode_iter(self):  # noqa: ANN202 - generator of AudioFrame
        import av

        from . import integrity

        try:
            yield from self._container.decode(self._st)
        except av.error.EOFError:
            return
        except MediaError:
            raise
        except Exception as exc:  # noqa: BLE001 - av raises many FFmpegError kinds
            if integrity.damaged(self.path) is not None:
                return  # a file known to be cut short (and allowed): the error is where it stops
            integrity.handle_read_end(self.path, rate=self.rate, delivered=self._pos, promised=None,
                                      why=f"decoding fails there ({exc})")

    def _frame_index(self, frame: Any) -> int | None:
        pts = frame.pts
        if pts is None:
            return None
        # round((pts - origin) * time_base * rate) in integers (Fractions cost ~20 us
        # a frame); decoded frames carry their stream's time base.
        num = 2 * (pts - self._origin) * self._tb_num * self.rate
        return (num + self._tb_den) // (2 * self._tb_den)

    def _array(self, frame: Any) -> np.ndarray:
        if frame.sample_rate and frame.sample_rate != self.rate:
            raise MediaError(
                f"sample rate changes inside the stream ({self.rate} -> {frame.sample_rate} Hz); not supported",
                file=self.path,
            )
        n_ch = frame.layout.nb_channels
        if n_ch != self.channels:
            raise MediaError(
                f"channel count changes inside the stream ({self.channels} -> {n_ch}); not supported",
                file=self.path,
            )
        return _frame_to_array(frame, self.channels)

    # -- production

    def next_chunk(self) -> np.ndarray | None:
        parts: list[np.ndarray] = []
        have = 0
        while have < AV_CHUNK and not self._eof:
            if self._held is not None:
                idx, frame = self._held
                self._held = None
            else:
                frame = next(self._frames, None)
                if frame is None:
                    self._eof = True
                    break
                idx = self._frame_index(frame)
            a = self._array(frame)
            pos = self._pos
            if idx is None or abs(idx - pos) <= self._tol:
                # No timestamp, or one rounded to the time base: count samples.
                idx = pos
            if idx > pos:  # a gap in the stream: silence keeps the clock
                have += self._deliver(parts, np.zeros((self.channels, idx - pos), np.float32), pos)
            elif idx < pos:  # overlapping timestamps: keep what came first
                a = a[:, pos - idx :]
                idx = pos
            have += self._deliver(parts, a, idx)
            self._pos = idx + a.shape[1]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def _deliver(self, parts: list[np.ndarray], a: np.ndarray, at: int) -> int:
        """Append the part of ``a`` (starting at native ``at``) from the target on."""
        end = at + a.shape[1]
        if end <= self._target:
            return 0
        seg = a[:, self._target - at :] if self._target > at else a
        parts.append(seg)
        self._target = end
        return seg.shape[1]

    def close(self) -> None:
        self._container.close()


# --------------------------------------------------------------------------- reader


class SourceReader:
    """Stream of float32 blocks from one audio stream, at a chosen rate, from an in-point.

    Made by :func:`open_source`. :meth:`read` always returns exactly ``n`` frames,
    with zeros after the end of the source.

    Attributes
    ----------
    path : Path
    channels : int
        Channels of the source (no channel mapping here; see :mod:`.channels`).
    sample_rate : int
        Output rate, Hz.
    source_rate : int
        Native rate of the source, Hz.
    position : int
        Output-rate sample index of the next frame :meth:`read` returns.
    backend : str
        ``'soundfile'`` or ``'ffmpeg'``.
    """

    def __init__(self, path: Path, producer: Any, *, sample_rate: int, start: int, skip: int, backend: str) -> None:
        self.path = path
        self._producer = producer
        self.channels = producer.channels
        self.source_rate = producer.rate
        self.sample_rate = sample_rate
        self.position = start
        self.backend = backend
        self._skip = skip  # output samples to discard before ``start``
        self._rs = None
        if self.source_rate != sample_rate:
            import soxr

            self._rs = soxr.ResampleStream(self.source_rate, sample_rate, self.channels, dtype="float32", quality="HQ")
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._off = 0
        self._done = False
        self._closed = False

    # -- internals

    def _pull(self) -> np.ndarray | None:
        """Next output-rate chunk (may be empty), or None at the end."""
        if self._done:
            return None
        chunk = self._producer.next_chunk()
        if self._rs is None:
            if chunk is None:
                self._done = True
                return None
            return chunk
        if chunk is None:
            self._done = True
            out = self._rs.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
        else:
            # soxr wants (frames, channels); a contiguous copy keeps it fast.
            out = self._rs.resample_chunk(np.ascontiguousarray(chunk.T))
        return np.ascontiguousarray(out.T)

    def _fill(self, n: int) -> None:
        avail = self._buf.shape[1] - self._off
        if avail >= n:
            return
        parts = [self._buf[:, self._off :]] if avail else []
        while avail < n:
            out = self._pull()
            if out is None:
                break
            if self._skip:
                k = min(self._skip, out.shape[1])
                out = out[:, k:]
                self._skip -= k
            if out.shape[1]:
                parts.append(out)
                avail += out.shape[1]
        if not parts:
            self._buf = np.zeros((self.channels, 0), np.float32)
        else:
            self._buf = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        self._off = 0

    # -- public

    def read(self, n: int) -> np.ndarray:
        """Return the next ``n`` frames as float32 ``(channels, n)`` (zeros past the end)."""
        if self._closed:
            raise ValueError("read from a closed SourceReader")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._fill(n)
        avail = self._buf.shape[1] - self._off
        if avail >= n:
            out = self._buf[:, self._off : self._off + n].copy()
            self._off += n
        else:
            out = np.zeros((self.channels, n), np.float32)
            out[:, :avail] = self._buf[:, self._off :]
            self._off += avail
        self.position += n
        return out

    def _read_to_end(self) -> np.ndarray:
        """Everything left, without the zero padding (for whole-file reads)."""
        parts = [self._buf[:, self._off :]]
        while True:
            out = self._pull()
            if out is None:
                break
            if self._skip:
                k = min(self._skip, out.shape[1])
                out = out[:, k:]
                self._skip -= k
            parts.append(out)
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._off = 0
        res = np.concatenate(parts, axis=1) if len(parts) > 1 else np.ascontiguousarray(parts[0])
        self.position += res.shape[1]
        return res

    def close(self) -> None:
        """Release the file."""
        if not self._closed:
            self._closed = True
            self._producer.close()

    def __enter__(self) -> "SourceReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a reader dropped without close() must not leak the file
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def open_source(
    path: str | os.PathLike[str], *, stream: int | None = None, sample_rate: int, start: int = 0
) -> SourceReader:
    """Open an audio stream for streaming reads at ``sample_rate`` from sample ``start``.

    Parameters
    ----------
    path : str or PathLike
        Audio or video file.
    stream : int, optional
        Index among the file's audio streams (default 0).
    sample_rate : int
        Rate of the samples returned, Hz (the session rate). Resampled with soxr HQ
        when the source's rate differs.
    start : int
        In-point, in samples *at* ``sample_rate``, >= 0.

    Returns
    -------
    SourceReader
        Use as a context manager, or call :meth:`SourceReader.close`.

    Raises
    ------
    MediaError
        Same cases as :func:`probe`.
    """
    p = Path(path)
    start = int(start)
    sample_rate = int(sample_rate)
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    _check_file(p)
    info = _sf_info(p)
    if info is not None and info.format == "FLAC" and _damaged(p):
        info = None  # libsndfile stops at the first broken frame; FFmpeg decodes every whole one
    if info is not None:
        _check_stream_index(p, stream, 1)
        producer: Any = _SfProducer(p)
    else:
        producer = _AvProducer(p, stream)
    try:
        native_start, skip = _native_start(producer.rate, sample_rate, start)
        producer.start(native_start)
    except BaseException:
        producer.close()
        raise
    return SourceReader(
        p,
        producer,
        sample_rate=sample_rate,
        start=start,
        skip=skip,
        backend="soundfile" if info is not None else "ffmpeg",
    )


def _damaged(path: Path) -> bool:
    from . import integrity

    return integrity.damaged(path) is not None


def _native_start(rate: int, sample_rate: int, start: int) -> tuple[int, int]:
    """Native sample to start decoding at, and output samples to discard."""
    if rate == sample_rate:
        return start, 0
    g = math.gcd(rate, sample_rate)
    p_in, p_out = rate // g, sample_rate // g
    periods = max(0, (start - RESAMPLE_MARGIN) // p_out)
    return periods * p_in, start - periods * p_out
