"""Convert a SimpleFreeFieldHRIR SOFA file into the compact npz mixdown ships.

    .venv/bin/python tools/convert_sofa.py /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa \
        src/mixdown/dsp/data/mit_kemar_normal_pinna.npz

(The SOFA file comes with Debian's libmysofa1; this is run once, by a developer,
never at run time.)
"""

from __future__ import annotations

import sys

import numpy as np

from mixdown.dsp.hrtf import read_sofa

if __name__ == "__main__":
    src, dst = sys.argv[1:3]
    s = read_sofa(src)
    np.savez_compressed(dst, positions=s.positions, irs=s.irs.astype(np.float32), sample_rate=s.sample_rate,
                        name=np.str_("MIT KEMAR, normal pinna"))
    print(f"{dst}: {s.irs.shape[0]} directions, {s.irs.shape[2]} taps at {s.sample_rate} Hz")
