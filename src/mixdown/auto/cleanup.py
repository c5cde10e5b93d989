"""Dialogue cleanup decisions: offer each dialogue track the processors its measurements call for.

The measurements are :mod:`mixdown.auto.cleanup_measure`.

What is written, each with a :class:`~mixdown.auto.decisions.Decision` that gives
the numbers (ids ``auto-dehum``, ``auto-declick``, ``auto-denoise`` at the head of
the chain in that order, ``auto-deesser`` at its end):

- ``dehum`` when hum is found: the measured fundamental and the highest harmonic;
- ``declick`` when there are at least ``min_clicks`` and ``clicks_per_minute``;
- ``denoise`` when the speech-to-noise ratio is under ``noise_snr_db``, with the
  profile and an amount that brings the noise to ``target_snr_db`` under the
  speech (between ``min_amount_db`` and ``max_amount_db``); with ``expander`` also
  a gentle ``gate`` when that amount could not get there;
- ``deesser`` when sibilance peaks come within ``sibilance_excess_db`` of the loud
  vowels.

A processor the track's chain already has (one a person put there) is left alone,
and the decision says so; auto's own entries (``auto-*`` ids) are replaced, so
running ``auto`` twice gives the same chain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.hum import HumResult
from ..dsp.cleanup import noise_profile_params
from ..session.model import ProcessorSpec, Session
from .analyse import Analysis
from .cleanup_measure import (
    CleanupParams,
    TrackMeasure,
    measure_cleanup,
    pauses_for,
    screen_cleanup,
)
from .decisions import Decision

__all__ = ["CleanupParams", "TrackMeasure", "measure_cleanup", "pauses_for", "plan_cleanup", "screen_cleanup"]

IDS = ("auto-dehum", "auto-declick", "auto-denoise", "auto-expander", "auto-deesser")


# ----------------------------------------------------------------------- planning


def _dehum_spec(h: HumResult) -> ProcessorSpec:
    return ProcessorSpec(type="dehum", id="auto-dehum", freq_hz=round(h.fundamental_hz, 3), harmonics=h.highest,
                         q=40.0)


def _declick_spec(params: CleanupParams) -> ProcessorSpec:
    return ProcessorSpec(type="declick", id="auto-declick", threshold=params.click_threshold)


def _clicky(m: TrackMeasure, params: CleanupParams) -> bool:
    return m.clicks >= params.min_clicks and m.clicks_per_minute >= params.clicks_per_minute


def _has_own(track: Any, kind: str, auto_id: str) -> bool:
    return any(p.type == kind and p.id != auto_id for p in track.chain)


def _place(track: Any, spec: ProcessorSpec, *, head: bool) -> None:
    """Put ``spec`` in the chain: head specs keep the order of :data:`IDS`, tail specs go last."""
    track.chain = [p for p in track.chain if p.id != spec.id]
    if not head:
        track.chain.append(spec)
        return
    rank = IDS.index(spec.id)
    i = 0
    while i < len(track.chain) and track.chain[i].id in IDS and IDS.index(track.chain[i].id) < rank:
        i += 1
    track.chain.insert(i, spec)


def plan_cleanup(session: Session, analysis: Analysis, params: CleanupParams = CleanupParams(), *,
                 measures: dict[str, TrackMeasure] | None = None, block_size: int = 16384) -> list[Decision]:
    """Measure the dialogue tracks and write the cleanup they need into ``session`` (in place).

    Call it after dialogue leveling (the clip gains it sets are part of what the
    chain hears, so the noise profile is measured with them).

    Parameters
    ----------
    session : Session
        Edited in place: processors inserted into dialogue tracks' chains.
    analysis : Analysis
        From :func:`mixdown.auto.analyse.analyse` (speech regions).
    params : CleanupParams
    measures : dict, optional
        Results of :func:`measure_cleanup`, to skip measuring again.

    Returns
    -------
    list of Decision
        One ``cleanup`` decision per processor written (or per reason for not
        writing one where a problem was found), with the measurements in ``data``.
    """
    if measures is None:
        measures = _measure(session, analysis, params, block_size)
    decisions: list[Decision] = []
    sr = session.sample_rate
    for name, m in measures.items():
        track = session.track(name)
        decisions += _plan_hum(track, name, m, params)
        decisions += _plan_clicks(track, name, m, params)
        decisions += _plan_noise(track, name, m, params)
        decisions += _plan_sibilance(track, name, m, params, sr)
    return decisions


def _measure(session: Session, analysis: Analysis, params: CleanupParams, block_size: int) -> dict[str, TrackMeasure]:
    """Measure, then measure again behind the planned dehum / declick where there are any."""
    measures = measure_cleanup(session, analysis, params, block_size=block_size)
    pre: dict[str, list[ProcessorSpec]] = {}
    for n, m in measures.items():
        specs = []
        if params.dehum and m.hum is not None:
            specs.append(_dehum_spec(m.hum))
        if params.declick and _clicky(m, params):
            specs.append(_declick_spec(params))
        if specs:
            pre[n] = specs
    if pre:
        # hum and clicks count as noise until they are removed: measure those tracks again behind
        # the planned dehum / declick, as the denoise after them will hear it
        again = measure_cleanup(session, analysis, params, block_size=block_size, tracks=list(pre), before=pre)
        for n, m in again.items():
            m.hum, m.clicks, m.clicks_per_minute = measures[n].hum, measures[n].clicks, measures[n].clicks_per_minute
            measures[n] = m
    return measures


def _plan_hum(track: Any, name: str, m: TrackMeasure, params: CleanupParams) -> list[Decision]:
    """Dehum at the measured fundamental, unless the chain has one of its own."""
    decisions: list[Decision] = []
    if params.dehum and m.hum is not None:
        h = m.hum
        if _has_own(track, "dehum", "auto-dehum"):
            decisions.append(Decision("cleanup", name, "dehum left as it is",
                                      f"hum at {h.fundamental_hz:.2f} Hz found, but the chain already has a dehum"))
        else:
            _place(track, _dehum_spec(h), head=True)
            listed = ", ".join(f"{k}" for k in h.harmonics)
            strongest = max(h.level_db)
            decisions.append(Decision(
                "cleanup", name, f"dehum {h.fundamental_hz:.2f} Hz, {h.highest} notches",
                f"mains hum ({h.mains_hz} Hz family) measured at {h.fundamental_hz:.3f} Hz; harmonics {listed} "
                f"stand out of the spectrum (fundamental line {h.prominence_db[0]:.0f} dB above its surroundings, "
                f"strongest line {strongest:.1f} dB)",
                data={"hum": h.to_json()}))
    return decisions


def _plan_clicks(track: Any, name: str, m: TrackMeasure, params: CleanupParams) -> list[Decision]:
    """Declick when there are enough unmistakable clicks."""
    decisions: list[Decision] = []
    if params.declick and _clicky(m, params):
        if _has_own(track, "declick", "auto-declick"):
            decisions.append(Decision("cleanup", name, "declick left as it is",
                                      f"{m.clicks} clicks found, but the chain already has a declick"))
        else:
            _place(track, _declick_spec(params), head=True)
            decisions.append(Decision(
                "cleanup", name, f"declick (threshold {params.click_threshold:g})",
                f"{m.clicks} unmistakable clicks in {m.audio_s:.1f} s of audio ({m.clicks_per_minute:.1f} per "
                "minute): repaired by AR interpolation", value_db=None,
                data={"clicks": m.clicks, "clicks_per_minute": round(m.clicks_per_minute, 2)}))
    return decisions


def _plan_noise(track: Any, name: str, m: TrackMeasure, params: CleanupParams) -> list[Decision]:
    """Denoise (and, when asked, an expander) when the noise floor is too close to the speech."""
    decisions: list[Decision] = []
    data = m.to_json()
    snr = m.snr_db
    if params.denoise and snr is not None and snr < params.noise_snr_db:
        if m.pause_s < params.min_pause_s or m.profile_db is None:
            decisions.append(Decision(
                "warning", name, "no noise reduction",
                f"speech is only {snr:.1f} dB over the noise floor, but there are only {m.pause_s:.2f} s of "
                f"pauses to learn the noise from (need {params.min_pause_s:g} s)", data=data))
        elif _has_own(track, "denoise", "auto-denoise"):
            decisions.append(Decision("cleanup", name, "denoise left as it is",
                                      f"noise floor {snr:.1f} dB under the speech, but the chain already has a denoise"))
        else:
            want = params.target_snr_db - snr
            amount = float(np.clip(want, params.min_amount_db, params.max_amount_db))
            spec = ProcessorSpec(type="denoise", id="auto-denoise", amount_db=round(amount, 1),
                                 threshold_db=params.threshold_db, release_ms=80.0,
                                 **noise_profile_params(m.profile_db))
            _place(track, spec, head=True)
            decisions.append(Decision(
                "cleanup", name, f"denoise -{amount:.1f} dB",
                f"noise floor {m.noise_floor_db:.1f} dB in {m.pause_s:.1f} s of pauses, {snr:.1f} dB under the "
                f"speech ({m.speech_rms_db:.1f} dB RMS); profile from the quietest "
                f"{params.profile_quantile:.0%} of the pauses; reduction set to put the noise "
                f"{params.target_snr_db:g} dB under the speech"
                + (f" (limited to {params.max_amount_db:g} dB)" if want > params.max_amount_db else "")
                + (f" (at least {params.min_amount_db:g} dB)" if want < params.min_amount_db else ""),
                value_db=-amount, data=data))
            left = want - amount
            if params.expander and left > 3.0 and m.noise_floor_db is not None:
                rng_db = float(min(left, 12.0))
                # open on speech peaks: noise after denoise reads about 10 dB over its RMS in sample peaks
                thr = m.noise_floor_db - amount + 16.0
                _place(track, ProcessorSpec(type="gate", id="auto-expander", threshold_db=round(thr, 1),
                                            ratio=2.0, range_db=round(rng_db, 1), attack_ms=2.0, hold_ms=60.0,
                                            release_ms=150.0), head=True)
                decisions.append(Decision(
                    "cleanup", name, f"expander 2:1 below {thr:.1f} dBFS, at most -{rng_db:.1f} dB",
                    f"noise reduction was limited to {amount:.1f} dB; the room between words is taken down "
                    f"{rng_db:.1f} dB more", value_db=-rng_db))
    elif params.denoise and snr is not None:
        decisions.append(Decision("cleanup", name, "no noise reduction",
                                  f"noise floor {m.noise_floor_db:.1f} dB is {snr:.1f} dB under the speech "
                                  f"(offered below {params.noise_snr_db:g} dB)", data=data))
    return decisions


def _plan_sibilance(track: Any, name: str, m: TrackMeasure, params: CleanupParams, sr: int) -> list[Decision]:
    """A de-esser when the sibilance peaks come close to the loud vowels."""
    decisions: list[Decision] = []
    ex = m.sibilance_excess_db
    if params.deess and ex is not None and ex > params.sibilance_excess_db and sr >= 16000:
        if _has_own(track, "deesser", "auto-deesser"):
            decisions.append(Decision("cleanup", name, "de-esser left as it is",
                                      f"sibilance {ex:+.1f} dB against the vowels, but the chain already has one"))
        else:
            assert m.loud_p95_db is not None
            freq = min(params.deess_freq_hz, 0.8 * sr / 2.0)
            thr = round(m.loud_p95_db - 10.0, 1)
            rng_db = round(float(np.clip(ex - params.sibilance_excess_db + 4.0, 3.0, 12.0)), 1)
            _place(track, ProcessorSpec(type="deesser", id="auto-deesser", freq_hz=round(freq), q=1.0,
                                        threshold_db=thr, ratio=4.0, range_db=rng_db), head=False)
            decisions.append(Decision(
                "cleanup", name, f"de-esser {freq / 1000:.1f} kHz, threshold {thr:g} dBFS, up to -{rng_db:g} dB",
                f"sibilance peaks (99th percentile of the {freq / 1000:.1f} kHz band) reach {ex:+.1f} dB against "
                f"the loud vowels (95th percentile); offered above {params.sibilance_excess_db:+g} dB",
                value_db=-rng_db, data={"sibilance_excess_db": round(ex, 1)}))
    return decisions
