"""The mix assistant's numbers (issue 16) on the noisy interview of ``benchmarks/material.py``.

Runs ``mixdown auto --target podcast`` on the realistic two-mic interview (noise, hum,
bleed, drift, speakers 8 dB apart, a full-level music bed, a creek ambience) and
measures what it wrote against the ground truth (``material.speech_regions``), not
against auto's own decision figures:

- **speakers apart**: the mix's gated loudness (BS.1770, pyloudnorm's K-weighting and
  400 ms / 75 % blocks over each speaker's ground-truth speech) of host against guest;
  also the spread (standard deviation) of the per-turn loudness of each speaker;
- **music under the quieter speaker**: the music stem's gated loudness over the
  quieter speaker's speech less the dialogue stem's over the same speech;
- **music rise in gaps < 1.5 s**: the music stem's gain against its source, every
  100 ms; the largest rise inside a pause shorter than 1.5 s between two utterances
  over the median gain during speech (pumping);
- **masking 1–4 kHz**: the music + ambience stems' energy in the speech-presence band
  (1–4 kHz, 4th-order Butterworth) over the dialogue stem's in that band, during the
  quieter speaker's speech (dB; lower is clearer);
- **integrated / true peak**: ``mixdown measure --json`` of the mix, against the
  target's ceiling.

Usage::

    .venv/bin/python benchmarks/assistant_measure.py               # 3-minute interview
    .venv/bin/python benchmarks/assistant_measure.py --seconds 60 --json
    .venv/bin/python benchmarks/assistant_measure.py --scenario hand-chains   # a person's chains on the mics
    .venv/bin/python benchmarks/assistant_measure.py --extra --style interview   # extra auto options
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import material

SR = material.SR
MIXDOWN = [sys.executable, "-m", "mixdown.cli"]


def _kweighted(x: np.ndarray) -> np.ndarray:
    """K-weighting of (channels, frames) with pyloudnorm's BS.1770 filters (independent of mixdown)."""
    import pyloudnorm

    meter = pyloudnorm.Meter(SR)
    y = x.astype(np.float64)
    for f in meter._filters.values():
        y = f.apply_filter(y)  # lfilter along the last axis: frames
    return y


def gated_loudness(k: np.ndarray, regions: list[tuple[int, int]]) -> float | None:
    """BS.1770 gated loudness (LUFS) of K-weighted ``k`` over the 400 ms blocks inside ``regions``.

    Blocks step by 100 ms on the whole signal; a block counts when it lies inside one region.
    """
    block, step = int(0.4 * SR), int(0.1 * SR)
    power = np.cumsum(np.concatenate([np.zeros((k.shape[0], 1)), k ** 2], axis=1), axis=1)
    z = []
    for a, b in regions:
        s = -(-a // step) * step
        while s + block <= b:
            z.append(((power[:, s + block] - power[:, s]) / block).sum())
            s += step
    if not z:
        return None
    z = np.asarray(z)
    lk = -0.691 + 10 * np.log10(np.maximum(z, 1e-20))
    z = z[lk > -70]
    if z.size == 0:
        return None
    rel = -0.691 + 10 * np.log10(z.mean()) - 10
    z = z[-0.691 + 10 * np.log10(z) > rel]
    return float(-0.691 + 10 * np.log10(z.mean()))


def band_energy(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Energy per sample of (channels, frames) in [lo, hi] Hz, channels summed."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [lo, hi], btype="bandpass", fs=SR, output="sos")
    return (sosfiltfilt(sos, x.astype(np.float64), axis=1) ** 2).sum(axis=0)


def _read(path: Path) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(path, always_2d=True, dtype="float32")
    assert sr == SR
    return x.T


def music_gain_db(stem: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Gain applied to the music every 100 ms (dB): its stem's energy over its source's."""
    hop = SR // 10
    n = min(stem.shape[1], source.shape[1]) // hop
    e_out = (stem[:, : n * hop].astype(np.float64) ** 2).reshape(stem.shape[0], n, hop).mean(axis=(0, 2))
    e_src = (source[:, : n * hop].astype(np.float64) ** 2).reshape(source.shape[0], n, hop).mean(axis=(0, 2))
    g = np.full(n, np.nan)
    ok = e_src > 1e-7
    g[ok] = 10 * np.log10(np.maximum(e_out[ok], 1e-20) / e_src[ok])
    return g


def pumping_db(gain: np.ndarray, utterances: list[tuple[int, int]], *, max_gap_s: float = 1.5) -> tuple[float, int]:
    """Largest rise of the music's gain in pauses shorter than ``max_gap_s`` over its median under speech."""
    hop = SR // 10
    under = np.concatenate([gain[a // hop: b // hop] for a, b in utterances])
    ducked = float(np.nanmedian(under))
    worst, count = -np.inf, 0
    for (_, b0), (a1, _) in itertools.pairwise(utterances):
        if not 0 < (a1 - b0) / SR < max_gap_s:
            continue
        seg = gain[b0 // hop + 1: a1 // hop]
        seg = seg[~np.isnan(seg)]
        if seg.size:
            worst = max(worst, float(seg.max()) - ducked)
            count += 1
    return worst, count


def measure(folder: Path, seconds: float) -> dict:
    """The table's numbers for the auto run whose outputs are in ``folder`` (``mix.wav``, ``stems/``)."""
    truth = material.speech_regions(seconds)
    mix = _read(folder / "mix.wav")
    stems = {r: _read(folder / "stems" / f"{r}.wav") for r in ("dialogue", "music", "ambience")}
    k_mix = _kweighted(mix)
    spk = {who: gated_loudness(k_mix, regs) for who, regs in truth.items()}
    turns = {who: [v for a, b in regs if (v := gated_loudness(k_mix, [(a, b)])) is not None]
             for who, regs in truth.items()}
    quiet = min(spk, key=lambda w: spk[w])
    k_dlg, k_mus = _kweighted(stems["dialogue"]), _kweighted(stems["music"])
    music_under = gated_loudness(k_mus, truth[quiet]) - gated_loudness(k_dlg, truth[quiet])
    src = _read(folder / "music.flac")
    utts = sorted(r for regs in truth.values() for r in regs)
    rise, gaps = pumping_db(music_gain_db(stems["music"], src), utts)
    bed = band_energy(stems["music"] + stems["ambience"], 1000.0, 4000.0)
    voice = band_energy(stems["dialogue"], 1000.0, 4000.0)
    mask = {}
    for who, regs in truth.items():
        eb = sum(bed[a:b].sum() for a, b in regs)
        ev = sum(voice[a:b].sum() for a, b in regs)
        mask[who] = round(10 * np.log10(eb / ev), 2)
    m = json.loads(subprocess.run([*MIXDOWN, "measure", str(folder / "mix.wav"), "--json"], capture_output=True,
                                  text=True, check=True).stdout)
    return {
        "speakers_db": {w: round(v, 2) for w, v in spk.items()},
        "speakers_apart_db": round(abs(spk["host"] - spk["guest"]), 2),
        "turn_spread_db": {w: round(float(np.std(v)), 2) for w, v in turns.items()},
        "quieter": quiet,
        "music_under_quieter_db": round(music_under, 2),
        "music_rise_short_gaps_db": round(rise, 2),
        "short_gaps": gaps,
        "masking_1_4k_db": mask,
        "integrated_lufs": m["integrated_lufs"],
        "true_peak_dbtp": m["true_peak_dbtp"],
    }


#: Hand-made chains a person might have put on the mics before asking auto to mix: a heavy
#: compressor on the guest (it takes the guest far down after leveling has measured it) and a
#: dull, de-essed host. The leveling measures speech before the chains; the balance must hold after.
HAND_CHAINS = {
    "host": "[{type: high_shelf, freq_hz: 6000, gain_db: -6}, {type: deesser, threshold_db: -40}]",
    "guest": "[{type: compressor, threshold_db: -36, ratio: 3, attack_ms: 5, release_ms: 120}]",
}


def _session(work: Path, media: dict[str, Path]) -> Path:
    """The interview as a session file whose mics carry :data:`HAND_CHAINS`."""
    lines = ["mixdown: 2", "tracks:"]
    for name, role in (("host", "dialogue"), ("guest", "dialogue"), ("music", "music"), ("ambience", "ambience")):
        chain = f", chain: {HAND_CHAINS[name]}" if name in HAND_CHAINS else ""
        lines.append(f"  - {{name: {name}, role: {role}{chain}, clips: [{{source: {media[name]}}}]}}")
    path = work / "raw.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(work: Path, seconds: float, extra: list[str], *, scenario: str = "plain") -> dict:
    media = material.build(work, seconds)
    if scenario == "hand-chains":
        inputs = [str(_session(work, media))]
    else:
        inputs = ["--dialogue", str(media["host"]), str(media["guest"]), "--music", str(media["music"]),
                  "--ambience", str(media["ambience"])]
    cmd = [*MIXDOWN, "auto", *inputs, "--assist", "--target", "podcast", "-o", str(work / "mix.wav"),
           "--stems", str(work / "stems"), "--save-session", str(work / "decided.yaml"), "--json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode not in (0, 3):
        raise SystemExit(f"auto failed ({r.returncode}): {r.stderr[-2000:]}")
    summary = json.loads(r.stdout)
    (work / "auto.json").write_text(r.stdout)
    out = measure(work, seconds)
    out["ceiling_dbtp"] = summary["target"]["true_peak_dbtp"]
    out["target_lufs"] = summary["target"]["integrated_lufs"]
    return out


def table(res: dict) -> str:
    rows = [
        ("speakers apart (mix over each speaker's speech)", f"{res['speakers_apart_db']:.2f} dB",
         "<= 1.0 dB"),
        ("per-turn spread host / guest (std)",
         f"{res['turn_spread_db']['host']:.2f} / {res['turn_spread_db']['guest']:.2f} dB", ""),
        (f"music under the quieter speaker ({res['quieter']})", f"{res['music_under_quieter_db']:.2f} dB",
         "<= -15 dB"),
        (f"music rise in gaps < 1.5 s ({res['short_gaps']} gaps)", f"{res['music_rise_short_gaps_db']:.2f} dB",
         "<= 2 dB"),
        ("bed/voice 1-4 kHz host / guest",
         f"{res['masking_1_4k_db']['host']:.2f} / {res['masking_1_4k_db']['guest']:.2f} dB", "lower"),
        ("integrated / true peak", f"{res['integrated_lufs']:.2f} LUFS / {res['true_peak_dbtp']:.2f} dBTP",
         f"{res['target_lufs']:g} ±0.1 / <= {res['ceiling_dbtp']:g}"),
    ]
    return "\n".join(f"| {a} | {b} | {c} |" for a, b, c in [("", "measured", "goal"), ("---", "---", "---"), *rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scenario", choices=("plain", "hand-chains"), default="plain",
                    help="plain: the mics as recorded; hand-chains: a session whose mics carry a person's chains")
    ap.add_argument("--work", type=Path, default=None, help="keep the material and outputs in this folder")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more options for mixdown auto")
    args = ap.parse_args()
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        res = run(args.work, args.seconds, args.extra, scenario=args.scenario)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            res = run(Path(tmp), args.seconds, args.extra, scenario=args.scenario)
    print(json.dumps(res, indent=2) if args.json else table(res))


if __name__ == "__main__":
    main()
