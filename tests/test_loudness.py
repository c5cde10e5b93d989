"""The loudness meter against BS.1770's own numbers, oracle meters, and streaming.

Oracles: pyebur128 (libebur128 1.2.6) and pyloudnorm with its "DeMan" filter,
which is BS.1770's filter re-derived per rate. (pyloudnorm's default
"K-weighting" filter is a different fit that reads about 0.04 LU high on
bright material, so it is not used as truth here.)
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import signal as sg

from mixdown.analysis.gating import LOUDNESS_OFFSET, loudness_range
from mixdown.analysis.kweighting import highpass_gain
from mixdown.analysis.loudness import LoudnessMeter, LoudnessResult, k_weighting_sos, measure_array
from mixdown.errors import AnalysisError, MediaError

pyebur128 = pytest.importorskip("pyebur128")
pyln = pytest.importorskip("pyloudnorm")

FS = 48000

# BS.1770-4 Annex 1, Tables 1 and 2 (48 kHz).
TABLE_STAGE1 = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585]
TABLE_STAGE2 = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]


def sine(level_dbfs: float, seconds: float, freq: float = 1000.0, fs: int = FS) -> np.ndarray:
    t = np.arange(round(seconds * fs)) / fs
    return 10.0 ** (level_dbfs / 20.0) * np.sin(2.0 * np.pi * freq * t)


def music_like(channels: int, fs: int, seconds: float, seed: int) -> np.ndarray:
    """Band-limited noise under a random-walk envelope that moves every 100 ms."""
    rng = np.random.default_rng(seed)
    n = int(fs * seconds)
    b, a = sg.butter(2, [80 / (fs / 2), 8000 / (fs / 2)], "band")
    x = sg.lfilter(b, a, rng.standard_normal((channels, n)), axis=1)
    hop = fs // 10
    env = np.exp(np.cumsum(rng.standard_normal(n // hop + 1)) * 0.15)
    env = np.repeat(env, hop)[:n]
    return (0.3 * x * env / env.max()).astype(np.float32)


def ebur128(x: np.ndarray, fs: int, channel_types: list[int] | None = None):
    """Integrated, LRA, true peak and sample peak (dB) from libebur128."""
    mode = pyebur128.MeasurementMode
    state = pyebur128.R128State(
        x.shape[0], fs, mode.MODE_I | mode.MODE_LRA | mode.MODE_TRUE_PEAK | mode.MODE_SAMPLE_PEAK
    )
    for i, t in enumerate(channel_types or []):
        state.set_channel(i, t)
    state.add_frames(np.ascontiguousarray(x.T, dtype=np.float64).reshape(-1), x.shape[1])
    chans = range(x.shape[0])
    return (
        pyebur128.get_loudness_global(state),
        pyebur128.get_loudness_range(state),
        20 * math.log10(max(pyebur128.get_true_peak(state, c) for c in chans)),
        20 * math.log10(max(pyebur128.get_sample_peak(state, c) for c in chans)),
    )


# -- K-weighting ------------------------------------------------------------------------


def test_k_weighting_reproduces_bs1770_table_at_48k() -> None:
    sos = k_weighting_sos(48000)
    np.testing.assert_allclose(sos[0], TABLE_STAGE1, rtol=0, atol=1e-13)
    np.testing.assert_allclose(sos[1], TABLE_STAGE2, rtol=0, atol=1e-13)


@pytest.mark.parametrize("fs", [32000, 44100, 88200, 96000, 192000])
def test_k_weighting_response_same_at_other_rates(fs: int) -> None:
    # Re-derived filters keep the 48 kHz response over the audio band; what is
    # left is bilinear warping of the shelf, a hundredth of a dB at most.
    freqs = np.geomspace(20.0, min(15000.0, fs / 2.2), 200)

    def response_db(rate: int) -> np.ndarray:
        _, h = sg.sosfreqz(k_weighting_sos(rate), worN=freqs, fs=rate)
        return 20 * np.log10(np.abs(h))

    assert np.max(np.abs(response_db(fs) - response_db(48000))) < 0.011


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
@pytest.mark.parametrize("channel", [0, 1])
def test_997_hz_full_scale_reads_minus_3_01(fs: int, channel: int) -> None:
    # BS.1770 Annex 1: a 0 dBFS 997 Hz sine in one front channel reads -3.01 LKFS.
    x = np.zeros((2, 10 * fs), dtype=np.float32)
    x[channel] = sine(0.0, 10.0, 997.0, fs)
    r = measure_array(x, fs)
    assert r.integrated_lufs == pytest.approx(-3.01, abs=0.01)
    assert r.momentary_max_lufs == pytest.approx(-3.01, abs=0.01)


# -- channel layouts ----------------------------------------------------------------------


def test_mono_and_stereo_weights() -> None:
    tone = sine(-23.0, 5.0).astype(np.float32)
    mono = measure_array(tone, FS).integrated_lufs
    both = measure_array(np.vstack([tone, tone]), FS).integrated_lufs
    assert both == pytest.approx(-23.0, abs=0.02)
    assert mono == pytest.approx(both - 10 * math.log10(2), abs=1e-9)


def test_5_1_excludes_lfe_and_weights_surrounds() -> None:
    tone = sine(-20.0, 5.0).astype(np.float32)

    def only(channel: int) -> float:
        x = np.zeros((6, tone.size), dtype=np.float32)
        x[channel] = tone
        return measure_array(x, FS, layout="5.1").integrated_lufs

    left = only(0)
    assert only(1) == pytest.approx(left, abs=1e-9)
    assert only(2) == pytest.approx(left, abs=1e-9)
    assert only(3) is None  # LFE alone: nothing counts, so no loudness
    assert only(4) == pytest.approx(left + 10 * math.log10(1.41), abs=1e-9)  # +1.49 dB
    assert only(5) == pytest.approx(left + 10 * math.log10(1.41), abs=1e-9)
    # A loud LFE does not change the loudness, but it does count for the peaks.
    x = np.zeros((6, tone.size), dtype=np.float32)
    x[0] = tone
    x[3] = 4 * tone
    r = measure_array(x, FS, layout="5.1")
    assert r.integrated_lufs == pytest.approx(left, abs=1e-9)
    assert r.sample_peak_dbfs == pytest.approx(-20.0 + 20 * math.log10(4), abs=1e-3)


def test_default_layouts_and_layout_errors() -> None:
    assert LoudnessMeter(FS, 1).layout == "mono"
    assert LoudnessMeter(FS, 2).layout == "stereo"
    assert LoudnessMeter(FS, 5).layout == "5.0"
    assert LoudnessMeter(FS, 6).layout == "5.1"
    with pytest.raises(MediaError, match="4 channels has no default layout"):
        LoudnessMeter(FS, 4)
    with pytest.raises(MediaError, match="layout 'stereo' has 2 channels but the audio has 6"):
        LoudnessMeter(FS, 6, layout="stereo")
    with pytest.raises(MediaError, match="unknown channel layout 'quad'"):
        LoudnessMeter(FS, 4, layout="quad")
    with pytest.raises(MediaError, match="sample rate 4000 Hz"):
        LoudnessMeter(4000, 2)


def test_bad_blocks() -> None:
    meter = LoudnessMeter(FS, 2)
    with pytest.raises(ValueError, match=r"expects shape \(2, frames\)"):
        meter.process(np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(ValueError, match="expects float samples"):
        meter.process(np.zeros((2, 100), dtype=np.int16))
    block = np.zeros((2, 1000), dtype=np.float32)
    meter.process(block)
    block[1, 700] = np.nan
    with pytest.raises(AnalysisError, match="NaN or infinite samples.*first at sample 1700"):
        meter.process(block)


# -- undefined values ---------------------------------------------------------------------


def test_300_ms_tone_has_no_integrated_loudness() -> None:
    r = measure_array(np.vstack([sine(-20.0, 0.3)] * 2).astype(np.float32), FS)
    assert r.integrated_lufs is None
    assert r.momentary_max_lufs is None
    assert r.short_term_max_lufs is None
    assert r.loudness_range_lu is None
    assert len(r.momentary_series) == 0
    # The peaks are defined all the same.
    assert r.sample_peak_dbfs == pytest.approx(-20.0, abs=0.01)
    assert r.true_peak_dbtp == pytest.approx(-20.0, abs=0.05)
    assert r.duration_s == pytest.approx(0.3)


def test_400_ms_tone_has_one_gating_block() -> None:
    r = measure_array(np.vstack([sine(-23.0, 0.4)] * 2).astype(np.float32), FS)
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert len(r.momentary_series) == 1
    assert r.short_term_max_lufs is None


def test_silence_is_undefined_everywhere() -> None:
    r = measure_array(np.zeros((2, 5 * FS), dtype=np.float32), FS)
    assert r.duration_s == 5.0
    for key, value in r.to_json().items():
        if key != "duration_s":
            assert value is None, key
    assert np.all(np.isneginf(r.short_term_series.lufs))
    empty = LoudnessMeter(FS, 2).result()
    assert empty.duration_s == 0.0
    assert all(v is None for k, v in empty.to_json().items() if k != "duration_s")


def test_below_absolute_gate_is_none_not_minus_70() -> None:
    r = measure_array(np.vstack([sine(-80.0, 5.0)] * 2).astype(np.float32), FS)
    assert r.integrated_lufs is None
    assert r.loudness_range_lu is None
    assert r.momentary_max_lufs == pytest.approx(-80.0, abs=0.1)  # measured, just gated out


def test_to_json_keys_and_serialisable() -> None:
    r = measure_array(np.vstack([sine(-23.0, 4.0)] * 2).astype(np.float32), FS)
    doc = r.to_json()
    assert set(doc) == {
        "duration_s",
        "integrated_lufs",
        "loudness_range_lu",
        "true_peak_dbtp",
        "sample_peak_dbfs",
        "momentary_max_lufs",
        "short_term_max_lufs",
    }
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc


def test_series_timing() -> None:
    r = measure_array(np.vstack([sine(-23.0, 4.05)] * 2).astype(np.float32), FS)
    m, s = r.momentary_series, r.short_term_series
    np.testing.assert_allclose(m.time_s, np.arange(0.4, 4.0501, 0.1), atol=1e-9)
    np.testing.assert_allclose(s.time_s, np.arange(3.0, 4.0501, 0.1), atol=1e-9)
    # One second holds 7 gating blocks, starting every 100 ms.
    start, lufs = _fed(np.vstack([sine(-23.0, 1.0)] * 2)).gating_blocks()
    np.testing.assert_array_equal(start, np.arange(7) * 4800)
    np.testing.assert_allclose(lufs, -23.0, atol=0.1)


def _fed(audio: np.ndarray, fs: int = FS, **kw) -> LoudnessMeter:
    meter = LoudnessMeter(fs, audio.shape[0], **kw)
    meter.process(audio.astype(np.float32))
    return meter


def test_result_does_not_end_the_stream() -> None:
    x = music_like(2, FS, 8.0, seed=3)
    meter = LoudnessMeter(FS, 2)
    meter.process(x[:, : 3 * FS])
    early = meter.result()
    meter.process(x[:, 3 * FS :])
    assert _same(meter.result(), measure_array(x, FS))
    assert early.duration_s == 3.0
    meter.reset()
    assert meter.result().duration_s == 0.0


# -- streaming ------------------------------------------------------------------------------


def _same(a: LoudnessResult, b: LoudnessResult) -> bool:
    return (
        a.to_json() == b.to_json()
        and np.array_equal(a.momentary_series.lufs, b.momentary_series.lufs)
        and np.array_equal(a.short_term_series.lufs, b.short_term_series.lufs)
        and np.array_equal(a.short_term_series.time_s, b.short_term_series.time_s)
    )


@pytest.mark.parametrize("block", [7, 441, 4800, 65536, "random"])
def test_blocks_of_any_size_give_the_one_pass_result(block) -> None:
    x = music_like(2, FS, 3.6, seed=11)
    x[:, FS : 2 * FS] *= 0.01  # a quiet stretch, so the gates and the peak pruning matter
    one_pass = _fed(x).result()
    meter = LoudnessMeter(FS, 2)
    if block == "random":
        rng = np.random.default_rng(0)
        cuts = np.cumsum(rng.integers(1, 3000, size=x.shape[1]))
        cuts = cuts[cuts < x.shape[1]]
        for piece in np.split(x, cuts, axis=1):
            meter.process(piece)
    else:
        for i in range(0, x.shape[1], block):
            meter.process(x[:, i : i + block])
    assert _same(meter.result(), one_pass)
    assert one_pass.loudness_range_lu is not None and one_pass.integrated_lufs is not None


def test_sample_by_sample_gives_the_one_pass_result() -> None:
    x = music_like(2, 44100, 0.45, seed=5)
    meter = LoudnessMeter(44100, 2)
    for i in range(x.shape[1]):
        meter.process(x[:, i : i + 1])
    assert _same(meter.result(), _fed(x, 44100).result())


# -- oracles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", [44100, 48000])
@pytest.mark.parametrize("layout", ["mono", "stereo", "5.1"])
def test_against_libebur128_and_pyloudnorm(fs: int, layout: str) -> None:
    channels = {"mono": 1, "stereo": 2, "5.1": 6}[layout]
    x = music_like(channels, fs, 30.0, seed=channels * 7 + fs % 7)
    if layout == "5.1":
        x[3] *= 3.0  # a loud LFE must not count
    r = measure_array(x, fs, layout=layout)
    integrated, lra, tp, sp = ebur128(x, fs)  # libebur128's default 6-channel map skips ch 3
    # Same filters and gating, except that we hold the high-pass passband gain at
    # its 48 kHz value (see k_weighting_sos): an exact, known offset.
    offset = 20 * math.log10(highpass_gain(48000) / highpass_gain(fs))
    assert r.integrated_lufs == pytest.approx(integrated + offset, abs=1e-6)
    assert r.sample_peak_dbfs == pytest.approx(sp, abs=1e-9)
    # libebur128 1.2.6 samples short-term loudness at 1 Hz for LRA (Tech 3342 now
    # asks for >= 10 Hz); taken at its instants, our short-term values give its LRA.
    one_hz = 10 ** ((r.short_term_series.lufs[::10] - offset - LOUDNESS_OFFSET) / 10)
    assert loudness_range(one_hz) == pytest.approx(lra, abs=1e-6)
    assert r.loudness_range_lu == pytest.approx(lra, abs=2.5)  # same programme, denser sampling
    # libebur128 interpolates with its own filter: both are meters within tolerance.
    assert -0.4 <= r.true_peak_dbtp - tp <= 0.4

    meter = pyln.Meter(fs, filter_class="DeMan")
    front = x if layout != "5.1" else x[[0, 1, 2, 4, 5]]  # pyloudnorm knows no LFE
    reference = meter.integrated_loudness(front.T.astype(np.float64))
    assert r.integrated_lufs == pytest.approx(reference + offset, abs=1e-4)


def test_true_peak_against_dense_oversampling() -> None:
    # The waveform's peak by 32x oversampling with a long interpolator is the truth;
    # a true-peak meter must be within +0.2/-0.4 dB of it (Tech 3341), and never
    # below the sample peak.
    rng = np.random.default_rng(42)
    for trial in range(12):
        fs = [44100, 48000][trial % 2]
        b, a = sg.butter(4, rng.uniform(2000, 18000) / (fs / 2))
        x = sg.lfilter(b, a, rng.standard_normal(fs // 2)) * rng.uniform(0.05, 0.5)
        truth = 20 * np.log10(np.max(np.abs(sg.resample_poly(x, 32, 1, window=("kaiser", 14.0)))))
        r = measure_array(x.astype(np.float32), fs)
        assert -0.4 <= r.true_peak_dbtp - truth <= 0.2, (trial, r.true_peak_dbtp, truth)
        assert r.true_peak_dbtp >= r.sample_peak_dbfs


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
def test_true_peak_of_tone_bursts_anywhere_between_samples(fs: int) -> None:
    # A Gaussian tone burst peaks at exactly 1.0 where envelope and carrier crest
    # together; put that crest at 16 positions between two samples.
    n = int(0.02 * fs)
    t = np.arange(n) / fs
    for freq in (1000.0, 4000.0, 8000.0, 12000.0, 16000.0, 19000.0):
        for offset in np.arange(16) / 16:
            t0 = (n // 2 + offset) / fs
            x = np.exp(-((t - t0) ** 2) / (2 * 0.002**2)) * np.cos(2 * np.pi * freq * (t - t0))
            r = measure_array((0.5 * x).astype(np.float32), fs)
            assert -0.4 <= r.true_peak_dbtp - 20 * np.log10(0.5) <= 0.2, (freq, offset)


@pytest.mark.parametrize("fs", [96000, 192000])
def test_true_peak_at_high_rates_uses_2x(fs: int) -> None:
    meter = LoudnessMeter(fs, 1)
    assert meter._tp.factor == 2
    rng = np.random.default_rng(fs)
    for _ in range(5):
        freq = rng.uniform(1000, 20000)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.arange(fs // 4) / fs
        x = 0.5 * np.sin(2 * np.pi * freq * t + phase)
        fade = np.linspace(0.0, 1.0, fs // 100)  # no step at either end: a step overshoots
        x[: fade.size] *= fade
        x[-fade.size :] *= fade[::-1]
        r = measure_array(x.astype(np.float32), fs)
        assert -0.4 <= r.true_peak_dbtp - 20 * np.log10(0.5) <= 0.2


def test_true_peak_off() -> None:
    r = measure_array(np.vstack([sine(-10.0, 1.0)] * 2).astype(np.float32), FS, true_peak=False)
    assert r.true_peak_dbtp is None
    assert r.sample_peak_dbfs == pytest.approx(-10.0, abs=1e-3)


# -- integrated loudness over regions (dialogue gating) --------------------------------------


def test_integrated_over_regions_analytic() -> None:
    # 10 s tone at -20 dBFS, 10 s silence, 10 s tone at -30 dBFS.
    a, b = sine(-20.0, 10.0), sine(-30.0, 10.0)
    x = np.vstack([np.concatenate([a, np.zeros(10 * FS), b])] * 2).astype(np.float32)
    meter = _fed(x)
    level_a = measure_array(np.vstack([a, a]).astype(np.float32), FS).integrated_lufs
    level_b = measure_array(np.vstack([b, b]).astype(np.float32), FS).integrated_lufs
    # Region [0, 10 s): 97 blocks wholly inside, plus the blocks starting at 9.7 s
    # (3/4 tone) and 9.8 s (1/2 tone, exactly half inside: kept); 9.9 s is out.
    expected_a = level_a + 10 * math.log10((97 + 0.75 + 0.5) / 99)
    assert meter.integrated_over([(0, 10 * FS)]) == pytest.approx(expected_a, abs=0.003)
    # Region [20 s, 30 s): 97 blocks inside, plus 19.8 s (1/2 tone) and 19.9 s (3/4).
    expected_b = level_b + 10 * math.log10((97 + 0.5 + 0.75) / 99)
    assert meter.integrated_over([(20 * FS, 30 * FS)]) == pytest.approx(expected_b, abs=0.003)
    # Everything, in pieces and out of order, equals integrated loudness.
    whole = meter.result().integrated_lufs
    assert meter.integrated_over([(15 * FS, 30 * FS), (0, 16 * FS)]) == pytest.approx(whole, abs=1e-12)
    # Nothing, or only silence: undefined.
    assert meter.integrated_over([]) is None
    assert meter.integrated_over([(11 * FS, 19 * FS)]) is None


def test_integrated_over_matches_brute_force_selection() -> None:
    x = music_like(2, FS, 20.0, seed=9)
    meter = _fed(x)
    start, lufs = meter.gating_blocks()
    block = 40 * meter.bin_frames
    rng = np.random.default_rng(1)
    for _ in range(20):
        regions = []
        for _ in range(int(rng.integers(1, 6))):
            s = int(rng.integers(0, x.shape[1]))
            regions.append((s, s + int(rng.integers(1, 3 * FS))))
        mask = np.zeros(x.shape[1] + 4 * FS, dtype=bool)
        for s, e in regions:
            mask[s:e] = True
        kept = np.array([mask[s0 : s0 + block].sum() * 2 >= block for s0 in start])
        z = 10 ** ((lufs[kept] + 0.691) / 10)
        z = z[z > 10 ** ((-70 + 0.691) / 10)]
        if z.size == 0:
            assert meter.integrated_over(regions) is None
            continue
        z = z[z > z.mean() * 0.1]
        assert meter.integrated_over(regions) == pytest.approx(-0.691 + 10 * np.log10(z.mean()), abs=1e-9)
