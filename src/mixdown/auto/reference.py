"""Reference matching of the dialogue's tone: its long-term spectrum moved toward a reference's.

The published idea (long-term average spectra compared, the ratio smoothed and applied
as an EQ), written from scratch: no code of any matching library is used.

1. **Long-term average spectrum (LTAS)** of the mid signal (channels averaged), Hann
   frames of 4096 samples every 2048, power averaged over *speech frames* and
   integrated into 1/3-octave bands from 100 Hz to 10 kHz (21 bands). For the session,
   the dialogue as the mix hears it (after its chains, rendered once) on the frames
   inside the analysis' speech; for the reference, streamed from its file, the frames
   within ``gate_db`` of its loud frames (its 95th percentile) — a reference carries no
   speech map, and its pauses and breaths must not count. Frames are streamed: no
   length limit on either side.
2. **Correction**: reference less session, both level-normalised (their mean over the
   bands taken off: loudness is the master stage's business, not this EQ's), smoothed
   over three neighbouring bands, times ``amount`` (0..1), clamped to ±``max_db``.
3. **As ordinary EQ**: eleven bell bands on every other 1/3-octave centre (Q 2.1, a
   2/3-octave bandwidth), fitted to the correction by least squares on the bands and
   refined on their real (interacting) response, written as two ``eq`` processors
   (``auto-match-1``, ``auto-match-2``: auto's layer, so a second run decides them
   again) at the end of every dialogue track's chain. Biquad bells are minimum-phase.
   No limiter, no gain of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dsp.eq import rbj_biquad
from ..render.engine import DEFAULT_BLOCK, Renderer
from ..render.graph import check
from ..session.model import MASTER, ProcessorSpec, Session
from .decisions import Decision
from .ducking import Region

CENTRES = 1000.0 * 2.0 ** (np.arange(-10, 11) / 3.0)   # 1/3-octave centres, 99.2 Hz .. 10.08 kHz
FRAME, STEP = 4096, 2048
MATCH_IDS = ("auto-match-1", "auto-match-2")


@dataclass(frozen=True)
class MatchParams:
    """Options of reference matching.

    Attributes
    ----------
    reference : Path
        Audio file whose tone the dialogue is moved toward.
    amount : float
        0 (nothing) .. 1 (the whole smoothed difference).
    max_db : float
        Largest correction in any band, either way.
    gate_db : float
        Reference frames within this of its loud frames count as speech.
    """

    reference: Path
    amount: float = 1.0
    max_db: float = 9.0
    gate_db: float = 20.0


class _LTAS:
    """Streams a mono signal into frame power spectra, keeping their 1/3-octave band sums."""

    def __init__(self, sample_rate: int) -> None:
        self.sr = sample_rate
        self.window = np.hanning(FRAME)
        freqs = np.fft.rfftfreq(FRAME, 1.0 / sample_rate)
        lo, hi = CENTRES * 2 ** (-1 / 6), CENTRES * 2 ** (1 / 6)
        self.bins = np.stack([(freqs >= a) & (freqs < b) for a, b in zip(lo, hi, strict=True)]).astype(np.float64)
        self._carry = np.zeros(0)
        self.pos = 0            # sample index of the carry's first sample
        self.frames: list[np.ndarray] = []   # band powers per frame
        self.starts: list[int] = []

    def add(self, mono: np.ndarray) -> None:
        x = np.concatenate([self._carry, mono.astype(np.float64)])
        k = 0
        while k + FRAME <= x.size:
            spec = np.abs(np.fft.rfft(x[k:k + FRAME] * self.window)) ** 2
            self.frames.append(self.bins @ spec)
            self.starts.append(self.pos + k)
            k += STEP
        self._carry = x[k:]
        self.pos += k

    def levels(self, keep: np.ndarray) -> np.ndarray | None:
        """Band levels (dB) averaged over the frames where ``keep`` is true."""
        if not self.frames or not keep.any():
            return None
        p = np.stack(self.frames)[keep].mean(axis=0)
        return 10 * np.log10(np.maximum(p, 1e-30))


def _loud_frames(ltas: _LTAS, gate_db: float) -> np.ndarray:
    e = np.stack(ltas.frames).sum(axis=1)
    db = 10 * np.log10(np.maximum(e, 1e-30))
    return db >= np.percentile(db, 95) - gate_db


def reference_levels(path: Path, *, sample_rate: int, gate_db: float) -> np.ndarray:
    """The reference file's speech-frame band levels (dB), streamed."""
    from ..errors import AnalysisError
    from ..media.decode import open_source, probe

    info = probe(path)
    frames = info.frames * sample_rate // info.sample_rate
    ltas = _LTAS(sample_rate)
    with open_source(path, sample_rate=sample_rate) as src:
        for _ in range(0, frames, 1 << 16):
            ltas.add(src.read(1 << 16).mean(axis=0))
    out = ltas.levels(_loud_frames(ltas, gate_db)) if ltas.frames else None
    if out is None:
        raise AnalysisError(f"reference {path}: too short or silent to measure its tone (needs 0.1 s of sound)")
    return out


def dialogue_levels(session: Session, speech: list[Region], *, block_size: int = DEFAULT_BLOCK) -> np.ndarray | None:
    """The dialogue as the mix hears it (its tracks after their chains), band levels over its speech frames."""
    s = session.copy_session()
    names = [t.name for t in s.tracks if t.role == "dialogue" and not t.mute]
    for t in s.tracks:
        if t.name not in names:
            t.mute = True
    graph = check(s)
    ltas = _LTAS(graph.sample_rate)
    for pos, _, taps in Renderer(graph, block_size=block_size, taps={"dialogue": names}).blocks():
        keep = max(0, min(taps["dialogue"].shape[1], graph.length - pos))
        ltas.add(taps["dialogue"][:, :keep].mean(axis=0))
    if not ltas.frames:
        return None
    starts = np.asarray(ltas.starts)
    inside = np.zeros(len(starts), dtype=bool)
    for a, b in speech:
        inside |= (starts >= a) & (starts + FRAME <= b)
    return ltas.levels(inside)


def correction_db(own: np.ndarray, ref: np.ndarray, params: MatchParams) -> np.ndarray:
    """Smoothed, scaled and clamped level-normalised difference, per 1/3-octave band (dB)."""
    d = (ref - ref.mean()) - (own - own.mean())
    padded = np.concatenate([d[:1], d, d[-1:]])
    smooth = (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0
    return np.clip(params.amount * smooth, -params.max_db, params.max_db)


def _response_db(freqs: np.ndarray, gains: np.ndarray, sample_rate: int, centres: np.ndarray, q: float) -> np.ndarray:
    from scipy.signal import sosfreqz

    total = np.zeros(len(freqs))
    for f, g in zip(centres, gains, strict=True):
        if g == 0:
            continue
        _, h = sosfreqz(rbj_biquad("bell", sample_rate, f, g, q)[None, :], worN=freqs, fs=sample_rate)
        total += 20 * np.log10(np.abs(h))
    return total


def fit_bells(
    target: np.ndarray, sample_rate: int, *, q: float = 2.1, max_db: float = 9.0
) -> tuple[np.ndarray, np.ndarray]:
    """Bell gains on every other band centre whose summed response meets ``target`` at the band centres."""
    centres = CENTRES[::2]
    unit = np.stack([_response_db(CENTRES, np.eye(len(centres))[k], sample_rate, centres, q)
                     for k in range(len(centres))], axis=1)          # dB per dB of gain, bands x bells
    gains = np.linalg.lstsq(unit, target, rcond=None)[0]
    for _ in range(4):  # bells are not linear in their gain: refine on the real response
        err = target - _response_db(CENTRES, gains, sample_rate, centres, q)
        gains = np.clip(gains + np.linalg.lstsq(unit, err, rcond=None)[0], -2 * max_db, 2 * max_db)
    return np.asarray(centres), np.asarray(np.round(gains, 2))


def match_reference(session: Session, speech: list[Region], params: MatchParams, *,
                    block_size: int = DEFAULT_BLOCK) -> list[Decision]:
    """Write the matching EQ on every dialogue track (in place); the decision says by how much per band."""
    own = dialogue_levels(session, speech, block_size=block_size)
    ref = reference_levels(params.reference, sample_rate=session.sample_rate, gate_db=params.gate_db)
    if own is None:
        return [Decision("warning", MASTER, "no reference matching", "the dialogue has no speech frames to measure")]
    target = correction_db(own, ref, params)
    centres, gains = fit_bells(target, session.sample_rate, max_db=params.max_db)
    specs = []
    for j, ident in enumerate(MATCH_IDS):
        bands: dict[str, float | str] = {}
        for i, (f, g) in enumerate(zip(centres[8 * j: 8 * j + 8], gains[8 * j: 8 * j + 8], strict=True), start=1):
            bands.update({f"band{i}_type": "bell", f"band{i}_freq_hz": round(float(f), 1),
                          f"band{i}_gain_db": float(g), f"band{i}_q": 2.1})
        if bands:
            specs.append(ProcessorSpec(type="eq", id=ident, **bands))
    names = []
    for t in session.tracks:
        if t.role == "dialogue" and not t.mute:
            t.chain = t.chain + [s.model_copy(deep=True) for s in specs]
            names.append(t.name)
    before = float(np.sqrt(np.mean(((ref - ref.mean()) - (own - own.mean())) ** 2)))
    return [Decision(
        "match", ", ".join(names), f"tone matched to {Path(params.reference).name} (amount {params.amount:g})",
        f"long-term speech spectra, 1/3-octave 100 Hz-10 kHz, level-normalised: {before:.1f} dB RMS apart; "
        f"correction smoothed over 3 bands, clamped to ±{params.max_db:g} dB, as {len(centres)} bell bands",
        data={"bands_hz": [round(float(c), 1) for c in CENTRES], "correction_db": [round(float(x), 2) for x in target],
              "bells": [[round(float(f), 1), float(g)] for f, g in zip(centres, gains, strict=True)]})]
