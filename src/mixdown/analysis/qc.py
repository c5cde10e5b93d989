"""Quality control: the technical faults a mix is rejected for, measured in one streaming pass.

This is the one QC detector: ``mixdown check`` (:mod:`mixdown.deliver.check`)
and the report's QC both run :class:`QCMeter` and judge it with
:func:`qc_requirements`, so they agree on the same file. Per stream (a track, a
stem or the mix), :class:`QCMeter` measures

- **clipping**: sample peak, true peak (the BS.1770 meter's interpolator), and
  *clip events*: runs of at least ``clip_run`` consecutive samples at or above
  ``clip_level`` in one channel (a flat top; one full-scale sample is a peak);
- **DC offset**: the mean of each channel, dBFS;
- **phase** (2+ channels: the first two): Pearson correlation of left and right
  over the programme and its worst 400 ms window (windows where both channels
  are quieter than -60 dBFS do not count);
- **mono fold-down** (2+ channels): BS.1770 loudness of ``(L + R) / sqrt(2)``
  (one channel) against the BS.1770 loudness of L and R: 0 dB for identical
  channels, -3 dB for unrelated ones, -inf when they cancel;
- **silence**: the head and the tail (to the first / from the last sample above
  ``silence_db`` on any channel, sample-accurate), and stretches of ``silence_s``
  or more whose 100 ms hops all peak below ``silence_db``;
- **dropouts**: runs of exact digital zero (all channels) between ``dropout_ms``
  and ``max_dropout_ms`` long with sound on both sides: a lost buffer, not a pause;
- **noise floor in pauses**: median 100 ms level where nobody speaks
  (:meth:`QCMeter.result` with the pause regions); pauses that are digital
  silence are reported as such, not as a level.

:func:`dialogue_to_music` gives the dialogue-to-music ratio during speech from
two :class:`~mixdown.analysis.levels.LevelSeries` (BS.1770 gated loudness of each
over the speech regions).

Streaming: every statistic is a sum, a maximum or a per-hop value on the
absolute 100 ms grid, with state carried between blocks (clip runs, zero runs,
partial hops, filter state), so any block split gives the same result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .clips import ClipRuns, Grow
from .levels import LevelMeter
from .qc_rules import CLIP_LEVEL, QCLimits, Requirement, qc_requirements
from .truepeak import TruePeakDetector

__all__ = ["CLIP_LEVEL", "ClipRuns", "QCLimits", "QCMeter", "QCResult", "Requirement", "dialogue_to_music",
           "qc_requirements"]

__all__ = ["CLIP_LEVEL", "ClipRuns", "QCLimits", "QCMeter", "QCResult", "Requirement", "dialogue_to_music",
           "qc_requirements"]

_HOP_S = 0.1


@dataclass
class QCResult:
    """What a :class:`QCMeter` found; levels in dB (re full scale), ``None`` = undefined.

    Attributes
    ----------
    duration_s : float
    channels : int
    sample_peak_dbfs, true_peak_dbtp : float or None
    clipped_samples : int
        Samples (all channels) inside clip events.
    clip_event_count : int
    clip_events : list of float
        Start time (s) of each clip event (at most 1000 listed).
    dc_offset_db : list of float or None
        Per channel, 20 log10 |mean|.
    correlation : float or None
        L/R correlation over the programme (2+ channels).
    min_correlation_400ms : float or None
        Worst 400 ms window.
    mono_loss_db : float or None
        BS.1770 loudness of the mono fold-down minus that of the stereo programme, dB
        (<= 0 mostly; -inf when the fold-down is silent; None for one channel or silence).
    head_silence_s, tail_silence_s : float
        Before the first / after the last sample over the silence level (the whole
        duration when there is none).
    silences : list of (float, float)
        Start and end (s) of each silence of ``silence_s`` or more (head and tail included).
    dropouts : list of (float, float)
    noise_floor_db : float or None
        Median 100 ms level in the pauses, dBFS (mean square re 1).
    pauses_digital_silence : bool
        The pauses are digital silence (so there is no noise floor to give).
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
    channels: int = 0
    head_silence_s: float = 0.0
    tail_silence_s: float = 0.0
    pauses_digital_silence: bool = False
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
            "mono_fold_down_cancels": self.mono_loss_db is not None and not math.isfinite(self.mono_loss_db),
            "head_silence_s": round(self.head_silence_s, 3),
            "tail_silence_s": round(self.tail_silence_s, 3),
            "silences_s": [[round(a, 2), round(b, 2)] for a, b in self.silences[:100]],
            "dropouts_s": [[round(a, 4), round(b, 4)] for a, b in self.dropouts[:100]],
            "noise_floor_db": r(self.noise_floor_db, 1),
            "noise_floor": ("digital silence" if self.pauses_digital_silence else
                            None if self.noise_floor_db is None else "measured"),
            "problems": list(self.problems),
        }


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
    fold_down : bool
        Measure the mono fold-down's loudness (2+ channels; two more K-weighting
        filters). Off, ``mono_loss_db`` is None.
    """

    def __init__(self, sample_rate: int, channels: int, *, limits: QCLimits = QCLimits(),
                 true_peak: bool = True, fold_down: bool = True) -> None:
        self.fold_down = fold_down
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.limits = limits
        self.hop = max(1, int(round(self.sample_rate * _HOP_S)))
        self._tp = None
        if true_peak:
            self._tp = TruePeakDetector(self.sample_rate, self.channels)
        self.reset()

    def reset(self) -> None:
        """Forget everything, as for a new stream."""
        ch = self.channels
        lim = self.limits
        self.frames = 0
        self._peak = 0.0
        self._clips = ClipRuns(ch, level=lim.clip_level, run=lim.clip_run)
        self._sum = np.zeros(ch)
        # per hop: mean square over all channels, of the first two, and of L*R; and the hop's sample peak
        self._hops = Grow(5)
        self._acc = np.zeros(5)
        self._acc_n = 0
        self._silence_lin = 10 ** (lim.silence_db / 20)
        self._first_loud = -1
        self._last_loud = -1
        self._zero_start: int | None = None  # start of the current run of exact zeros
        self._zero_runs: list[tuple[int, int]] = []
        # the mono fold-down against the first two channels, both as a BS.1770 meter hears them
        self._fold = self._pair = None
        if ch >= 2 and self.fold_down:
            self._fold = LevelMeter(self.sample_rate, 1, layout="mono")
            self._pair = LevelMeter(self.sample_rate, 2, layout="stereo")
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
        amax = a.max(axis=0)
        peak = float(amax.max())
        self._peak = max(self._peak, peak)
        if self._tp is not None:
            self._tp.process(x, peak)
        self._sum += x.sum(axis=1, dtype=np.float64)
        self._clips.process(x, a)
        self._zeros(amax, pos)
        loud = np.flatnonzero(amax > self._silence_lin)
        if loud.size:
            if self._first_loud < 0:
                self._first_loud = pos + int(loud[0])
            self._last_loud = pos + int(loud[-1])
        xd = x.astype(np.float64)
        left = xd[0]
        right = xd[1] if self.channels > 1 else xd[0]
        ms_all = (xd * xd).mean(axis=0) if self.channels > 2 else 0.5 * (left * left + right * right)
        feats = np.stack([ms_all, left * left, right * right, left * right])
        self._add_hops(feats, amax)
        if self._fold is not None:
            pair = np.ascontiguousarray(x[:2], dtype=np.float32)
            self._pair.process(pair)
            self._fold.process(((pair[0:1] + pair[1:2]) * np.float32(math.sqrt(0.5))).astype(np.float32))
        self.frames += n

    def _zeros(self, amax: np.ndarray, pos: int) -> None:
        z = amax == 0
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

    def _add_hops(self, feats: np.ndarray, amax: np.ndarray) -> None:
        h = self.hop
        n = feats.shape[1]
        i = 0
        if self._acc_n:
            take = min(h - self._acc_n, n)
            self._acc[:4] += feats[:, :take].sum(axis=1)
            self._acc[4] = max(self._acc[4], float(amax[:take].max()))
            self._acc_n += take
            i = take
            if self._acc_n == h:
                row = self._acc.copy()
                row[:4] /= h
                self._hops.extend(row[None, :])
                self._acc[:] = 0.0
                self._acc_n = 0
        whole = (n - i) // h
        if whole:
            seg = slice(i, i + whole * h)
            means = feats[:, seg].reshape(4, whole, h).mean(axis=2)
            peaks = amax[seg].reshape(whole, h).max(axis=1)
            self._hops.extend(np.vstack([means, peaks[None, :]]).T)
            i += whole * h
        if i < n:
            self._acc[:4] += feats[:, i:].sum(axis=1)
            self._acc[4] = max(self._acc[4], float(amax[i:].max()))
            self._acc_n += n - i

    # -- results ---------------------------------------------------------------------

    def _hop_rows(self) -> np.ndarray:
        hv = self._hops.values
        if self._acc_n:
            row = self._acc.copy()
            row[:4] /= self._acc_n
            hv = np.concatenate([hv, row[None, :]])
        return hv

    def hop_levels_db(self) -> np.ndarray:
        """Level of each 100 ms hop, dB (mean square over the channels; -inf = digital zero)."""
        with np.errstate(divide="ignore"):
            return 10.0 * np.log10(self._hop_rows()[:, 0])

    def _phase(self, hv: np.ndarray) -> tuple[float | None, float | None, float | None]:
        """Programme correlation, worst 400 ms correlation, mono fold-down loss."""
        if self.channels < 2 or not hv.shape[0]:
            return None, None, None
        corr = min_corr = mono = None
        ll, rr, lr = hv[:, 1].sum(), hv[:, 2].sum(), hv[:, 3].sum()
        if ll > 0 and rr > 0:
            corr = float(lr / math.sqrt(ll * rr))
        if hv.shape[0] >= 4:
            w = hv[:-3, 1:4] + hv[1:-2, 1:4] + hv[2:-1, 1:4] + hv[3:, 1:4]
            loud = (w[:, 0] > 4 * 1e-6) & (w[:, 1] > 4 * 1e-6)  # both channels over -60 dBFS
            if np.any(loud):
                min_corr = float(np.min(w[loud, 2] / np.sqrt(w[loud, 0] * w[loud, 1])))
        stereo = self._pair.series().loudness() if self._pair is not None else None
        if stereo is not None:
            folded = self._fold.series().loudness()
            mono = float("-inf") if folded is None else float(folded - stereo)
        return corr, min_corr, mono

    def _noise_floor(self, lv: np.ndarray, pauses: list[tuple[int, int]] | None) -> tuple[float | None, bool]:
        """Median 100 ms level over hops wholly inside the pauses; or that they are digital silence."""
        if not pauses:
            return None, False
        inside = np.zeros(lv.shape[0], dtype=bool)
        for a, b in pauses:
            ha, hb = -(-a // self.hop), b // self.hop
            inside[max(ha, 0) : max(hb, 0)] = True
        if np.count_nonzero(inside) < 3:
            return None, False
        sel = lv[inside]
        digital = ~(sel >= self.limits.digital_silence_db)  # -inf and denormals too
        if 2 * np.count_nonzero(digital) >= sel.shape[0]:
            return None, True
        sound = sel[~digital]
        return (float(np.median(sound)) if sound.shape[0] >= 3 else None), False

    def result(self, *, pauses: list[tuple[int, int]] | None = None, silence_is_problem: bool = True,
               true_peak_dbtp: float | None = None) -> QCResult:
        """Everything measured so far.

        Parameters
        ----------
        pauses : list of (start, end), optional
            Sample ranges where nobody speaks, for the noise floor (the median 100 ms
            level over hops lying wholly inside them, digital silence excluded; at
            least 3 such hops, else undefined). When most of those hops are digital
            silence, the pauses are reported as digital silence instead.
        silence_is_problem : bool
            List long silences as a problem (a mix) or only report them (a track,
            silent between its clips by design).
        true_peak_dbtp : float, optional
            The stream's true peak measured elsewhere (by the loudness meter that
            ran beside this one, with ``true_peak=False`` here: one interpolator, not two).
        """
        lim = self.limits
        sr = self.sample_rate
        hv = self._hop_rows()
        with np.errstate(divide="ignore"):
            lv = 10.0 * np.log10(hv[:, 0])
        tp = true_peak_dbtp
        if self._tp is not None:
            tpl = self._tp.peak()
            tp = 20.0 * math.log10(tpl) if tpl > 0 else None
        sp = 20.0 * math.log10(self._peak) if self._peak > 0 else None
        dc = [None if self.frames == 0 or s == 0 else 20.0 * math.log10(abs(s) / self.frames) for s in self._sum]
        corr, min_corr, mono = self._phase(hv)
        quiet = hv[:, 4] < self._silence_lin
        silences = _runs(quiet, int(round(lim.silence_s / _HOP_S)), self.hop, sr, self.frames)
        dropouts = []
        for a, b in self._zero_runs + ([(self._zero_start, self.frames)] if self._zero_start is not None else []):
            length = b - a
            if not lim.dropout_ms * sr / 1000.0 <= length <= lim.max_dropout_ms * sr / 1000.0 or a == 0 \
                    or b >= self.frames:
                continue
            ha, hb = a // self.hop - 1, b // self.hop + 1
            if 0 <= ha < quiet.shape[0] and hb < quiet.shape[0] and not quiet[ha] and not quiet[hb]:
                dropouts.append((a / sr, b / sr))
        floor, digital = self._noise_floor(lv, pauses)
        runs, clipped, starts = self._clips.totals()
        first, last = self._first_loud, self._last_loud
        res = QCResult(
            duration_s=self.frames / sr, sample_peak_dbfs=sp, true_peak_dbtp=tp, clipped_samples=clipped,
            clip_event_count=runs, clip_events=sorted(s / sr for s in starts), dc_offset_db=dc,
            correlation=corr, min_correlation_400ms=min_corr, mono_loss_db=mono, silences=silences,
            dropouts=dropouts, noise_floor_db=floor, channels=self.channels,
            head_silence_s=(self.frames if first < 0 else first) / sr,
            tail_silence_s=(self.frames if first < 0 else self.frames - 1 - last) / sr,
            pauses_digital_silence=digital,
        )
        res.problems = [r.detail for r in qc_requirements(res, lim, silence=silence_is_problem) if not r.passed]
        if res.noise_floor_db is not None and res.noise_floor_db > lim.noise_floor_db:
            res.problems.append(f"noise floor in the pauses {res.noise_floor_db:.1f} dBFS (over {lim.noise_floor_db:g})")
        return res


def _runs(quiet: np.ndarray, min_hops: int, hop: int, sr: int, frames: int) -> list[tuple[float, float]]:
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    out = []
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if e - s >= min_hops:
            out.append((float(s * hop / sr), float(min(e * hop, frames) / sr)))
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
