"""Measure a file: the one decode-and-measure loop of ``measure``, ``check``, the report and the pipeline.

:func:`decode_blocks` probes the chosen audio stream and streams it at its native
rate to its real end (not to the container's announced length, so a file whose
header lies is measured completely). :func:`measure_media` runs the loudness meter
and the QC over it (and dialogue gating when asked); :func:`measure_file` is its
loudness-only form (``mixdown measure``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from ..media import decode
from ..media.channels import measuring_layout
from .loudness import LoudnessMeter, LoudnessResult
from .qc import QCLimits, QCMeter

__all__ = ["READ_BLOCK", "Measurement", "decode_blocks", "measure_file", "measure_media"]

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
    info = decode.probe(path, stream=stream)

    def gen() -> Iterator[np.ndarray]:
        with decode.open_source(path, stream=stream, sample_rate=info.sample_rate) as reader:
            while True:
                try:
                    # SourceReader.read pads with zeros after the end; ask how much is
                    # really there so the measurement stops at the last decoded sample.
                    x = reader.read_available(block)
                except MediaError:
                    raise
                except Exception as exc:
                    raise MediaError(f"cannot decode audio ({exc})", file=path) from exc
                if x.shape[1] == 0:
                    return
                yield x

    return info, gen()


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
    qc : QCResult, optional
        Everything the QC detector found (None when the caller measured only loudness
        and clipping, as the delivery stage does on its own render).
    layout_assumed : bool
        The file names no channel layout and ``layout`` is the default for its
        channel count.
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
    qc: Any = None
    layout_assumed: bool = False

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
        if self.layout_assumed:
            out["layout_assumed"] = True
        if self.qc is not None:
            q = self.qc.to_json()
            out["qc"] = {k: q[k] for k in ("dc_offset_db", "correlation", "min_correlation_400ms", "mono_loss_db",
                                           "mono_fold_down_cancels", "silences_s", "dropouts_s", "clip_events_s")}
        return out


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def measure_media(path: str | os.PathLike[str], *, stream: int | None = None,
                  speech: bool | list[tuple[int, int]] = False, speech_rate: int | None = None,
                  vad_method: str = "silero", limits: QCLimits = QCLimits()) -> Measurement:
    """Decode a file and measure loudness and QC (see the module docstring).

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
    limits : QCLimits
        The QC thresholds (``silence_s``: the shortest silence listed).

    Raises
    ------
    MediaError
        Unreadable input, or a channel count with no loudness weighting.
    """
    info, blocks = decode_blocks(path, stream=stream)
    layout, assumed = measuring_layout(info.channels, info.layout, file=path)
    meter = LoudnessMeter(info.sample_rate, info.channels, layout=layout)
    qc = QCMeter(info.sample_rate, info.channels, limits=limits, true_peak=False)  # the meter's true peak serves
    pos = 0
    nonfinite = 0
    for x in blocks:
        bad = ~np.isfinite(x)
        if bad.any():
            nonfinite += int(bad.sum())
            x = np.where(bad, 0.0, x).astype(np.float32)
        meter.process(x)
        qc.process(x)
        pos += x.shape[1]
    sr = info.sample_rate
    dialogue = None
    speech_s = None
    if speech is not False:
        if speech is True:
            from .vad import detect_file

            regions = detect_file(path, sample_rate=sr, method=vad_method, stream=stream, min_relative_db=None)
        else:
            rate = speech_rate or sr
            regions = [(a * sr // rate, b * sr // rate) for a, b in speech]
        speech_s = sum(b - a for a, b in regions) / sr
        dialogue = meter.integrated_over(regions) if regions else None
    loudness = meter.result()
    q = qc.result(true_peak_dbtp=loudness.true_peak_dbtp)
    return Measurement(
        file=str(path), sample_rate=sr, channels=info.channels, layout=layout or info.layout, codec=info.codec,
        has_video=info.has_video, frames=pos, loudness=loudness, dialogue_lufs=dialogue, speech_s=speech_s,
        clipped_runs=q.clip_event_count, clipped_samples=q.clipped_samples, nonfinite_samples=nonfinite,
        head_silence_s=q.head_silence_s, tail_silence_s=q.tail_silence_s, start_time_s=info.start_time_s,
        qc=q, layout_assumed=assumed,
    )


def measure_file(path: str | Path, *, stream: int | None = None) -> LoudnessResult:
    """Loudness of an audio file or of a video file's audio stream, at its native rate.

    A file that names no channel layout is measured with the default layout of its
    channel count (8 channels: 7.1); the result's ``layout`` says which, and
    ``layout_assumed`` that it was assumed.

    Parameters
    ----------
    path : str or Path
        Anything FFmpeg reads.
    stream : int, optional
        Index among the file's audio streams (default: the first); probed and read alike.

    Raises
    ------
    MediaError
        If the file is missing, unreadable or has no audio (stream), or its layout cannot be weighted.
    """
    info, blocks = decode_blocks(path, stream=stream)
    layout, assumed = measuring_layout(info.channels, info.layout, file=path)
    meter = LoudnessMeter(info.sample_rate, info.channels, layout=layout)
    for block in blocks:
        meter.process(block)
    return replace(meter.result(), layout=layout, layout_assumed=assumed)
