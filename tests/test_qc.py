"""QC checks against signals whose faults are put there on purpose (and known exactly)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mixdown.analysis.levels import LevelMeter
from mixdown.analysis.qc import QCLimits, QCMeter, dialogue_to_music
from mixdown.media import read_audio

FS = 48000
DATA = Path(__file__).parent / "data"
# the faulty signal is 8 s long: silences from 2 s count
SHORT = QCLimits(silence_s=2.0)


def _feed(x: np.ndarray, schedule: list[int], **kw) -> QCMeter:
    m = QCMeter(FS, x.shape[0], **kw)
    pos, i = 0, 0
    while pos < x.shape[1]:
        b = schedule[i % len(schedule)]
        m.process(x[:, pos : pos + b])
        pos += b
        i += 1
    return m


def _faulty() -> np.ndarray:
    rng = np.random.default_rng(0)
    n = 8 * FS
    x = 0.05 * rng.standard_normal((2, n))
    x[1] = 0.6 * x[0] + 0.8 * 0.05 * rng.standard_normal(n)  # correlation 0.6
    x[0, 1 * FS : 1 * FS + 5] = 1.0  # a flat top of 5 samples on the left
    x[1, 1 * FS + 2 : 1 * FS + 4] = -1.0  # 2 samples on the right: not a clip event
    x[:, 3 * FS : 3 * FS + 480] = 0.0  # a 10 ms dropout in the middle of sound
    x[:, 5 * FS : 8 * FS] = 0.0  # 3 s of silence at the end
    x[0, int(3.5 * FS) : 5 * FS] += 0.02  # DC on the left for 1.5 s: mean 0.02 * 1.5/8 = 0.00375 (-48.5 dBFS)
    return x.astype(np.float32)


def test_faults_are_found_and_block_splits_agree():
    x = _faulty()
    ref = _feed(x, [x.shape[1]], limits=SHORT).result(pauses=[(int(0.2 * FS), int(0.9 * FS))])
    assert ref.clip_event_count == 1 and ref.clip_events == [1.0]
    assert ref.clipped_samples == 5  # the samples of the clip event; the 2-sample peak is not a clip
    assert ref.sample_peak_dbfs == pytest.approx(0.0, abs=1e-6)
    assert ref.true_peak_dbtp is not None and ref.true_peak_dbtp > 0.0
    assert ref.dc_offset_db[0] == pytest.approx(20 * math.log10(0.00375), abs=0.5)
    assert ref.dc_offset_db[1] < -60
    assert ref.correlation == pytest.approx(0.6, abs=0.05)
    assert ref.dropouts == [(3.0, 3.01)]
    assert len(ref.silences) == 1 and ref.silences[0][0] == pytest.approx(5.0, abs=0.1)
    assert ref.silences[0][1] == pytest.approx(8.0, abs=0.01)
    assert ref.noise_floor_db == pytest.approx(10 * math.log10(0.05**2), abs=1.0)
    kinds = " ".join(ref.problems)
    for word in ("clipping", "true peak", "DC offset", "dropout", "silence", "noise floor"):
        assert word in kinds, word
    for sched in ([1, 7, 480], [4096], [10000, 3, 1]):
        assert _feed(x, sched, limits=SHORT).result(pauses=[(int(0.2 * FS), int(0.9 * FS))]).to_json() == ref.to_json()


def test_clip_runs_across_block_edges_count_once():
    x = np.zeros((1, 1000), dtype=np.float32)
    x[0, 100:110] = 1.0
    x[0, 500:502] = -1.0
    for sched in ([103, 897], [1], [105, 1, 1, 893]):
        r = _feed(x, sched).result()
        assert r.clip_event_count == 1 and r.clip_events == [100 / FS] and r.clipped_samples == 10


def test_phase_and_mono_compatibility():
    rng = np.random.default_rng(1)
    s = 0.1 * rng.standard_normal(2 * FS)
    same = np.stack([s, s]).astype(np.float32)
    inverted = np.stack([s, -s]).astype(np.float32)
    unrelated = np.stack([s, 0.1 * rng.standard_normal(2 * FS)]).astype(np.float32)
    r = _feed(same, [4096]).result()
    assert r.correlation == pytest.approx(1.0, abs=1e-6) and r.mono_loss_db == pytest.approx(0.0, abs=1e-6)
    r = _feed(unrelated, [4096]).result()
    assert abs(r.correlation) < 0.05 and r.mono_loss_db == pytest.approx(-3.01, abs=0.2)
    r = _feed(inverted, [4096]).result()
    assert r.correlation == pytest.approx(-1.0, abs=1e-6) and r.min_correlation_400ms == pytest.approx(-1.0, abs=1e-6)
    assert r.mono_loss_db < -100
    assert any("phase" in p for p in r.problems) and any("mono" in p for p in r.problems)
    # mono has neither
    m = _feed(same[:1], [4096]).result()
    assert m.correlation is None and m.mono_loss_db is None


def test_clean_programme_has_no_problems():
    x, fs = read_audio(DATA / "speech_host_16k.flac", sample_rate=FS)
    m = QCMeter(FS, 1)
    m.process(x)
    r = m.result()
    assert r.problems == [] and r.dropouts == [] and r.clip_event_count == 0


def test_silences_of_a_track_are_reported_but_not_a_problem():
    x = np.zeros((1, 4 * FS), dtype=np.float32)
    x[0, :FS] = 0.1 * np.random.default_rng(2).standard_normal(FS)
    r = _feed(x, [FS], limits=SHORT).result(silence_is_problem=False)
    assert r.silences and not r.problems
    assert _feed(x, [FS], limits=SHORT).result().problems


def test_dialogue_to_music_ratio():
    """Dialogue and music with known levels: the ratio during speech is their level difference."""
    sp, fs = read_audio(DATA / "speech_host_16k.flac")
    mu, _ = read_audio(DATA / "music_16k.flac")
    speech = [(4320, 23360), (28480, 50080), (52800, 73280)]

    def series(x: np.ndarray, gain_db: float):
        lm = LevelMeter(fs, 1)
        lm.process((x * 10 ** (gain_db / 20)).astype(np.float32))
        return lm.series()

    d = series(sp, 0.0)
    for music_gain in (-10.0, -20.0):
        m = series(mu[:, : sp.shape[1]], music_gain)
        base = dialogue_to_music(d, series(mu[:, : sp.shape[1]], 0.0), speech)
        assert dialogue_to_music(d, m, speech) == pytest.approx(base - music_gain, abs=1e-6)
    assert dialogue_to_music(d, series(np.zeros_like(sp), 0.0), speech) is None


def test_limits_are_configurable():
    x = _faulty()
    lax = QCLimits(dc_db=-20.0, silence_s=5.0, dropout_ms=20.0, noise_floor_db=0.0, true_peak_dbtp=3.0, clip_run=10)
    r = _feed(x, [4096], limits=lax).result(pauses=[(int(0.2 * FS), int(0.9 * FS))])
    assert r.problems == []
