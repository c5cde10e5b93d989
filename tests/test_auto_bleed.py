"""Quiet speech is speech: a talker who drops 10 dB mid-sentence keeps the music ducked and gets a ride,
while the other talker's bleed on their microphone is still told apart (by comparing the mics).

Real speech (examples/podcast/media, ground truth in examples/podcast/conversation.json), on two mics
that hear each other at -20 dB, 3 ms late; the host drops 10 dB from 34.0 s of conversation time
("... Cryonic Solutions! | Future Ballistics ...") to the end of that turn.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyebur128
import pytest
import soundfile as sf

from mixdown.media.write import read_audio

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast"
SR = 48000
OFFSET = 6.0
DROP = (34.0, 39.32)  # conversation time: the host's turn from here to its end is 10 dB down
LOUD = (29.35, 33.9)  # the same turn before the drop (its speech starts at 29.35)


def run(*args):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def lufs(x: np.ndarray) -> float:
    """BS.1770 integrated loudness by libebur128 (x: frames, channels)."""
    st = pyebur128.R128State(x.shape[1], SR, pyebur128.MeasurementMode.MODE_I)
    st.add_frames(np.ascontiguousarray(x, dtype=np.float64).reshape(-1), x.shape[0])
    return pyebur128.get_loudness_global(st)


def at(t: float) -> int:
    """Sample of conversation time ``t`` on the programme."""
    return round((t + OFFSET) * SR)


def truth():
    conv = json.loads((POD / "conversation.json").read_text())
    return [(u["speaker"], at(u["speech"][0]), at(u["speech"][1])) for u in conv["utterances"]], conv["long_pause"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quiet")
    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "media" / "guest.flac", sample_rate=SR)
    n = min(host.shape[1], guest.shape[1])
    host, guest = host[0, :n].astype(np.float64), guest[0, :n].astype(np.float64)
    a, b = round(DROP[0] * SR), round(DROP[1] * SR)
    g = np.ones(n)
    g[a:b] = 10 ** (-10 / 20)
    g[a:a + SR // 20] = np.linspace(1.0, 10 ** (-10 / 20), SR // 20)
    host = host * g
    d = round(0.003 * SR)
    late = lambda x: np.concatenate([np.zeros(d), x[:-d]])  # noqa: E731
    noise = np.random.default_rng(3).standard_normal((2, n)) * 10 ** (-70 / 20)
    sf.write(tmp / "host_mic.wav", (host + 0.1 * late(guest) + noise[0]).astype(np.float32), SR, subtype="FLOAT")
    sf.write(tmp / "guest_mic.wav", (guest + 0.1 * late(host) + noise[1]).astype(np.float32), SR, subtype="FLOAT")
    length = n / SR + OFFSET
    (tmp / "raw.yaml").write_text(f"""\
mixdown: 2
tracks:
  - {{name: Host, role: dialogue, clips: [{{source: host_mic.wav, start: {OFFSET}}}]}}
  - {{name: Guest, role: dialogue, clips: [{{source: guest_mic.wav, start: {OFFSET}}}]}}
  - name: Music
    role: music
    clips:
      - {{source: {POD / 'media' / 'music.ogg'}, start: 0, duration: 58}}
      - {{source: {POD / 'media' / 'music.ogg'}, start: 58, duration: {length - 58:.3f}}}
""")
    r = run("auto", tmp / "raw.yaml", "--target", "podcast", "-o", tmp / "mix.wav", "--stems", tmp / "stems",
            "--stems-format", "wav32f", "--json")
    assert r.returncode == 0, r.stderr
    music, _ = read_audio(POD / "media" / "music.ogg", sample_rate=SR)
    src = np.zeros((2, round(length * SR)), np.float32)
    src[:, : 58 * SR] = music[:, : 58 * SR]
    src[:, 58 * SR:] = music[:, : src.shape[1] - 58 * SR]
    return tmp, json.loads(r.stdout), src


def music_gain_db(tmp: Path, src: np.ndarray, a: int, b: int) -> float:
    """The gain on the music over [a, b): its stem against its source."""
    mus, _ = sf.read(tmp / "stems" / "music.wav", always_2d=True)
    return 10 * np.log10(np.mean(mus[a:b] ** 2) / np.mean(src[:, a:b].T ** 2))


def test_the_music_stays_ducked_through_the_quiet_part(scenario):
    tmp, _, src = scenario
    loud = music_gain_db(tmp, src, at(LOUD[0]), at(LOUD[1]))
    quiet = music_gain_db(tmp, src, at(DROP[0] + 0.5), at(39.16))
    assert abs(quiet - loud) <= 1.0, (loud, quiet)
    # and ducking is real: in the long pause after the turn the music comes back up
    _, pause = truth()
    up = music_gain_db(tmp, src, at(pause[0] + 1.2), at(pause[1] - 0.4))
    assert up - loud >= 6.0, (loud, up)


def test_a_ride_lifts_the_quiet_part(scenario):
    tmp, summary, _ = scenario
    dlg, _ = sf.read(tmp / "stems" / "dialogue.wav", always_2d=True)
    before = lufs(dlg[at(LOUD[0]): at(LOUD[1])])
    after = lufs(dlg[at(DROP[0] + 0.3): at(39.16)])
    assert before - after <= 4.0, (before, after)  # 10 dB down at the microphone
    rides = [d for d in summary["decisions"] if d["kind"] == "leveling" and d["target"] == "Host"
             and d["action"].startswith("ride +") and d["start_s"] <= DROP[0] + OFFSET + 1.0 <= d["end_s"]]
    assert rides and rides[0]["value_db"] >= 5.0


def test_the_other_talkers_bleed_is_not_taken_for_speech(scenario):
    _, summary, _ = scenario
    utts, _ = truth()
    speech = {d["target"]: d["data"]["regions_s"] for d in summary["decisions"] if d["kind"] == "speech"}
    for who, track in (("host", "Guest"), ("guest", "Host")):
        theirs = [(a / SR, b / SR) for w, a, b in utts if w == who]
        overlap = sum(max(0.0, min(b, y) - max(a, x)) for a, b in speech[track] for x, y in theirs)
        assert overlap < 0.5, (track, overlap)
    # while the host's own words, the quiet ones too, are the host's: all that the detector finds on the
    # host's clean recording (no drop, no bleed)
    from mixdown.analysis.vad import speech_regions

    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    clean = [
        ((a + OFFSET * SR) / SR, (b + OFFSET * SR) / SR) for a, b in speech_regions(host, SR, min_relative_db=None)
    ]

    def covered(regions, lo, hi):
        return sum(max(0.0, min(b, y, hi) - max(a, x, lo)) for a, b in regions for x, y in clean)

    lo, hi = DROP[0] + OFFSET, DROP[1] + OFFSET
    assert covered(speech["Host"], lo, hi) >= 0.95 * covered([(lo, hi)], lo, hi) > 3.0
    assert covered(speech["Host"], 0, 1e9) >= 0.95 * covered([(0, 1e9)], 0, 1e9)


def test_duck_sensitivity_is_checked(tmp_path):
    r = run("auto", "--music", POD / "media" / "music.ogg", "--target", "podcast", "-o", tmp_path / "x.wav",
            "--duck-sensitivity", "3")
    assert r.returncode == 2 and "--duck-sensitivity" in r.stderr and "between 6 and 60 dB" in r.stderr
    assert not (tmp_path / "x.wav").exists()


def test_double_talk_keeps_the_quieter_voice():
    # the guest talks at full level while the host answers 10 dB quieter, both mics hearing each other at
    # -20 dB: the host's words are the host's (their level curve does not follow the guest's), the
    # guest's bleed in the host's pauses is bleed
    from mixdown.analysis.vad import speech_activity
    from mixdown.auto.bleed import BleedParams, FrameLevels, bleed_mask

    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "media" / "guest.flac", sample_rate=SR)
    g = np.zeros(20 * SR)
    h = np.zeros(20 * SR)
    g[:] = guest[0, round(45.8 * SR): round(65.8 * SR)]
    h[10 * SR:] = 10 ** (-10 / 20) * host[0, round(29.2 * SR): round(39.2 * SR)]
    noise = np.random.default_rng(1).standard_normal((2, h.size)) * 1e-4
    levels = [speech_activity((x + 0.1 * np.roll(y, 144) + z).astype(np.float32), SR).level_db.astype(float)
              for x, y, z in ((h, g, noise[0]), (g, h, noise[1]))]
    own = speech_activity(h.astype(np.float32), SR).level_db
    bleed = speech_activity((0.1 * np.roll(g, 144)).astype(np.float32), SR).level_db
    hop = 1536
    mask, att = bleed_mask(FrameLevels(levels[0], hop), [FrameLevels(levels[1], hop)], BleedParams(), SR)
    assert att[0] == pytest.approx(20.0, abs=1.0)
    words = own > bleed + 6.0  # frames where the host's own voice dominates the host's mic
    words[: 10 * SR // hop] = False
    guest_only = (bleed > own + 6.0) & (bleed > -60)
    assert words.sum() > 50 and guest_only.sum() > 50
    assert mask[words].mean() < 0.1
    assert mask[guest_only].mean() > 0.9
