"""Dialogue cleanup, the measuring half: noise, hum, clicks and sibilance of each dialogue track.

What is measured, per dialogue track, on the signal its chain will receive (the
clips with their clip gains, before any insert; one streaming render):

- **pauses**: where *nobody* speaks (the union of every dialogue track's speech,
  widened by ``pause_margin_s``), inside the track's clips. Of the 43 ms frames
  there (digital silence left out), the quietest ``profile_quantile`` count (a
  breath, a chair creak or a click does not become "noise"): the **noise floor**
  is their median level, the **noise profile** their mean third-octave
  spectrum. When there is hum or there are many clicks, both are measured again
  behind the planned ``dehum`` / ``declick`` (those are their jobs, and the
  ``denoise`` after them does not hear them).
- **speech level**: RMS over the track's own speech.
- **hum**: :func:`mixdown.analysis.spectrum.detect_hum` on the whole track, with
  the pauses for the weaker harmonics.
- **clicks**: the ``declick`` detector with a strict threshold (only unmistakable
  clicks count), per minute of audio.
- **sibilance**: the 99th percentile of the 5 ms level in the sibilance band
  against the 95th percentile of the full-band 5 ms level, over speech.

Planning what to write from these numbers is :mod:`mixdown.auto.cleanup`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.hum import HumResult, detect_hum, hum_meter, pause_meter
from ..analysis.spectrum import SpectrumMeter, noise_profile
from ..core.bands import THIRD_OCTAVE_HZ, band_levels
from ..core.regions import complement, region_mask
from ..dsp.cleanup import Declick
from ..render.engine import Renderer
from ..render.graph import check
from ..session.model import MASTER, Master, ProcessorSpec, Session
from .analyse import Analysis
from .decisions import Decision
from .ducking import Region, merge_regions

__all__ = ["CleanupParams", "TrackMeasure", "measure_cleanup", "pauses_for", "screen_cleanup"]


@dataclass(frozen=True)
class CleanupParams:
    """When cleanup is offered and how strong it is.

    Attributes
    ----------
    denoise, dehum, declick, deess, expander : bool
        Which processors may be offered (``expander`` is off by default).
    noise_snr_db : float
        Offer noise reduction when speech RMS is less than this many dB above the noise floor.
    target_snr_db : float
        The reduction aims to put the noise this far under the speech.
    min_amount_db, max_amount_db : float
        Bounds of the reduction (more than ~24 dB starts to sound processed).
    threshold_db : float
        Denoise threshold written into the session (see :class:`~mixdown.dsp.cleanup.Denoise`).
    min_pause_s : float
        Pauses needed to learn a noise profile.
    pause_margin_s : float
        Speech is widened by this much on both sides before pauses are taken.
    min_pause_length_s : float
        Shorter pauses are not used.
    profile_quantile : float
        Share of the quietest pause frames the profile is averaged over.
    hum_prominence_db : float
        How far the hum's anchor line must stand out of the spectrum.
    click_detect_threshold : float
        Detector threshold for *counting* clicks (strict, so speech is not counted).
    click_threshold : float
        Threshold written into the ``declick`` processor.
    min_clicks, clicks_per_minute : float
        Offer click repair from this many clicks and this rate.
    sibilance_excess_db : float
        Offer de-essing when the sibilance peaks (99th percentile) come within this many
        dB of the loud vowels (95th percentile of the full band); negative = below.
    deess_freq_hz : float
        Centre of the de-esser band (lowered to 0.8 x Nyquist at low rates).
    """

    denoise: bool = True
    dehum: bool = True
    declick: bool = True
    deess: bool = True
    expander: bool = False
    noise_snr_db: float = 35.0
    target_snr_db: float = 50.0
    min_amount_db: float = 6.0
    max_amount_db: float = 24.0
    threshold_db: float = 12.0
    min_pause_s: float = 0.5
    pause_margin_s: float = 0.1
    min_pause_length_s: float = 0.25
    profile_quantile: float = 0.7
    hum_prominence_db: float = 10.0
    click_detect_threshold: float = 40.0
    click_threshold: float = 8.0
    min_clicks: int = 5
    clicks_per_minute: float = 10.0
    sibilance_excess_db: float = -3.0
    deess_freq_hz: float = 6500.0


@dataclass
class TrackMeasure:
    """Everything cleanup planning measured on one dialogue track.

    Levels are dB re mean square 1 (0 dB = full-scale square wave; a full-scale
    sine is -3 dB), unweighted.
    """

    name: str
    sample_rate: int
    audio_s: float
    speech_s: float
    pause_s: float
    speech_rms_db: float | None
    noise_floor_db: float | None
    profile_db: list[float] | None
    hum: HumResult | None
    clicks: int
    clicks_per_minute: float
    sibilance_p99_db: float | None
    loud_p95_db: float | None
    speech_bands_db: list[float | None] = field(default_factory=list)
    pause_bands_db: list[float | None] = field(default_factory=list)

    @property
    def snr_db(self) -> float | None:
        """Speech RMS over the noise floor, dB."""
        if self.speech_rms_db is None or self.noise_floor_db is None:
            return None
        return self.speech_rms_db - self.noise_floor_db

    @property
    def sibilance_excess_db(self) -> float | None:
        if self.sibilance_p99_db is None or self.loud_p95_db is None:
            return None
        return self.sibilance_p99_db - self.loud_p95_db

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None, nd: int = 1) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), nd)

        return {
            "audio_s": r(self.audio_s, 2), "speech_s": r(self.speech_s, 2), "pause_s": r(self.pause_s, 2),
            "speech_rms_db": r(self.speech_rms_db), "noise_floor_db": r(self.noise_floor_db), "snr_db": r(self.snr_db),
            "hum": self.hum.to_json() if self.hum else None,
            "clicks": self.clicks, "clicks_per_minute": r(self.clicks_per_minute, 2),
            "sibilance_excess_db": r(self.sibilance_excess_db),
            "bands_hz": [round(f, 1) for f in THIRD_OCTAVE_HZ],
            "speech_bands_db": [r(v) for v in self.speech_bands_db],
            "pause_bands_db": [r(v) for v in self.pause_bands_db],
            "profile_db": None if self.profile_db is None else [r(v) for v in self.profile_db],
        }


# ------------------------------------------------------------------------ regions


def pauses_for(clips: list[Region], all_speech: list[Region], margin: int, *, min_length: int = 0) -> list[Region]:
    """Where a track has clip audio and nobody speaks: clips (shrunk by ``margin``) minus widened speech.

    Pauses shorter than ``min_length`` samples are dropped (a breath between two
    words is often a detector's boundary error, not room tone).
    """
    widened = merge_regions([(a - margin, b + margin) for a, b in all_speech], 1)
    out: list[Region] = []
    for a, b in merge_regions(clips, 1):
        a2, b2 = a + margin, b - margin  # clip edges carry fades
        if b2 > a2:
            out += complement(widened, a2, b2)
    return [(a, b) for a, b in out if b - a >= min_length]


def _raw_session(session: Session) -> Session:
    """The session with every track sent straight to the master, dry and at unity (clips untouched)."""
    raw = session.copy_session()
    for t in raw.tracks:
        t.chain = []
        t.gain_db = 0.0
        t.automation = {}
        t.pan = 0.0
        t.sends = []
        t.output = MASTER
        t.solo = False
    raw.buses = []
    raw.master = Master()
    return raw


# -------------------------------------------------------------------------- probe


class _Probe:
    """Meter-point observer: one track's signal (timeline positions) into the cleanup meters."""

    def __init__(self, sample_rate: int, channels: int, speech: list[Region], pauses: list[Region],
                 clips: list[Region], params: CleanupParams, deess_freq: float) -> None:
        sr = sample_rate
        self.speech = speech
        self.spec_pause = SpectrumMeter(sr, regions=pauses, keep_frames=True)
        self.spec_speech = SpectrumMeter(sr, regions=speech)
        self.hum = hum_meter(sr, regions=clips)
        self.hum_pause = pause_meter(sr, regions=pauses)
        self.clicks = Declick(threshold=params.click_detect_threshold)
        self.clicks.prepare(sr, 1 << 16, channels)
        self.clip_regions = clips
        w0 = 2.0 * math.pi * deess_freq / sr
        alpha = math.sin(w0) / 2.0
        a0 = 1.0 + alpha
        self._bp = np.array([[alpha / a0, 0.0, -alpha / a0, 1.0, -2.0 * math.cos(w0) / a0, (1.0 - alpha) / a0]])
        self._bp_zi = np.zeros((1, 2))
        self.hop5 = max(1, int(round(sr * 0.005)))
        self._acc_k = -1
        self._acc_band = self._acc_full = 0.0
        self._acc_n = 0
        self._acc_speech = True
        self.pause_n = sum(b - a for a, b in pauses)
        self.band_ms: list[np.ndarray] = []
        self.full_ms: list[np.ndarray] = []
        self.speech_sum = 0.0
        self.speech_n = 0
        self.audio_n = 0

    def __call__(self, position: int, block: np.ndarray) -> None:
        import scipy.signal as sig  # lazily: importing scipy.signal costs a second

        n = block.shape[1]
        if n == 0:
            return
        self.spec_pause.process(block, position)
        self.spec_speech.process(block, position)
        self.hum.process(block, position)
        self.hum_pause.process(block, position)
        self.clicks.process(block, position)
        mono = block.mean(axis=0, dtype=np.float64)
        in_clip = region_mask(self.clip_regions, position, n)
        self.audio_n += int(np.count_nonzero(in_clip))
        sp = region_mask(self.speech, position, n)
        if np.any(sp):
            sq = (block.astype(np.float64) ** 2).mean(axis=0)
            self.speech_sum += float(sq[sp].sum())
            self.speech_n += int(np.count_nonzero(sp))
        band, self._bp_zi = sig.sosfilt(self._bp, mono, zi=self._bp_zi)
        self._hops(band * band, mono * mono, sp, position)

    def _hops(self, b2: np.ndarray, f2: np.ndarray, sp: np.ndarray, position: int) -> None:
        """5 ms mean squares of band and full signal on the absolute hop grid, kept for hops wholly in speech."""
        h = self.hop5
        n = b2.shape[0]
        i = min((-position) % h, n)  # up to the next hop boundary
        if i:
            self._add(b2[:i], f2[:i], sp[:i], position // h)
        whole = (n - i) // h
        if whole:
            sl = slice(i, i + whole * h)
            keep = sp[sl].reshape(whole, h).all(axis=1)
            if np.any(keep):
                self.band_ms.append(b2[sl].reshape(whole, h).mean(axis=1)[keep])
                self.full_ms.append(f2[sl].reshape(whole, h).mean(axis=1)[keep])
            i += whole * h
        if i < n:
            self._add(b2[i:], f2[i:], sp[i:], (position + i) // h)

    def _add(self, b2: np.ndarray, f2: np.ndarray, sp: np.ndarray, hop_index: int) -> None:
        if hop_index != self._acc_k:
            self._acc_k, self._acc_band, self._acc_full, self._acc_n, self._acc_speech = hop_index, 0.0, 0.0, 0, True
        self._acc_band += float(b2.sum())
        self._acc_full += float(f2.sum())
        self._acc_n += b2.shape[0]
        self._acc_speech = self._acc_speech and bool(sp.all())
        if self._acc_n == self.hop5:
            if self._acc_speech:
                self.band_ms.append(np.array([self._acc_band / self.hop5]))
                self.full_ms.append(np.array([self._acc_full / self.hop5]))
            self._acc_k = -1


def _db(x: float) -> float | None:
    return 10.0 * math.log10(x) if x > 0 else None


def measure_cleanup(session: Session, analysis: Analysis, params: CleanupParams = CleanupParams(), *,
                    block_size: int = 16384, tracks: list[str] | None = None,
                    before: dict[str, list[ProcessorSpec]] | None = None) -> dict[str, TrackMeasure]:
    """Measure the dialogue tracks' chain inputs for cleanup (one streaming render).

    Parameters
    ----------
    session : Session
        As it will be rendered (its current clip gains are part of the chain input).
    analysis : Analysis
        Speech regions from :func:`mixdown.auto.analyse.analyse`.
    tracks : list of str, optional
        Which tracks (default: every unmuted dialogue track with speech analysed).
    before : dict of str to list of ProcessorSpec, optional
        Processors to run before measuring, per track (e.g. the planned ``dehum``,
        so that the noise floor and profile are those the ``denoise`` after it hears).

    Returns
    -------
    dict of str to TrackMeasure
    """
    names = tracks if tracks is not None else [
        t.name for t in session.tracks if t.role == "dialogue" and not t.mute and t.name in analysis.speech]
    if not names:
        return {}
    raw = _raw_session(session)
    raw.tracks = [t for t in raw.tracks if t.name in names]  # nothing else needs decoding
    for t in raw.tracks:
        # the processors to measure behind are compiled into the graph, so their latency is compensated
        t.chain = [ProcessorSpec(type=sp.type, id=sp.id, **sp.params) for sp in (before or {}).get(t.name, [])]
    graph = check(raw)
    sr = graph.sample_rate
    margin = int(round(params.pause_margin_s * sr))
    deess_freq = min(params.deess_freq_hz, 0.8 * sr / 2.0)
    probes: dict[str, _Probe] = {}
    for name in names:
        strip = graph.strips[name]
        clips = merge_regions([(c.start, c.end) for c in strip.clips], 1)
        pauses = pauses_for(clips, analysis.all_speech, margin, min_length=int(params.min_pause_length_s * sr))
        probes[name] = _Probe(sr, strip.channels, analysis.speech.get(name, []), pauses, clips, params, deess_freq)
    if not probes:
        return {}
    # after the track's chain (empty, or the processors measured behind), before its fader
    meters = {(name, "pre"): probe for name, probe in probes.items()}
    for _ in Renderer(graph, block_size=block_size, meters=meters).blocks():
        pass
    out: dict[str, TrackMeasure] = {}
    for name, pr in probes.items():
        out[name] = _summarise(name, pr, sr, params)
    return out


def _summarise(name: str, pr: _Probe, sr: int, params: CleanupParams) -> TrackMeasure:
    hum = detect_hum(pr.hum, pauses=pr.hum_pause, min_prominence_db=params.hum_prominence_db)
    noise_floor = profile = None
    learned = noise_profile(pr.spec_pause, quantile=params.profile_quantile)
    if learned is not None:
        prof_db, noise_floor = learned
        profile = [float(v) for v in prof_db]
    speech_rms = _db(pr.speech_sum / pr.speech_n) if pr.speech_n else None
    sib = loud = None
    if pr.band_ms:
        b = np.concatenate(pr.band_ms)
        full = np.concatenate(pr.full_ms)
        if b.size >= 20:
            sib = _db(float(np.percentile(b, 99)))
            loud = _db(float(np.percentile(full, 95)))
    minutes = pr.audio_n / sr / 60.0
    clicks = int(pr.clicks.clicks)

    def bands(meter: SpectrumMeter) -> list[float | None]:
        if meter.frames == 0:
            return [None] * len(THIRD_OCTAVE_HZ)
        lv = band_levels(meter.freqs, meter.psd())
        return [None if not np.isfinite(v) else float(v) for v in lv]

    return TrackMeasure(
        name=name, sample_rate=sr, audio_s=pr.audio_n / sr, speech_s=pr.speech_n / sr,
        pause_s=pr.pause_n / sr,
        speech_rms_db=speech_rms, noise_floor_db=noise_floor, profile_db=profile, hum=hum,
        clicks=clicks, clicks_per_minute=clicks / minutes if minutes > 0 else 0.0,
        sibilance_p99_db=sib, loud_p95_db=loud,
        speech_bands_db=bands(pr.spec_speech), pause_bands_db=bands(pr.spec_pause),
    )


def screen_cleanup(session: Session, analysis: Analysis, *, clean_snr_db: float = 40.0,
                   params: CleanupParams = CleanupParams()) -> tuple[list[str], list[Decision]]:
    """Which dialogue tracks are worth the full cleanup measurement.

    The full measurement renders every dialogue track once more through spectral
    probes; on clean dialogue that is time spent to learn nothing. The screen uses
    what the analysis already has: the track's level every 100 ms in its pauses
    (nobody speaking, digital silence left out; unweighted enough below 100 Hz to
    see hum) against its speech level. A track whose pauses sit more than
    ``clean_snr_db`` under its speech is called clean and skipped, with a decision
    that says so; tracks without pauses to judge are measured. The default (40 dB)
    sits 5 dB above where noise reduction is offered (35 dB); the price is that hum
    or clicks on an otherwise clean track go unmeasured (``--cleanup full``).

    Returns
    -------
    names : list of str
        Tracks to measure.
    decisions : list of Decision
        One per track judged clean.
    """
    graph = check(session)
    sr = graph.sample_rate
    margin = int(round(params.pause_margin_s * sr))
    noisy: list[str] = []
    decisions: list[Decision] = []
    for name, speech in analysis.speech.items():
        series = analysis.levels[name]
        loud = series.loudness(speech) if speech else None
        clips = merge_regions([(c.start, c.end) for c in graph.strips[name].clips], 1)
        pauses = pauses_for(clips, analysis.all_speech, margin, min_length=int(params.min_pause_length_s * sr))
        in_pause = series.energy[series.mask(pauses, min_fraction=1.0)] if pauses else np.zeros(0)
        hops = in_pause[in_pause > 1e-12]  # digital silence (and filter denormals) is no noise floor
        if loud is None or in_pause.size < 10:
            noisy.append(name)  # nothing to judge by: measure
            continue
        if hops.size < 10:
            decisions.append(Decision("cleanup", name, "no cleanup",
                                      "the pauses are digital silence: there is no noise, hum or room to remove"))
            continue
        floor = float(10 * np.log10(np.percentile(hops, 70))) - 0.691
        if loud - floor >= clean_snr_db:
            decisions.append(Decision(
                "cleanup", name, "no cleanup",
                f"pauses sit {loud - floor:.0f} dB under the speech ({floor:.0f} LUFS against {loud:.0f}): "
                f"clean enough that no noise, hum or click measurement is needed (screen at {clean_snr_db:g} dB; "
                "--cleanup full measures anyway)",
                data={"pause_floor_lufs": round(floor, 1), "speech_lufs": round(loud, 1)}))
        else:
            noisy.append(name)
    return noisy, decisions
