"""Reference matching of the dialogue's tone (issue 16): the output's long-term speech spectrum moves
toward a reference with a different tonal balance. Judged independently of mixdown's own analysis:
scipy's Welch spectra over the ground-truth speech of the real host recording
(examples/podcast/conversation.json), summed into 1/3-octave bands 100 Hz-10 kHz, level-normalised,
on the rendered output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.auto.reference import MatchParams, match_reference
from mixdown.dsp.eq import rbj_biquad
from mixdown.media.write import read_audio
from mixdown.render.engine import render_array
from mixdown.session.io import load_session

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast"
SR = 48000
CENTRES = 1000 * 2.0 ** (np.arange(-10, 11) / 3)


def speech() -> list[tuple[int, int]]:
    conv = json.loads((POD / "conversation.json").read_text())
    return [(round(u["speech"][0] * SR), round(u["speech"][1] * SR)) for u in conv["utterances"]
            if u["speaker"] == "host"]


def bands(x: np.ndarray) -> np.ndarray:
    """Level-normalised 1/3-octave levels of ``x`` over the host's speech (Welch, 8192-point)."""
    from scipy.signal import welch

    total, f = None, None
    for a, b in speech():
        if b - a > 8192:
            f, p = welch(x[a:b], fs=SR, nperseg=8192)
            total = p * (b - a) if total is None else total + p * (b - a)
    lv = np.array([10 * np.log10(total[(f >= c * 2 ** (-1 / 6)) & (f < c * 2 ** (1 / 6))].sum()) for c in CENTRES])
    return lv - lv.mean()


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    from scipy.signal import sosfilt

    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    # a reference of another tonal balance: brighter, thinner, with a honky 800 Hz
    tilt = np.stack([rbj_biquad("high_shelf", SR, 3000, 6.0, 0.7071), rbj_biquad("low_shelf", SR, 250, -5.0, 0.7071),
                     rbj_biquad("bell", SR, 800, 4.0, 1.0)])
    ref = sosfilt(tilt, host[0])
    sf.write(tmp / "ref.wav", ref.astype(np.float32), SR, subtype="FLOAT")
    (tmp / "s.yaml").write_text(f"mixdown: 2\ntracks:\n  - {{name: host, role: dialogue, clips: "
                                f"[{{source: {POD / 'media' / 'host.flac'}}}]}}\n")
    return tmp, host[0], ref


@pytest.mark.parametrize("amount, most", [(1.0, 0.5), (0.5, 0.75)])
def test_matching_moves_the_speech_spectrum_toward_the_reference(material, amount, most):
    tmp, host, ref = material
    s = load_session(tmp / "s.yaml")
    decisions = match_reference(s, speech(), MatchParams(reference=tmp / "ref.wav", amount=amount))
    out = render_array(s)[0]
    before = np.sqrt(np.mean((bands(host) - bands(ref)) ** 2))
    after = np.sqrt(np.mean((bands(out) - bands(ref)) ** 2))
    assert before > 2.0
    assert after <= most * before, (before, after)
    # written as ordinary EQ on auto's layer, no gain stage of its own
    chain = s.tracks[0].chain
    assert [p.id for p in chain] == ["auto-match-1", "auto-match-2"] and {p.type for p in chain} == {"eq"}
    assert decisions[0].kind == "match"


def test_the_correction_is_clamped(material):
    tmp, host, _ = material
    from scipy.signal import sosfilt

    far = sosfilt(rbj_biquad("high_shelf", SR, 2000, 24.0, 0.7071)[None, :], host)
    sf.write(tmp / "far.wav", (0.1 * far / np.abs(far).max()).astype(np.float32), SR, subtype="FLOAT")
    s = load_session(tmp / "s.yaml")
    d = match_reference(s, speech(), MatchParams(reference=tmp / "far.wav", max_db=9.0))[0]
    assert max(abs(x) for x in d.data["correction_db"]) <= 9.0 + 1e-9
    # the EQ's own response, measured on white noise through the rendered chain, stays inside the clamp (+ ripple)
    noise = np.random.default_rng(5).standard_normal(SR * 8).astype(np.float32) * 0.05
    sf.write(tmp / "noise.wav", noise, SR, subtype="FLOAT")
    s.tracks[0].clips[0].source = str(tmp / "noise.wav")
    y = render_array(s)[0] * np.sqrt(2)   # the centre pan's -3 dB per channel
    from scipy.signal import welch

    f, pi = welch(noise, fs=SR, nperseg=8192)
    _, po = welch(y[: noise.size], fs=SR, nperseg=8192)
    band = (f >= 100) & (f <= 10000)
    gain = 10 * np.log10(po[band] / pi[band])
    assert gain.max() <= 10.5 and gain.min() >= -10.5


def test_auto_with_a_reference_writes_the_match_on_its_layer_and_is_idempotent(material):
    from mixdown.auto.assist import AssistParams
    from mixdown.auto.run import AutoOptions
    from mixdown.pipeline.autojob import analyse_and_decide
    from mixdown.targets import get_target

    tmp, _, _ = material
    opts = AutoOptions(target=get_target("podcast"), vad_method="energy",
                       assist=AssistParams(reference=MatchParams(reference=tmp / "ref.wav")))
    s1, d1, _ = analyse_and_decide(load_session(tmp / "s.yaml"), opts)
    s2, d2, _ = analyse_and_decide(s1, opts)
    ids = [p.id for p in s1.tracks[0].chain]
    assert "auto-match-1" in ids and ids.count("auto-match-1") == 1
    assert [p.model_dump() for p in s1.tracks[0].chain] == [p.model_dump() for p in s2.tracks[0].chain]
    assert [(d.kind, d.action) for d in d1] == [(d.kind, d.action) for d in d2]
    assert any(d.kind == "match" for d in d1)
    # the speaker trim measured the matched dialogue: it still ends at the dialogue level
    bal = next(d for d in d1 if d.kind == "balance" and d.target == "host")
    assert bal.data["heard_lufs"] == pytest.approx(opts.leveling.reference_lufs, abs=0.1)
