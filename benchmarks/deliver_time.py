"""What each deliverable adds to a long render.

A generated session (default 60 minutes at 48 kHz stereo: a mono dialogue track, a
stereo music bed, effects and ambience, each a one-minute generated file placed
once a minute) is delivered with one of every kind of deliverable: mix files in
every format for two targets, stems, M&E and a video (a tiny 1 fps H.264/MPEG-4
picture track as long as the programme). The peer is a plain render of the same
session to one 24-bit WAV (``render_file``), measured in the same run.

Printed: the one shared render, every master stage, and per deliverable the time
its encoding (+ decoding and measuring again for lossy files, + muxing for the
video) adds; realtime factors; the whole job against the plain render; peak memory
(ru_maxrss). Medians over ``--runs``.

    python benchmarks/deliver_time.py                 # 60 minutes, 1 run (about 10 minutes)
    python benchmarks/deliver_time.py --minutes 5 --runs 3
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

SR = 48000


def _bandnoise(rng: np.random.Generator, n: int, channels: int, lo: float, hi: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, [lo, hi], btype="band", fs=SR, output="sos")
    return sosfilt(sos, rng.standard_normal((channels, n)), axis=1)


def make_media(folder: Path) -> None:
    """One minute of each role, generated (speech-like bursts, a music bed, hits, room tone)."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    n = 60 * SR
    t = np.arange(n) / SR
    voice = (
        _bandnoise(rng, n, 1, 150, 5000)
        * (np.sin(2 * np.pi * 1.7 * t) > -0.2)
        * (0.6 + 0.4 * np.sin(2 * np.pi * 0.13 * t))
    )
    music = 0.3 * np.stack([np.sin(2 * np.pi * f * t) for f in (220.0, 277.2)]) + _bandnoise(rng, n, 2, 60, 12000)
    fx = _bandnoise(rng, n, 2, 500, 14000) * (np.sin(2 * np.pi * 0.25 * t) > 0.95)
    room = _bandnoise(rng, n, 2, 40, 800)
    for name, x, level in (("voice", voice, 0.3), ("music", music, 0.15), ("fx", fx, 0.4), ("room", room, 0.03)):
        sf.write(folder / f"{name}.wav", (level * x / np.abs(x).max()).T.astype(np.float32), SR, subtype="FLOAT")


def make_video(path: Path, seconds: int) -> None:
    """A long but tiny video: 1 frame per second, 64x48, no audio."""
    import av

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    c = av.open(str(path), "w")
    v = c.add_stream(codec, rate=1)
    v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    v.time_base = Fraction(1, 1)
    for i in range(seconds):
        img = np.full((48, 64, 3), (i * 7) % 256, np.uint8)
        fr = av.VideoFrame.from_ndarray(img, format="rgb24")
        fr.pts = i
        for p in v.encode(fr):
            c.mux(p)
    for p in v.encode(None):
        c.mux(p)
    c.close()


DELIVERABLES = [
    # (label, Deliverable kwargs)
    ("wav24 youtube", dict(path="out/mix_youtube.wav", target="youtube")),
    ("bwf ebu-r128", dict(path="out/mix_ebu.wav", format="bwf", target="ebu-r128")),
    ("flac ebu-r128", dict(path="out/mix_ebu.flac", target="ebu-r128")),
    ("mp3 podcast", dict(path="out/mix_podcast.mp3", target="podcast")),
    ("aac youtube", dict(path="out/mix_youtube.m4a", target="youtube")),
    ("opus ebu-r128", dict(path="out/mix_ebu.opus", target="ebu-r128")),
    ("stems (4 roles)", dict(kind="stems", path="out/stems")),
    ("M&E", dict(kind="me", path="out/me.wav")),
    ("video (aac)", dict(kind="video", path="out/final.mp4", video="picture.mp4", target="youtube")),
]


def session(folder: Path, minutes: int):
    from mixdown.session import Clip, Deliverable, Session, Track

    def clips(src: str, **kw):
        return [Clip(source=src, start=60 * m, **kw) for m in range(minutes)]

    s = Session(sample_rate=SR, tracks=[
        Track(name="voice", role="dialogue", clips=clips("voice.wav")),
        Track(name="music", role="music", gain_db=-8, clips=clips("music.wav")),
        Track(name="fx", role="sfx", gain_db=-4, clips=clips("fx.wav")),
        Track(name="room", role="ambience", clips=clips("room.wav")),
    ], deliverables=[Deliverable(**kw) for _, kw in DELIVERABLES])
    s.base_dir = folder
    return s


def one_run(folder: Path, minutes: int) -> dict[str, float]:
    from mixdown.deliver.deliverables import render_deliverables
    from mixdown.render.engine import render_file

    s = session(folder, minutes)
    t0 = time.perf_counter()
    render_file(s, folder / "plain.wav", format="wav24", block_size=16384)
    plain = time.perf_counter() - t0
    (folder / "plain.wav").unlink()
    t0 = time.perf_counter()
    rep = render_deliverables(s)
    total = time.perf_counter() - t0
    out = {"plain render (peer)": plain, "deliver: total": total, "deliver: the one render": rep.timing["render"]}
    for k, v in rep.timing.items():
        if k.startswith("stage"):
            out[k] = v
    for (label, _), o in zip(DELIVERABLES, rep.outputs, strict=True):
        out[f"+ {label}"] = o.seconds
        out[f"encodes {label}"] = o.encodes
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mixdown-bench-") as tmp:
        folder = Path(tmp)
        (folder / "out").mkdir()
        make_media(folder)
        make_video(folder / "picture.mp4", args.minutes * 60)
        runs = [one_run(folder, args.minutes) for _ in range(args.runs)]
    secs = args.minutes * 60
    keys = list(runs[0])
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    print(f"\n{args.minutes}-minute stereo session at 48 kHz, 4 tracks; median of {args.runs} run(s)\n")
    print(f"{'step':<44}{'seconds':>10}{'x realtime':>12}")
    print("-" * 66)
    for k in keys:
        if k.startswith("encodes"):
            continue
        v = med[k]
        extra = ""
        label = k.removeprefix("+ ")
        if k.startswith("+ "):
            n = int(med.get(f"encodes {label}", 1))
            extra = f"   ({n} encode{'s' if n != 1 else ''})" if n != 1 else ""
        print(f"{k:<44}{v:>10.1f}{secs / v if v > 0 else float('inf'):>12.0f}{extra}")
    print("-" * 66)
    ratio = med["deliver: total"] / med["plain render (peer)"]
    print(f"all {len(DELIVERABLES)} deliverables / plain render: {ratio:.2f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {rss:.0f} MB")


if __name__ == "__main__":
    main()
