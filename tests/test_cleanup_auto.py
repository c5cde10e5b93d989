"""``auto`` cleanup planning on real speech: the problem found, the processor written, the result rendered.

Each session holds one real recording (examples/podcast/media/host.flac, 20 s)
with one known problem added; the tests check the decision, the parameters
written into the session, and what the rendered session sounds like against
the clean recording.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mixdown.dsp.cleanup  # noqa: F401  (registers the cleanup processors)
from mixdown.analysis.spectrum import THIRD_OCTAVE_HZ, band_levels, welch_psd
from mixdown.auto.analyse import analyse
from mixdown.auto.build import session_from_files
from mixdown.auto.cleanup import CleanupParams, pauses_for, plan_cleanup
from mixdown.media import read_audio, write_audio
from mixdown.render.engine import render_array
from mixdown.session.model import ProcessorSpec

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def clean() -> tuple[np.ndarray, int]:
    x, fs = read_audio(ROOT / "examples/podcast/media/host.flac")
    return x[0, 13 * fs : 33 * fs].astype(np.float64), fs


def _truth(x: np.ndarray, fs: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Speech and pauses from the clean signal's 10 ms levels (not from the code under test)."""
    from scipy.ndimage import binary_dilation

    hop = fs // 100
    n = x.shape[0] // hop
    lv = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    act = lv > lv.max() - 35

    def runs(m: np.ndarray) -> list[tuple[int, int]]:
        e = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
        return [(int(a) * hop, int(b) * hop)
            for a, b in zip(np.flatnonzero(e == 1), np.flatnonzero(e == -1), strict=True)]

    return runs(act), runs(~binary_dilation(act, iterations=10))


def _rms_db(x: np.ndarray, regions: list[tuple[int, int]]) -> float:
    v = np.concatenate([x[a:b] for a, b in regions])
    return float(10 * np.log10(np.mean(v**2)))


def _session(tmp_path: Path, name: str, y: np.ndarray, fs: int):
    path = tmp_path / f"{name}.flac"
    write_audio(path, y.astype(np.float32)[None], fs)
    s = session_from_files(dialogue=[str(path)], sample_rate=fs, layout="mono")
    return s, analyse(s, cache_dir=tmp_path / "vad")


def _plan(tmp_path: Path, name: str, y: np.ndarray, fs: int, params: CleanupParams = CleanupParams()):
    s, a = _session(tmp_path, name, y, fs)
    decisions = plan_cleanup(s, a, params)
    return s, a, decisions


def _kinds(s) -> list[str]:
    return [p.type for p in s.tracks[0].chain]


def test_clean_speech_gets_no_cleanup(tmp_path, clean):
    x, fs = clean
    s, _, decisions = _plan(tmp_path, "clean", x, fs)
    assert _kinds(s) == []
    assert [d.action for d in decisions] == ["no noise reduction"]
    assert decisions[0].data["snr_db"] > CleanupParams().noise_snr_db


def test_noisy_speech_gets_a_measured_profile_and_is_cleaned_when_rendered(tmp_path, clean):
    """Done-when through the whole path: analysis -> session parameters -> render."""
    x, fs = clean
    noise = 10 ** (-40 / 20) * np.random.default_rng(5).standard_normal(x.shape[0])
    y = x + noise
    s, a, decisions = _plan(tmp_path, "noisy", y, fs)
    assert _kinds(s) == ["denoise"]
    spec = s.tracks[0].chain[0]
    assert spec.id == "auto-denoise"
    d = next(d for d in decisions if d.action.startswith("denoise"))
    assert "noise floor" in d.reason and d.value_db == -spec.params["amount_db"]
    assert abs(d.data["noise_floor_db"] - (-40.0)) < 1.5  # the noise's own level, measured in the pauses
    # the profile written into the session is the added noise's spectrum (white: +1 dB per third octave)
    f, psd, _ = welch_psd(noise, fs)
    truth = band_levels(f, psd)
    written = np.array([spec.params[f"noise_{n}_db"] for n in
                        ("200", "500", "1k", "2k", "4k", "8k", "16k")])
    idx = [list(THIRD_OCTAVE_HZ).index(min(THIRD_OCTAVE_HZ, key=lambda c: abs(c - v)))
           for v in (200, 500, 1000, 2000, 4000, 8000, 16000)]
    assert np.max(np.abs(written - truth[idx])) < 1.5
    # render it: the noise floor in the pauses drops, the speech stays where it was
    speech, pauses = _truth(x, fs)
    raw = s.copy_session()
    raw.tracks[0].chain = []
    before = render_array(raw)[0].astype(np.float64)
    after = render_array(s)[0].astype(np.float64)
    assert _rms_db(before, pauses) - _rms_db(after, pauses) >= 15.0
    assert abs(_rms_db(after, speech) - _rms_db(before, speech)) < 1.0
    # the graph compensated the processor's latency: the output lines up with the clean speech
    lag = np.argmax(np.correlate(after[fs : 3 * fs], x[fs + 100 : 3 * fs - 100], mode="valid")) - 100
    assert lag == 0


def test_hum_gets_dehum_at_the_measured_frequency_and_no_denoise(tmp_path, clean):
    x, fs = clean
    t = np.arange(x.shape[0]) / fs
    hum = sum(10 ** ((-50 - 2 * (k - 1)) / 20) * np.sqrt(2) * np.sin(2 * np.pi * k * 50.07 * t + k)
              for k in range(1, 8))
    s, _, decisions = _plan(tmp_path, "hum", x + hum, fs)
    assert _kinds(s) == ["dehum"]  # hum is dehum's job: the floor behind it needs no denoise
    spec = s.tracks[0].chain[0]
    assert abs(spec.params["freq_hz"] - 50.07) < 0.01
    assert spec.params["harmonics"] >= 7
    d = next(d for d in decisions if d.action.startswith("dehum"))
    assert d.data["hum"]["mains_hz"] == 50


def test_clicks_get_declick(tmp_path, clean):
    x, fs = clean
    rng = np.random.default_rng(0)
    y = x.copy()
    for p in rng.choice(np.arange(fs, x.shape[0] - fs), 40, replace=False):
        y[p : p + 3] += rng.choice([-1, 1]) * 0.4
    s, _, decisions = _plan(tmp_path, "clicks", y, fs)
    assert _kinds(s) == ["declick"]
    d = next(d for d in decisions if d.action.startswith("declick"))
    assert d.data["clicks"] >= 36


def test_bright_sibilance_gets_a_deesser(tmp_path, clean):
    import scipy.signal as sig

    from mixdown.dsp.eq import rbj_biquad

    x, fs = clean
    bright = sig.sosfilt(rbj_biquad("high_shelf", fs, 4000, 10.0, 0.707)[None], x) * 0.7
    s, _, decisions = _plan(tmp_path, "bright", bright, fs)
    assert _kinds(s) == ["deesser"]
    spec = s.tracks[0].chain[0]
    assert spec.params["freq_hz"] < fs / 2
    d = next(d for d in decisions if d.action.startswith("de-esser"))
    assert d.data["sibilance_excess_db"] > -3.0


def test_hand_built_chains_are_respected_and_replanning_is_idempotent(tmp_path, clean):
    x, fs = clean
    y = x + 10 ** (-40 / 20) * np.random.default_rng(6).standard_normal(x.shape[0])
    s, a = _session(tmp_path, "noisy2", y, fs)
    s.tracks[0].chain = [ProcessorSpec(type="highpass", freq_hz=80.0)]
    first = plan_cleanup(s, a)
    chain1 = [p.model_dump() for p in s.tracks[0].chain]
    assert [p["type"] for p in chain1] == ["denoise", "highpass"]
    plan_cleanup(s, a)
    assert [p.model_dump() for p in s.tracks[0].chain] == chain1
    # a person's own denoise is left alone
    s.tracks[0].chain = [ProcessorSpec(type="denoise", amount_db=6.0)]
    again = plan_cleanup(s, a)
    assert [p.type for p in s.tracks[0].chain] == ["denoise"] and s.tracks[0].chain[0].id is None
    assert any(d.action == "denoise left as it is" for d in again)
    assert any(d.action.startswith("denoise -") for d in first)


def test_expander_when_asked_and_the_reduction_is_capped(tmp_path, clean):
    x, fs = clean
    y = x + 10 ** (-34 / 20) * np.random.default_rng(7).standard_normal(x.shape[0])
    s, _, decisions = _plan(tmp_path, "loud", y, fs, CleanupParams(expander=True, max_amount_db=12.0))
    assert _kinds(s) == ["denoise", "gate"]
    gate = s.tracks[0].chain[1]
    assert gate.id == "auto-expander" and gate.params["ratio"] == 2.0 and 0 < gate.params["range_db"] <= 12


def test_pauses_leave_out_speech_and_clip_edges():
    clips = [(0, 10000), (20000, 30000)]
    speech = [(2000, 4000), (25000, 26000)]
    p = pauses_for(clips, speech, 100, min_length=500)
    assert p == [(100, 1900), (4100, 9900), (20100, 24900), (26100, 29900)]
