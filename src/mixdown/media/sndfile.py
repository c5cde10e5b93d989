"""libsndfile (``soundfile``) behind public functions: which files it reads, a
streaming producer, and the few raw calls the writers need.

This is the only module that touches soundfile's private ``_snd``/``_ffi`` (the C
library handle): the writers call :func:`sf_command`, :func:`write_raw` and
:func:`close_raw` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from . import integrity

#: Frames read from libsndfile per call (independent of the caller's block size).
SF_BLOCK = 65536

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


def sf_info(path: Path) -> Any | None:
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


def codec_name(info: Any) -> str:
    """mixdown's codec name (FFmpeg's) for a soundfile ``info``."""
    return "flac" if info.format == "FLAC" else _SF_CODECS.get(info.subtype, info.subtype.lower())


def sf_command(sound_file: Any, command: int, value: int) -> None:
    """``sf_command(handle, command, NULL, value)`` on an open ``soundfile.SoundFile``."""
    from soundfile import _ffi, _snd

    _snd.sf_command(sound_file._file, command, _ffi.NULL, value)


def write_raw(sound_file: Any, buf: np.ndarray) -> int:
    """Write packed bytes as they are (``sf_write_raw``); returns the bytes written."""
    from soundfile import _ffi, _snd

    return int(_snd.sf_write_raw(sound_file._file, _ffi.from_buffer(buf), buf.size))


def close_raw(sound_file: Any) -> None:
    """Close the C handle without soundfile's flush (after raw writes)."""
    from soundfile import _snd

    _snd.sf_close(sound_file._file)
    sound_file._file = None


# --------------------------------------------------------------------------- raw producers
# A producer yields float32 (channels, k) chunks of native-rate audio starting exactly
# at native sample ``start``, in chunks whose sizes depend only on the file.


class SfProducer:
    """Native-rate float32 chunks of a libsndfile file from a native in-point."""

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
        promised = int(self._f.frames)
        self._left = 0
        integrity.handle_read_end(self.path, rate=self.rate, delivered=self._at, promised=promised,
                                  why=f"{why}, while its header promises more")

    def close(self) -> None:
        self._f.close()

