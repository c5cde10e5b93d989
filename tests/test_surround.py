"""7.1 (issue 17): BS.775 downmix coefficients on per-channel tones, the surround pan law,
7.1 loudness against libebur128 (pyebur128), 7.1 WAV round trip."""

from __future__ import annotations

import math

import numpy as np
import pyebur128
import pytest
import soundfile as sf

from mixdown.analysis.loudness import measure_array
from mixdown.dsp.surround import pan_mono_to_surround, surround_gains
from mixdown.media.decode import probe
from mixdown.media.write import read_audio, write_audio
from mixdown.translate.downmix import matrix

SR = 48000
H = math.sqrt(0.5)


def _tones(channels, n=SR):
    """A different frequency in every channel: each output's content says where it came from."""
    t = np.arange(n) / SR
    return np.stack([np.sin(2 * np.pi * (200 + 100 * c) * t) for c in range(channels)]).astype(np.float32)


def _amp_of(y, c, n=SR):
    """Amplitude of channel c's tone in signal y (projection on the tone)."""
    t = np.arange(n) / SR
    s = np.sin(2 * np.pi * (200 + 100 * c) * t)
    return float(2 * np.dot(y, s) / n)


# BS.775 3/2 -> 2/0: Lo = L + 0.7071 C + 0.7071 Ls, Ro = R + 0.7071 C + 0.7071 Rs, LFE not carried;
# 7.1 -> 5.1: each side and back surround folded at -3 dB into the surround of its side.
EXPECT_71_TO_51 = {  # output channel -> {input channel: gain}
    0: {0: 1}, 1: {1: 1}, 2: {2: 1}, 3: {3: 1}, 4: {4: H, 6: H}, 5: {5: H, 7: H}}
EXPECT_51_TO_20 = {0: {0: 1, 2: H, 4: H}, 1: {1: 1, 2: H, 5: H}}


@pytest.mark.parametrize(("src", "dst", "expect", "nin"), [
    ("7.1", "5.1", EXPECT_71_TO_51, 8), ("5.1", "stereo", EXPECT_51_TO_20, 6)])
def test_downmix_matches_bs775_on_test_tones(src, dst, expect, nin):
    x = _tones(nin)
    y = matrix(src, dst) @ x.astype(np.float64)
    for out_ch, gains in expect.items():
        for c in range(nin):
            assert _amp_of(y[out_ch], c) == pytest.approx(gains.get(c, 0.0), abs=2e-3), (out_ch, c)


def test_71_to_stereo_is_the_product_of_the_two_steps():
    x = _tones(8)
    y = matrix("7.1", "stereo") @ x.astype(np.float64)
    # FL: 1, FC: 0.7071, BL and SL: 0.7071 x 0.7071 = 0.5, LFE: 0
    expect = {0: {0: 1, 2: H, 4: 0.5, 6: 0.5}, 1: {1: 1, 2: H, 5: 0.5, 7: 0.5}}
    for out_ch, gains in expect.items():
        for c in range(8):
            assert _amp_of(y[out_ch], c) == pytest.approx(gains.get(c, 0.0), abs=2e-3), (out_ch, c)


def test_hard_left_in_71_lands_only_in_left_channels():
    x = np.ones(4, dtype=np.float32)
    g = pan_mono_to_surround(x, "7.1", 90.0)[:, 0]
    assert g[6] == pytest.approx(1.0) and np.allclose(np.delete(g, 6), 0.0, atol=1e-7)  # SL alone
    g = pan_mono_to_surround(x, "7.1", 60.0)[:, 0]  # halfway FL (+30) .. SL (+90): the sin/cos law's -3 dB
    assert g[0] == pytest.approx(H, abs=1e-6) and g[6] == pytest.approx(H, abs=1e-6)
    assert np.allclose(np.delete(g, [0, 6]), 0.0, atol=1e-7)
    # a third of the way FL -> SL: cos/sin of 30 degrees, as pan_mono_to_stereo's law
    g = surround_gains("7.1", 50.0)[:, 0]
    assert g[0] == pytest.approx(math.cos(math.pi / 6)) and g[6] == pytest.approx(math.sin(math.pi / 6))


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
@pytest.mark.parametrize("az", [0.0, 17.0, 100.0, 180.0, -150.0, 300.0])
@pytest.mark.parametrize("div", [0.0, 0.4, 1.0])
def test_pan_keeps_power_and_never_feeds_the_lfe(layout, az, div):
    g = surround_gains(layout, az, div)[:, 0]
    assert float(np.sum(g ** 2)) == pytest.approx(1.0)
    assert g[3] == 0.0
    if div == 1.0:
        main = np.delete(g, 3)
        assert np.allclose(main, main[0])


def test_71_loudness_equals_libebur128():
    rng = np.random.default_rng(17)
    x = (0.05 * rng.standard_normal((8, SR * 10))).astype(np.float32)
    x[3] *= 4  # loud LFE: excluded by both
    x[6] *= 2  # side surrounds weigh 1.41, back surrounds 1.0 (libebur128's M+-090 and M+-135)
    ours = measure_array(x, SR, layout="7.1", true_peak=False).integrated_lufs
    st = pyebur128.R128State(8, SR, pyebur128.MeasurementMode.MODE_I)
    ct = pyebur128.ChannelType
    for i, c in enumerate([ct.LEFT, ct.RIGHT, ct.CENTER, ct.UNUSED, ct.M_PLUS_135, ct.M_MINUS_135,
                           ct.M_PLUS_090, ct.M_MINUS_090]):
        st.set_channel(i, c)
    st.add_frames(np.ascontiguousarray(x.T, dtype=np.float64).reshape(-1), x.shape[1])
    assert ours == pytest.approx(pyebur128.get_loudness_global(st), abs=0.1)


def test_71_wav_round_trips_its_samples(tmp_path):
    x = _tones(8)
    p = write_audio(tmp_path / "71.wav", x * 0.5, SR, format="wav24")
    assert probe(p).channels == 8 and sf.info(str(p)).channels == 8
    y, _ = read_audio(p)
    assert np.max(np.abs(y - x * 0.5)) < 1e-6


@pytest.mark.xfail(strict=True, reason="known defect: libsndfile tags 8-channel WAVs 7.1(wide) (FLC FRC for SL SR); "
                   "media/write.py must set the channel mask (reported to the lead)")
def test_71_wav_is_tagged_71_in_ffmpeg_order(tmp_path):
    import av

    p = write_audio(tmp_path / "71.wav", _tones(8) * 0.5, SR, format="wav24")
    with av.open(str(p)) as c:
        assert c.streams.audio[0].codec_context.layout.name == "7.1"
