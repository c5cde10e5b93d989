"""The session model and its files."""

from .array_source import ArraySource
from .io import dump_session, load_session, save_session, session_from_data
from .model import (
    LAYOUT_CHANNELS,
    MASTER,
    ROLES,
    AutoLayer,
    Bus,
    Clip,
    Deliverable,
    Fade,
    Group,
    Keyframe,
    Master,
    ProcessorSpec,
    Send,
    Session,
    Track,
)

__all__ = [
    "LAYOUT_CHANNELS", "MASTER", "ROLES", "ArraySource", "AutoLayer", "Bus", "Clip", "Deliverable", "Fade", "Group", "Keyframe",
    "Master", "ProcessorSpec",
    "Send", "Session", "Track", "dump_session", "load_session", "save_session", "session_from_data",
]
