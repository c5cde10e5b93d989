"""The session model: what a mix is, as plain data.

A session file (YAML or JSON, ``mixdown: 2``; version 1 files are upgraded on load) and these pydantic objects are the
same thing. Times are kept *as written* (seconds, ``HH:MM:SS.mmm``, timecode,
``123456s``) so a saved session diffs cleanly; :attr:`Session.timebase` converts them
to integer samples, once, when the render graph is built.

Example
-------
>>> s = Session(tracks=[Track(name="Host", role="dialogue",
...                          clips=[Clip(source="host.wav", start=1.5)])])
>>> s.timebase.samples(s.tracks[0].clips[0].start, position=True)
72000
"""

from __future__ import annotations

import math
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

from ..timebase import Timebase, TimeValue, check_time_syntax, max_programme_seconds
from .array_source import ArraySource, is_ndarray

# checked before pydantic tries int | float | str, so that a bad time gets one message in
# the user's words rather than one per member of the union (and `true` is never read as 1)
Time = Annotated[int | float | str, BeforeValidator(check_time_syntax)]
Role = Literal["dialogue", "music", "sfx", "ambience", "other"]
ROLES: tuple[str, ...] = ("dialogue", "music", "sfx", "ambience", "other")
Layout = Literal["mono", "stereo", "5.1"]
LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "5.1": 6}
Interp = Literal["hold", "linear", "exp"]
FadeShape = Literal["linear", "equal-power", "log", "s-curve"]
MASTER = "master"

#: Default colour of a track or bus by role (the studio's lanes and strips); a colour
#: written in the session overrides it. Hues far apart, equally bright on a dark desk.
ROLE_COLORS: dict[str, str] = {
    "dialogue": "#4e9fe5", "music": "#b07cf0", "sfx": "#f0a33c", "ambience": "#44c28f", "other": "#9aa5b4",
}
BUS_COLOR = "#c9ced6"
GROUP_COLOR = "#e5c15a"


def _check_color(value: str) -> str:
    import re

    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"colour {value!r} is not #rrggbb")
    return value.lower()


Color = Annotated[str, AfterValidator(_check_color)]


def default_color(role: str | None, *, bus: bool = False) -> str:
    """The colour a track (or bus) of ``role`` gets when its session names none."""
    if role is None:
        return BUS_COLOR if bus else ROLE_COLORS["other"]
    return ROLE_COLORS.get(role, ROLE_COLORS["other"])


def _is_number(annotation: Any) -> bool:
    """True for ``float``, ``int`` and unions of them with ``None`` (times, which also take text, check themselves)."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) is Annotated:
        return _is_number(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        return bool not in args and str not in args and any(_is_number(a) for a in args)
    return False


def check_plain_number(value: Any) -> Any:
    """Refuse ``true``/``false`` and NaN/infinity where a number is expected (pydantic reads true as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    if isinstance(value, float) and not math.isfinite(value):
        if value == float("-inf"):
            raise ValueError("must be a finite number, not -inf (for silence write -144 dB)")
        raise ValueError(f"must be a finite number, not {value!r}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value: Any, info: Any) -> Any:
        if isinstance(value, (bool, float)):
            field = cls.model_fields.get(info.field_name) if info.field_name else None
            if field is not None and _is_number(field.annotation):
                return check_plain_number(value)
        return value


class Keyframe(_Model):
    """One automation point: at time ``t`` the value is ``v``; ``interp`` shapes the way to the next.

    Written compactly in files as ``[t, v]`` or ``[t, v, interp]``.
    """

    t: Time
    v: float
    interp: Interp = "linear"

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, (list, tuple)):
            if len(data) not in (2, 3):
                raise ValueError("a keyframe is [time, value] or [time, value, interp]")
            return dict(zip(("t", "v", "interp"), data))
        return data

    @model_serializer(mode="plain")
    def _to_list(self) -> list[Any]:
        return [self.t, self.v] if self.interp == "linear" else [self.t, self.v, self.interp]


Automation = dict[str, list[Keyframe]]

#: Names of the values of an auto layer, as :attr:`AutoLayer.edited` lists them.
AutoValue = Literal["gain_db", "automation.gain_db"]


class AutoLayer(_Model):
    """``auto``'s own moves on a clip, track, bus or the master, kept apart from the hand values.

    Written only by ``auto``; the hand values beside it (``gain_db``,
    ``automation.gain_db``) stay the person's. The renderer adds them in dB:
    effective gain = hand ``gain_db`` + ``auto.gain_db`` + hand automation + auto
    automation. Running ``auto`` again replaces this layer, except the values a
    person changed and listed in ``edited``, which are kept as they are.

    Attributes
    ----------
    gain_db : float
        auto's static gain (leveling on a clip, balance on a track), dB.
    automation : dict
        Only ``gain_db``: auto's keyframes (ducks, rides), dB, timed like the hand
        automation beside it (clip-relative on a clip, absolute on a strip).
    edited : list of str
        ``gain_db`` and/or ``automation.gain_db``: auto values a person changed,
        which the next ``auto`` keeps (the whole lane, for a keyframe lane).
    """

    gain_db: float = Field(0.0, ge=-144.0, le=48.0)
    automation: Automation = Field(default_factory=dict)
    edited: list[AutoValue] = Field(default_factory=list)

    def is_edited(self, name: str) -> bool:
        """Whether the value ``name`` (``gain_db`` or ``automation.gain_db``) was changed by a person."""
        return name in self.edited


class Fade(_Model):
    """A fade at a clip edge: its length and the curve's shape."""

    length: Time
    shape: FadeShape = "equal-power"

    @model_validator(mode="before")
    @classmethod
    def _from_time(cls, data: Any) -> Any:
        if isinstance(data, (int, float, str)) and not isinstance(data, bool):
            return {"length": data}
        return data


class ProcessorSpec(BaseModel):
    """One insert of a chain: ``{type: compressor, threshold_db: -20, ratio: 3}``.

    Parameters other than the reserved keys (``type``, ``id``, ``bypass``,
    ``sidechain``, ``automation``) are the processor's own; they are checked against
    the processor's declaration when the render graph is built.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    type: str
    id: str | None = None
    bypass: bool = False
    sidechain: str | None = Field(None, description="track or bus whose output keys this processor")
    automation: Automation = Field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The processor's own parameters (everything that is not a reserved key)."""
        return dict(self.model_extra or {})

    @model_serializer(mode="wrap")
    def _ser(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for key, default in (("id", None), ("bypass", False), ("sidechain", None), ("automation", {})):
            if data.get(key) == default:
                data.pop(key, None)
        return data


class Send(_Model):
    """A send from a track or bus to a bus, at a level, pre or post fader."""

    bus: str
    level_db: float = Field(0.0, ge=-144.0, le=48.0)
    pre_fader: bool = False


class Clip(_Model):
    """A region of a source file placed on a track.

    Attributes
    ----------
    source : str or ArraySource
        Audio or video file, relative to the session file; or audio in memory: a
        float32 ``(channels, frames)`` ndarray (kept as an :class:`ArraySource`, a
        copy), with ``sample_rate``. A session holding one cannot be saved to a file.
    sample_rate : int, optional
        Rate of an array source, Hz (required with one; a file's rate is read from it).
    stream : int, optional
        Index among the file's audio streams (default: the first).
    start : time
        Position on the timeline (timecode is read on the session's clock).
    in_ : time
        In-point in the source (written ``in``).
    duration : time, optional
        Length on the timeline; default to the source's end.
    gain_db : float
        Clip gain (the person's; ``auto`` writes its own into ``auto``).
    fade_in, fade_out : Fade, optional
    automation : dict
        Only ``gain_db``; keyframe times are relative to the clip's start.
    auto : AutoLayer
        ``auto``'s clip gain (dialogue leveling), added to the hand values.
    """

    name: str | None = None
    source: str | ArraySource
    sample_rate: int | None = Field(None, ge=1, le=384000)
    stream: int | None = Field(None, ge=0)
    start: Time = 0
    in_: Time = Field(0, alias="in")
    duration: Time | None = None
    gain_db: float = Field(0.0, ge=-144.0, le=48.0)
    fade_in: Fade | None = None
    fade_out: Fade | None = None
    mute: bool = False
    automation: Automation = Field(default_factory=dict)
    auto: AutoLayer = Field(default_factory=AutoLayer)

    @model_validator(mode="before")
    @classmethod
    def _array_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and is_ndarray(data.get("source")):
            if data.get("sample_rate") is None:
                raise ValueError("a clip whose source is an array needs its sample_rate (Hz)")
            data = dict(data, source=ArraySource(data["source"], data["sample_rate"]))
        return data

    @model_validator(mode="after")
    def _rate_of_array(self) -> "Clip":
        if isinstance(self.source, ArraySource):
            if self.sample_rate is None:
                object.__setattr__(self, "sample_rate", self.source.sample_rate)
            elif self.sample_rate != self.source.sample_rate:
                raise ValueError(f"sample_rate {self.sample_rate} differs from its array source's "
                                 f"{self.source.sample_rate} Hz")
        elif self.sample_rate is not None:
            raise ValueError("sample_rate is for a clip whose source is an array; a file's rate is read from the file")
        return self


class _Strip(_Model):
    gain_db: float = Field(0.0, ge=-144.0, le=48.0)
    mute: bool = False
    pan: float = Field(0.0, ge=-1.0, le=1.0)
    chain: list[ProcessorSpec] = Field(default_factory=list)
    output: str = MASTER
    sends: list[Send] = Field(default_factory=list)
    automation: Automation = Field(default_factory=dict)
    auto: AutoLayer = Field(default_factory=AutoLayer)


class Track(_Strip):
    """A track: clips summed, then insert chain, fader, pan, sends, output."""

    name: str = Field(min_length=1)
    role: Role = "other"
    solo: bool = False
    color: Color | None = None
    clips: list[Clip] = Field(default_factory=list)

    @property
    def display_color(self) -> str:
        """The track's colour: its own, or its role's default."""
        return self.color or default_color(self.role)


class Bus(_Strip):
    """A bus: sum of what is routed to it, then its chain, fader, pan, output."""

    name: str = Field(min_length=1)
    role: Role | None = None
    solo: bool = False
    color: Color | None = None

    @property
    def display_color(self) -> str:
        """The bus's colour: its own, or its role's default."""
        return self.color or default_color(self.role, bus=True)


class Group(_Model):
    """A VCA-style group: one fader, mute and solo over tracks and buses.

    Attributes
    ----------
    name : str
    members : list of str
        Track or bus names.
    gain_db : float
        Added to every member's fader (and its automation), dB: the members' levels
        move together and keep their balance.
    mute, solo : bool
        Mute or solo every member.
    color : str, optional
        ``#rrggbb``.
    """

    name: str = Field(min_length=1)
    members: list[str] = Field(default_factory=list)
    gain_db: float = Field(0.0, ge=-144.0, le=48.0)
    mute: bool = False
    solo: bool = False
    color: Color | None = None

    @property
    def display_color(self) -> str:
        """The group's colour: its own, or the groups' default."""
        return self.color or GROUP_COLOR


class Master(_Model):
    """The master: sum of everything, its chain, its fader."""

    gain_db: float = Field(0.0, ge=-144.0, le=48.0)
    chain: list[ProcessorSpec] = Field(default_factory=list)
    automation: Automation = Field(default_factory=dict)
    auto: AutoLayer = Field(default_factory=AutoLayer)


def _layout_name(value: Any) -> Any:
    """YAML reads ``layout: 5.1`` as a number; the layout is the name "5.1"."""
    return "5.1" if value == 5.1 and not isinstance(value, bool) else value


LayoutName = Annotated[Layout, BeforeValidator(_layout_name)]


class Deliverable(_Model):
    """One output rendered from the mix.

    Attributes
    ----------
    kind : str
        ``mix`` (the master), ``stems`` (one file per role), ``me`` (music +
        effects + ambience, no dialogue), ``video`` (the mix muxed into a copy of
        ``video`` with the video stream copied packet for packet) or ``premaster``
        (the hand-off to mastering: 24-bit WAV at the session rate, true peak at
        -6 dBTP, without auto's loudness gain and limiter).
    path : str
        Output file (for ``stems``: a folder), relative to the session file.
    format : str
        ``wav16``, ``wav24``, ``wav32f``, ``bwf`` (24-bit WAV with loudness in its
        ``bext`` chunk), ``flac``, ``mp3``, ``aac``, ``opus``; for ``video`` the audio
        codec inside the container (default ``aac``).
    target : str, optional
        A delivery preset: this deliverable is normalised and limited for it.
    lufs, true_peak : float, optional
        Custom target loudness / ceiling (override the preset's).
    bitrate : int, optional
        Lossy encoders' bit rate, bits per second.
    layout : str, optional
        Channel layout of this output (a stereo downmix of a 5.1 session).
    roles : list of str, optional
        For ``stems``: which roles to write (default: every role present).
    video : str, optional
        For ``video``: the source video, relative to the session file.
    keep_original_audio : bool
        For ``video``: keep the source's audio as a second track.
    language, title : str, optional
        Metadata of the new audio track.
    """

    kind: Literal["mix", "stems", "me", "video", "premaster"] = "mix"
    path: str
    format: str | None = None
    target: str | None = None
    lufs: float | None = None
    true_peak: float | None = None
    bitrate: int | None = Field(None, gt=0)
    layout: LayoutName | None = None
    roles: list[Role] | None = None
    video: str | None = None
    keep_original_audio: bool = False
    language: str | None = None
    title: str | None = None


class Session(_Model):
    """A whole mix. See the module docstring and ``docs`` in the README."""

    mixdown: Literal[2] = 2
    sample_rate: int = Field(48000, ge=8000, le=384000)
    layout: LayoutName = "stereo"
    frame_rate: int | float | str = 25
    drop_frame: bool = False
    start_timecode: str | None = None
    duration: Time | None = Field(None, description="programme length; default: end of the last clip")
    tracks: list[Track] = Field(default_factory=list)
    buses: list[Bus] = Field(default_factory=list)
    master: Master = Field(default_factory=Master)
    groups: list[Group] = Field(default_factory=list)
    deliverables: list[Deliverable] = Field(default_factory=list)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _file: Path | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)
    _tb: tuple | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _label_arrays(self) -> "Session":
        for t in self.tracks:
            for i, c in enumerate(t.clips):
                if isinstance(c.source, ArraySource):
                    c.source.label = f"track {t.name!r} clip {i} (array)"
        return self

    @field_validator("frame_rate", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> Any:
        from ..errors import SessionError
        from ..timebase import parse_rate

        try:
            parse_rate(v)
        except SessionError as exc:  # pydantic locates ValueErrors only
            raise ValueError(exc.message) from None
        return v

    @property
    def channels(self) -> int:
        """Number of channels of the session's layout."""
        return LAYOUT_CHANNELS[self.layout]

    @property
    def timebase(self) -> Timebase:
        """The converter from written times to samples for this session (rebuilt when its fields change)."""
        key = (self.sample_rate, self.frame_rate, self.drop_frame, self.start_timecode)
        if self._tb is None or self._tb[0] != key or self._tb[1].max_seconds != max_programme_seconds():
            self._tb = (key, Timebase.from_session_fields(*key))
        return self._tb[1]

    @property
    def base_dir(self) -> Path:
        """Directory that clip sources are relative to (the session file's folder)."""
        return self._base_dir

    @base_dir.setter
    def base_dir(self, value: str | Path) -> None:
        self._base_dir = Path(value)

    @property
    def file(self) -> Path | None:
        """The file this session was loaded from, if any."""
        return self._file

    @property
    def lines(self) -> dict[tuple[str | int, ...], int]:
        """Map from location paths to 1-based line numbers in :attr:`file`."""
        return self._lines

    def resolve(self, source: str | ArraySource) -> Path | ArraySource:
        """Absolute path of a clip source (an :class:`ArraySource` is returned as it is)."""
        if isinstance(source, ArraySource):
            return source
        p = Path(source)
        try:
            p = p.expanduser()
        except RuntimeError:  # ~user of a user this machine does not have: the name stays as written
            pass
        return p if p.is_absolute() else (self._base_dir / p)

    def samples(self, value: TimeValue, *, position: bool = False) -> int:
        """Shorthand for ``self.timebase.samples``."""
        return self.timebase.samples(value, position=position)

    def track(self, name: str) -> Track:
        """The track called ``name`` (KeyError if none)."""
        for t in self.tracks:
            if t.name == name:
                return t
        raise KeyError(name)

    def bus(self, name: str) -> Bus:
        """The bus called ``name`` (KeyError if none)."""
        for b in self.buses:
            if b.name == name:
                return b
        raise KeyError(name)

    def copy_session(self) -> "Session":
        """A deep copy that keeps the base directory, file and line map."""
        new = self.model_copy(deep=True)
        new._base_dir = self._base_dir
        new._file = self._file
        new._lines = dict(self._lines)
        return new
