"""Broadcast WAV (EBU Tech 3285 v2): 24-bit PCM with loudness in its ``bext`` chunk.

The file is written by this module, not by libsndfile, because the loudness fields
are known only when the last sample has been measured, and the ``bext`` chunk sits
*before* the audio (where readers look for it). So the header is written first with
a ``bext`` chunk of fixed size, the audio is streamed after it, and at the end the
writer seeks back and fills in the sizes and the loudness: one pass, no copy.

Layout::

    RIFF <size> WAVE
      JUNK  28 bytes   -- becomes 'ds64' if the file grows past 4 GiB (RF64, EBU Tech 3306)
      fmt   PCM (1-2 channels) or WAVE_FORMAT_EXTENSIBLE with a channel mask (more)
      bext  602 bytes + coding history (Tech 3285 v2)
      data  interleaved little-endian 24-bit samples

``bext`` loudness fields (Tech 3285 v2, all ``int16`` in 1/100 units):
``LoudnessValue`` (integrated, LUFS), ``LoudnessRange`` (LU), ``MaxTruePeakLevel``
(dBTP), ``MaxMomentaryLoudness`` and ``MaxShortTermLoudness`` (LUFS); a value that
is undefined (silence, too short) is written as ``0x7FFF``, the spec's "not set".

Samples are quantised exactly as :class:`~mixdown.media.write.AudioWriter` does for
``wav24`` (rounded to the 24-bit grid, no dither, clipped to ``[-1, 1)``), so a BWF
and a ``wav24`` of the same mix have the same audio bytes.

``OriginationDate``/``OriginationTime`` are the local time of writing, or of the
``SOURCE_DATE_EPOCH`` environment variable when it is set (reproducible builds:
the same session then gives the same bytes). ``TimeReference`` is the first
sample's position in samples since midnight (the session's start timecode).
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from ..files.atomic import reserve
from ..media.write import AtomicWriter, check_not_protected

#: ``int16`` value of a loudness field that is not set (Tech 3285 v2).
UNSET = 0x7FFF
BEXT_FIXED = 602  # bytes of the bext chunk before CodingHistory
_BEXT_STRUCT = struct.Struct("<256s32s32s10s8sIIH64shhhhh180s")
assert _BEXT_STRUCT.size == BEXT_FIXED
_JUNK_SIZE = 28  # payload of a ds64 chunk without a table
_KSDATAFORMAT_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
_CHANNEL_MASKS = {1: 0x4, 2: 0x3, 6: 0x3F}  # FC; FL FR; FL FR FC LFE BL BR
#: Largest RIFF size field; past it the file is finished as RF64 (a module constant so tests can lower it).
RIFF_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True)
class BextInfo:
    """The fields of a ``bext`` chunk (loudness in dB/LU; ``None`` = not set)."""

    description: str = ""
    originator: str = "mixdown"
    originator_reference: str = ""
    origination_date: str = ""
    origination_time: str = ""
    time_reference: int = 0
    version: int = 2
    loudness_value: float | None = None
    loudness_range: float | None = None
    max_true_peak_level: float | None = None
    max_momentary_loudness: float | None = None
    max_short_term_loudness: float | None = None
    coding_history: str = ""


def _loud(value: float | None) -> int:
    if value is None or not np.isfinite(value):
        return UNSET
    return int(np.clip(round(float(value) * 100.0), -32768, 32766))


def _unloud(raw: int) -> float | None:
    return None if raw == UNSET else raw / 100.0


def _text(s: str, n: int) -> bytes:
    return s.encode("ascii", "replace")[:n].ljust(n, b"\0")


def _untext(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("ascii", "replace")


def pack_bext(info: BextInfo) -> bytes:
    """The ``bext`` chunk payload (without the chunk header), padded to an even length."""
    fixed = _BEXT_STRUCT.pack(
        _text(info.description, 256), _text(info.originator, 32), _text(info.originator_reference, 32),
        _text(info.origination_date, 10), _text(info.origination_time, 8),
        info.time_reference & 0xFFFFFFFF, (info.time_reference >> 32) & 0xFFFFFFFF, info.version, b"\0" * 64,
        _loud(info.loudness_value), _loud(info.loudness_range), _loud(info.max_true_peak_level),
        _loud(info.max_momentary_loudness), _loud(info.max_short_term_loudness), b"\0" * 180,
    )
    data = fixed + info.coding_history.encode("ascii", "replace")
    return data + (b"\0" if len(data) % 2 else b"")


def unpack_bext(data: bytes) -> BextInfo:
    """Parse a ``bext`` chunk payload (versions 0-2; fields a version lacks read as unset)."""
    if len(data) < BEXT_FIXED:
        data = data.ljust(BEXT_FIXED, b"\0")
    f = _BEXT_STRUCT.unpack(data[:BEXT_FIXED])
    version = f[7]
    loud = [_unloud(v) for v in f[9:14]] if version >= 2 else [None] * 5
    return BextInfo(
        description=_untext(f[0]), originator=_untext(f[1]), originator_reference=_untext(f[2]),
        origination_date=_untext(f[3]), origination_time=_untext(f[4]),
        time_reference=f[5] | (f[6] << 32), version=version,
        loudness_value=loud[0], loudness_range=loud[1], max_true_peak_level=loud[2],
        max_momentary_loudness=loud[3], max_short_term_loudness=loud[4],
        coding_history=data[BEXT_FIXED:].split(b"\0", 1)[0].decode("ascii", "replace"),
    )


def read_chunks(path: str | os.PathLike[str]) -> dict[str, tuple[int, int]]:
    """Top-level chunks of a RIFF/RF64/BW64 WAVE file: ``{id: (payload offset, size)}``.

    RF64 sizes are taken from the ``ds64`` chunk.

    Raises
    ------
    MediaError
        Not a WAVE file.
    """
    p = Path(path)
    chunks: dict[str, tuple[int, int]] = {}
    with open(p, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
            raise MediaError("not a WAVE file", file=p)
        end = os.fstat(fh.fileno()).st_size
        data_size64 = None
        pos = 12
        while pos + 8 <= end:
            fh.seek(pos)
            cid, size = struct.unpack("<4sI", fh.read(8))
            name = cid.decode("ascii", "replace")
            if name == "ds64":
                fh.seek(pos + 8)
                _riff64, data_size64, _count = struct.unpack("<QQQ", fh.read(24))
            if name == "data" and size == 0xFFFFFFFF and data_size64 is not None:
                size = data_size64
            chunks.setdefault(name, (pos + 8, size))
            pos += 8 + size + (size & 1)
    return chunks


def read_bext(path: str | os.PathLike[str]) -> BextInfo | None:
    """The ``bext`` chunk of a WAVE file, or ``None`` if it has none."""
    chunks = read_chunks(path)
    if "bext" not in chunks:
        return None
    off, size = chunks["bext"]
    with open(path, "rb") as fh:
        fh.seek(off)
        return unpack_bext(fh.read(size))


def origination_now() -> tuple[str, str]:
    """``(date, time)`` for ``bext``: ``SOURCE_DATE_EPOCH`` if set, else now (local time)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.localtime()
    return time.strftime("%Y-%m-%d", t), time.strftime("%H:%M:%S", t)


def coding_history(sample_rate: int, channels: int, *, text: str = "mixdown") -> str:
    """One EBU R 98 coding-history line for this file."""
    mode = {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, f"{channels}ch")
    return f"A=PCM,F={sample_rate},W=24,M={mode},T={text}\r\n"


class BwfWriter(AtomicWriter):
    """Stream float32 blocks into a 24-bit BWF that appears only when complete.

    Parameters
    ----------
    path : str or PathLike
        Destination (its folder must exist).
    sample_rate : int
        Hz.
    channels : int
    protect : iterable of path
        Files that must not be overwritten (the inputs).
    description : str
        ``bext`` Description (256 characters at most).
    time_reference : int
        Samples since midnight of the first sample.
    measure : bool
        Measure the loudness of what is written (a
        :class:`~mixdown.analysis.loudness.LoudnessMeter` with true peak) for the
        ``bext`` fields. Pass ``False`` when the caller measures and gives the result
        to :meth:`commit`.

    Notes
    -----
    Use as a context manager, or call :meth:`commit` / :meth:`abort`. On an
    exception nothing is left behind and the destination is unchanged.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int,
        channels: int,
        protect: Iterable[str | os.PathLike[str]] = (),
        description: str = "",
        time_reference: int = 0,
        measure: bool = True,
    ) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        if self.channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.frames_written = 0
        self.format = "bwf"
        date, clock = origination_now()
        self._bext = BextInfo(description=description, origination_date=date, origination_time=clock,
                              time_reference=int(time_reference),
                              coding_history=coding_history(self.sample_rate, self.channels))
        self._meter = None
        if measure:
            from ..analysis.loudness import LoudnessMeter

            layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(self.channels)
            self._meter = LoudnessMeter(self.sample_rate, self.channels, layout=layout)
        from ..media.quantise import Quantiser

        self._quant = Quantiser(24)
        check_not_protected(self.path, protect)
        self._tmp: Path | None = reserve(self.path)
        self._done = False
        try:
            self._fh: Any = open(self._tmp, "r+b")
            self._write_header()
        except BaseException as exc:
            raise self._fail(exc) from None

    def _fmt(self) -> bytes:
        ch, sr = self.channels, self.sample_rate
        common = struct.pack("<HIIHH", ch, sr, sr * ch * 3, ch * 3, 24)
        if ch <= 2:
            return struct.pack("<H", 1) + common
        mask = _CHANNEL_MASKS.get(ch, 0)
        return struct.pack("<H", 0xFFFE) + common + struct.pack("<HHI", 22, 24, mask) + _KSDATAFORMAT_PCM

    def _write_header(self) -> None:
        fmt = self._fmt()
        bext = pack_bext(self._bext)
        head = bytearray(b"RIFF\0\0\0\0WAVE")
        head += b"JUNK" + struct.pack("<I", _JUNK_SIZE) + b"\0" * _JUNK_SIZE
        head += b"fmt " + struct.pack("<I", len(fmt)) + fmt
        self._bext_at = len(head) + 8
        self._bext_len = len(bext)
        head += b"bext" + struct.pack("<I", len(bext)) + bext
        self._data_header_at = len(head)
        head += b"data\0\0\0\0"
        self._fh.write(bytes(head))
        self._data_at = len(head)

    def write(self, block: np.ndarray) -> None:
        """Append a float ``(channels, frames)`` block (any length, including 0)."""
        block = self._accept(block)
        n = block.shape[1]
        if n == 0:
            return
        q = self._quant.ints(block)
        if self._meter is not None:  # the loudness of what the file holds (quantised, clipped)
            self._meter.process(np.ascontiguousarray((q.astype(np.float32) * np.float32(1 / 8388608)).T))
        raw = q.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
        try:
            self._fh.write(raw.tobytes())
        except BaseException as exc:
            raise self._fail(exc, needed=None) from None
        self.frames_written += n

    def commit(self, loudness: Any = None, *, description: str | None = None) -> Path:
        """Finish the file (sizes, loudness fields) and move it into place.

        Parameters
        ----------
        loudness : LoudnessResult, optional
            What to write in the loudness fields; default: what this writer measured
            (all unset if it was made with ``measure=False``).
        description : str, optional
            Replace the ``bext`` Description.
        """
        if self._done:
            raise ValueError("BwfWriter already committed or aborted")
        res = loudness if loudness is not None else (self._meter.result() if self._meter is not None else None)
        changes: dict[str, Any] = {}
        if res is not None:
            changes = dict(loudness_value=res.integrated_lufs, loudness_range=res.loudness_range_lu,
                           max_true_peak_level=res.true_peak_dbtp, max_momentary_loudness=res.momentary_max_lufs,
                           max_short_term_loudness=res.short_term_max_lufs)
        if description is not None:
            changes["description"] = description
        from dataclasses import replace

        self._bext = replace(self._bext, **changes)
        try:
            data_bytes = self.frames_written * self.channels * 3
            fh = self._fh
            if data_bytes & 1:
                fh.write(b"\0")
            total = self._data_at + data_bytes + (data_bytes & 1)
            bext = pack_bext(self._bext)
            assert len(bext) == self._bext_len
            fh.seek(self._bext_at)
            fh.write(bext)
            if total - 8 <= RIFF_LIMIT:
                fh.seek(4)
                fh.write(struct.pack("<I", total - 8))
                fh.seek(self._data_header_at + 4)
                fh.write(struct.pack("<I", data_bytes))
            else:  # RF64 (EBU Tech 3306): the reserved JUNK becomes ds64
                fh.seek(0)
                fh.write(b"RF64" + struct.pack("<I", 0xFFFFFFFF))
                fh.seek(12)
                fh.write(b"ds64" + struct.pack("<IQQQI", _JUNK_SIZE, total - 8, data_bytes, self.frames_written, 0))
                fh.seek(self._data_header_at + 4)
                fh.write(struct.pack("<I", 0xFFFFFFFF))
            fh.close()
        except BaseException as exc:
            raise self._fail(exc) from None
        return self._publish()

    @property
    def bext(self) -> BextInfo:
        """The ``bext`` fields (final after :meth:`commit`)."""
        return self._bext

    def _close_handle(self) -> None:
        self._fh.close()

    def __enter__(self) -> BwfWriter:
        return self
