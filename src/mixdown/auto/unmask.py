"""Spectral unmasking: the bed dips in the speech-presence band while people speak.

A broadband duck takes the whole bed down; a full-level bed still competes with the
voice in 1–4 kHz, where consonants (and so intelligibility) live. So under speech the
music and ambience also get a dynamic dip there: an ``auto-unmask`` bell (2 kHz,
Q 0.67: half its depth at 1 and 4 kHz) at the end of each ducked track's chain, its
``gain_db`` automated with keyframes — data, editable, visible like any automation, on
auto's layer (the ``auto-`` id: a second run of ``auto`` takes it off and decides it
again, so auto on its own output changes nothing).

The depth is set span by span (a span is a duck: speech merged over short pauses, so the
dip, like the duck, holds through the gaps between turns and does not pump) from the
*measured masking*: the bed's presence-band energy over the dialogue's there, during the
span's speech, as the mix hears both (the bed after its duck, the dialogue after its chain
and auto's trims, :mod:`mixdown.auto.heard`). The bell is deepened until the bed sits
``under_db`` under the voice in the band (its attenuation averaged over the band, power
on a log-frequency grid), within ``max_depth_db``; a span already clear gets no dip. The
decision list shows the masking before and after, per span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.levels import LevelSeries
from ..dsp.eq import rbj_biquad
from ..session.model import Keyframe, ProcessorSpec, Session
from .decisions import Decision
from .ducking import DuckParams, Region, duck_keyframes, duck_spans
from .heard import PRESENCE_HZ, Heard

UNMASK_ID = "auto-unmask"


@dataclass(frozen=True)
class UnmaskParams:
    """Options of the presence-band dip.

    Attributes
    ----------
    under_db : float
        Wanted: the bed this far under the dialogue in the presence band during speech, dB.
    max_depth_db : float
        Deepest dip (the bell's gain at its centre), dB.
    min_depth_db : float
        A span needing less than this gets no dip, dB.
    freq_hz, q : float
        The bell: centre (geometric centre of 1–4 kHz) and Q (a two-octave bandwidth).
    """

    under_db: float = 24.0
    max_depth_db: float = 9.0
    min_depth_db: float = 1.0
    freq_hz: float = 2000.0
    q: float = 0.67


def band_attenuation_db(depth_db: float, sample_rate: int, params: UnmaskParams,
                        band: tuple[float, float] = PRESENCE_HZ) -> float:
    """How far the bell at ``-depth_db`` lowers a flat spectrum's energy in ``band`` (dB, positive)."""
    from scipy.signal import sosfreqz

    if depth_db <= 0:
        return 0.0
    sos = rbj_biquad("bell", sample_rate, params.freq_hz, -depth_db, params.q)[None, :]
    freqs = np.geomspace(band[0], band[1], 64)
    _, h = sosfreqz(sos, worN=freqs, fs=sample_rate)
    return float(-10 * np.log10(np.mean(np.abs(h) ** 2)))


def depth_for(reduction_db: float, sample_rate: int, params: UnmaskParams) -> float:
    """The bell depth whose band attenuation is ``reduction_db`` (bisection; capped at ``max_depth_db``)."""
    if band_attenuation_db(params.max_depth_db, sample_rate, params) <= reduction_db:
        return params.max_depth_db
    lo, hi = 0.0, params.max_depth_db
    for _ in range(40):
        mid = (lo + hi) / 2
        if band_attenuation_db(mid, sample_rate, params) < reduction_db:
            lo = mid
        else:
            hi = mid
    return round(hi, 2)


def span_masking(heard: Heard, dialogue_gain_db: dict[str, np.ndarray], bed: list[str], speech: list[Region],
                 span: Region) -> float | None:
    """Bed over dialogue energy in the presence band during the speech inside ``span`` (dB); None if silent."""
    a, b = span
    inside = [(max(x, a), min(y, b)) for x, y in speech if min(y, b) > max(x, a)]
    n = min(len(v) for v in heard.band.values())
    mask = LevelSeries(np.zeros(n), heard.sample_rate, heard.hop).mask(inside)
    if not mask.any():
        return None
    voice = float(heard.sum_energy({d: 10 ** (g / 20) for d, g in dialogue_gain_db.items()}, band=True)[:n][mask].sum())
    beds = sum(float(heard.band[t][:n][mask].sum()) for t in bed)
    if voice <= 0 or beds <= 0:
        return None
    return float(10 * np.log10(beds / voice))


def unmask_bed(session: Session, speech: list[Region], heard: Heard, dialogue_gain_db: dict[str, np.ndarray],
               bed: list[str], *, duck: DuckParams, params: UnmaskParams, programme_end: int) -> list[Decision]:
    """Add the ``auto-unmask`` dip to every ``bed`` track where the bed masks speech; edits ``session`` in place.

    Parameters
    ----------
    speech : list of (start, end)
        Everyone's speech (samples).
    heard : Heard
        The bed tracks (after their ducks) and the dialogue tracks (after their chains).
    dialogue_gain_db : dict of str to ndarray
        Gain auto adds after each dialogue track's chain, per hop (its trims and rides).
    bed : list of str
        The tracks to dip (music, ambience).
    duck : DuckParams
        The ducks' timing, which the dips share.
    """
    sr = session.sample_rate
    if not bed or not speech or not dialogue_gain_db:
        return []
    rows: list[dict[str, Any]] = []
    keys: list[tuple[int, float, str]] = []
    for a, b in duck_spans(speech, sr, duck):
        before = span_masking(heard, dialogue_gain_db, bed, speech, (a, b))
        need = None if before is None else before + params.under_db
        depth = 0.0 if need is None or need <= 0 else depth_for(need, sr, params)
        if depth < params.min_depth_db:
            depth = 0.0
        after = None if before is None else before - band_attenuation_db(depth, sr, params)
        rows.append({"start_s": round(a / sr, 3), "end_s": round(b / sr, 3), "masking_before_db": _r(before),
                     "depth_db": round(depth, 2), "masking_after_db": _r(after)})
        if depth > 0:
            keys += duck_keyframes([(a, b)], sr, depth, duck, programme_end=programme_end)
    dipped = [r for r in rows if r["depth_db"] > 0]
    measured = [r for r in rows if r["masking_before_db"] is not None]
    if not dipped:
        worst = max((r["masking_before_db"] for r in measured), default=None)
        return [Decision("unmask", ", ".join(bed), "no presence dip",
                         "the bed already sits at least "
                         f"{params.under_db:g} dB under the voice in 1–4 kHz during speech"
                         + (f" (at worst {worst:+.1f} dB)" if worst is not None else ""), data={"spans": rows})]
    frames = [Keyframe(t=p / sr, v=round(v, 2), interp=i) for p, v, i in keys]
    for t in session.tracks:
        if t.name in bed:
            t.chain.append(ProcessorSpec(type="bell", id=UNMASK_ID, freq_hz=params.freq_hz, gain_db=0.0, q=params.q,
                                         automation={"gain_db": frames}))
    deepest = max(r["depth_db"] for r in dipped)
    b_med = float(np.median([r["masking_before_db"] for r in measured]))
    a_med = float(np.median([r["masking_after_db"] for r in measured]))
    return [Decision(
        "unmask", ", ".join(bed), f"presence dip up to {-deepest:+.1f} dB at {params.freq_hz:g} Hz under speech",
        f"the bed masks the voice in 1–4 kHz (bed over dialogue there, median of {len(measured)} spans: "
        f"{b_med:+.1f} dB, wanted {-params.under_db:+g} dB); a bell dip keyed by the speech in {len(dipped)} span(s), "
        f"timed like the ducks: {a_med:+.1f} dB after", value_db=-deepest, data={"spans": rows})]


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)
