"""Stream-decode a compressed audio stream with FFmpeg, sample-exact from any in-point.

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
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from . import integrity
from .ffmpeg import audio_stream, frame_to_array, open_container, stream_origin

#: Seconds decoded and discarded before an in-point in a compressed stream.
PREROLL_S = 0.25
#: Decoded compressed audio is gathered into chunks of at least this many frames
#: before resampling/buffering, to keep the per-call overhead small.
AV_CHUNK = 16384


class AvProducer:
    """Native-rate float32 chunks of one audio stream decoded by FFmpeg, from a native in-point."""

    def __init__(self, path: Path, stream: int | None) -> None:
        self.path = path
        self._stream_arg = stream
        self._container = open_container(path)
        try:
            self._st, _ = audio_stream(self._container, path, stream)
        except BaseException:
            self._container.close()
            raise
        cc = self._st.codec_context
        self.channels = int(cc.channels)
        self.rate = int(cc.sample_rate)
        self._tb = self._st.time_base
        self._tb_num, self._tb_den = self._tb.numerator, self._tb.denominator
        self._origin = stream_origin(self._st)
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
            self._container = open_container(self.path)
            self._st, _ = audio_stream(self._container, self.path, self._stream_arg)
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
        return frame_to_array(frame, self.channels)

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

