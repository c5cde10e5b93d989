"""Media in and out: probe, stream-decode (any rate, any in-point), channel rules,
atomic writers.

``soundfile``, ``av`` and ``soxr`` are imported by the functions that use them, so
importing this package stays light.
"""

from .channels import can_map, map_channels
from .decode import (
    MediaInfo,
    SourceReader,
    layout_name,
    open_array,
    open_clip_source,
    open_source,
    probe,
    probe_clip_source,
)
from .write import FORMATS, AudioWriter, atomic_path, check_not_protected, read_audio, write_audio

__all__ = [
    "FORMATS",
    "AudioWriter",
    "MediaInfo",
    "SourceReader",
    "atomic_path",
    "can_map",
    "check_not_protected",
    "layout_name",
    "map_channels",
    "open_array",
    "open_clip_source",
    "open_source",
    "probe",
    "probe_clip_source",
    "read_audio",
    "write_audio",
]
