"""Device previews and translation QC of a mix file, streamed in one pass per device set.

Two reading passes before it when needed: the speech regions (energy VAD, or
Silero) and, for a device with noise (the car), the programme's integrated
loudness, which the noise is set relative to.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError, MixdownError
from ..media.decode import open_source, probe
from ..media.write import AudioWriter
from . import downmix
from .device import DeviceChain
from .models import DeviceModel, resolve
from .qc import DeviceReport, TranslationMeter

BLOCK = 1 << 16


@dataclass
class TranslationResult:
    """Previews written and the QC of each device."""

    file: str
    devices: list[DeviceReport]
    outputs: dict[str, str] = field(default_factory=dict)
    speech_regions: int = 0

    @property
    def status(self) -> str:
        return "warn" if any(d.status == "warn" for d in self.devices) else "pass"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "status": self.status, "speech_regions": self.speech_regions,
                "devices": [d.to_json() for d in self.devices], **({"outputs": self.outputs} if self.outputs else {})}


def speech_regions_of(path: Path, *, stream: int | None, vad: str, sample_rate: int) -> list[tuple[int, int]]:
    """Speech regions of a file (samples at its rate) from mixdown's VAD."""
    from ..analysis.source import compute

    _, act = compute(path, stream=stream, levels=False, vad_method=vad)
    return act.regions(sample_rate)  # type: ignore[union-attr]


def _programme_lufs(path: Path, stream: int | None) -> float:
    from ..analysis.measure import measure_file

    lufs = measure_file(path, stream=stream).integrated_lufs
    return -70.0 if lufs is None else float(lufs)  # silence: the noise is set against the gate


def _open_stems(stack: ExitStack, stems: dict[str, Path], info: Any, stream_rate: int) -> dict[str, Any]:
    readers = {}
    for role, p in stems.items():
        si = probe(p)
        if si.channels != info.channels:
            raise MediaError(f"the {role} stem has {si.channels} channels, the mix {info.channels}; give stems in "
                             "the mix's layout", file=p)
        readers[role] = stack.enter_context(open_source(p, sample_rate=stream_rate))
    return readers


def translate_file(
    path: str | os.PathLike[str],
    devices: str | list[str] | list[DeviceModel] = "all",
    *,
    out_dir: str | os.PathLike[str] | None = None,
    speech: list[tuple[int, int]] | None = None,
    vad: str = "energy",
    dialogue: str | os.PathLike[str] | None = None,
    music: str | os.PathLike[str] | None = None,
    stream: int | None = None,
    block: int = BLOCK,
    format: str = "wav24",
) -> TranslationResult:
    """Play a mix through device models: QC per device, and previews when ``out_dir`` is given.

    Parameters
    ----------
    path : path
        The mix (mono, stereo, 5.1 or 7.1; anything FFmpeg reads).
    devices : str or list
        ``"all"``, names (``"phone,tv"``) or :class:`DeviceModel` objects.
    out_dir : path, optional
        Folder for ``<device>.wav`` (must exist).
    speech : list of (start, end), optional
        Speech regions in samples at the mix's rate (from a session or auto);
        default: detected with ``vad``.
    vad : {"energy", "silero"}
    dialogue, music : path, optional
        Stems in the mix's layout; both give dialogue clarity from the stem and the
        dialogue-to-music ratio.
    block : int
        Frames per block (the output does not depend on it).

    Returns
    -------
    TranslationResult
    """
    p = Path(path)
    models = [d for d in devices if isinstance(d, DeviceModel)] if isinstance(devices, list) and devices and \
        isinstance(devices[0], DeviceModel) else resolve(devices)  # type: ignore[arg-type]
    if (dialogue is None) != (music is None):
        raise MixdownError("give both the dialogue and the music stem, or neither")
    info = probe(p, stream=stream)
    downmix.layout_of(info.channels)
    sr = info.sample_rate
    if speech is None:
        speech = speech_regions_of(p, stream=stream, vad=vad, sample_rate=sr)
    lufs = _programme_lufs(p, stream) if any(m.noise is not None for m in models) else None
    stems = {} if dialogue is None else {"dialogue": Path(dialogue), "music": Path(music)}  # type: ignore[arg-type]
    meters = [TranslationMeter(DeviceChain(m, sr, info.channels, programme_lufs=lufs, max_block=block), speech,
                               stems=bool(stems)) for m in models]
    outputs: dict[str, str] = {}
    with ExitStack() as stack:
        reader = stack.enter_context(open_source(p, stream=stream, sample_rate=sr))
        stem_readers = _open_stems(stack, stems, info, sr)
        writers = []
        if out_dir is not None:
            for m in models:
                dest = Path(out_dir) / f"{m.name}.wav"
                writers.append(stack.enter_context(AudioWriter(dest, sample_rate=sr, channels=m.channels, format=format,
                                                               protect=[p, *stems.values()], frames=info.frames)))
                outputs[m.name] = str(dest)
        done = 0
        while done < info.frames:
            n = min(block, info.frames - done)
            x = reader.read(n)
            st = {r: rd.read(n) for r, rd in stem_readers.items()}
            for i, meter in enumerate(meters):
                y = meter.process(x, done, dialogue=st.get("dialogue"), music=st.get("music"))
                if writers:
                    writers[i].write(y)
            done += n
    return TranslationResult(str(p), [m.result() for m in meters], outputs, len(speech))


def format_result(res: TranslationResult) -> str:
    """The QC as text, one line per device and measure."""
    lines = [f"{res.file}: translation {res.status.upper()} ({res.speech_regions} speech regions)"]
    for d in res.devices:
        lines.append(f"  {d.device}: {d.status}")
        for m in d.measures:
            val = "-" if m.value is None else f"{m.value:.1f} {m.unit}"
            cmp = ">=" if m.higher_is_better else "<="
            note = f"  ({m.note})" if m.note else ""
            lines.append(f"    {m.name:<18} {val:>11}  {m.status:<4} [{cmp} {m.threshold:g} {m.unit}]{note}")
    return "\n".join(lines)


def reports_from_array(audio: np.ndarray, sample_rate: int, devices: str | list[str] = "all", *,
                       speech: list[tuple[int, int]], block: int = BLOCK) -> list[DeviceReport]:
    """Translation QC of an in-memory mix (no previews written)."""
    from ..analysis.loudness import measure_array

    a = np.asarray(audio, dtype=np.float32)
    models = resolve(devices)
    lufs = None
    if any(m.noise is not None for m in models):
        lufs = measure_array(a, sample_rate, true_peak=False).integrated_lufs
        lufs = -70.0 if lufs is None else lufs
    meters = [TranslationMeter(DeviceChain(m, sample_rate, a.shape[0], programme_lufs=lufs, max_block=block), speech)
              for m in models]
    for s in range(0, a.shape[1], block):
        for meter in meters:
            meter.process(a[:, s:s + block], s)
    return [m.result() for m in meters]
