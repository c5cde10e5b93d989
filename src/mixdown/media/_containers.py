"""Per-container length checks for :mod:`mixdown.media.integrity` (promised vs present)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from .integrity import Damage

_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what streaming writers put in a size they could not know
_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def riff(fh: BinaryIO, size: int, path: Path, rate: int) -> Damage | None:
    """WAV/RIFX/RF64/BW64: the ``data`` chunk's size against the bytes after it."""
    head = fh.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE":
        return None
    e = ">" if head[:4] == b"RIFX" else "<"
    rf64 = head[:4] in (b"RF64", b"BW64")
    pos, data64, align = 12, None, None
    while pos + 8 <= size:
        fh.seek(pos)
        cid, csize = struct.unpack(e + "4sI", fh.read(8))
        if cid == b"ds64":
            _, data64, _ = struct.unpack("<QQQ", fh.read(24))
        elif cid == b"fmt ":
            fmt = fh.read(16)
            if len(fmt) >= 14:
                align = struct.unpack(e + "H", fmt[12:14])[0]
        elif cid == b"data":
            declared = data64 if (rf64 and csize == 0xFFFFFFFF and data64 is not None) else csize
            if not rf64 and csize in _UNKNOWN_SIZES:
                return None
            have = size - (pos + 8)
            if not align or declared <= have:
                return None
            what = "its RF64 header (ds64)" if declared is data64 else "its WAV header (data chunk)"
            return Damage(path, rate, have // align, declared // align, what,
                          f"it says {declared} bytes of audio, the file has {have}")
        pos += 8 + csize + (csize & 1)
    return None


def aiff(fh: BinaryIO, size: int, path: Path, rate: int) -> Damage | None:
    """AIFF/AIFC: ``COMM``'s frame count against the bytes of ``SSND``."""
    head = fh.read(12)
    if len(head) < 12 or head[8:12] not in (b"AIFF", b"AIFC"):
        return None
    pos, frames, align = 12, None, None
    while pos + 8 <= size:
        fh.seek(pos)
        cid, csize = struct.unpack(">4sI", fh.read(8))
        if cid == b"COMM":
            comm = fh.read(18)
            if len(comm) >= 8:
                ch, frames, bits = struct.unpack(">HIH", comm[:8])
                align = ch * ((bits + 7) // 8)
                if head[8:12] == b"AIFC" and comm[18:22] not in (b"", b"NONE", b"sowt", b"fl32", b"fl64"):
                    return None  # compressed AIFC: bytes do not say frames
        elif cid == b"SSND":
            offset = struct.unpack(">I", fh.read(4))[0]
            have = size - (pos + 16 + offset)
            if frames is None or not align or frames * align <= have:
                return None
            return Damage(path, rate, max(have, 0) // align, frames, "its AIFF header (COMM)",
                          f"{max(have, 0)} bytes of audio where {frames * align} are needed")
        pos += 8 + csize + (csize & 1)
    return None


def flac(path: Path, info: Any) -> Damage | None:
    """FLAC: does the last sample STREAMINFO promises decode? If not, count what does."""
    import soundfile as sf

    total = int(info.frames)
    if total <= 0:
        return None
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(total - 1)
            if len(f.read(1, dtype="float32")) == 1:
                return None
    except Exception:  # noqa: BLE001, S110 - libsndfile fails to seek or read past the cut
        pass
    have = decoded_frames(path)
    if have >= total:
        return None
    return Damage(path, int(info.sample_rate), have, total, "its FLAC header (STREAMINFO)")


def ogg(fh: BinaryIO, size: int, path: Path, info: Any) -> Damage | None:
    """Ogg: the stream must end with a complete page flagged end-of-stream."""
    start = max(0, size - 2 * _OGG_MAX_PAGE)
    fh.seek(start)
    buf = fh.read()
    at = len(buf)
    while True:
        at = buf.rfind(b"OggS", 0, at)
        if at < 0:
            return None  # no page in the tail to judge by: leave it to the decoder
        if at + 27 <= len(buf) and buf[at + 4] == 0 and buf[at + 5] <= 7:
            break  # a plausible page header (version 0, known flags)
    last_complete = False
    nseg = buf[at + 26] if at + 27 <= len(buf) else None
    if nseg is not None and at + 27 + nseg <= len(buf):
        body = sum(buf[at + 27:at + 27 + nseg])
        last_complete = at + 27 + nseg + body <= len(buf)
    eos = bool(buf[at + 5] & 0x04)
    if last_complete and eos:
        return None
    why = ("its last Ogg page is cut off" if not last_complete
           else "its Ogg stream has no end-of-stream page")
    return Damage(path, int(info.sample_rate), int(info.frames), None, why)


def mp3(fh: BinaryIO, size: int, path: Path, info: Any) -> Damage | None:
    """MP3: the byte count of a Xing/Info/VBRI header against the file's bytes."""
    head = fh.read(10)
    pos = 0
    if head[:3] == b"ID3" and len(head) == 10:
        pos = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
        if head[5] & 0x10:
            pos += 10  # footer
    fh.seek(pos)
    data = fh.read(1 << 16)
    frame = _first_frame(data)
    if frame is None:
        return None
    declared = _vbr_bytes(data, frame)
    have = size - pos - frame
    if declared is None or declared <= have + 2048 or declared <= size:
        return None
    return Damage(path, int(info.sample_rate), decoded_frames(path), int(info.frames), "its MP3 header (Xing/Info)",
                  f"it says {declared} bytes, the file has {have}")


def _first_frame(data: bytes) -> int | None:
    for i in range(len(data) - 4):
        b1 = data[i + 1]
        if data[i] == 0xFF and b1 & 0xE0 == 0xE0 and (b1 >> 1) & 3 == 1 and (b1 >> 3) & 3 != 1:
            b2 = data[i + 2]
            if b2 >> 4 not in (0, 15) and (b2 >> 2) & 3 != 3:
                return i
    return None


def _vbr_bytes(data: bytes, i: int) -> int | None:
    version = (data[i + 1] >> 3) & 3  # 3 = MPEG-1
    mono = (data[i + 3] >> 6) == 3
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    x = i + 4 + side
    if data[x:x + 4] in (b"Xing", b"Info"):
        flags = struct.unpack(">I", data[x + 4:x + 8])[0]
        p = x + 8 + (4 if flags & 1 else 0)
        return struct.unpack(">I", data[p:p + 4])[0] if flags & 2 and len(data) >= p + 4 else None
    v = i + 4 + 32
    if data[v:v + 4] == b"VBRI" and len(data) >= v + 14:
        return struct.unpack(">I", data[v + 10:v + 14])[0]
    return None


def decoded_frames(path: Path) -> int:
    """Frames FFmpeg decodes before the data stops (an error where a file is cut ends the count)."""
    import av

    n = 0
    try:
        with av.open(str(path)) as c:
            st = c.streams.audio[0]
            for frame in c.decode(st):
                n += frame.samples
    except Exception:  # noqa: BLE001, S110 - the damage ends the stream; what came before counts
        pass
    return n
