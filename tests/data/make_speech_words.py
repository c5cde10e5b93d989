"""Rebuild ``speech_words_*.ogg`` + ``speech_words.json`` from Debian's ktuberling-data.

Not run by the tests; kept so the fixture's provenance is reproducible::

    apt-get download ktuberling-data && dpkg-deb -x ktuberling-data_*.deb kt
    python tests/data/make_speech_words.py kt/usr/share/ktuberling/sounds

Each word keeps up to 80 ms of its own room tone either side. The speech extent of
a word is measured here, once, on the clean recording: first to last 10 ms frame whose
RMS is more than 15 dB above that recording's own noise floor (3rd percentile).
"""

import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SR = 16000
WORDS = {
    "en": ["ball", "coat", "earring", "flower", "moustache", "spectacles", "umbrella",
           "sunglasses", "egypt_camel", "egypt_pyramid", "moon_astronaut", "moon_satellite",
           "pizzeria_pineapple", "pizzeria_mushroom", "hat", "shorts", "eyebrow",
           "egypt_palmtree", "moon_rocket", "pizzeria_tomato"],
    "de": ["coat", "egypt_birds", "egypt_arch", "moon_astronaut", "pizzeria_pineapple",
           "umbrella", "spectacles", "earring"],
}
MARGIN = int(0.08 * SR)


def extent(x):
    n = SR // 100
    m = len(x) // n
    db = 10 * np.log10((x[: m * n].reshape(m, n) ** 2).mean(1) + 1e-12)
    active = np.flatnonzero(db > np.percentile(db, 3) + 15.0)
    return int(active[0]) * n, int(active[-1] + 1) * n


def main(root):
    meta = {"sample_rate": SR, "words": {}}
    for lang, names in WORDS.items():
        pieces, rows, pos = [], [], 0
        for name in names:
            x, sr = sf.read(Path(root) / lang / f"{name}.ogg", dtype="float32", always_2d=True)
            x = soxr.resample(x.mean(axis=1), sr, SR)
            s, e = extent(x)
            a, b = max(0, s - MARGIN), min(len(x), e + MARGIN)
            pieces.append(x[a:b])
            rows.append({"name": name, "clip": [pos, pos + b - a], "speech": [pos + s - a, pos + e - a]})
            pos += b - a
        sf.write(Path(__file__).with_name(f"speech_words_{lang}.ogg"), np.concatenate(pieces), SR,
                 format="OGG", subtype="VORBIS")
        meta["words"][lang] = rows
    Path(__file__).with_name("speech_words.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
