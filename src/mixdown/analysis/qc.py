"""Quality control: the technical faults a mix is rejected for, measured in one streaming pass.

Per stream (a track, a stem or the mix), :class:`QCMeter` measures

- **clipping**: sample peak, true peak (the BS.1770 meter's interpolator), and
  *clip events*: runs of at least ``clip_run`` consecutive samples at or above
  ``clip_level`` in one channel (a flat top; one full-scale sample is not a clip);
- **DC offset**: the mean of each channel, dBFS;
- **phase correlation** (2+ channels: first two): Pearson correlation of left and
  right over the programme and the worst 400 ms window (windows where both
  channels are quieter than -60 dBFS do not count), and the **mono fold-down
  loss**: level of ``(L + R) / 2`` against the mean level of L and R (0 dB for
  identical channels, -3 dB for unrelated ones, very negative for out-of-phase);
- **silence**: stretches of ``silence_s`` or more below ``silence_db`` (per 100 ms hop);
- **dropouts**: runs of exact digital zero (all channels) between ``dropout_ms``
  and ``silence_s`` long with sound on both sides: a lost buffer, not a pause;
- **noise floor in pauses**: median 100 ms level where nobody speaks
  (:meth:`QCMeter.result` with the pause regions).

:func:`dialogue_to_music` gives the dialogue-to-music ratio during speech from
two :class:`~mixdown.analysis.levels.LevelSeries` (BS.1770 gated loudness of each
over the speech regions).

Streaming: every statistic is a sum, a maximum or a per-hop value on the
absolute 100 ms grid, with state carried between blocks (clip runs, zero runs,
partial hops), so any block split gives the same result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["QCLimits", "QCMeter", "QCResult", "dialogue_to_music"]

_HOP_S = 0.1


@dataclass(frozen=True)
class QCLimits:
    """Thresholds of the checks (what counts as a problem).

    Attributes
    ----------
    clip_level : float
        Linear sample level counted as clipped (0.999 = -0.009 dBFS).
    clip_run : int
        Consecutive clipped samples (one channel) making one clip event.
    true_peak_dbtp : float
        Over this true peak is a problem.
    dc_db : float
        A channel mean above this (dBFS) is a DC offset.
    min_correlation : float
        Worst 400 ms correlation below this is a phase problem.
    max_mono_loss_db : float
        Mono fold-down losing more than this is a mono-compatibility problem.
    silence_db, silence_s : float
        Level and length of a silence worth reporting.
    dropout_ms : float
        Shortest run of digital zeros reported as a dropout.
    noise_floor_db : float
        A noise floor in pauses above this (dBFS) is a problem.
    min_dialogue_to_music_lu : float
        Dialogue less than this many LU over the music during speech is a problem.
    """

    clip_level: float = 0.999
    clip_run: int = 3
    true_peak_dbtp: float = 0.0
    dc_db: float = -50.0
    min_correlation: float = 0.0
    max_mono_loss_db: float = 6.0
    silence_db: float = -70.0
    silence_s: float = 2.0
    dropout_ms: float = 1.0
    noise_floor_db: float = -50.0
    min_dialogue_to_music_lu: float = 7.0


def _db(x: float) -> float | None:
    return 10.0 * math.log10(x) if x > 0 else None


@dataclass
class QCResult:
    """What a :class:`QCMeter` found; levels in dB (re full scale), ``None`` = undefined.

    Attributes
    ----------
    duration_s : float
    sample_peak_dbfs, true_peak_dbtp : float or None
    clipped_samples : int
        Samples (all channels) at or above the clip level.
    clip_events : list of float
        Start time (s) of each clip event (at most 1000 listed; ``clip_event_count`` counts all).
    dc_offset_db : list of float or None
        Per channel, 20 log10 |mean|.
    correlation : float or None
        L/R correlation over the programme (2+ channels).
    min_correlation_400ms : float or None
        Worst 400 ms window.
    mono_loss_db : float or None
        Level change of the mono fold-down, dB (<= 0 mostly).
    silences : list of (float, float)
        Start and end (s) of each silence.
    dropouts : list of (float, float)
        Start and end (s) of each dropout.
    noise_floor_db : float or None
        Median 100 ms level in the pauses, dBFS (mean square re 1).
    problems : list of str
        Each failed check, in words.
    """

    duration_s: float
    sample_peak_dbfs: float | None
    true_peak_dbtp: float | None
    clipped_samples: int
    clip_event_count: int
    clip_events: list[float]
    dc_offset_db: list[float | None]
    correlation: float | None
    min_correlation_400ms: float | None
    mono_loss_db: float | None
    silences: list[tuple[float, float]]
    dropouts: list[tuple[float, float]]
    noise_floor_db: float | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None, nd: int = 2) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), nd)

        return {
            "duration_s": r(self.duration_s, 3),
            "sample_peak_dbfs": r(self.sample_peak_dbfs),
            "true_peak_dbtp": r(self.true_peak_dbtp),
            "clipped_samples": self.clipped_samples,
            "clip_event_count": self.clip_event_count,
            "clip_events_s": [round(t, 3) for t in self.clip_events[:100]],
            "dc_offset_db": [r(v, 1) for v in self.dc_offset_db],
            "correlation": r(self.correlation, 3),
            "min_correlation_400ms": r(self.min_correlation_400ms, 3),
            "mono_loss_db": r(self.mono_loss_db),
            "silences_s": [[round(a, 2), round(b, 2)] for a, b in self.silences[:100]],
            "dropouts_s": [[round(a, 4), round(b, 4)] for a, b in self.dropouts[:100]],
            "noise_floor_db": r(self.noise_floor_db, 1),
            "problems": list(self.problems),
        }


class _Grow:
    """Append-only float64 rows."""

    def __init__(self, width: int) -> None:
        self.buf = np.zeros((1024, width))
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        k = rows.shape[0]
        if self.n + k > self.buf.shape[0]:
            new = np.zeros((max(2 * self.buf.shape[0], self.n + k), self.buf.shape[1]))
            new[: self.n] = self.buf[: self.n]
            self.buf = new
        self.buf[self.n : self.n + k] = rows
        self.n += k

    @property
    def values(self) -> np.ndarray:
        return self.buf[: self.n]


class QCMeter:
    """Streaming QC of one ``(channels, frames)`` stream; see the module docstring.

    Parameters
    ----------
    sample_rate : int
        Hz.
    channels : int
    limits : QCLimits
    true_peak : bool
        Measure the true peak (the loudness meter's interpolator; costs a little).
    """

    def __init__(self, sample_rate: int, channels: int, *, limits: QCLimits = QCLimits(),
                 true_peak: bool = True) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.limits = limits
        self.hop = max(1, int(round(self.sample_rate * _HOP_S)))
        self._tp = None
        if true_peak:
            from .truepeak import TruePeakDetector

            self._tp = TruePeakDetector(self.sample_rate, self.channels)
        self.reset()

    def reset(self) -> None:
        """Forget everything, as for a new stream."""
        ch = self.channels
        self.frames = 0
        self._peak = 0.0
        self._clipped = 0
        self._run = np.zeros(ch, dtype=np.int64)  # current clipped run per channel
        self._run_counted = np.zeros(ch, dtype=bool)
        self._events: list[float] = []
        self._event_count = 0
        self._sum = np.zeros(ch)
        # per hop: mean square of each channel (first two), of L*R, and of the mono fold-down
        self._hops = _Grow(4)
        self._acc = np.zeros(4)
        self._acc_n = 0
        self._zero_start: int | None = None  # start of the current run of exact zeros
        self._zero_runs: list[tuple[int, int]] = []
        if self._tp is not None:
            self._tp.reset()

    def process(self, block: np.ndarray) -> None:
        """Feed the next ``(channels, n)`` block (any float dtype)."""
        x = np.asarray(block)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"QCMeter expects ({self.channels}, frames), got {x.shape}")
        n = x.shape[1]
        if n == 0:
            return
        pos = self.frames
        a = np.abs(x)
        peak = float(a.max())
        self._peak = max(self._peak, peak)
        if self._tp is not None:
            self._tp.process(x, peak)
        self._sum += x.sum(axis=1, dtype=np.float64)
        self._clips(a, pos)
        self._zeros(x, pos)
        xd = x.astype(np.float64)
        left = xd[0]
        right = xd[1] if self.channels > 1 else xd[0]
        feats = np.stack([left * left, right * right, left * right, 0.25 * (left + right) ** 2])
        self._add_hops(feats)
        self.frames += n

    def _clips(self, a: np.ndarray, pos: int) -> None:
        lim = self.limits
        over = a >= lim.clip_level
        self._clipped += int(np.count_nonzero(over))
        if not np.any(over):
            self._run[:] = 0
            self._run_counted[:] = False
            return
        n = a.shape[1]
        for c in range(self.channels):
            o = over[c]
            carry, counted_carry = int(self._run[c]), bool(self._run_counted[c])
            self._run[c], self._run_counted[c] = 0, False
            if not np.any(o):
                continue
            edges = np.diff(np.concatenate([[0], o.astype(np.int8), [0]]))
            for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
                length, first, counted = int(e - s), pos + int(s), False
                if s == 0 and carry:  # continues the run the last block ended in
                    length, first, counted = length + carry, first - carry, counted_carry
                if length >= lim.clip_run and not counted:
                    self._event_count += 1
                    if len(self._events) < 1000:
                        self._events.append(first / self.sample_rate)
                    counted = True
                if e == n:
                    self._run[c], self._run_counted[c] = length, counted

    def _zeros(self, x: np.ndarray, pos: int) -> None:
        z = ~np.any(x != 0, axis=0)
        if not np.any(z) and self._zero_start is None:
            return
        edges = np.diff(np.concatenate([[1 if self._zero_start is not None else 0], z.astype(np.int8), [0]]))
        starts = list(np.flatnonzero(edges == 1))
        ends = list(np.flatnonzero(edges == -1))
        if self._zero_start is not None:
            starts = [None] + starts  # type: ignore[list-item]
        for s, e in zip(starts, ends):
            a = self._zero_start if s is None else pos + int(s)
            if e == z.shape[0]:
                self._zero_start = a
                return
            self._zero_runs.append((a, pos + int(e)))
        self._zero_start = None

    def _add_hops(self, feats: np.ndarray) -> None:
        h = self.hop
        n = feats.shape[1]
        i = 0
        if self._acc_n:
            take = min(h - self._acc_n, n)
            self._acc += feats[:, :take].sum(axis=1)
            self._acc_n += take
            i = take
            if self._acc_n == h:
                self._hops.extend((self._acc / h)[None, :])
                self._acc[:] = 0.0
                self._acc_n = 0
        whole = (n - i) // h
        if whole:
            self._hops.extend(feats[:, i : i + whole * h].reshape(4, whole, h).mean(axis=2).T)
            i += whole * h
        if i < n:
            self._acc += feats[:, i:].sum(axis=1)
            self._acc_n = n - i

    # -- results ---------------------------------------------------------------------

    def hop_levels_db(self) -> np.ndarray:
        """Level of each complete 100 ms hop, dB (mean of the first two channels' mean squares; -inf = silence)."""
        hv = self._hops.values
        with np.errstate(divide="ignore"):
            return 10.0 * np.log10(0.5 * (hv[:, 0] + hv[:, 1]))

    def result(self, *, pauses: list[tuple[int, int]] | None = None, silence_is_problem: bool = True) -> QCResult:
        """Everything measured so far.

        Parameters
        ----------
        pauses : list of (start, end), optional
            Sample ranges where nobody speaks, for the noise floor (the median 100 ms
            level over hops lying wholly inside them, digital silence excluded; at
            least 3 such hops, else undefined).
        silence_is_problem : bool
            List long silences as a problem (a mix) or only report them (a track,
            silent between its clips by design).
        """
        lim = self.limits
        sr = self.sample_rate
        hv = self._hops.values
        if self._acc_n:
            hv = np.concatenate([hv, (self._acc / self._acc_n)[None, :]])
        lv = self.hop_levels_db() if self._acc_n == 0 else np.concatenate(
            [self.hop_levels_db(), [10.0 * math.log10(max(0.5 * (hv[-1, 0] + hv[-1, 1]), 1e-300))]])
        tp = None
        if self._tp is not None:
            tpl = self._tp.peak()
            tp = 20.0 * math.log10(tpl) if tpl > 0 else None
        sp = 20.0 * math.log10(self._peak) if self._peak > 0 else None
        dc = [None if self.frames == 0 or s == 0 else 20.0 * math.log10(abs(s) / self.frames) for s in self._sum]
        corr = min_corr = mono = None
        if self.channels >= 2 and hv.shape[0]:
            ll, rr, lr, mm = hv.sum(axis=0)
            if ll > 0 and rr > 0:
                corr = float(lr / math.sqrt(ll * rr))
                mono = float(10.0 * math.log10(max(mm, 1e-300) / (0.5 * (ll + rr))))
            if hv.shape[0] >= 4:
                w = hv[:-3] + hv[1:-2] + hv[2:-1] + hv[3:]
                loud = (w[:, 0] > 4 * 1e-6) & (w[:, 1] > 4 * 1e-6)  # both channels over -60 dBFS
                if np.any(loud):
                    min_corr = float(np.min(w[loud, 2] / np.sqrt(w[loud, 0] * w[loud, 1])))
        silences = _runs_below(lv, lim.silence_db, int(round(lim.silence_s / _HOP_S)), self.hop, sr)
        dropouts = []
        quiet = lv < lim.silence_db
        for a, b in self._zero_runs + ([(self._zero_start, self.frames)] if self._zero_start is not None else []):
            length = b - a
            if length < lim.dropout_ms * sr / 1000.0 or length >= lim.silence_s * sr or a == 0 or b >= self.frames:
                continue
            ha, hb = a // self.hop - 1, b // self.hop + 1
            if 0 <= ha < lv.shape[0] and hb < lv.shape[0] and not quiet[ha] and not quiet[hb]:
                dropouts.append((a / sr, b / sr))
        floor = None
        if pauses:
            # only hops wholly inside a pause, and not digital silence
            inside = np.zeros(lv.shape[0], dtype=bool)
            for a, b in pauses:
                ha, hb = -(-a // self.hop), b // self.hop
                inside[max(ha, 0) : max(hb, 0)] = True
            sel = inside & np.isfinite(lv)
            if np.count_nonzero(sel) >= 3:
                floor = float(np.median(lv[sel]))
        res = QCResult(
            duration_s=self.frames / sr, sample_peak_dbfs=sp, true_peak_dbtp=tp, clipped_samples=self._clipped,
            clip_event_count=self._event_count, clip_events=list(self._events), dc_offset_db=dc,
            correlation=corr, min_correlation_400ms=min_corr, mono_loss_db=mono, silences=silences,
            dropouts=dropouts, noise_floor_db=floor,
        )
        res.problems = _problems(res, lim, silence_is_problem)
        return res


def _runs_below(lv: np.ndarray, thr: float, min_hops: int, hop: int, sr: int) -> list[tuple[float, float]]:
    below = lv < thr
    edges = np.diff(np.concatenate([[0], below.astype(np.int8), [0]]))
    out = []
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if e - s >= min_hops:
            out.append((float(s * hop / sr), float(e * hop / sr)))
    return out


def _problems(r: QCResult, lim: QCLimits, silence_is_problem: bool = True) -> list[str]:
    out = []
    if r.clip_event_count:
        first = r.clip_events[0] if r.clip_events else 0.0
        out.append(f"clipping: {r.clip_event_count} clipped run(s) of {lim.clip_run}+ samples at full scale "
                   f"(first at {first:.2f} s)")
    if r.true_peak_dbtp is not None and r.true_peak_dbtp > lim.true_peak_dbtp:
        out.append(f"true peak {r.true_peak_dbtp:.2f} dBTP is over {lim.true_peak_dbtp:g} dBTP")
    for c, d in enumerate(r.dc_offset_db):
        if d is not None and d > lim.dc_db:
            out.append(f"DC offset on channel {c + 1}: {d:.1f} dBFS (over {lim.dc_db:g})")
    if r.min_correlation_400ms is not None and r.min_correlation_400ms < lim.min_correlation:
        out.append(f"phase: left/right correlation falls to {r.min_correlation_400ms:.2f} (out of phase below 0)")
    if r.mono_loss_db is not None and r.mono_loss_db < -lim.max_mono_loss_db:
        out.append(f"mono compatibility: the mono fold-down is {r.mono_loss_db:.1f} dB quieter")
    if r.dropouts:
        out.append(f"{len(r.dropouts)} dropout(s) of digital silence inside the audio (first at {r.dropouts[0][0]:.3f} s)")
    if r.silences and silence_is_problem:
        total = sum(b - a for a, b in r.silences)
        out.append(f"{len(r.silences)} silence(s) of {lim.silence_s:g} s or more below {lim.silence_db:g} dBFS "
                   f"({total:.1f} s in all)")
    if r.noise_floor_db is not None and r.noise_floor_db > lim.noise_floor_db:
        out.append(f"noise floor in the pauses {r.noise_floor_db:.1f} dBFS (over {lim.noise_floor_db:g})")
    return out


def dialogue_to_music(dialogue: Any, music: Any, speech: list[tuple[int, int]]) -> float | None:
    """Dialogue loudness minus music loudness over the speech regions, LU.

    Parameters
    ----------
    dialogue, music : LevelSeries
        K-weighted level series of the dialogue and the music (stems or tracks,
        as heard in the mix: post-fader, post-duck).
    speech : list of (start, end)
        Sample ranges where someone speaks.

    Returns
    -------
    float or None
        None when either is unmeasurable there (silent music: no masking).
    """
    d = dialogue.loudness(speech)
    m = music.loudness(speech)
    if d is None or m is None:
        return None
    return float(d - m)
