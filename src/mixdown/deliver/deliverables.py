"""Deliverables: every output a session lists, from one render.

:func:`render_deliverables` renders the session **once** and writes everything the
session's ``deliverables`` list asks for; :func:`deliver_file` does the same from a
mix that is already rendered (``mixdown auto ... -o out.mp4``).

How
---
1. **One render.** The session is rendered with the master stage that ``auto``
   wrote (its ``auto-loudness`` gain and ``auto-limiter``) taken out of the master
   chain; the master's output (the rest of its chain and its fader) -- the
   *premaster* -- goes to a temporary float file and is measured once per output
   layout. The role stems the deliverables need (post-fader, aligned with the
   master, multiplied by the master fader so they follow its fades) go to
   temporary float files in the same pass, and so does the speech detection for
   dialogue-gated specs (on the dialogue stem; on the mix when no track has the
   dialogue role).
2. **One master stage per spec.** Deliverables that share a spec -- target,
   channel layout, true-peak ceiling -- share a master stage: the premaster
   (downmixed when the deliverable asks for another layout, e.g. 5.1 -> stereo with
   the ITU coefficients) through a static loudness gain and a true-peak limiter,
   measured, and run again with a corrected gain if the limiter cost loudness (as
   ``auto`` does; at most ``MasterParams.max_passes`` passes, limiting capped at
   ``max_limiting_db``). The stage costs a read of the premaster, not a render:
   ``youtube`` and ``ebu-r128`` versions of a 60-minute mix cost one render and two
   cheap stages. A deliverable without a target gets the session's own master
   stage (the ``auto`` entries that were taken out), or none.
3. **Encode**, every file of a stage in one read of the stage's output; the video
   deliverables are muxed (see :mod:`mixdown.deliver.mux`).
4. **Verify.** Every lossy file (MP3, AAC, Opus, and the audio of every video) is
   decoded again and measured. If its true peak is over the spec's ceiling (codec
   overshoot) or its loudness is off the target by more than half the spec's
   tolerance (:func:`lossy_retry_lu`), the stage is run again for it -- the limiter
   lowered by the overshoot (plus 0.1 dB), the loudness aimed past the target by
   what the codec took away -- it is encoded again, and the report says so
   (``notes``); after :data:`LOSSY_PASSES` encodes the file is reported as failing.
   Lossy deliverables start from the lossy ceiling
   (:func:`~mixdown.deliver.formats.lossy_ceiling`: 1 dB under the spec's, -2 dBTP
   for the -1 dBTP specs), so overshoot corrections are rare; level corrections
   happen with tight specs (R128's +-0.2 LU) or codecs that change the level (LAME
   encodes mono 0.45 dB low). Lossless files are measured while they are written
   (the same samples).

Stems and M&E
-------------
Stems are the strips feeding the master grouped by role (a bus without a role
takes its inputs' role if they agree, else ``other``); M&E is music + sfx +
ambience (``roles`` overrides either). They are written **at the mix's gain**:
the master fader (with its automation) and the static loudness gain of the mix
they belong to, *without* the limiter and without the master chain's other
processors -- so the stems sum exactly to the premaster times the loudness gain,
i.e. to the mix before its limiter. "The mix" is the stems deliverable's own
``target`` if it has one (its stage is run even if no mix is delivered for it),
else the first mix or video deliverable with a target, else the session's own
master stage gain. A stem louder than full scale is clipped by integer formats;
the report says so (use ``wav32f``). Stems are not checked for compliance (they
are not programme).

Temporary files (raw float32) go next to the first output, in a hidden folder
removed at the end: premaster + one per stem role + one per stage, each
``channels x 4`` bytes per sample (60 min of stereo at 48 kHz: 1.4 GB each).
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError, MixdownError, SessionError, TargetError
from ..media.scratch import ScratchAudio
from ..render.graph import stem_taps
from ..session.model import LAYOUT_CHANNELS, MASTER, Deliverable, ProcessorSpec, Session
from .formats import FORMATS, SUFFIXES, is_lossy, lossy_ceiling, resolve_format
from .premaster import FORMAT as PREMASTER_FORMAT
from .targets import Target, get_target

#: A lossy file is encoded again when its loudness is off by more than half the spec's
#: tolerance, and at most by this much, LU (R128's +-0.2 LU: 0.1; streaming's +-1 LU: 0.5).
LOSSY_RETRY_MAX_LU = 0.5
#: Encodes of one lossy file at most (the first and the corrections).
LOSSY_PASSES = 4
#: Extra ceiling drop on top of a measured overshoot, dB.
OVERSHOOT_MARGIN_DB = 0.1
ME_ROLES = ("music", "sfx", "ambience")
GAIN_ID = "auto-loudness"
LIMITER_ID = "auto-limiter"
DEFAULT_BLOCK = 16384
_LAYOUT_NAMES = {1: "mono", 2: "stereo", 6: "5.1"}

Progress = Callable[[int, int], None]


# ----------------------------------------------------------------------------- reports


@dataclass
class OutputReport:
    """One deliverable as written and measured.

    Attributes
    ----------
    kind : str
        ``mix``, ``stems``, ``me`` or ``video``.
    path : str
        The file (for stems: the folder).
    files : list of str
        Every file written.
    format : str
    target : str or None
    layout : str
    sample_rate : int
        Of the file (Opus: 48 kHz).
    gain_db : float or None
        Loudness gain applied to the premaster, dB.
    ceiling_dbtp : float or None
        Ceiling the limiter held, dBTP.
    limiter_max_reduction_db : float or None
    master_passes : int
        Runs of the master stage for the accepted version.
    encodes : int
        Times the file was encoded (more than 1: corrected after verification).
    measured : dict
        Loudness of what was delivered: decoded again for lossy files.
    verified : str
        ``decoded`` (measured from the file) or ``rendered`` (measured on the samples written).
    compliant : bool or None
        Against the target (None without one, and for stems).
    problems, notes : list of str
    """

    kind: str
    path: str
    format: str
    target: str | None
    layout: str
    files: list[str] = field(default_factory=list)
    sample_rate: int = 0
    duration_s: float = 0.0
    gain_db: float | None = None
    ceiling_dbtp: float | None = None
    limiter_max_reduction_db: float | None = None
    master_passes: int = 0
    encodes: int = 0
    measured: dict[str, Any] = field(default_factory=dict)
    verified: str = ""
    compliant: bool | None = None
    requirements: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mux: dict[str, Any] | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("gain_db", "ceiling_dbtp", "limiter_max_reduction_db", "duration_s", "seconds"):
            if out[k] is not None:
                out[k] = round(float(out[k]), 3)
        return out


@dataclass
class DeliveryReport:
    """Everything :func:`render_deliverables` wrote, how, and whether it meets its spec."""

    outputs: list[OutputReport]
    sample_rate: int
    channels: int
    duration_s: float
    premaster: dict[str, Any] = field(default_factory=dict)
    speech_s: float | None = None
    timing: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        """False if any deliverable with a target misses it."""
        return all(o.compliant is not False for o in self.outputs)

    @property
    def problems(self) -> list[str]:
        return [f"{o.path}: {p}" for o in self.outputs for p in o.problems]

    def to_json(self) -> dict[str, Any]:
        return {
            "compliant": self.compliant,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration_s": round(self.duration_s, 6),
            "premaster": self.premaster,
            "speech_s": None if self.speech_s is None else round(self.speech_s, 2),
            "outputs": [o.to_json() for o in self.outputs],
            "problems": self.problems,
            "warnings": self.warnings,
            "timing_s": {k: round(v, 3) for k, v in self.timing.items()},
        }


# ----------------------------------------------------------------------------- temp audio


# ----------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _Key:
    """What makes two deliverables share a master stage."""

    target: Target | None
    channels: int
    ceiling: float | None  # spec or lossy ceiling, dBTP (None: the session's own stage)


@dataclass
class _Item:
    index: int
    d: Deliverable
    kind: str
    path: Path
    fmt: str
    target: Target | None
    channels: int
    lossy: bool
    roles: list[str] = field(default_factory=list)
    video: Path | None = None
    report: OutputReport | None = None

    @property
    def key(self) -> _Key:
        if self.target is None:
            return _Key(None, self.channels, None)
        c = lossy_ceiling(self.target) if self.lossy else self.target.true_peak_dbtp
        return _Key(self.target, self.channels, c)

    @property
    def loc(self) -> tuple[str | int, ...]:
        return ("deliverables", self.index)


@dataclass
class _Stage:
    key: _Key
    gain_db: float
    ceiling_db: float | None
    passes: int
    result: Any  # LoudnessResult
    dialogue_lufs: float | None
    reduction_db: float
    raw: ScratchAudio | None
    capped: bool = False
    clipped_runs: int = 0
    clipped_samples: int = 0
    problems: list[str] = field(default_factory=list)


class _Progress:
    def __init__(self, cb: Progress | None, unit: int) -> None:
        self.cb = cb
        self.unit = max(unit, 1)
        self.total = 0
        self.done = 0

    def plan(self, units: float) -> None:
        self.total += int(units * self.unit)

    def advance(self, frames: int) -> None:
        self.done += frames
        if self.cb is not None:
            self.cb(min(self.done, self.total), max(self.total, self.done))


def lossy_retry_lu(target: Target) -> float:
    """Loudness error that makes a lossy file be encoded again, LU (see :data:`LOSSY_RETRY_MAX_LU`)."""
    return min(LOSSY_RETRY_MAX_LU, target.tolerance_lu / 2)


def _layout(channels: int) -> str:
    return _LAYOUT_NAMES.get(channels, f"{channels}ch")


def _located(exc: MixdownError, session: Session | None, loc: tuple[str | int, ...]) -> MixdownError:
    exc.loc = exc.loc or loc
    if session is not None:
        exc.located(file=session.file, lines=session.lines)
    return exc


def _resolve_items(session: Session | None, deliverables: list[Deliverable], *, base: Callable[[str], Path],
                   channels: int, find_video: Callable[[], Path | None]) -> list[_Item]:
    """Check every deliverable (formats, targets, layouts, paths) before anything is rendered."""
    from ..media.channels import can_map
    from .mux import check_video_audio, check_video_copy, container_for, default_video_audio

    items: list[_Item] = []
    seen: dict[Path, int] = {}
    for i, d in enumerate(deliverables):
        loc: tuple[str | int, ...] = ("deliverables", i)
        try:
            target = None
            if d.target is not None or d.lufs is not None:
                try:
                    target = get_target(d.target, lufs=d.lufs, true_peak=d.true_peak)
                except TargetError as exc:
                    exc.loc = loc + ("target" if d.target is not None else "lufs",)
                    raise
            elif d.true_peak is not None:
                raise SessionError("true_peak needs a target or lufs to normalise to", loc=loc + ("true_peak",))
            ch = LAYOUT_CHANNELS[d.layout] if d.layout else channels
            if not can_map(channels, ch):
                raise SessionError(f"cannot make {_layout(ch)} from a {_layout(channels)} mix", loc=loc + ("layout",))
            path = base(d.path)
            kind = d.kind
            video = None
            roles: list[str] = []
            if kind == "stems":
                fmt = d.format or "wav24"
                if fmt not in FORMATS:
                    raise SessionError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", loc=loc + ("format",))
                roles = list(d.roles or [])
            elif kind == "video":
                try:
                    fmt = d.format or default_video_audio(container_for(path))
                    check_video_audio(path, fmt)
                except MediaError as exc:
                    raise SessionError(exc.message, loc=loc + ("format" if d.format else "path",)) from None
                if d.video is not None:
                    video = base(d.video)
                    if not video.is_file():
                        raise MediaError(f"video not found: {video}", loc=loc + ("video",))
                else:
                    video = find_video()
                    if video is None:
                        raise SessionError("a video deliverable needs `video:` (no clip source has a video stream)",
                                           loc=loc + ("video",))
                try:
                    check_video_copy(video, path)
                except MediaError as exc:
                    raise SessionError(exc.message, loc=loc + ("path",)) from None
            elif kind == "premaster":
                _check_premaster(d, path, loc)
                fmt = PREMASTER_FORMAT
            else:
                try:
                    fmt = resolve_format(path, d.format)
                except MediaError as exc:
                    raise SessionError(exc.message, loc=loc + ("format" if d.format else "path",)) from None
                if kind == "me":
                    roles = list(d.roles or ME_ROLES)
            lossy = is_lossy(fmt)
            if fmt == "mp3" and ch > 2:
                raise SessionError("MP3 carries mono or stereo only; add layout: stereo for a downmix",
                                   loc=loc + ("format",))
            if kind == "stems" and d.roles is not None and not d.roles:
                raise SessionError("roles is empty", loc=loc + ("roles",))
            if path in seen:
                raise SessionError(f"deliverables {seen[path]} and {i} write the same path {path}", loc=loc + ("path",))
            seen[path] = i
            item = _Item(index=i, d=d, kind=kind, path=path, fmt=fmt, target=target, channels=ch, lossy=lossy,
                         roles=roles, video=video)
            item.report = OutputReport(kind=kind, path=str(path), format=fmt, target=target.name if target else None,
                                       layout=_layout(ch))
            items.append(item)
        except MixdownError as exc:
            raise _located(exc, session, loc) from None
    return items


def _check_premaster(d: Deliverable, path: Path, loc: tuple[str | int, ...]) -> None:
    """A premaster is a 24-bit WAV with no target (its level is set by its peak)."""
    if d.format not in (None, PREMASTER_FORMAT):
        raise SessionError(f"a premaster is a 24-bit WAV ({PREMASTER_FORMAT}), not {d.format}", loc=loc + ("format",))
    if path.suffix.lower() not in SUFFIXES[PREMASTER_FORMAT]:
        raise SessionError(f"a premaster is a .wav file, not {path.suffix or '(no suffix)'!r}", loc=loc + ("path",))
    for name in ("target", "lufs", "true_peak"):
        if getattr(d, name) is not None:
            raise SessionError("a premaster is not normalised to a target: its true peak is put at -6 dBTP",
                               loc=loc + (name,))


def _speech_stream(sample_rate: int, method: str) -> Any:
    """A streaming speech detector: ``push(block)``, ``regions()`` at ``sample_rate``."""
    from ..analysis import vad

    class _Stream:
        def __init__(self) -> None:
            self.det = vad.Detector(method)
            self.frames = 0
            self.rs = None
            if sample_rate != vad.RATE:
                import soxr

                self.rs = soxr.ResampleStream(sample_rate, vad.RATE, 1, dtype="float32", quality="HQ")

        def push(self, block: np.ndarray) -> None:
            if not block.shape[1]:
                return
            self.frames += block.shape[1]
            mono = block.mean(axis=0, dtype=np.float32)
            self.det.push(mono if self.rs is None else self.rs.resample_chunk(mono))

        def regions(self) -> list[tuple[int, int]]:
            if self.rs is not None:
                tail = self.rs.resample_chunk(np.zeros(0, np.float32), last=True)
                if tail.size:
                    self.det.push(tail)
            act = self.det.finish(self.frames, sample_rate)
            return act.regions(sample_rate, min_relative_db=None)

    return _Stream()


# ----------------------------------------------------------------------------- the job


class _Job:
    """State shared by the phases of one delivery."""

    def __init__(self, *, sample_rate: int, channels: int, layout: str, items: list[_Item], work_dir: Path,
                 protect: set[Path], block_size: int, progress: Progress | None, master: Any, vad_method: str,
                 session: Session | None, description: str = "", time_reference: int = 0) -> None:
        self.sr = sample_rate
        self.channels = channels
        self.layout = layout
        self.items = items
        self.work = work_dir
        self.protect = protect
        self.block = block_size
        self.progress_cb = progress
        self.mp = master
        self.vad_method = vad_method
        self.session = session
        self.description = description
        self.time_reference = time_reference
        self.length = 0
        self.mixpre: ScratchAudio | None = None
        self.pre: dict[int, tuple[float | None, float | None]] = {}
        self.speech: list[tuple[int, int]] | None = None
        self.stems: dict[str, ScratchAudio] = {}
        self.asis: list[ProcessorSpec] = []
        self.stages: dict[_Key, _Stage] = {}
        self.timing: dict[str, float] = {}
        self.progress = _Progress(progress, 1)
        self._n = 0

    def tmp(self, name: str, channels: int) -> ScratchAudio:
        self._n += 1
        return ScratchAudio(self.work / f"{self._n:03d}-{name}.f32", channels)

    # -- what is needed

    @property
    def needs_speech(self) -> bool:
        return any(it.target is not None and it.target.gating == "dialogue" for it in self.items)

    def measure_layouts(self) -> set[int]:
        return {it.channels for it in self.items} | {self.channels}

    def stage_latency(self) -> int:
        """Latency of the longest master stage (the premaster must cover it)."""
        lat = 0
        for key in {it.key for it in self.items}:
            procs = self._processors(key, 0.0, key.ceiling or -1.0)
            for p in procs:
                p.prepare(self.sr, self.block, key.channels)
            lat = max(lat, sum(p.latency for p in procs))
        return lat

    # -- master stage

    def _processors(self, key: _Key, gain: float, ceiling: float) -> list[Any]:
        from ..dsp.base import create

        if key.target is None:
            return [create(s.type, **s.params) for s in self.asis]
        try:
            return [create("gain", gain_db=round(gain, 3)),
                    create("limiter", ceiling_db=round(ceiling, 3), true_peak=True,
                           lookahead_ms=self.mp.lookahead_ms, release_ms=self.mp.release_ms)]
        except ValueError as exc:
            raise TargetError(f"{key.target.name}: the master stage cannot be built ({exc}); the mix is too quiet "
                              "or too loud for this target") from None

    def run_chain(self, key: _Key, gain: float, ceiling: float, *, keep: bool) -> tuple[ScratchAudio | None, Any, float | None, float, Any]:
        """Premaster -> layout -> chain; measured (true peak on); optionally kept in a temp file."""
        from ..analysis.loudness import LoudnessMeter
        from ..media.channels import map_channels
        from .check import _ClipCounter

        procs = self._processors(key, gain, ceiling)
        ch = key.channels
        for p in procs:
            p.prepare(self.sr, self.block, ch)
        lat = sum(p.latency for p in procs)
        meter = LoudnessMeter(self.sr, ch, layout=_layout(ch) if ch in (1, 2, 6) else None)
        clips = _ClipCounter(ch)
        out = self.tmp("stage", ch) if keep else None
        total = self.length
        assert self.mixpre is not None
        with self.mixpre.reader() as rd:
            pos = 0
            emitted = 0
            end = total + lat
            while pos < end:
                n = min(self.block, end - pos)
                x = rd.read(pos, n)
                if x.shape[0] != ch:
                    x = map_channels(x, ch)
                for p in procs:
                    x = p.process(x, pos)
                lo = max(0, lat - pos)
                y = x[:, lo:lo + max(0, total - emitted)]
                if y.shape[1]:
                    meter.process(y)
                    clips.process(y)
                    if out is not None:
                        out.write(y)
                    emitted += y.shape[1]
                    self.progress.advance(y.shape[1])
                pos += n
        clips.finish()
        if out is not None:
            out.finish()
        dlg = meter.integrated_over(self.speech) if self.speech else None
        limiter = procs[-1] if procs and getattr(procs[-1], "kind", "") == "limiter" else None
        gr = float(getattr(limiter, "max_reduction_db", 0.0)) if limiter is not None else 0.0
        return out, meter.result(), dlg, gr, clips

    def stage(self, key: _Key, *, keep: bool = True) -> _Stage:
        """The accepted master stage of a spec (run on first use); ``keep`` its output for encoding."""
        if key in self.stages:
            return self.stages[key]
        t0 = time.perf_counter()
        if key.target is None:
            self.progress.plan(1)
            raw, res, dlg, gr, clips = self.run_chain(key, 0.0, 0.0, keep=keep)
            st = _Stage(key, self.static_gain(), None, 1, res, dlg, gr, raw,
                        clipped_runs=clips.runs, clipped_samples=clips.samples)
            self.stages[key] = st
            self.timing[f"stage {key.channels}ch as-is"] = time.perf_counter() - t0
            return st
        target = key.target
        pre, pre_dlg = self.pre[key.channels]
        dialogue = target.gating == "dialogue"
        measured_pre = pre_dlg if dialogue else pre
        what = "dialogue-gated loudness" if dialogue else "integrated loudness"
        if measured_pre is None:
            raise TargetError(
                f"{target.name}: the mix's {what} is undefined ("
                + ("no speech was found" if dialogue and not self.speech else "silent, or shorter than 400 ms")
                + "), so no loudness gain can be computed")
        st = self.loop(key, gain=target.integrated_lufs - measured_pre, ceiling=key.ceiling - self.mp.margin_db,
                       goal=target.integrated_lufs, keep=keep)
        self.stages[key] = st
        self.timing[f"stage {target.name} {_layout(key.channels)} {key.ceiling:g} dBTP"] = time.perf_counter() - t0
        return st

    def loop(self, key: _Key, *, gain: float, ceiling: float, goal: float, keep: bool) -> _Stage:
        """Gain + limiter until the output is ``goal`` LUFS (as ``auto``'s master stage does).

        Run again when the loudness is more than ``tolerance_lu`` off (the limiter cost
        some), when a true peak is over ``key.ceiling`` (lower the limiter), or when
        the limiter took more than ``max_limiting_db`` (then the gain is held there and
        the target is missed, which the report says).
        """
        from ..auto.loudness import next_pass

        target = key.target
        assert target is not None and key.ceiling is not None
        mp = self.mp
        dialogue = target.gating == "dialogue"
        capped = False
        raw = None
        for attempt in range(1, mp.max_passes + 1):
            self.progress.plan(1)
            if raw is not None:
                raw.delete()
            raw, res, dlg, gr, clips = self.run_chain(key, gain, ceiling, keep=keep)
            got = dlg if dialogue else res.integrated_lufs
            over_tp = (res.true_peak_dbtp if res.true_peak_dbtp is not None else -200.0) - key.ceiling
            nxt = next_pass(mp, got=got, goal=goal, over_tp=over_tp, limited_db=gr, gain=gain, ceiling=ceiling,
                            capped=capped)
            # corrections are taken only by a pass that renders them: when passes run out,
            # gain and ceiling stay the ones this stage's output was made with
            if not nxt[3] or attempt == mp.max_passes:
                break
            gain, ceiling, capped = nxt[:3]
        problems = []
        if capped:
            problems.append(f"reaching {target.integrated_lufs:g} LUFS needed more than {mp.max_limiting_db:g} dB "
                            f"of limiting; limiting was held at {mp.max_limiting_db:g} dB")
        return _Stage(key, gain, ceiling, attempt, res, dlg, gr, raw, capped=capped, clipped_runs=clips.runs,
                      clipped_samples=clips.samples, problems=problems)

    def static_gain(self) -> float:
        """Static gain of the session's own master stage (the ``auto-loudness`` entries)."""
        return float(sum(float(s.params.get("gain_db", 0.0)) for s in self.asis if s.type == "gain"))

    # -- outputs

    def encode_group(self, key: _Key, items: list[_Item]) -> None:
        """Write every mix file of one stage in one read of its output; mux its videos."""
        from .encode import open_encoder

        st = self.stage(key)
        assert st.raw is not None
        files = [it for it in items if it.kind == "mix"]
        if files:
            t0 = time.perf_counter()
            self.progress.plan(1)
            encs = []
            spent = [0.0] * len(files)  # each encoder's own time, for the report
            clock = time.perf_counter
            try:
                for it in files:
                    encs.append(self._open(it, open_encoder))
                with st.raw.reader() as rd:
                    for pos in range(0, self.length, self.block):
                        n = min(self.block, self.length - pos)
                        x = rd.read(pos, n)
                        for i, e in enumerate(encs):
                            t = clock()
                            e.write(x)
                            spent[i] += clock() - t
                        self.progress.advance(n)
                for i, (it, e) in enumerate(zip(files, encs)):
                    t = clock()
                    if it.fmt == "bwf":
                        e.commit(loudness=st.result)
                    else:
                        e.commit()
                    spent[i] += clock() - t
            except BaseException:
                for e in encs:
                    with contextlib.suppress(Exception):
                        e.abort()
                raise
            shared = (time.perf_counter() - t0 - sum(spent)) / len(files)  # reading the stage's output
            for it, own in zip(files, spent):
                it.report.encodes += 1
                it.report.seconds += own + shared
        for it in items:
            if it.kind == "video":
                self._mux(it, st)
        for it in items:
            self._finish(it, st)

    def _open(self, it: _Item, open_encoder: Callable[..., Any]) -> Any:
        from .formats import encode_rate

        meta = {k: v for k, v in (("title", it.d.title), ("language", it.d.language)) if v}
        enc = open_encoder(it.path, format=it.fmt, sample_rate=self.sr, channels=it.channels, bitrate=it.d.bitrate,
                           protect=self.protect, metadata=meta, bext_description=it.d.title or self.description,
                           time_reference=self.time_reference, measure_bwf=False, frames=self.length)
        it.report.sample_rate = encode_rate(it.fmt, self.sr) if it.lossy else self.sr
        return enc

    def _mux(self, it: _Item, st: _Stage) -> None:
        from .mux import mux_video

        assert st.raw is not None and it.video is not None
        self.progress.plan(1)
        with st.raw.reader() as rd:
            def source(pos: int, n: int) -> np.ndarray:
                self.progress.advance(n)
                return rd.read(pos, n)

            rep = mux_video(it.video, source, it.path, sample_rate=self.sr, channels=it.channels, frames=self.length,
                            format=it.fmt, bitrate=it.d.bitrate, keep_original_audio=it.d.keep_original_audio,
                            language=it.d.language, title=it.d.title, protect=self.protect)
        it.report.encodes += 1
        it.report.seconds += rep.seconds
        it.report.sample_rate = rep.sample_rate
        it.report.mux = rep.to_json()
        notes = []
        if rep.trimmed_s > 0:
            notes.append(f"the mix is {rep.trimmed_s:.3f} s longer than the video: cut to its length")
        if rep.padded_s > 0:
            notes.append(f"the mix is {rep.padded_s:.3f} s shorter than the video: padded with silence")
        if rep.dropped_streams:
            notes.append("not copied: " + ", ".join(rep.dropped_streams))
        it.report.notes += [n for n in notes if n not in it.report.notes]

    def _verify(self, it: _Item) -> Any:
        from .check import measure_media

        self.progress.plan(1)
        t0 = time.perf_counter()
        speech: bool | list[tuple[int, int]] = False
        if it.target is not None and it.target.gating == "dialogue":
            speech = list(self.speech or [])
        m = measure_media(it.path, stream=0, speech=speech, speech_rate=self.sr)
        self.progress.advance(self.length)
        it.report.seconds += time.perf_counter() - t0
        return m

    def _finish(self, it: _Item, st: _Stage) -> None:
        """Measure, judge and (lossy) correct one mix/video deliverable."""
        from .check import Measurement, evaluate

        rep = it.report
        rep.files = [str(it.path)]
        rep.gain_db = st.gain_db
        rep.ceiling_dbtp = st.ceiling_db
        rep.limiter_max_reduction_db = st.reduction_db if st.ceiling_db is not None else None
        rep.master_passes = st.passes
        rep.problems += st.problems
        lossy = it.lossy or it.kind == "video"
        if not lossy:
            m = Measurement(file=str(it.path), sample_rate=self.sr, channels=it.channels, layout=_layout(it.channels),
                            codec=it.fmt, has_video=False, frames=self.length, loudness=st.result,
                            dialogue_lufs=st.dialogue_lufs,
                            speech_s=None if self.speech is None else sum(b - a for a, b in self.speech) / self.sr,
                            clipped_runs=st.clipped_runs, clipped_samples=st.clipped_samples)
            rep.verified = "rendered"
            self._judge(it, m, evaluate)
            return
        m = self._verify(it)
        rep.verified = "decoded"
        if it.target is None:
            self._judge(it, m, evaluate)
            return
        target = it.target
        dialogue = target.gating == "dialogue"
        cur = st
        for attempt in range(2, LOSSY_PASSES + 1):
            got = m.dialogue_lufs if dialogue else m.loudness.integrated_lufs
            pcm = cur.dialogue_lufs if dialogue else cur.result.integrated_lufs
            tp = m.loudness.true_peak_dbtp
            over = (tp - target.true_peak_dbtp) if tp is not None else -1.0
            off = None if got is None else got - target.integrated_lufs
            fix_level = off is not None and abs(off) > lossy_retry_lu(target) and not cur.capped
            if over <= 0 and not fix_level:
                break
            why = []
            assert cur.ceiling_db is not None
            ceiling = cur.ceiling_db
            if over > 0:
                ceiling -= over + OVERSHOOT_MARGIN_DB
                why.append(f"decoded true peak {tp:.2f} dBTP was {over:.2f} dB over the {target.true_peak_dbtp:g} dBTP "
                           f"ceiling (codec overshoot): limiter lowered to {ceiling:.2f} dBTP")
            # what the codec does to the loudness, measured; the PCM aims that much the other way
            shift = 0.0 if (got is None or pcm is None) else got - pcm
            goal = target.integrated_lufs - shift
            if fix_level:
                why.append(f"decoded loudness {got:.2f} LUFS was {off:+.2f} LU off")
            if abs(shift) > 0.005:
                why.append(f"the codec moves the loudness by {shift:+.2f} LU: the master aims at {goal:.2f} LUFS")
            fixed = self.loop(it.key, gain=cur.gain_db + (goal - (pcm if pcm is not None else goal)),
                              ceiling=ceiling, goal=goal, keep=True)
            try:
                if it.kind == "video":
                    self._mux(it, fixed)
                else:
                    from .encode import open_encoder

                    t0 = time.perf_counter()
                    self.progress.plan(1)
                    enc = self._open(it, open_encoder)
                    try:
                        with fixed.raw.reader() as rd:
                            for pos in range(0, self.length, self.block):
                                n = min(self.block, self.length - pos)
                                enc.write(rd.read(pos, n))
                                self.progress.advance(n)
                        enc.commit()
                    except BaseException:
                        enc.abort()
                        raise
                    rep.encodes += 1
                    rep.seconds += time.perf_counter() - t0
            finally:
                fixed.raw.delete()
                fixed.raw = None
            rep.notes.append(f"encode {attempt - 1} failed verification: " + "; ".join(why) + "; encoded again")
            rep.gain_db, rep.ceiling_dbtp, rep.limiter_max_reduction_db = fixed.gain_db, fixed.ceiling_db, fixed.reduction_db
            rep.master_passes = fixed.passes
            rep.problems += [p for p in fixed.problems if p not in rep.problems]
            cur = fixed
            m = self._verify(it)
        self._judge(it, m, evaluate)

    def _judge(self, it: _Item, m: Any, evaluate: Callable[..., Any]) -> None:
        rep = it.report
        rep.duration_s = m.duration_s
        rep.sample_rate = rep.sample_rate or m.sample_rate
        rep.measured = m.to_json()
        if it.target is None:
            rep.compliant = None
            return
        reqs = evaluate(m, it.target, max_silence_s=None)
        rep.requirements = [r.to_json() for r in reqs]
        rep.compliant = all(r.passed or r.advisory for r in reqs)  # advice (a recommended range) never fails
        for r in reqs:
            if not r.passed and not r.advisory:
                rep.problems.append(f"{r.name}: {r.detail} (needs {r.limit})")

    def stems_gain(self, it: _Item) -> tuple[float, str]:
        """Loudness gain the stems of ``it`` are written at, and where it comes from."""
        if it.target is not None:
            key = _Key(it.target, it.channels, it.target.true_peak_dbtp)
            return self.stage(key, keep=False).gain_db, f"the {it.target.name} mix's gain"
        for other in self.items:
            if other.kind in ("mix", "video") and other.target is not None:
                return self.stage(other.key, keep=False).gain_db, f"the gain of the {other.target.name} mix ({other.path.name})"
        return self.static_gain(), "the session's own master gain"

    def write_stems(self, it: _Item) -> None:
        from ..media.channels import map_channels
        from .encode import open_encoder

        t0 = time.perf_counter()
        rep = it.report
        gain, why = self.stems_gain(it)
        rep.gain_db = gain
        rep.notes.append(f"at {why}: {gain:+.2f} dB, after the master fader, before the limiter")
        amp = np.float32(10.0 ** (gain / 20.0))
        if it.kind == "stems":
            roles = it.roles or sorted(self.stems)
            suffix = SUFFIXES[it.fmt][0]
            targets = [(role, [role], it.path / f"{role}{suffix}") for role in roles]
            it.path.mkdir(parents=True, exist_ok=True)
        else:
            targets = [("me", it.roles, it.path)]
        absent = sorted({r for _, rs, _ in targets for r in rs if r not in self.stems})
        if absent:
            rep.notes.append(f"no track has the role(s) {', '.join(absent)}: written as silence"
                             if it.kind == "stems" else f"no track has the role(s) {', '.join(absent)}")
        integer = it.fmt not in ("wav32f",) and not it.lossy
        for name, roles, path in targets:
            self.progress.plan(1)
            enc = open_encoder(path, format=it.fmt, sample_rate=self.sr, channels=it.channels, bitrate=it.d.bitrate,
                               protect=self.protect, bext_description=f"{name} stem", time_reference=self.time_reference,
                               frames=self.length)
            readers = [self.stems[r].reader() for r in roles if r in self.stems]
            peak = 0.0
            try:
                for pos in range(0, self.length, self.block):
                    n = min(self.block, self.length - pos)
                    x = np.zeros((self.channels, n), dtype=np.float32)
                    for rd in readers:
                        x += rd.read(pos, n)
                    if it.channels != self.channels:
                        x = map_channels(x, it.channels)
                    x *= amp
                    if x.size:
                        peak = max(peak, float(np.abs(x).max()))
                    enc.write(x)
                    self.progress.advance(n)
                enc.commit()
            except BaseException:
                enc.abort()
                raise
            finally:
                for rd in readers:
                    rd.close()
            rep.files.append(str(path))
            rep.encodes += 1
            pk = 20 * math.log10(peak) if peak > 0 else None
            rep.measured[name] = {"sample_peak_dbfs": None if pk is None else round(pk, 2)}
            if integer and peak >= 1.0:
                rep.problems.append(f"{name} peaks at {pk:+.2f} dBFS and is clipped in {it.fmt}; "
                                    "write stems as wav32f to keep the peaks")
        rep.sample_rate = self.sr
        rep.duration_s = self.length / self.sr
        rep.seconds += time.perf_counter() - t0

    def run_outputs(self) -> None:
        """Stages, encodes, muxes, verification, stems: everything after the premaster."""
        groups: dict[_Key, list[_Item]] = {}
        for it in self.items:
            if it.kind in ("mix", "video"):
                groups.setdefault(it.key, []).append(it)
        for key, items in groups.items():
            self.encode_group(key, items)
            st = self.stages[key]
            if st.raw is not None:  # encoded and verified: only its gain is needed from here on
                st.raw.delete()
                st.raw = None
        for it in self.items:
            if it.kind in ("stems", "me"):
                self.write_stems(it)
            elif it.kind == "premaster":
                self.write_premaster(it)

    def write_premaster(self, it: _Item) -> None:
        """The premaster file: the session's premaster (auto's stage left out) at -6 dBTP, 24-bit."""
        from ..analysis.truepeak import TruePeakDetector
        from ..media.channels import map_channels
        from .premaster import premaster_gain, write_premaster

        t0 = time.perf_counter()
        rep = it.report
        assert self.mixpre is not None

        def read(pos: int, n: int, rd: Any) -> np.ndarray:
            x = rd.read(pos, n)
            return x if it.channels == self.channels else map_channels(x, it.channels)

        tp = TruePeakDetector(self.sr, it.channels)
        with self.mixpre.reader() as rd:
            for pos in range(0, self.length, self.block):
                tp.process(read(pos, min(self.block, self.length - pos), rd))
        gain = premaster_gain(tp.peak(), file=it.path)
        self.progress.plan(1)
        with self.mixpre.reader() as rd:
            m = write_premaster(lambda pos, n: read(pos, n, rd), frames=self.length, channels=it.channels,
                                sample_rate=self.sr, path=it.path, gain_db=gain, protect=self.protect)
        self.progress.advance(self.length)
        rep.files.append(str(it.path))
        rep.encodes += 1
        rep.gain_db = gain
        rep.measured = {k: m[k] for k in ("true_peak_dbtp", "sample_peak_dbfs")}
        rep.notes.append(f"the mix before the loudness stage, {gain:+.2f} dB to a true peak of -6 dBTP; no limiting")
        rep.sample_rate = self.sr
        rep.duration_s = self.length / self.sr
        rep.seconds += time.perf_counter() - t0

    def cleanup(self) -> None:
        for st in self.stages.values():
            if st.raw is not None:
                st.raw.delete()
        for raw in self.stems.values():
            raw.delete()
        if self.mixpre is not None:
            self.mixpre.delete()

    def report(self) -> DeliveryReport:
        pre = {}
        for ch, (lufs, dlg) in sorted(self.pre.items()):
            pre[_layout(ch)] = {"integrated_lufs": None if lufs is None else round(lufs, 3),
                                "dialogue_gated_lufs": None if dlg is None else round(dlg, 3)}
        return DeliveryReport(
            outputs=[it.report for it in self.items], sample_rate=self.sr, channels=self.channels,
            duration_s=self.length / self.sr, premaster=pre,
            speech_s=None if self.speech is None else sum(b - a for a, b in self.speech) / self.sr,
            timing=self.timing)


# ----------------------------------------------------------------------------- entry points


def _strip_auto(session: Session) -> tuple[Session, list[ProcessorSpec]]:
    s = session.copy_session()
    auto = [p for p in s.master.chain if p.id in (GAIN_ID, LIMITER_ID) and not p.bypass]
    s.master.chain = [p for p in s.master.chain if p.id not in (GAIN_ID, LIMITER_ID)]
    return s, auto


def _work_dir(items: list[_Item], fallback: Path) -> tuple[Path, list[Path]]:
    """The scratch folder (beside the first output), and the output folders created for the job."""
    from ..files.temp import make_scratch_dir, missing_folders

    first = items[0].path if items else fallback
    folder = first if items and items[0].kind == "stems" else first.parent
    made: list[Path] = []
    for want in [it.path if it.kind == "stems" else it.path.parent for it in items] + [folder]:
        missing = missing_folders(want)
        want.mkdir(parents=True, exist_ok=True)  # every output's folder, before any work
        made += [p for p in missing if p not in made]
    return make_scratch_dir(folder, "deliver"), made


def _remove_made(made: list[Path]) -> None:
    from ..files.temp import remove_empty_folders

    remove_empty_folders(made)


def render_deliverables(
    session: Session,
    *,
    deliverables: list[Deliverable] | None = None,
    progress: Progress | None = None,
    block_size: int = DEFAULT_BLOCK,
    master: Any = None,
    vad_method: str = "silero",
) -> DeliveryReport:
    """Render the session once and write every deliverable it lists.

    Parameters
    ----------
    session : Session
    deliverables : list of Deliverable, optional
        Instead of ``session.deliverables``.
    progress : callable, optional
        ``progress(done, total)`` in sample frames of work (the total grows when a
        stage or an encode has to be repeated).
    block_size : int
        Frames per block (memory, not output, depends on it).
    master : MasterParams, optional
        Limiter and loudness-loop options (default: ``auto``'s).
    vad_method : str
        Speech detector for dialogue-gated targets.

    Returns
    -------
    DeliveryReport
        ``compliant`` is False when a deliverable misses its target; the files are
        written anyway and the report says why.

    Raises
    ------
    SessionError, MediaError, TargetError
        Before anything is written for a bad deliverable (unknown format or target,
        impossible layout, missing video, two outputs on one path, an output over
        an input); during the render for unreadable media.
    """
    from ..auto.loudness import MasterParams
    from ..render.engine import Renderer
    from ..render.graph import check

    deliverables = list(session.deliverables if deliverables is None else deliverables)
    if not deliverables:
        raise SessionError("the session lists no deliverables", loc=("deliverables",))
    mp = master or MasterParams()
    s, auto = _strip_auto(session)
    graph = check(s)
    sr, ch = graph.sample_rate, graph.channels

    video_cache: list[Path | None] = []

    def find_video() -> Path | None:
        if not video_cache:
            from ..media.decode import probe

            found = None
            for node in (c for strip in graph.strips.values() for c in strip.clips):
                with contextlib.suppress(MediaError):
                    if probe(node.path).has_video:
                        found = node.path
                        break
            video_cache.append(found)
        return video_cache[0]

    items = _resolve_items(session, deliverables, base=session.resolve, channels=ch, find_video=find_video)
    protect = set(graph.source_paths) | {it.video for it in items if it.video is not None}
    if session.file is not None:
        protect.add(Path(session.file))
    from ..media.write import check_not_protected

    for it in items:
        try:
            check_not_protected(it.path, protect)
        except MediaError as exc:
            raise _located(exc, session, it.loc + ("path",)) from None
    length = graph.length
    if length <= 0:
        raise SessionError("the session is empty: nothing to deliver")
    t0 = time.perf_counter()
    work, made = _work_dir(items, session.base_dir)
    tb = session.timebase
    job = _Job(sample_rate=sr, channels=ch, layout=session.layout, items=items, work_dir=work, protect=protect,
               block_size=block_size, progress=progress, master=mp, vad_method=vad_method, session=session,
               description=Path(session.file).stem if session.file else "",
               time_reference=tb.frames_to_samples(tb.start_frames))
    job.asis = auto
    job.length = length
    job.progress = _Progress(progress, length)
    try:
        _premaster_from_graph(job, graph, Renderer)
        job.timing["render"] = time.perf_counter() - t0
        job.run_outputs()
    except BaseException:
        job.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        _remove_made(made)
        raise
    finally:
        job.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    job.timing["total"] = time.perf_counter() - t0
    rep = job.report()
    if graph.tail_cut is not None:
        rep.warnings.append(graph.tail_cut.message(sr))
    return rep


def _premaster_from_graph(job: _Job, graph: Any, renderer_cls: Any) -> None:
    """Pass 1: render once; premaster, stems and speech to temp files; measure per layout."""
    from ..analysis.loudness import LoudnessMeter
    from ..dsp.automation import db_to_amp
    from ..media.channels import map_channels

    length = job.length
    roles_present = stem_taps(graph)
    wanted: set[str] = set()
    for it in job.items:
        if it.kind == "stems":
            wanted |= set(it.roles or roles_present)
        elif it.kind == "me":
            wanted |= set(it.roles)
    taps = {r: names for r, names in roles_present.items() if r in wanted}
    speech_src = None
    if job.needs_speech:
        if "dialogue" in roles_present:
            taps.setdefault("dialogue", roles_present["dialogue"])
            speech_src = "dialogue"
        else:
            speech_src = MASTER
    graph.length = length + job.stage_latency()
    job.mixpre = job.tmp("premaster", job.channels)
    for role in taps:
        if role in wanted:
            job.stems[role] = job.tmp(f"stem-{role}", job.channels)
    meters = {c: LoudnessMeter(job.sr, c, layout=_layout(c), true_peak=False) for c in job.measure_layouts()}
    vad = _speech_stream(job.sr, job.vad_method) if speech_src else None
    m = graph.strips[MASTER]
    lat = graph.output_latency
    job.progress.plan(1)
    for pos, block, tap in renderer_cls(graph, block_size=job.block, taps=taps).blocks():
        job.mixpre.write(block)
        keep = max(0, min(block.shape[1], length - pos))
        if keep == 0:
            continue
        b = block[:, :keep]
        for c, meter in meters.items():
            meter.process(b if c == job.channels else map_channels(b, c))
        if job.stems:
            db: Any = m.gain_db
            if m.gain_env is not None:
                env = m.gain_env
                db = db + (env.evaluate(pos + lat, keep) if env.changes_within(pos + lat, keep) else env.at(pos + lat))
            fader = None if (np.ndim(db) == 0 and db == 0.0) else np.asarray(db_to_amp(db), dtype=np.float32)
            for role, raw in job.stems.items():
                x = tap[role][:, :keep]
                raw.write(x if fader is None else x * fader)
        if vad is not None:
            vad.push(tap[speech_src][:, :keep] if speech_src != MASTER else b)
        job.progress.advance(keep)
    job.mixpre.finish()
    for raw in job.stems.values():
        raw.finish()
    if vad is not None:
        t0 = time.perf_counter()
        job.speech = vad.regions()
        job.timing["speech"] = time.perf_counter() - t0
    for c, meter in meters.items():
        job.pre[c] = (meter.result().integrated_lufs, meter.integrated_over(job.speech) if job.speech else None)
    graph.length = length


def deliver_file(
    mix: str | Path,
    deliverables: list[Deliverable],
    *,
    base_dir: str | Path | None = None,
    speech: list[tuple[int, int]] | None = None,
    progress: Progress | None = None,
    block_size: int = DEFAULT_BLOCK,
    master: Any = None,
    vad_method: str = "silero",
    protect: list[str | Path] = (),  # type: ignore[assignment]
) -> DeliveryReport:
    """Deliver an already rendered mix: normalise, limit, encode, mux and verify.

    For ``mixdown auto ... -o out.mp4``: ``auto`` renders its mix to a temporary
    file, this writes the video (and any other ``mix``/``video`` deliverable) from it.
    The file is the premaster: each target's stage (gain + limiter) runs on it.

    Parameters
    ----------
    mix : path
        A rendered mix (any format :func:`~mixdown.media.decode.open_source` reads).
    deliverables : list of Deliverable
        ``mix`` and ``video`` only (stems need the session).
    base_dir : path, optional
        Folder relative paths are resolved against (default: the current one).
    speech : list of (int, int), optional
        Speech regions of the mix (samples at its rate) for dialogue-gated targets;
        found with the VAD when needed and not given.
    protect : list of path
        Inputs that must not be overwritten (``mix`` always is).

    Returns
    -------
    DeliveryReport
    """
    from ..auto.loudness import MasterParams
    from .check import decode_blocks

    mix = Path(mix)
    base = Path(base_dir) if base_dir is not None else Path.cwd()

    def resolve(p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else base / q

    info, blocks = decode_blocks(mix)
    if info.channels not in (1, 2, 6):
        raise MediaError(f"{info.channels} channels: mixdown delivers mono, stereo or 5.1 mixes", file=mix)
    for i, d in enumerate(deliverables):
        if d.kind not in ("mix", "video"):
            raise SessionError(f"a {d.kind} deliverable needs the session, not a rendered mix",
                               loc=("deliverables", i, "kind"))
    items = _resolve_items(None, list(deliverables), base=resolve, channels=info.channels, find_video=lambda: None)
    prot = {mix, *map(Path, protect)} | {it.video for it in items if it.video is not None}
    from ..media.write import check_not_protected

    for it in items:
        check_not_protected(it.path, prot)
    t0 = time.perf_counter()
    work, made = _work_dir(items, base)
    job = _Job(sample_rate=info.sample_rate, channels=info.channels, layout=_layout(info.channels), items=items,
               work_dir=work, protect=prot, block_size=block_size, progress=progress, master=master or MasterParams(),
               vad_method=vad_method, session=None, description=mix.stem)
    try:
        from ..analysis.loudness import LoudnessMeter
        from ..media.channels import map_channels

        job.mixpre = job.tmp("premaster", info.channels)
        meters = {c: LoudnessMeter(job.sr, c, layout=_layout(c), true_peak=False) for c in job.measure_layouts()}
        vad = _speech_stream(job.sr, vad_method) if job.needs_speech and speech is None else None
        job.progress = _Progress(progress, max(info.frames, 1))
        job.progress.plan(1)
        n = 0
        for x in blocks:
            job.mixpre.write(x)
            for c, meter in meters.items():
                meter.process(x if c == info.channels else map_channels(x, c))
            if vad is not None:
                vad.push(x)
            n += x.shape[1]
            job.progress.advance(x.shape[1])
        job.mixpre.finish()
        job.length = n
        if n == 0:
            raise MediaError("the mix is empty", file=mix)
        job.speech = list(speech) if speech is not None else (vad.regions() if vad is not None else None)
        for c, meter in meters.items():
            job.pre[c] = (meter.result().integrated_lufs, meter.integrated_over(job.speech) if job.speech else None)
        job.timing["read"] = time.perf_counter() - t0
        job.run_outputs()
    except BaseException:
        job.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        _remove_made(made)
        raise
    finally:
        job.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    job.timing["total"] = time.perf_counter() - t0
    return job.report()
