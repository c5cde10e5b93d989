"""Stereo -> binaural speed on one core (issue 17 asks >= 200x realtime).

    .venv/bin/python benchmarks/binaural_speed.py [seconds]

Streams pink-ish noise through mixdown.dsp.binaural.Binaural in 65536-frame blocks
and prints realtime factors (CPU time of this process, so other load on a shared
machine does not count against it).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from mixdown.dsp.binaural import Binaural

if __name__ == "__main__":
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    sr, block = 48000, 65536
    x = (0.1 * np.random.default_rng(0).standard_normal((2, sr * seconds))).astype(np.float32)
    for channels in (2, 6, 8):
        src = np.tile(x, (channels // 2, 1))
        b = Binaural()
        b.prepare(sr, block, channels)
        t = time.process_time()
        for i in range(0, src.shape[1], block):
            b.process(src[:, i:i + block], i)
        dt = time.process_time() - t
        print(f"{channels} channels -> binaural: {seconds / dt:.0f}x realtime ({dt:.2f} s CPU for {seconds} s)")
