"""Probe and stream-decode any audio source, at any rate, from any in-point.

Two back ends, chosen per file by :func:`probe` and :func:`open_source`:

- **libsndfile** (``soundfile``) for WAV/W64/RF64/AIFF/CAF/FLAC and Ogg Vorbis: the
  sample count is exact and seeking is sample-exact.
- **FFmpeg** (PyAV) for everything else: MP3, AAC/M4A, Opus, AC-3, and the audio
  streams inside video files (MP4, MOV, MKV, ...). ``stream`` picks among a file's
  audio streams (0 = the first *audio* stream, whatever the video streams are).

The pieces, one job each: :mod:`.info` (:class:`MediaInfo`), :mod:`.probe`
(:func:`probe`), :mod:`.sndfile` and :mod:`.ffmpeg` (the two back ends),
:mod:`.av_producer` (sample positions and seeking in compressed streams),
:mod:`.reader` (:class:`SourceReader`, :func:`open_source`, resampling) and
:mod:`.memory` (audio in memory as a source, the one opener of a clip's source).
This module gathers their public names.

Determinism: a reader's output does not depend on the sizes passed to
:meth:`SourceReader.read` (sources are decoded and resampled in chunks fixed by the
file, not by the caller), and opening the same file at the same in-point gives the
same samples bit for bit.
"""

from .info import MediaInfo, layout_name
from .memory import open_array, open_clip_source, probe_clip_source
from .probe import probe
from .reader import SourceReader, open_source

__all__ = ["MediaInfo", "SourceReader", "layout_name", "open_array", "open_clip_source", "open_source", "probe",
           "probe_clip_source"]
