"""What the QC counts as a fault: the thresholds and their sources, and the rules judged on a result.

The one place where ``mixdown check`` and the report's QC get their limits and
their words (:func:`qc_requirements`), so both say the same about the same file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CLIP_LEVEL", "QCLimits", "Requirement", "qc_requirements"]

#: Sample magnitude counted as clipped: -0.001 dBFS, under the largest 16- and 24-bit codes
#: (32767/32768 is -0.0003 dBFS), so a flat top at the largest code counts.
CLIP_LEVEL = 10 ** (-0.001 / 20)


@dataclass(frozen=True)
class QCLimits:
    """Thresholds of the checks (what counts as a problem), and where each comes from.

    Attributes
    ----------
    clip_level : float
        Linear sample level counted as clipped (:data:`CLIP_LEVEL`, -0.001 dBFS).
    clip_run : int
        Consecutive clipped samples (one channel) making one clip event: 3, the
        "over" indication of digital peak meters (a single full-scale sample is a
        legal peak; three in a row are a flattened waveform).
    true_peak_dbtp : float
        Over this true peak is a problem (0 dBTP: over full scale once reconstructed;
        a delivery target's own ceiling is judged separately).
    dc_db : float
        A channel mean above this (dBFS) is a DC offset. No delivery spec gives a
        number; -50 dBFS (0.3 % of full scale) is mixdown's: AC-coupled audio
        averages far lower over a programme, and the headroom it costs is 0.03 dB.
    min_correlation : float
        Programme L/R correlation below this is a phase problem. No delivery spec
        gives a number; mixdown's -0.2: a phase-correlation meter reads +1 for
        identical channels, 0 for unrelated ones and -1 for a polarity-inverted
        pair, and wide, decorrelated mixes average near 0, so the limit sits a
        margin under 0 -- a programme that is mostly anti-phase reads -0.5 to -1.
    max_mono_loss_db : float
        A mono fold-down ``(L + R) / sqrt(2)`` quieter than the stereo programme by
        more than this (BS.1770 loudness, K-weighted and gated) is a
        mono-compatibility problem: 4 dB, the same point as correlation -0.2 for
        channels of equal level (the fold-down keeps 1/2 + rho/2 of the power:
        identical channels lose 0 dB, unrelated ones 3 dB), measured as heard.
    silence_db : float
        Sample peak under which a stretch counts as silence (-60 dBFS).
    silence_s : float
        Longest silence accepted at the head, at the tail or inside (5 s; ``check
        --max-silence``).
    dropout_ms, max_dropout_ms : float
        Shortest and longest run of digital zeros (all channels, sound on both sides)
        reported as a dropout: a lost buffer or packet is 1 ms to about 100 ms (4096
        samples at 48 kHz are 85 ms); longer runs are pauses -- a hard noise gate
        between words writes exact zeros too -- and the silence rule judges them.
    noise_floor_db : float
        A noise floor in pauses above this (dBFS) is a problem.
    digital_silence_db : float
        A 100 ms hop quieter than this (mean square, dBFS) is digital silence, not a
        noise floor: -150 dB is under what any 24-bit code other than zero carries.
    min_dialogue_to_music_lu : float
        Dialogue less than this many LU over the music during speech is a problem.
    """

    clip_level: float = CLIP_LEVEL
    clip_run: int = 3
    true_peak_dbtp: float = 0.0
    dc_db: float = -50.0
    min_correlation: float = -0.2
    max_mono_loss_db: float = 4.0
    silence_db: float = -60.0
    silence_s: float = 5.0
    dropout_ms: float = 1.0
    max_dropout_ms: float = 100.0
    noise_floor_db: float = -50.0
    digital_silence_db: float = -150.0
    min_dialogue_to_music_lu: float = 7.0


@dataclass
class Requirement:
    """One rule, measured: passed or not, and why.

    ``advisory``: what the spec only recommends; a miss is said, never a failure.
    """

    name: str
    passed: bool
    measured: float | None
    limit: str
    detail: str = ""
    advisory: bool = False

    def to_json(self) -> dict[str, Any]:
        m = self.measured
        out = {"name": self.name, "passed": self.passed,
               "measured": None if m is None or not math.isfinite(m) else round(float(m), 3),
               "limit": self.limit, "detail": self.detail}
        if self.advisory:
            out["advisory"] = True
        return out


def qc_requirements(r: Any, lim: QCLimits, *, true_peak: bool = True, silence: bool = True,
                    max_silence_s: float | None = None) -> list[Requirement]:
    """The QC rules judged on a result: the same words for ``mixdown check`` and the report.

    Parameters
    ----------
    true_peak : bool
        Include the generic true-peak rule (``check`` judges the target's ceiling instead).
    silence : bool
        Include the silence rules (head, tail, inside).
    max_silence_s : float, optional
        Longest silence accepted (default: ``lim.silence_s``); the result's silences
        must have been found with a ``silence_s`` no longer than this.
    """
    out: list[Requirement] = []
    if true_peak:
        ok = r.true_peak_dbtp is None or r.true_peak_dbtp <= lim.true_peak_dbtp
        out.append(
            Requirement(
                "true_peak",
                ok,
                r.true_peak_dbtp,
                f"<= {lim.true_peak_dbtp:g} dBTP",
                "silent: no peak"
                if r.true_peak_dbtp is None
                else f"true peak {r.true_peak_dbtp:.2f} dBTP" + ("" if ok else f" is over {lim.true_peak_dbtp:g} dBTP"),
            )
        )
    ok = r.clip_event_count == 0
    first = r.clip_events[0] if r.clip_events else 0.0
    out.append(
        Requirement(
            "clipping",
            ok,
            float(r.clip_event_count),
            f"no run of {lim.clip_run}+ samples at full scale",
            "none"
            if ok
            else f"clipping: {r.clip_event_count} clipped run(s) of {lim.clip_run}+ samples "
            f"at full scale, {r.clipped_samples} samples (first at {first:.2f} s)",
        )
    )
    dcs = [d for d in r.dc_offset_db if d is not None]
    worst = max(dcs) if dcs else None
    ok = worst is None or worst <= lim.dc_db
    bad = [f"channel {c + 1} {d:.1f} dBFS" for c, d in enumerate(r.dc_offset_db) if d is not None and d > lim.dc_db]
    out.append(
        Requirement(
            "dc_offset",
            ok,
            worst,
            f"<= {lim.dc_db:g} dBFS per channel",
            ("none" if worst is None else f"largest {worst:.1f} dBFS") if ok else "DC offset: " + ", ".join(bad),
        )
    )
    if r.channels >= 2:
        c = r.correlation
        ok = c is None or c >= lim.min_correlation
        worst_w = "" if r.min_correlation_400ms is None else f" (worst 400 ms {r.min_correlation_400ms:+.2f})"
        out.append(Requirement("phase_correlation", ok, c, f">= {lim.min_correlation:+g} (left/right, the programme)",
                               "silent" if c is None else (f"{c:+.2f}{worst_w}" if ok else
                               f"phase: left/right correlation {c:+.2f} over the programme: out of phase{worst_w}")))
        loss = r.mono_loss_db
        ok = loss is None or loss >= -lim.max_mono_loss_db
        if loss is None:
            detail = "silent"
        elif not math.isfinite(loss):
            detail = "mono compatibility: the mono fold-down is silent (left and right cancel)"
        else:
            detail = f"{loss:+.1f} dB" if ok else f"mono compatibility: the mono fold-down is {-loss:.1f} dB quieter"
        out.append(Requirement("mono_fold_down", ok, loss, f"loses <= {lim.max_mono_loss_db:g} dB (BS.1770 loudness)",
                               detail))
    ok = not r.dropouts
    out.append(
        Requirement(
            "dropouts",
            ok,
            float(len(r.dropouts)),
            f"no run of digital zeros of {lim.dropout_ms:g}-{lim.max_dropout_ms:g} ms inside the audio",
            "none"
            if ok
            else f"{len(r.dropouts)} dropout(s) of digital silence inside the audio "
            f"(first at {r.dropouts[0][0]:.3f} s)",
        )
    )
    if silence:
        longest = lim.silence_s if max_silence_s is None else max_silence_s
        limit = f"<= {longest:g} s under {lim.silence_db:g} dBFS"
        for name, v in (("head_silence", r.head_silence_s), ("tail_silence", r.tail_silence_s)):
            ok = v <= longest
            out.append(Requirement(name, ok, v, limit, f"{v:.2f} s" if ok else f"{name.replace('_', ' ')} {v:.2f} s"))
        inner = [(a, b) for a, b in r.silences if a > 0 and b < r.duration_s and b - a >= longest]
        ok = not inner
        out.append(
            Requirement(
                "silence",
                ok,
                max((b - a for a, b in inner), default=0.0),
                limit + " inside",
                "none"
                if ok
                else f"{len(inner)} silence(s) of {longest:g} s or more below "
                f"{lim.silence_db:g} dBFS inside the programme ({sum(b - a for a, b in inner):.1f} s in all, "
                f"first at {inner[0][0]:.1f} s)",
            )
        )
    return out
