"""Speaker balance that holds after processing: each speaker measured as the mix hears them.

Leveling (:mod:`mixdown.auto.leveling`) brings every speaker's *source* speech to the
dialogue level; the chains after it (auto's compressor, cleanup's denoiser, a person's
compressor, de-esser or EQ) then move each speaker by their own amount. This second
pass measures each dialogue track after its chain (:mod:`mixdown.auto.heard`), on its
own speech only — the analysis already dropped its bleed (the other speaker heard on
this mic), and double talk (both speaking) is left out too — and corrects it where a
linear gain corrects exactly: after the chain, on auto's fader of the track
(``track.auto.gain_db``) and its rides (``track.auto.automation.gain_db``, measured
again here, section by section, on the processed level).

The speakers are then balanced *in the sum*: over a speaker's speech the mix also
hears the other mics (their noise, and this speaker's bleed on them, raised or lowered
by their own gains), so the trims are iterated on the dialogue sum, each speaker's
speech measured on the sum of all the dialogue tracks with their gains — exactly, with
the cross terms of the mics that hear the same voice (:meth:`Heard.sum_energy`). The decision
list gets per speaker the level before and after, and every turn's level as heard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.levels import LevelSeries
from ..dsp.automation import Envelope
from ..session.model import MASTER, Session
from .analyse import Analysis
from .decisions import Decision
from .ducking import Region, merge_regions
from .heard import Heard
from .layers import lane, set_gain
from .leveling import LevelingParams, ride_track

_TURNS_LISTED = 2000


@dataclass(frozen=True)
class SpeakerParams:
    """Options of the speaker balance after processing.

    Attributes
    ----------
    max_trim_db : float
        Largest trim, either way.
    iterations : int
        Passes over the dialogue sum (each trims every speaker by what is left).
    """

    max_trim_db: float = 12.0
    iterations: int = 4


def own_speech(analysis: Analysis, name: str) -> list[Region]:
    """A speaker's speech without the moments another speaker talks too (double talk)."""
    others = merge_regions([r for n, regs in analysis.speech.items() if n != name for r in regs], 1)
    out: list[Region] = []
    j = 0
    for a, b in analysis.speech.get(name, []):
        at = a
        while j < len(others) and others[j][1] <= at:
            j += 1
        k = j
        while k < len(others) and others[k][0] < b:
            if others[k][0] > at:
                out.append((at, others[k][0]))
            at = max(at, others[k][1])
            k += 1
        if at < b:
            out.append((at, b))
    return out or list(analysis.speech.get(name, []))


def lane_db(session: Session, track, n_hops: int, hop: int) -> np.ndarray:
    """auto's gain lane of ``track`` at the centre of every hop, dB (zeros when it has none)."""
    keys = lane(track)
    if not keys:
        return np.zeros(n_hops)
    env = Envelope([session.samples(k.t, position=True) for k in keys], [k.v for k in keys],
                   [k.interp for k in keys], unit="dB")
    return env.at_positions((np.arange(n_hops) + 0.5) * hop)


def hold_speaker_balance(
    session: Session, analysis: Analysis, heard: Heard, *, ref: float, leveling: LevelingParams, params: SpeakerParams
) -> tuple[list[Decision], dict[str, np.ndarray]]:
    """Trim and ride every speaker on their level after the chain; edits ``session`` in place.

    Parameters
    ----------
    heard : Heard
        The dialogue tracks after their chains, without auto's fader and rides on
        them (except those a person edited, which stay and are measured).
    ref : float
        Dialogue level, LUFS.

    Returns
    -------
    decisions : list of Decision
    gains : dict of str to ndarray
        Per dialogue track, the gain (dB) auto now adds after its chain, every hop.
    """
    names = [t.name for t in session.tracks if t.role == "dialogue" and t.name in heard.levels]
    tracks = {t.name: t for t in session.tracks}
    own = {n: own_speech(analysis, n) for n in names}
    n_hops = min(len(heard.levels[n]) for n in names)
    base = {n: heard.levels[n].energy[:n_hops] for n in names}
    before = {n: heard.levels[n].loudness(own[n]) if own[n] else None for n in names}
    trim = {n: 0.0 for n in names}
    for n in names:
        b = before[n]
        if b is not None and not tracks[n].auto.is_edited("gain_db"):
            trim[n] = float(np.clip(ref - b, -params.max_trim_db, params.max_trim_db))
    # rides even out each speaker's sections on their own track (trimmed to the dialogue level); they are
    # fixed before the trims are iterated on the sum, so the two never chase each other
    decisions: list[Decision] = []
    rides: dict[str, np.ndarray | float] = {}
    for n in names:
        t = tracks[n]
        rides[n] = 0.0
        if before[n] is not None and not t.auto.is_edited("automation.gain_db"):
            leveled = LevelSeries(base[n] * 10 ** (trim[n] / 10), heard.sample_rate, heard.hop)
            decisions += ride_track(session, t, leveled, analysis.speech[n], leveling, stage="heard")
            rides[n] = lane_db(session, t, n_hops, heard.hop)
    gains: dict[str, np.ndarray] = {}
    for it in range(params.iterations + 1):
        gains = {n: trim[n] + np.broadcast_to(rides[n], (n_hops,)) for n in names}
        total = LevelSeries(heard.sum_energy({n: 10 ** (g / 20) for n, g in gains.items()}), heard.sample_rate,
                            heard.hop)
        if it == params.iterations:
            break
        for n in names:
            got = total.loudness(own[n]) if before[n] is not None else None
            if got is not None and not tracks[n].auto.is_edited("gain_db"):
                trim[n] = float(np.clip(trim[n] + ref - got, -params.max_trim_db, params.max_trim_db))
    after = {n: total.loudness(own[n]) if before[n] is not None else None for n in names}
    for n in names:
        decisions.insert(0, _speaker_decision(session, tracks[n], before[n], after[n], trim[n], total, own[n], ref,
                                              leveling, params))
    heard_now = [v for v in after.values() if v is not None]
    if len(heard_now) > 1:
        spread = max(heard_now) - min(heard_now)
        decisions.append(
            Decision(
                "balance",
                MASTER,
                f"speakers {spread:.2f} dB apart as heard",
                "each speaker's own speech measured on the dialogue as the mix hears it (after the chains, with the "
                "other mics' bleed and noise): "
                + ", ".join(f"{n} {v:.2f} LUFS" for n, v in after.items() if v is not None),
                value_db=spread,
                data={"speakers_lufs": {n: _r(v) for n, v in after.items()}},
            )
        )
    return decisions, gains


def _speaker_decision(session: Session, track, before: float | None, after: float | None, trim: float,
                      total: LevelSeries, own: list[Region], ref: float, leveling: LevelingParams,
                      params: SpeakerParams) -> Decision:
    sr = session.sample_rate
    if before is None:
        return Decision("warning", track.name, "speaker balance not held",
                        "no speech of this speaker passes the loudness gate after the chain")
    turns = merge_regions(own, round(leveling.turn_gap_s * sr))
    per_turn = [[round(a / sr, 3), round(b / sr, 3), _r(total.loudness([(a, b)]))] for a, b in turns[:_TURNS_LISTED]]
    data = {"heard_before_lufs": _r(before), "heard_lufs": _r(after), "reference_lufs": ref,
            "own_speech_s": round(sum(b - a for a, b in own) / sr, 2), "turns": per_turn}
    if track.auto.is_edited("gain_db"):
        return Decision("balance", track.name, "auto fader kept (edited)",
                        f"after its chain this speaker measures {before:.2f} LUFS; auto's fader was changed by hand, "
                        "so it is not trimmed", data=data)
    set_gain(track, trim)
    limited = " (limited)" if abs(trim) >= params.max_trim_db else ""
    return Decision(
        "balance", track.name, f"auto fader {track.auto.gain_db:+.2f} dB{limited}",
        f"after its chain this speaker's own speech (bleed and double talk left out, {data['own_speech_s']:g} s) "
        f"measures {before:.2f} LUFS; trimmed after the chain to the {ref:g} LUFS dialogue level as the mix hears "
        f"it: {after:.2f} LUFS over {len(turns)} turns", value_db=track.auto.gain_db, data=data)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)
