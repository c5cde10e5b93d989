"""Delivery encoders: every format round-trips (written, read back, measured), BWF
loudness metadata, atomic writes, block-size invariance."""

from __future__ import annotations

import struct

import av
import numpy as np
import pytest
import soundfile as sf

from mixdown.analysis.loudness import LoudnessMeter, measure_array
from mixdown.deliver import bwf
from mixdown.deliver.encode import LossyWriter, encode_array, open_encoder
from mixdown.deliver.formats import lossy_ceiling, resolve_format
from mixdown.errors import MediaError
from mixdown.media.decode import probe
from mixdown.media.write import AudioWriter, read_audio
from mixdown.targets import get_target

SR = 48000
LAYOUT = {1: "mono", 2: "stereo", 6: "5.1"}


def programme(channels: int, seconds: float = 3.0, sr: int = SR, seed: int = 1) -> np.ndarray:
    """Music-like test signal, peak ~0.6: tones + noise low-passed at 8 kHz (like programme
    material, which has little above 16 kHz, where encoders low-pass), amplitude-modulated,
    and a 3 kHz tone burst every 0.5 s (to find the timing)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    sos = butter(6, 8000, fs=sr, output="sos")
    out = np.empty((channels, n), np.float32)
    for c in range(channels):
        x = 0.15 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.1 * sosfilt(sos, rng.standard_normal(n))
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t + c)
        out[c] = x
    k = np.arange(-48, 48)
    burst = 0.4 * np.hanning(k.size) * np.sin(2 * np.pi * 3000 * k / sr)
    for at in range(sr // 4, n - 48, sr // 2):
        out[:, at - 48:at + 48] += burst
    return out


def lag(a: np.ndarray, b: np.ndarray, window: int = 3000) -> int:
    """Offset of b against a (samples) from the cross-correlation of their absolute values."""
    from scipy.signal import correlate

    n = min(a.size, b.size) - 2 * window
    a0 = np.abs(a[window:window + n]).astype(np.float64)
    b0 = np.abs(b[:n + 2 * window]).astype(np.float64)
    c = correlate(b0, a0, mode="valid", method="fft")  # c[j] = sum a0 * b0[j:j+n], j = k + window
    return int(np.argmax(c)) - window


LOSSLESS = [("wav16", ".wav"), ("wav24", ".wav"), ("wav32f", ".wav"), ("bwf", ".wav"), ("flac", ".flac"),
            ("flac16", ".flac")]
LOSSY = [("mp3", ".mp3"), ("aac", ".m4a"), ("opus", ".ogg"), ("opus", ".opus"), ("aac", ".mp4")]


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("fmt,suffix", LOSSLESS)
def test_lossless_round_trip(tmp_path, fmt, suffix, channels):
    x = programme(channels)
    path = encode_array(tmp_path / f"out{suffix}", x, SR, format=fmt)
    info = probe(path)
    assert (info.sample_rate, info.channels, info.layout, info.frames) == (SR, channels, LAYOUT[channels], x.shape[1])
    y, sr = read_audio(path)
    assert y.shape == x.shape
    step = {"wav16": 2.0 ** -15, "flac16": 2.0 ** -15}.get(fmt, 2.0 ** -23)
    if fmt == "wav32f":
        np.testing.assert_array_equal(y, x)
    else:
        # rounding (half a step) plus, at 16 bits, the +-1 LSB TPDF dither
        tol = 0.5 * step * (1.0001 if step < 2 ** -20 else 3.0)
        assert np.max(np.abs(y - x)) <= tol
    a = measure_array(x, SR, layout=LAYOUT[channels])
    b = measure_array(y, sr, layout=LAYOUT[channels])
    assert b.integrated_lufs == pytest.approx(a.integrated_lufs, abs=2e-3)
    assert b.true_peak_dbtp == pytest.approx(a.true_peak_dbtp, abs=2e-3)


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("fmt,suffix", LOSSY)
def test_lossy_round_trip(tmp_path, fmt, suffix, channels):
    if fmt == "mp3" and channels == 6:
        with pytest.raises(MediaError, match="mono or stereo"):
            encode_array(tmp_path / f"out{suffix}", programme(6), SR, format=fmt)
        return
    x = programme(channels)
    path = encode_array(tmp_path / f"out{suffix}", x, SR, format=fmt)
    info = probe(path)
    assert (info.sample_rate, info.channels, info.layout) == (SR, channels, LAYOUT[channels])
    assert info.codec == {"mp3": "mp3float", "aac": "aac", "opus": "opus"}[fmt]
    y, _ = read_audio(path)
    # the container's priming information puts the first sample back where it was
    assert abs(y.shape[1] - x.shape[1]) <= 1024
    assert lag(x[0], y[0]) == 0
    y = y[:, :x.shape[1]]
    a = measure_array(x, SR, layout=LAYOUT[channels])
    b = measure_array(y, SR, layout=LAYOUT[channels])
    if fmt == "mp3" and channels == 1:
        # LAME scales mono by 0.95 (-0.45 dB) at 160 kb/s and below (and low-passes it harder);
        # delivery's verification corrects the level (test_deliver.py::test_mono_mp3_level_is_corrected)
        tone = (0.3 * np.sin(2 * np.pi * 997 * np.arange(SR) / SR)).astype(np.float32)[None]
        z, _ = read_audio(encode_array(tmp_path / "tone.mp3", tone, SR))
        got = measure_array(z, SR).integrated_lufs - measure_array(tone, SR).integrated_lufs
        assert got == pytest.approx(20 * np.log10(0.95), abs=0.01)
        assert b.integrated_lufs < a.integrated_lufs - 0.4
    else:
        # codecs spend fewer bits on noise than on tones: up to ~0.2 LU lost on this noise-heavy
        # signal at the default rates (5.1 AAC the most); delivery re-aims (test_deliver.py)
        assert b.integrated_lufs == pytest.approx(a.integrated_lufs, abs=0.25)
    # overshoot is real but bounded at these bit rates (low-passing can only lower the clicks)
    assert b.true_peak_dbtp - a.true_peak_dbtp < 1.0


def test_opus_resamples_to_48k_keeping_time_and_level(tmp_path):
    sr = 44100
    x = programme(2, sr=sr)
    path = encode_array(tmp_path / "o.opus", x, sr)
    info = probe(path)
    assert info.sample_rate == 48000
    y, rate = read_audio(path)
    assert abs(y.shape[1] - x.shape[1] * 48000 / sr) <= 2
    ref, _ = read_audio(encode_array(tmp_path / "ref.wav", x, sr, format="wav32f"), sample_rate=48000)
    assert lag(ref[0], y[0]) == 0
    assert measure_array(y, rate).integrated_lufs == pytest.approx(measure_array(x, sr).integrated_lufs, abs=0.1)


@pytest.mark.parametrize("fmt,suffix", [("wav16", ".wav"), ("bwf", ".wav"), ("flac", ".flac"), ("mp3", ".mp3"),
                                        ("aac", ".m4a"), ("opus", ".ogg")])
def test_block_size_does_not_change_the_bytes(tmp_path, fmt, suffix):
    x = programme(2, seconds=0.4)
    outs = []
    for bs in (1, 7, 480, 4096, 10000):
        p = tmp_path / f"b{bs}{suffix}"
        with open_encoder(p, format=fmt, sample_rate=SR, channels=2) as enc:
            for a in range(0, x.shape[1], bs):
                enc.write(x[:, a:a + bs])
        data = p.read_bytes()
        if fmt == "bwf":  # the origination time may tick between files
            off, size = bwf.read_chunks(p)["bext"]
            data = data[:off] + data[off + size:]
        outs.append(data)
    assert all(o == outs[0] for o in outs[1:])


# ----------------------------------------------------------------------------- BWF


def test_bwf_loudness_fields_read_back_as_measured(tmp_path):
    x = programme(2, seconds=5.0)
    p = tmp_path / "mix.wav"
    with bwf.BwfWriter(p, sample_rate=SR, channels=2, description="episode 12", time_reference=3600 * SR) as w:
        for a in range(0, x.shape[1], 7777):
            w.write(x[:, a:a + 7777])
    info = bwf.read_bext(p)
    y, _ = read_audio(p)
    m = measure_array(y, SR)
    assert info is not None and info.version == 2
    for field, value in (("loudness_value", m.integrated_lufs), ("loudness_range", m.loudness_range_lu),
                         ("max_true_peak_level", m.true_peak_dbtp),
                         ("max_momentary_loudness", m.momentary_max_lufs),
                         ("max_short_term_loudness", m.short_term_max_lufs)):
        # int16 in 1/100 units: rounding (0.005) plus 24-bit quantisation of what was measured
        assert getattr(info, field) == pytest.approx(value, abs=0.0051), field
    assert info.description == "episode 12"
    assert info.originator == "mixdown"
    assert info.time_reference == 3600 * SR
    assert info.coding_history == "A=PCM,F=48000,W=24,M=stereo,T=mixdown\r\n"
    # the raw field is what Tech 3285 defines: round(100 * LUFS) as int16
    off, _ = bwf.read_chunks(p)["bext"]
    raw = p.read_bytes()[off + 412:off + 422]
    assert struct.unpack("<5h", raw)[0] == round(info.loudness_value * 100)


def test_bwf_audio_equals_wav24_and_ffmpeg_reads_it(tmp_path):
    x = programme(6, seconds=1.0)
    encode_array(tmp_path / "a.wav", x, SR, format="bwf")
    with AudioWriter(tmp_path / "b.wav", sample_rate=SR, channels=6, format="wav24") as w:
        w.write(x)
    a, _ = sf.read(tmp_path / "a.wav", dtype="int32")
    b, _ = sf.read(tmp_path / "b.wav", dtype="int32")
    np.testing.assert_array_equal(a, b)
    chunks = bwf.read_chunks(tmp_path / "a.wav")
    assert list(chunks)[:4] == ["JUNK", "fmt ", "bext", "data"]
    with av.open(str(tmp_path / "a.wav")) as c:
        st = c.streams.audio[0]
        assert st.codec_context.name == "pcm_s24le" and st.codec_context.channels == 6
        assert sum(f.samples for f in c.decode(st)) == x.shape[1]


def test_bwf_silence_leaves_loudness_unset(tmp_path):
    p = encode_array(tmp_path / "s.wav", np.zeros((2, SR), np.float32), SR, format="bwf")
    info = bwf.read_bext(p)
    assert info.loudness_value is None and info.max_true_peak_level is None
    off, _ = bwf.read_chunks(p)["bext"]
    assert struct.unpack("<5h", p.read_bytes()[off + 412:off + 422]) == (bwf.UNSET,) * 5


def test_bwf_given_loudness_and_odd_length_mono(tmp_path):
    x = programme(1, seconds=1.0)[:, :SR - 1]
    p = tmp_path / "m.wav"
    meter = LoudnessMeter(SR, 1)
    meter.process(x)
    w = bwf.BwfWriter(p, sample_rate=SR, channels=1, measure=False)
    w.write(x)
    w.commit(loudness=meter.result())
    assert len(p.read_bytes()) % 2 == 0  # the data chunk's pad byte
    y, _ = read_audio(p)
    assert y.shape == x.shape
    assert bwf.read_bext(p).loudness_value == pytest.approx(meter.result().integrated_lufs, abs=0.005)


def test_bwf_becomes_rf64_past_the_riff_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(bwf, "RIFF_LIMIT", 1000)
    x = programme(2, seconds=0.5)
    p = encode_array(tmp_path / "big.wav", x, SR, format="bwf")
    head = p.read_bytes()[:16]
    assert head[:4] == b"RF64" and head[12:16] == b"ds64"
    y, sr = sf.read(p, dtype="float32", always_2d=True)
    assert y.shape == (x.shape[1], 2)
    assert bwf.read_bext(p).loudness_value == pytest.approx(measure_array(x, SR).integrated_lufs, abs=0.006)


# ----------------------------------------------------------------------------- atomic, errors


@pytest.mark.parametrize("fmt,suffix", [("bwf", ".wav"), ("aac", ".m4a"), ("mp3", ".mp3"), ("wav24", ".wav")])
def test_failed_encode_leaves_nothing_and_keeps_the_old_file(tmp_path, fmt, suffix):
    p = tmp_path / f"out{suffix}"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with open_encoder(p, format=fmt, sample_rate=SR, channels=2) as enc:
            enc.write(programme(2, seconds=0.2))
            raise RuntimeError("boom")
    assert p.read_bytes() == b"old"
    assert sorted(q.name for q in tmp_path.iterdir()) == [p.name]


def test_encoders_refuse_to_overwrite_an_input(tmp_path):
    src = tmp_path / "in.m4a"
    encode_array(src, programme(2, seconds=0.2), SR)
    before = src.read_bytes()
    for fmt in ("aac", None):
        with pytest.raises(MediaError, match="overwrite an input"):
            LossyWriter(src, format="aac", sample_rate=SR, channels=2, protect=[src]) if fmt else \
                open_encoder(src, sample_rate=SR, channels=2, protect=[src])
    assert src.read_bytes() == before


def test_format_names_and_suffixes(tmp_path):
    assert resolve_format("a.WAV", None) == "wav24"
    assert resolve_format("a.m4a", None) == "aac"
    assert resolve_format("a.opus", None) == "opus"
    assert resolve_format("a.wav", "bwf") == "bwf"
    with pytest.raises(MediaError, match="must end in .mp3"):
        resolve_format("a.m4a", "mp3")
    with pytest.raises(MediaError, match="cannot tell"):
        resolve_format("a.xyz", None)
    with pytest.raises(MediaError, match="unknown"):
        resolve_format("a.wav", "wav8")


def test_lossy_ceiling_leaves_a_decibel_of_headroom():
    assert lossy_ceiling(get_target("youtube")) == -2.0
    assert lossy_ceiling(get_target("atsc-a85")) == -3.0
    assert lossy_ceiling(get_target(None, lufs=-16, true_peak=-1.5)) == -2.5
