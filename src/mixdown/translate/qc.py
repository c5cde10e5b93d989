"""Translation QC: how a mix survives one device, measured on what the device plays.

Per device (thresholds from ``devices.yaml``; a measure passes at or beyond its
threshold and warns otherwise):

- **dialogue clarity**: speech-to-background ratio in 1-4 kHz during speech, dB.
  With stems: the dialogue stem through the device against the music stem through
  it plus the device's noise. From the mix alone:
  in 20 ms frames inside the speech regions, the background is the 10th-percentile
  frame energy (the gaps between syllables, where only the background sounds --
  a minimum-statistics noise estimate) and the speech is the mean energy less it.
- **dialogue-to-music ratio** (needs the dialogue and music stems): K-weighted
  energy of each through the device over the speech frames, LU.
- **lost content**: share of the mix's K-weighted energy below the device's cutoff.
- **mono compatibility** (mono devices): level lost by the fold-down, dB.
- **peak overload**: true peak of what the device plays, dBTP.

Stem measures use the device's linear path (response and fold-down); a TV's
loudness processing is not applied to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.loudness import k_weighting_sos
from ..analysis.truepeak import TruePeakDetector
from .device import DeviceChain
from .filters import SosStream, band_sos, lowpass_sos

CLARITY_BAND_HZ = (1000.0, 4000.0)
BACKGROUND_PERCENTILE = 10.0
_MAX_RATIO_DB = 60.0  # speech over digital silence: reported as this, not infinity
_TINY = 1e-20


@dataclass
class Measure:
    """One QC measure of one device."""

    name: str
    value: float | None
    threshold: float
    unit: str
    higher_is_better: bool
    note: str = ""

    @property
    def status(self) -> str:
        """``pass``, ``warn`` or ``n/a`` (not measurable: no speech, no stems, a stereo device)."""
        if self.value is None:
            return "n/a"
        ok = self.value >= self.threshold if self.higher_is_better else self.value <= self.threshold
        return "pass" if ok else "warn"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": None if self.value is None else round(self.value, 2),
                "threshold": self.threshold, "unit": self.unit, "status": self.status,
                **({"note": self.note} if self.note else {})}


@dataclass
class DeviceReport:
    """The QC of one device."""

    device: str
    measures: list[Measure] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "warn" if any(m.status == "warn" for m in self.measures) else "pass"

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "status": self.status, "measures": [m.to_json() for m in self.measures]}


class _Frames:
    """Mean of a 1-D power signal over consecutive frames, streamed."""

    def __init__(self, frame: int) -> None:
        self.frame = frame
        self._carry = np.zeros(0)
        self._out: list[np.ndarray] = []

    def push(self, power: np.ndarray) -> None:
        y = np.concatenate([self._carry, power])
        n = len(y) // self.frame
        if n:
            self._out.append(y[: n * self.frame].reshape(n, self.frame).mean(axis=1))
        self._carry = y[n * self.frame:]

    def finish(self) -> np.ndarray:
        if len(self._carry):
            self._out.append(np.array([self._carry.sum() / self.frame]))
            self._carry = np.zeros(0)
        return np.concatenate(self._out) if self._out else np.zeros(0)


def _db(x: float) -> float:
    return 10 * math.log10(max(x, _TINY))


class TranslationMeter:
    """Feed a mix (and optionally stems) block by block through one device and measure it.

    Parameters
    ----------
    chain : DeviceChain
    speech : list of (start, end)
        Speech regions, samples.
    stems : bool
        Dialogue and music stems will be pushed with each block.
    """

    def __init__(self, chain: DeviceChain, speech: list[tuple[int, int]], *, stems: bool = False) -> None:
        sr = chain.sample_rate
        self.chain = chain
        self.speech = speech
        self.frame = sr // 50  # 20 ms
        ch_in = chain.in_channels
        self._band = SosStream(band_sos(*CLARITY_BAND_HZ, sr), chain.channels)
        self._band_frames = _Frames(self.frame)
        kw = k_weighting_sos(sr)
        self._k_all = SosStream(kw, ch_in)
        self._k_low = SosStream(np.vstack([kw, lowpass_sos(chain.model.cutoff_hz, sr)]), ch_in)
        self._e_all = self._e_low = 0.0
        self._mono = [0.0, 0.0]  # stereo power, fold-down power
        self._tp = TruePeakDetector(sr, chain.channels)
        self._stems: dict[str, Any] | None = None
        if stems:
            self._stems = {
                "chains": {r: DeviceChain(chain.model, sr, chain.in_channels, filters_only=True) for r in ("d", "m")},
                "band_d": SosStream(band_sos(*CLARITY_BAND_HZ, sr), chain.channels),
                "band_b": SosStream(band_sos(*CLARITY_BAND_HZ, sr), chain.channels),
                "k_d": SosStream(kw, chain.channels), "k_m": SosStream(kw, chain.channels),
                "frames": {k: _Frames(self.frame) for k in ("band_d", "band_b", "k_d", "k_m")},
            }

    def process(self, block: np.ndarray, position: int, *, dialogue: np.ndarray | None = None,
                music: np.ndarray | None = None) -> np.ndarray:
        """Run one block of the mix through the device; returns what it plays."""
        ch = self.chain
        x = ch.stereo(block)
        filtered = ch.filter.process(x)
        out = ch.play(filtered, position)
        self._e_all += float(np.sum(self._k_all.process(x) ** 2))
        self._e_low += float(np.sum(self._k_low.process(x) ** 2))
        if ch.channels == 1 and filtered.shape[0] == 2:
            self._mono[0] += float(np.sum(filtered ** 2)) / 2
            self._mono[1] += float(np.sum((0.5 * (filtered[0] + filtered[1])) ** 2))
        self._band_frames.push(np.mean(self._band.process(out) ** 2, axis=0))
        self._tp.process(out)
        if self._stems is not None:
            self._push_stems(ch.last_noise, dialogue, music, position)
        return out

    def _push_stems(self, noise: np.ndarray | None, dialogue: np.ndarray | None, music: np.ndarray | None,
                    position: int) -> None:
        st = self._stems
        assert st is not None and dialogue is not None and music is not None
        d = st["chains"]["d"].process(dialogue, position).astype(np.float64)
        m = st["chains"]["m"].process(music, position).astype(np.float64)
        # the background is the music and the device's own noise (stems and the mastered mix differ
        # by the master gain, so "mix - dialogue" would count dialogue as background)
        bg = m if noise is None else m + noise
        bands = {"band_d": st["band_d"].process(d), "band_b": st["band_b"].process(bg),
                 "k_d": st["k_d"].process(d), "k_m": st["k_m"].process(m)}
        for k, y in bands.items():
            st["frames"][k].push(np.mean(y ** 2, axis=0))

    def _speech_mask(self, n_frames: int) -> np.ndarray:
        mask = np.zeros(n_frames, dtype=bool)
        for a, b in self.speech:
            mask[a // self.frame: max(a // self.frame + 1, -(-b // self.frame))] = True
        return mask

    def _clarity(self) -> tuple[float | None, str, np.ndarray | None]:
        e = self._band_frames.finish()
        mask = self._speech_mask(len(e))
        if not mask.any():
            return None, "no speech found", None
        if self._stems is not None:
            fr = {k: f.finish() for k, f in self._stems["frames"].items()}
            n = min(len(mask), *(len(v) for v in fr.values()))
            mk = mask[:n]
            s, b = float(fr["band_d"][:n][mk].mean()), float(fr["band_b"][:n][mk].mean())
            return min(_MAX_RATIO_DB, _db(s) - _db(b)), "from the dialogue stem", (fr, mk)  # type: ignore[return-value]
        sp = e[mask]
        bg = float(np.percentile(sp, BACKGROUND_PERCENTILE))
        speech = float(sp.mean()) - bg
        return min(_MAX_RATIO_DB, _db(speech) - _db(bg)), "estimated from the mix", None

    def result(self) -> DeviceReport:
        """The device's measures (call once, after the last block)."""
        q = self.chain.model.qc
        clarity, how, stems = self._clarity()
        rep = DeviceReport(self.chain.model.name)
        rep.measures.append(Measure("dialogue_clarity", clarity, q["dialogue_clarity_db"], "dB", True, how))
        dmr = None
        if stems is not None:
            fr, mk = stems
            dmr = min(_MAX_RATIO_DB, _db(float(fr["k_d"][: len(mk)][mk].mean())) -
                      _db(float(fr["k_m"][: len(mk)][mk].mean())))
        rep.measures.append(Measure("dialogue_to_music", dmr, q["dialogue_to_music_lu"], "LU", True,
                                    "" if stems is not None else "needs dialogue and music stems"))
        lost = 100.0 * self._e_low / self._e_all if self._e_all > 0 else None
        rep.measures.append(Measure("lost_content", lost, q["lost_content_pct"], "%", False,
                                    f"K-weighted energy below {self.chain.model.cutoff_hz:g} Hz"))
        mono = None
        if self._mono[0] > 0:
            mono = _db(self._mono[0]) - _db(self._mono[1])
        rep.measures.append(Measure("mono_loss", mono, q["mono_loss_db"], "dB", False,
                                    "" if self.chain.model.mono else "the device plays stereo"))
        tp = self._tp.peak()
        rep.measures.append(Measure("peak", 20 * math.log10(tp) if tp > 0 else None, q["peak_dbtp"], "dBTP", False))
        return rep
