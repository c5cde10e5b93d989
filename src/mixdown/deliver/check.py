"""Compliance check of a finished file against a delivery spec (``mixdown check``).

:func:`measure_media` decodes any file FFmpeg reads (a video's audio stream too),
streaming, at its own rate and layout, and measures in one pass:

- BS.1770 loudness (integrated, LRA, true peak, momentary/short-term maxima), with
  the channel weights of the file's layout (5.1: surrounds +1.5 dB, LFE excluded);
- dialogue-gated loudness over the speech regions found by
  :mod:`mixdown.analysis.vad` (only when the spec gates on dialogue);
- clipping: runs of at least :data:`CLIP_RUN` consecutive samples of one channel
  at or above :data:`CLIP_LEVEL` (-0.001 dBFS: the largest 16- and 24-bit codes
  are above it), the usual QC definition -- a single full-scale sample is a peak,
  three in a row are a flattened waveform;
- non-finite samples (NaN/inf in float files);
- silence at the head and the tail: time before the first / after the last sample
  louder than :data:`SILENCE_DBFS` on any channel.

:func:`check_file` turns that into one :class:`Requirement` per rule of the
:class:`~mixdown.deliver.targets.Target` and says pass or fail for each. Undefined is
never a pass: a file without a measurable loudness fails the loudness requirement,
one without speech fails a dialogue-gated one.

The whole file is read to its real end (not to the container's announced length),
so a file whose header lies is still measured completely.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MediaError
from .targets import Target

#: Sample magnitude counted as clipped (-0.001 dBFS).
CLIP_LEVEL = 10 ** (-0.001 / 20)
#: Consecutive clipped samples (one channel) that make a clipped run.
CLIP_RUN = 3
#: Level under which the head/tail counts as silence, dBFS (sample peak).
SILENCE_DBFS = -60.0
#: Longest silence accepted at the head or the tail, seconds (``--max-silence``).
DEFAULT_MAX_SILENCE_S = 5.0
#: Frames decoded per step.
READ_BLOCK = 1 << 16


def decode_blocks(path: str | os.PathLike[str], *, stream: int | None = None,
                  block: int = READ_BLOCK) -> tuple[Any, Iterator[np.ndarray]]:
    """Probe a file and stream its audio at the native rate to the real end.

    Returns
    -------
    info : MediaInfo
    blocks : iterator of ndarray
        float32 ``(channels, k)`` blocks, ``k <= block``, covering every decoded sample.

    Raises
    ------
    MediaError
        Missing, unreadable, not media, no audio stream.
    """
    from ..media.decode import open_source, probe

    info = probe(path, stream=stream)

    def gen() -> Iterator[np.ndarray]:
        with open_source(path, stream=stream, sample_rate=info.sample_rate) as reader:
            while True:
                try:
                    # SourceReader.read pads with zeros after the end; ask how much is
                    # really there so the measurement stops at the last decoded sample.
                    reader._fill(block)
                    avail = reader._buf.shape[1] - reader._off
                except MediaError:
                    raise
                except Exception as exc:
                    raise MediaError(f"cannot decode audio ({exc})", file=path) from exc
                if avail <= 0:
                    return
                yield reader.read(min(avail, block))

    return info, gen()


class _ClipCounter:
    """Runs of >= CLIP_RUN consecutive clipped samples per channel, across blocks."""

    def __init__(self, channels: int) -> None:
        self.carry = np.zeros(channels, dtype=np.int64)
        self.runs = 0
        self.samples = 0

    def _close(self, c: int) -> None:
        if self.carry[c] >= CLIP_RUN:
            self.runs += 1
            self.samples += int(self.carry[c])
        self.carry[c] = 0

    def process(self, x: np.ndarray) -> None:
        n = x.shape[1]
        hot = np.abs(x) >= CLIP_LEVEL
        for c in range(x.shape[0]):
            m = hot[c]
            if not m.any():
                self._close(c)
                continue
            d = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
            starts = np.flatnonzero(d == 1)
            ends = np.flatnonzero(d == -1)
            lengths = ends - starts
            if starts[0] == 0:
                lengths[0] += self.carry[c]
            else:
                self._close(c)
            self.carry[c] = 0
            if ends[-1] == n:  # still clipping at the block's end: carried on
                self.carry[c] = lengths[-1]
                lengths = lengths[:-1]
            done = lengths[lengths >= CLIP_RUN]
            self.runs += int(done.size)
            self.samples += int(done.sum())

    def finish(self) -> None:
        for c in range(self.carry.shape[0]):
            self._close(c)


@dataclass
class Measurement:
    """Everything :func:`measure_media` found in one file.

    Attributes
    ----------
    file : str
    sample_rate, channels, layout, codec
        Of the audio stream measured.
    has_video : bool
    frames : int
        Samples decoded.
    loudness : LoudnessResult
    dialogue_lufs : float or None
        Dialogue-gated loudness (only when speech regions were asked for).
    speech_s : float or None
        Seconds of speech found (None when not asked for).
    clipped_runs, clipped_samples : int
    nonfinite_samples : int
    head_silence_s, tail_silence_s : float
        The whole duration when the file is silent throughout.
    """

    file: str
    sample_rate: int
    channels: int
    layout: str
    codec: str
    has_video: bool
    frames: int
    loudness: Any
    dialogue_lufs: float | None = None
    speech_s: float | None = None
    clipped_runs: int = 0
    clipped_samples: int = 0
    nonfinite_samples: int = 0
    head_silence_s: float = 0.0
    tail_silence_s: float = 0.0
    start_time_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def to_json(self) -> dict[str, Any]:
        out = {"file": self.file, "sample_rate": self.sample_rate, "channels": self.channels, "layout": self.layout,
               "codec": self.codec, "has_video": self.has_video, "duration_s": round(self.duration_s, 6)}
        out.update({k: _r(v, 3) for k, v in self.loudness.to_json().items() if k != "duration_s"})
        out.update({"dialogue_gated_lufs": _r(self.dialogue_lufs, 3), "speech_s": _r(self.speech_s, 2),
                    "clipped_runs": self.clipped_runs, "clipped_samples": self.clipped_samples,
                    "nonfinite_samples": self.nonfinite_samples, "head_silence_s": round(self.head_silence_s, 3),
                    "tail_silence_s": round(self.tail_silence_s, 3)})
        return out


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(float(x), nd)


def measure_media(path: str | os.PathLike[str], *, stream: int | None = None,
                  speech: bool | list[tuple[int, int]] = False, speech_rate: int | None = None,
                  vad_method: str = "silero") -> Measurement:
    """Decode a file and measure loudness, clipping, silence (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        Anything FFmpeg reads, video included.
    stream : int, optional
        Audio stream index (default: the first).
    speech : bool or list of (int, int)
        ``True``: find speech with the VAD and measure dialogue-gated loudness; a
        list: these speech regions (half-open sample ranges at ``speech_rate``).
    speech_rate : int, optional
        Rate of the given regions (default: the file's rate).
    vad_method : str
        ``silero`` or ``energy``.

    Raises
    ------
    MediaError
        Unreadable input.
    """
    from ..analysis.loudness import LoudnessMeter

    info, blocks = decode_blocks(path, stream=stream)
    layout = info.layout if info.layout in ("mono", "stereo", "5.1") else None
    if layout is None and info.channels not in (1, 2, 5, 6):
        raise MediaError(f"cannot measure a {info.channels}-channel layout ({info.layout}); mixdown measures "
                         "mono, stereo and 5.1", file=path)
    meter = LoudnessMeter(info.sample_rate, info.channels, layout=layout)
    clips = _ClipCounter(info.channels)
    silence = 10 ** (SILENCE_DBFS / 20)
    first = last = -1
    pos = 0
    nonfinite = 0
    for x in blocks:
        bad = ~np.isfinite(x)
        if bad.any():
            nonfinite += int(bad.sum())
            x = np.where(bad, 0.0, x).astype(np.float32)
        meter.process(x)
        clips.process(x)
        loud = np.flatnonzero(np.abs(x).max(axis=0) > silence)
        if loud.size:
            if first < 0:
                first = pos + int(loud[0])
            last = pos + int(loud[-1])
        pos += x.shape[1]
    clips.finish()
    sr = info.sample_rate
    dialogue = None
    speech_s = None
    if speech is not False:
        if speech is True:
            from ..analysis.vad import detect_file

            regions = detect_file(path, sample_rate=sr, method=vad_method, stream=stream, min_relative_db=None)
        else:
            rate = speech_rate or sr
            regions = [(a * sr // rate, b * sr // rate) for a, b in speech]
        speech_s = sum(b - a for a, b in regions) / sr
        dialogue = meter.integrated_over(regions) if regions else None
    head = pos if first < 0 else first
    tail = pos if first < 0 else pos - 1 - last
    return Measurement(
        file=str(path), sample_rate=sr, channels=info.channels, layout=info.layout, codec=info.codec,
        has_video=info.has_video, frames=pos, loudness=meter.result(), dialogue_lufs=dialogue, speech_s=speech_s,
        clipped_runs=clips.runs, clipped_samples=clips.samples, nonfinite_samples=nonfinite,
        head_silence_s=head / sr, tail_silence_s=tail / sr, start_time_s=info.start_time_s,
    )


@dataclass
class Requirement:
    """One rule of a spec, measured: passed or not, and why."""

    name: str
    passed: bool
    measured: float | None
    limit: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "measured": _r(self.measured, 3), "limit": self.limit,
                "detail": self.detail}


@dataclass
class CheckResult:
    """A file checked against a target."""

    file: str
    target: Target
    measurement: Measurement
    requirements: list[Requirement] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True only if every requirement passed (and there is at least one)."""
        return bool(self.requirements) and all(r.passed for r in self.requirements)

    @property
    def failures(self) -> list[Requirement]:
        return [r for r in self.requirements if not r.passed]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "target": self.target.to_json(), "passed": self.passed,
                "requirements": [r.to_json() for r in self.requirements], "measured": self.measurement.to_json()}


def evaluate(m: Measurement, target: Target, *, ceiling: float | None = None,
             max_silence_s: float | None = DEFAULT_MAX_SILENCE_S) -> list[Requirement]:
    """The requirements of ``target`` judged on a measurement.

    Parameters
    ----------
    ceiling : float, optional
        True-peak ceiling to hold, dBTP (default: the target's).
    max_silence_s : float or None
        Longest head/tail silence; None leaves silence out of the check.
    """
    reqs: list[Requirement] = []
    tol = target.tolerance_lu
    goal = target.integrated_lufs
    limit = f"{goal:g} ±{tol:g} LU"
    if target.gating == "dialogue":
        v = m.dialogue_lufs
        if v is None:
            why = "no speech found" if not m.speech_s else "speech too short or too quiet to measure"
            reqs.append(Requirement("dialogue_loudness", False, None, limit + " (dialogue-gated)",
                                    f"dialogue-gated loudness undefined: {why}"))
        else:
            ok = abs(v - goal) <= tol
            reqs.append(Requirement("dialogue_loudness", ok, v, limit + " (dialogue-gated)",
                                    f"{v:.2f} LUFS over {m.speech_s:.1f} s of speech" +
                                    ("" if ok else f", {v - goal:+.2f} LU off")))
    else:
        v = m.loudness.integrated_lufs
        if v is None:
            reqs.append(Requirement("integrated_loudness", False, None, limit,
                                    "integrated loudness undefined (silent, or shorter than 400 ms)"))
        else:
            ok = abs(v - goal) <= tol
            reqs.append(Requirement("integrated_loudness", ok, v, limit,
                                    f"{v:.2f} LUFS" + ("" if ok else f", {v - goal:+.2f} LU off")))
    c = target.true_peak_dbtp if ceiling is None else ceiling
    tp = m.loudness.true_peak_dbtp
    ok = tp is None or tp <= c
    reqs.append(Requirement("true_peak", ok, tp, f"<= {c:g} dBTP",
                            "silent: no peak" if tp is None else f"{tp:.2f} dBTP" + ("" if ok else f", {tp - c:+.2f} dB over")))
    if target.max_lra_lu is not None:
        lra = m.loudness.loudness_range_lu
        ok = lra is not None and lra <= target.max_lra_lu
        reqs.append(Requirement("loudness_range", ok, lra, f"<= {target.max_lra_lu:g} LU",
                                "undefined (shorter than 3 s or silent)" if lra is None else f"{lra:.1f} LU"))
    ok = m.clipped_runs == 0
    reqs.append(Requirement("clipping", ok, float(m.clipped_runs), f"no run of {CLIP_RUN}+ samples at full scale",
                            "none" if ok else f"{m.clipped_runs} clipped runs, {m.clipped_samples} samples"))
    if m.nonfinite_samples:
        reqs.append(Requirement("valid_samples", False, float(m.nonfinite_samples), "no NaN or infinite samples",
                                f"{m.nonfinite_samples} non-finite samples"))
    if max_silence_s is not None:
        for name, v in (("head_silence", m.head_silence_s), ("tail_silence", m.tail_silence_s)):
            ok = v <= max_silence_s
            reqs.append(Requirement(name, ok, v, f"<= {max_silence_s:g} s under {SILENCE_DBFS:g} dBFS",
                                    f"{v:.2f} s"))
    return reqs


def check_file(path: str | os.PathLike[str], target: Target, *, stream: int | None = None,
               vad_method: str = "silero", max_silence_s: float | None = DEFAULT_MAX_SILENCE_S,
               ceiling: float | None = None) -> CheckResult:
    """Measure a file and judge it against ``target``.

    Parameters
    ----------
    path : str or PathLike
        Any file FFmpeg reads (audio or video).
    target : Target
    stream : int, optional
        Audio stream (default: the first).
    vad_method : str
        Speech detector for dialogue-gated specs.
    max_silence_s : float or None
        Longest silence at head or tail; None skips the silence rules.
    ceiling : float, optional
        A stricter true-peak ceiling than the target's (e.g. a lossy one).

    Raises
    ------
    MediaError
        The file cannot be read (missing, not media, no audio, decode error).
    """
    m = measure_media(path, stream=stream, speech=target.gating == "dialogue", vad_method=vad_method)
    return CheckResult(file=str(path), target=target, measurement=m,
                       requirements=evaluate(m, target, ceiling=ceiling, max_silence_s=max_silence_s))


def format_result(res: CheckResult) -> str:
    """A short human-readable verdict, one line per requirement."""
    m = res.measurement
    head = (f"{res.file}: {'PASS' if res.passed else 'FAIL'} for {res.target.name} "
            f"({m.duration_s:.2f} s, {m.sample_rate} Hz, {m.layout}, {m.codec}"
            f"{', video' if m.has_video else ''})")
    lines = [head]
    for r in res.requirements:
        lines.append(f"  {'ok  ' if r.passed else 'FAIL'} {r.name:<20} {r.detail}  [{r.limit}]")
    return "\n".join(lines)
