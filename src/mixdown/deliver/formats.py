"""Delivery formats: names, file suffixes, codecs, bit rates and lossy headroom.

=========  ===========================  ==========================================
format     written as                   notes
=========  ===========================  ==========================================
``wav16``  16-bit PCM WAV               TPDF-dithered (see :mod:`mixdown.media.write`)
``wav24``  24-bit PCM WAV
``wav32f`` 32-bit float WAV
``bwf``    24-bit Broadcast WAV         ``bext`` chunk v2 with the loudness fields
``flac``   24-bit FLAC (= ``flac24``)   ``flac16`` is dithered 16-bit
``mp3``    MP3 (LAME, CBR)              mono or stereo only; 32/44.1/48 kHz
``aac``    AAC-LC in ``.m4a``/``.mp4``  FFmpeg's native encoder
``opus``   Opus in ``.ogg``/``.opus``   always 48 kHz (Opus' own rate)
=========  ===========================  ==========================================

Lossy headroom
--------------
Lossy codecs add overshoot: the decoded signal's true peak can be 0.5-1.5 dB
above the PCM that was encoded (the quantisation noise of the dropped bands adds
to the peaks). So a lossy deliverable is limited to :func:`lossy_ceiling` --
the preset's ``lossy_true_peak_dbtp`` when it sets one, else **1 dB under the
spec's ceiling** (-2 dBTP where the spec allows -1, as AES TD1008 and the
streaming platforms recommend for encoded files). Every lossy file is then decoded
and measured again against the *spec's* ceiling (see
:mod:`mixdown.deliver.deliverables`).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MediaError
from ..targets import Target

LOSSLESS = ("wav16", "wav24", "wav32f", "bwf", "flac", "flac24", "flac16")
LOSSY = ("mp3", "aac", "opus")
FORMATS = LOSSLESS + LOSSY

#: Suffix -> format when a deliverable does not name one.
DEFAULT_BY_SUFFIX = {
    ".wav": "wav24", ".wave": "wav24", ".bwf": "bwf", ".flac": "flac",
    ".mp3": "mp3", ".m4a": "aac", ".mp4": "aac", ".ogg": "opus", ".opus": "opus",
}

#: Suffixes each format may be written with (the first is used for stems).
SUFFIXES = {
    "wav16": (".wav", ".wave"), "wav24": (".wav", ".wave"), "wav32f": (".wav", ".wave"),
    "bwf": (".wav", ".bwf"), "flac": (".flac",), "flac24": (".flac",), "flac16": (".flac",),
    "mp3": (".mp3",), "aac": (".m4a", ".mp4"), "opus": (".ogg", ".opus"),
}

#: FFmpeg encoder of each lossy format.
CODECS = {"mp3": "libmp3lame", "aac": "aac", "opus": "libopus"}

#: Headroom of lossy deliverables under the spec's ceiling when the preset sets none, dB.
LOSSY_HEADROOM_DB = 1.0

_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


def is_lossy(fmt: str) -> bool:
    """Whether ``fmt`` is a lossy codec (decoded again and measured after encoding)."""
    return fmt in LOSSY


def resolve_format(path: str | Path, fmt: str | None, *, what: str = "output") -> str:
    """The format of an output: ``fmt`` if given (checked against the suffix), else from the suffix.

    Raises
    ------
    MediaError
        Unknown format, or a suffix that cannot hold it (``.mp3`` for ``aac``).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if fmt is None:
        fmt = DEFAULT_BY_SUFFIX.get(suffix)
        if fmt is None:
            raise MediaError(
                f"cannot tell the {what} format from the suffix {suffix or '(none)'!r}; name one of "
                f"{', '.join(FORMATS)} or use .wav, .flac, .mp3, .m4a, .ogg, .opus", file=p)
        return fmt
    if fmt not in FORMATS:
        raise MediaError(f"unknown {what} format {fmt!r}; use one of {', '.join(FORMATS)}", file=p)
    if suffix not in SUFFIXES[fmt]:
        raise MediaError(f"a {fmt} file must end in {' or '.join(SUFFIXES[fmt])}, not {suffix or '(no suffix)'!r}",
                         file=p)
    return fmt


def encode_rate(fmt: str, sample_rate: int) -> int:
    """Sample rate a format is written at: the session's when the codec takes it, else 48 kHz.

    Opus always runs at 48 kHz; MP3 and AAC take the common rates.
    """
    if fmt == "opus":
        return 48000
    if fmt == "mp3" and sample_rate not in _MP3_RATES:
        return 48000
    if fmt == "aac" and sample_rate not in _AAC_RATES:
        return 48000
    return int(sample_rate)


def default_bitrate(fmt: str, channels: int) -> int:
    """Bit rate of a lossy format when the deliverable names none, bits per second.

    Transparent-quality choices: AAC mono 160k, stereo 256k, 5.1 512k (YouTube
    recommends 384k stereo / 512k 5.1 for uploads, Apple >= 256k stereo), MP3 CBR
    320k stereo / 160k mono, Opus 96k mono, 160k stereo, 384k for 5.1. AAC without
    PNS (see :mod:`mixdown.deliver.encode`) loses a little loudness on noisy
    material at lower rates (measured on band-limited noise: mono 128k -0.11 LU,
    160k -0.05; 5.1 384k -0.22, 512k -0.17); the delivery's verification corrects
    what is left.
    """
    if fmt == "aac":
        return {1: 160_000, 2: 256_000}.get(channels, 512_000)
    if fmt == "mp3":
        return 160_000 if channels == 1 else 320_000
    if fmt == "opus":
        return {1: 96_000, 2: 160_000}.get(channels, 384_000)
    raise ValueError(f"{fmt} has no bit rate")


def check_channels(fmt: str, channels: int, path: str | Path) -> None:
    """Raise :class:`MediaError` when a format cannot carry ``channels`` channels."""
    if fmt == "mp3" and channels > 2:
        raise MediaError(f"MP3 carries mono or stereo only, not {channels} channels; deliver a stereo "
                         "downmix (layout: stereo) or use aac/opus", file=path)


def lossy_ceiling(target: Target) -> float:
    """True-peak ceiling lossy deliverables are limited to, dBTP (see the module docstring)."""
    if target.lossy_true_peak_dbtp is not None:
        return float(min(target.lossy_true_peak_dbtp, target.true_peak_dbtp))
    return float(target.true_peak_dbtp - LOSSY_HEADROOM_DB)
