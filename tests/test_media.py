"""mixdown.media: probe, streaming decode (in-points, chunking, resampling,
compressed formats and audio inside video), channel rules, atomic writers."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import MediaError
from mixdown.media import (
    AudioWriter,
    atomic_path,
    map_channels,
    open_source,
    probe,
    read_audio,
    write_audio,
)

SR = 48000
N = 3 * SR
BLOCK_SIZES = [1, 7, 480, 4096, 10000]


# --------------------------------------------------------------------------- signals


def chirp(n: int, sr: int, f0: float, f1: float, amp: float) -> np.ndarray:
    """Linear chirp: its autocorrelation has one sharp peak, so lags are unambiguous."""
    t = np.arange(n) / sr
    dur = n / sr
    return (amp * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * dur)))).astype(np.float32)


def stereo_chirp(n: int = N, sr: int = SR) -> np.ndarray:
    return np.stack([chirp(n, sr, 150, 6000, 0.4), chirp(n, sr, 5000, 300, 0.3)])


def sine(n: int, sr: int, f: float, amp: float, phase: float = 0.0) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * f * np.arange(n) / sr + phase)).astype(np.float32)


# --------------------------------------------------------------------------- encoders (PyAV)


def encode(path: Path, audio: list[np.ndarray], sr: int, codec: str, *, video: bool = False) -> Path:
    """Encode one or more (channels, n) arrays as audio streams, optionally with video."""
    import av

    c = av.open(str(path), "w")
    vs = None
    if video:
        vs = c.add_stream("mpeg4", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
    streams = []
    for a in audio:
        s = c.add_stream(codec, rate=sr)
        s.layout = "mono" if a.shape[0] == 1 else "stereo"
        s.bit_rate = 256000  # FFmpeg's AAC at its 128k default smears the low chirp
        streams.append(s)
    for s, a in zip(streams, audio):
        for pos in range(0, a.shape[1], 1000):
            fr = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(a[:, pos : pos + 1000]), format="fltp", layout=s.layout.name
            )
            fr.sample_rate = sr
            fr.pts = pos
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    if vs is not None:
        n_frames = int(audio[0].shape[1] / sr * 25) if audio else 25
        for i in range(n_frames):
            img = np.full((48, 64, 3), (i * 5) % 255, np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in vs.encode(f):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
    c.close()
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    x = stereo_chirp()
    files = {}
    files["wav_f32"] = d / "chirp_f32.wav"
    sf.write(files["wav_f32"], x.T, SR, subtype="FLOAT")
    files["wav24"] = d / "chirp24.wav"
    sf.write(files["wav24"], x.T, SR, subtype="PCM_24")
    files["flac"] = d / "chirp.flac"
    sf.write(files["flac"], x.T, SR, subtype="PCM_16")
    files["wav51"] = d / "six.wav"
    sf.write(files["wav51"], np.tile(x[:1], (6, 1))[:, : SR // 2].T, SR, subtype="PCM_16")
    files["mp3"] = encode(d / "chirp.mp3", [x], SR, "libmp3lame")
    files["m4a"] = encode(d / "chirp.m4a", [x], SR, "aac")
    files["mp4"] = encode(d / "clip.mp4", [x], SR, "aac", video=True)
    files["two_streams"] = encode(d / "two.mkv", [x, sine(N, SR, 1000, 0.5)[None, :]], SR, "aac")
    files["mkv"] = files["two_streams"]  # Matroska: millisecond timestamps (see av_producer.AvProducer._snap)
    files["opus"] = encode(d / "chirp.opus", [x], SR, "libopus")
    files["webm"] = encode(d / "chirp.webm", [x], SR, "libopus")
    files["ogg"] = d / "chirp.ogg"
    sf.write(files["ogg"], x.T, SR, format="OGG", subtype="VORBIS")
    files["video_only"] = encode(d / "silent.mp4", [], SR, "aac", video=True)
    files["m4a_441"] = encode(d / "chirp441.m4a", [stereo_chirp(2 * 44100, 44100)], 44100, "aac")
    return files


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    return stereo_chirp()


def lag_and_snr(decoded: np.ndarray, ref: np.ndarray, max_lag: int = 3000) -> tuple[int, float]:
    """Lag (samples) of ``decoded`` behind ``ref`` by cross-correlation, and SNR (dB) after alignment."""
    from scipy.signal import correlate

    d = decoded[0].astype(np.float64)
    r = ref[0].astype(np.float64)
    cc = correlate(d, r, mode="full", method="fft")
    lags = np.arange(-len(r) + 1, len(d))
    window = np.abs(lags) <= max_lag
    lag = int(lags[window][np.argmax(cc[window])])
    if lag >= 0:
        a, b = d[lag:], r[: len(d) - lag]
    else:
        a, b = d[: len(d) + lag], r[-lag:]
    m = min(len(a), len(b))
    err = a[:m] - b[:m]
    snr = 10 * np.log10(np.sum(b[:m] ** 2) / np.sum(err**2))
    return lag, float(snr)


# --------------------------------------------------------------------------- probe


def test_probe_wav_flac_exact(media: dict[str, Path]) -> None:
    i = probe(media["wav24"])
    assert (i.sample_rate, i.channels, i.layout, i.frames) == (SR, 2, "stereo", N)
    assert i.duration_s == pytest.approx(3.0)
    assert i.codec == "pcm_s24" and not i.has_video and i.audio_stream_count == 1 and i.frames_exact
    f = probe(media["flac"])
    assert (f.frames, f.codec, f.backend) == (N, "flac", "soundfile")
    six = probe(media["wav51"])
    assert (six.channels, six.layout, six.frames) == (6, "5.1", SR // 2)


def test_probe_compressed_and_video(media: dict[str, Path]) -> None:
    mp3 = probe(media["mp3"])
    assert (mp3.sample_rate, mp3.channels, mp3.layout, mp3.backend) == (SR, 2, "stereo", "ffmpeg")
    assert mp3.codec.startswith("mp3") and not mp3.has_video
    # LAME writes the exact length and the encoder delay in its header; FFmpeg uses both.
    assert mp3.frames == N
    assert probe(media["mp3"], exact=True).frames == N
    opus = probe(media["opus"])
    assert (opus.codec, opus.sample_rate, opus.frames) == ("opus", SR, N)  # pre-skip not counted
    m4a = probe(media["m4a"])
    assert (m4a.codec, m4a.frames) == ("aac", N)
    mp4 = probe(media["mp4"])
    assert mp4.has_video and mp4.audio_stream_count == 1 and mp4.codec == "aac" and mp4.frames == N
    two = probe(media["two_streams"], stream=1)
    assert (two.audio_stream_count, two.stream, two.channels, two.layout) == (2, 1, 1, "mono")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "nope.wav", "not found"),
        (lambda d: _write(d / "junk.wav", np.random.default_rng(0).bytes(5000)), "not a media file"),
        (lambda d: _write(d / "notes.mp3", b"just some text, not audio\n" * 50), "not a media file"),
        (lambda d: _write(d / "half.wav", b"RIFF\x24\x00\x00\x00WAVEfmt "), "not a media file"),
        (lambda d: d, "folder"),
    ],
)
def test_bad_files_raise_media_error_naming_the_file(tmp_path: Path, make, words: str) -> None:  # noqa: ANN001
    path = make(tmp_path)
    for call in (lambda: probe(path), lambda: open_source(path, sample_rate=SR)):
        with pytest.raises(MediaError) as exc:
            call()
        assert str(path) in str(exc.value) and words in str(exc.value)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_no_audio_and_stream_out_of_range(media: dict[str, Path]) -> None:
    with pytest.raises(MediaError, match="no audio stream") as exc:
        probe(media["video_only"])
    assert str(media["video_only"]) in str(exc.value)
    with pytest.raises(MediaError, match=r"audio stream 2 requested but the file has 2 audio streams"):
        open_source(media["two_streams"], stream=2, sample_rate=SR)
    with pytest.raises(MediaError, match=r"audio stream 1 requested .* 1 audio stream"):
        probe(media["wav24"], stream=1)


# --------------------------------------------------------------------------- exact reads


@pytest.mark.parametrize("start", [0, 1, 12345, N - 100])
def test_wav_in_point_is_sample_exact(media: dict[str, Path], original: np.ndarray, start: int) -> None:
    with open_source(media["wav_f32"], sample_rate=SR, start=start) as r:
        got = r.read(5000)
    want = np.zeros((2, 5000), np.float32)
    tail = original[:, start : start + 5000]
    want[:, : tail.shape[1]] = tail
    np.testing.assert_array_equal(got, want)  # zero-padded past the end
    assert r.position == start + 5000


@pytest.mark.parametrize("key", ["wav24", "mp3", "m4a", "wav_resampled"])
def test_chunked_reads_equal_one_read(media: dict[str, Path], key: str) -> None:
    path, rate = (media["wav24"], 44100) if key == "wav_resampled" else (media[key], SR)
    start, total = 20011, 40000
    with open_source(path, sample_rate=rate, start=start) as r:
        whole = r.read(total)
    with open_source(path, sample_rate=rate, start=start) as r:
        parts, k, got = [], 0, 0
        while got < total:
            n = min(BLOCK_SIZES[k % len(BLOCK_SIZES)], total - got)
            parts.append(r.read(n))
            got, k = got + n, k + 1
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    # Determinism: a second reader at the same in-point gives the same samples.
    with open_source(path, sample_rate=rate, start=start) as r:
        np.testing.assert_array_equal(r.read(total), whole)


def test_read_past_end_is_zero_padded(media: dict[str, Path]) -> None:
    with open_source(media["mp3"], sample_rate=SR, start=N - 1000) as r:
        a = r.read(3000)
    assert a.shape == (2, 3000) and np.any(a[:, :900]) and not np.any(a[:, 1000:])
    with open_source(media["wav24"], sample_rate=SR, start=10 * N) as r:
        assert not np.any(r.read(100))


# --------------------------------------------------------------------------- resampling


def test_resample_441_to_48_keeps_frequency_level_and_in_point(tmp_path: Path) -> None:
    f, amp, sr_in = 997.0, 0.5, 44100
    path = tmp_path / "sine441.wav"
    sf.write(path, sine(5 * sr_in, sr_in, f, amp), sr_in, subtype="FLOAT")
    start = 100_003  # not a multiple of the 160-sample rate-ratio period
    with open_source(path, sample_rate=SR, start=start) as r:
        got = r.read(48000)[0].astype(np.float64)
    # Independent truth: the same sine sampled at 48 kHz from the in-point on.
    want = amp * np.sin(2 * np.pi * f * (start + np.arange(48000)) / SR)
    assert np.max(np.abs(got - want)) < 1e-4
    spectrum = np.abs(np.fft.rfft(got * np.hanning(len(got))))
    assert np.argmax(spectrum) * SR / len(got) == pytest.approx(f, abs=1.0)
    assert np.sqrt(np.mean(got**2)) == pytest.approx(amp / math.sqrt(2), rel=1e-4)


def test_resampled_in_point_matches_reading_from_the_start(media: dict[str, Path]) -> None:
    with open_source(media["wav24"], sample_rate=44100) as r:
        whole = r.read(120_000)
    for start in (1, 5000, 77_777):
        with open_source(media["wav24"], sample_rate=44100, start=start) as r:
            part = r.read(20_000)
        np.testing.assert_allclose(part, whole[:, start : start + 20_000], atol=2e-6)


# --------------------------------------------------------------------------- compressed in-points


@pytest.mark.parametrize("key", ["mp3", "m4a", "mp4", "mkv", "opus", "webm", "ogg"])
@pytest.mark.parametrize("start", [0, 37_000, 100_001])
def test_compressed_in_point_lands_on_the_right_sample(
    media: dict[str, Path], original: np.ndarray, key: str, start: int
) -> None:
    n = 24_000
    with open_source(media[key], sample_rate=SR, start=start) as r:
        got = r.read(n)
    # Priming (MP3: LAME's 1105-sample delay from its header; AAC in MP4: 1024
    # samples by the edit list; Opus: the 312-sample pre-skip) is removed by FFmpeg
    # (libsndfile for Ogg Vorbis), so the lag is exactly 0.
    lag, snr = lag_and_snr(got, original[:, start : start + n])
    assert lag == 0
    assert snr > 20


def test_audio_stream_selection(media: dict[str, Path], original: np.ndarray) -> None:
    with open_source(media["two_streams"], stream=1, sample_rate=SR, start=4800) as r:
        tone = r.read(9600)[0]
    assert r.channels == 1
    spectrum = np.abs(np.fft.rfft(tone * np.hanning(len(tone))))
    assert np.argmax(spectrum) * SR / len(tone) == pytest.approx(1000, abs=5)
    with open_source(media["two_streams"], stream=0, sample_rate=SR, start=4800) as r:
        lag, snr = lag_and_snr(r.read(9600), original[:, 4800:14400])
    assert lag == 0 and snr > 20


def test_compressed_resampled_in_point(media: dict[str, Path]) -> None:
    ref = stereo_chirp(2 * 44100, 44100)
    import soxr

    ref48 = soxr.resample(ref.T, 44100, SR, "HQ").T
    start = 50_001
    with open_source(media["m4a_441"], sample_rate=SR, start=start) as r:
        got = r.read(20_000)
    lag, snr = lag_and_snr(got, ref48[:, start : start + 20_000])
    assert lag == 0 and snr > 20


# --------------------------------------------------------------------------- channels


def test_channel_rules() -> None:
    rng = np.random.default_rng(3)
    mono = rng.standard_normal((1, 1000)).astype(np.float32)
    st = map_channels(mono, 2)
    np.testing.assert_allclose(st, np.vstack([mono, mono]) * math.cos(math.pi / 4), rtol=1e-6)
    # Constant power: the two sides together carry the mono signal's power.
    assert np.sum(st**2) == pytest.approx(np.sum(mono**2), rel=1e-5)
    lr = rng.standard_normal((2, 1000)).astype(np.float32)
    np.testing.assert_allclose(map_channels(lr, 1)[0], (lr[0] + lr[1]) / math.sqrt(2), rtol=1e-6)
    six = map_channels(mono, 6)
    np.testing.assert_array_equal(six[2], mono[0])
    assert not np.any(np.delete(six, 2, axis=0))
    up = map_channels(lr, 6)
    np.testing.assert_array_equal(up[:2], lr)
    assert not np.any(up[2:])
    s = rng.standard_normal((6, 1000)).astype(np.float32)
    L, R, C, LFE, Ls, Rs = s
    down = map_channels(s, 2)
    np.testing.assert_allclose(down[0], L + 0.70710678 * C + 0.70710678 * Ls, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(down[1], R + 0.70710678 * C + 0.70710678 * Rs, rtol=1e-5, atol=1e-6)
    ident = map_channels(s, 6)
    np.testing.assert_array_equal(ident, s)
    assert ident is not s
    for bad in [(s, 1), (rng.standard_normal((3, 10)).astype(np.float32), 2), (lr, 4)]:
        with pytest.raises(MediaError, match="no channel rule"):
            map_channels(*bad)


# --------------------------------------------------------------------------- writers


@pytest.mark.parametrize(
    ("fmt", "suffix", "bits", "subtype"),
    [
        ("wav16", ".wav", 16, "PCM_16"),
        ("wav24", ".wav", 24, "PCM_24"),
        ("wav32f", ".wav", None, "FLOAT"),
        ("flac", ".flac", 24, "PCM_24"),
        ("flac24", ".flac", 24, "PCM_24"),
        ("flac16", ".flac", 16, "PCM_16"),
    ],
)
def test_writer_round_trip(tmp_path: Path, fmt: str, suffix: str, bits: int | None, subtype: str) -> None:
    x = stereo_chirp(SR, SR)
    x[0, :10] = [1.5, -1.5, 1.0, -1.0, 0.5, -0.5, 0.0, 2**-20, -(2**-20), 0.999999]
    path = tmp_path / f"out{suffix}"
    write_audio(path, x, SR, format=fmt)
    assert sf.info(path).subtype == subtype
    y, sr = read_audio(path)
    assert sr == SR and y.shape == x.shape
    if bits is None:
        np.testing.assert_array_equal(y, x)  # float: no clipping, no dither
        return
    lsb = 2.0 ** -(bits - 1)
    clipped = np.clip(x, -1.0, 1.0 - lsb)
    # 24-bit: rounding only (half a step); 16-bit: TPDF dither (+-1 LSB) + rounding.
    tol = 0.5 * lsb if bits == 24 else 1.5 * lsb
    assert np.max(np.abs(y - clipped)) <= tol + 1e-9
    assert y.max() <= 1.0 - lsb and y.min() >= -1.0


def test_writer_bytes_are_deterministic_and_block_size_independent(tmp_path: Path) -> None:
    x = stereo_chirp(30_000, SR) * np.float32(0.01)
    one = tmp_path / "one.wav"
    write_audio(one, x, SR, format="wav16")
    chunked = tmp_path / "chunked.wav"
    with AudioWriter(chunked, sample_rate=SR, channels=2, format="wav16") as w:
        pos, k = 0, 0
        while pos < x.shape[1]:
            n = BLOCK_SIZES[k % len(BLOCK_SIZES)]
            w.write(x[:, pos : pos + n])
            pos, k = pos + n, k + 1
    assert one.read_bytes() == chunked.read_bytes()
    again = tmp_path / "again.wav"
    write_audio(again, x, SR, format="wav16")
    assert one.read_bytes() == again.read_bytes()


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_packed_wav_bytes_equal_libsndfile_writing_the_same_samples(tmp_path: Path, channels: int) -> None:
    # 24-bit and float WAV bytes are packed by our kernel and only appended by libsndfile;
    # the independent reference is libsndfile encoding the same integer codes / floats itself.
    from soundfile import _ffi, _snd

    rng = np.random.default_rng(5)
    x = (rng.standard_normal((channels, 70_001)) * 0.3).astype(np.float32)
    lsb = np.float32(2.0**-23)
    edge = [1.5, -1.5, 1.0, -1.0, 1 - 2**-24, -(1 - 2**-24), 0.5 * lsb, 1.5 * lsb, -0.5 * lsb, -2.5 * lsb,
            np.inf, -np.inf, 0.0, -0.0, np.nan]
    x[0, : len(edge)] = edge
    with np.errstate(invalid="ignore"):  # NaN is written as 0, as the numpy encoder (_encode) does
        codes = np.clip(np.rint(x.astype(np.float64) * 2**23), -(2**23), 2**23 - 1).astype(np.int32)
    codes[np.isnan(x)] = 0
    for fmt, subtype, ref in (("wav24", "PCM_24", codes << 8), ("wav32f", "FLOAT", x)):
        ours = tmp_path / f"ours_{fmt}.wav"
        with AudioWriter(ours, sample_rate=SR, channels=channels, format=fmt) as w:
            pos, k = 0, 0
            while pos < x.shape[1]:
                n = BLOCK_SIZES[k % len(BLOCK_SIZES)]
                w.write(x[:, pos : pos + n])
                pos, k = pos + n, k + 1
        theirs = tmp_path / f"theirs_{fmt}.wav"
        with sf.SoundFile(theirs, "w", samplerate=SR, channels=channels, subtype=subtype,
                          format="RF64" if channels > 2 else "WAV") as f:
            # the writer's two libsndfile settings: RF64 downgrades to WAVE when small, no PEAK chunk
            if channels > 2:
                _snd.sf_command(f._file, 0x1210, _ffi.NULL, 1)  # SFC_RF64_AUTO_DOWNGRADE
            if fmt == "wav32f":
                _snd.sf_command(f._file, 0x1050, _ffi.NULL, 0)  # SFC_SET_ADD_PEAK_CHUNK
            f.write(np.ascontiguousarray(ref.T))
        if fmt == "wav32f" and channels > 2:
            # libsndfile's multichannel writer adds a PEAK chunk stamped with the time of
            # writing; the writer zeroes the stamp so a render's bytes depend on the audio only
            a, b = bytearray(ours.read_bytes()), bytearray(theirs.read_bytes())
            at = a.find(b"PEAK")
            assert at > 0 and a[at + 12 : at + 16] == b"\0\0\0\0"
            b[at + 12 : at + 16] = b"\0\0\0\0"
            assert a == b
        else:
            assert ours.read_bytes() == theirs.read_bytes(), fmt
        y, _ = read_audio(ours)
        assert y.shape == x.shape


def test_16_bit_dither_is_tpdf(tmp_path: Path) -> None:
    lsb = 1 / 32768
    x = np.full((1, 200_000), 0.3 * lsb, np.float32)  # undithered this rounds to 0
    path = tmp_path / "dc.wav"
    write_audio(path, x, SR, format="wav16")
    y, _ = read_audio(path)
    codes = np.rint(y[0] / lsb)
    # TPDF of +-1 LSB around 0.3 LSB reaches the codes -1, 0, 1 only and keeps the mean.
    assert set(np.unique(codes)) == {-1.0, 0.0, 1.0}
    assert np.mean(codes) == pytest.approx(0.3, abs=0.01)
    # Error variance of TPDF + rounding: 1/6 + 1/12 = 1/4 LSB^2 (total RMS 0.5 LSB).
    assert np.var(codes - 0.3) == pytest.approx(0.25, rel=0.03)


def test_writer_51_round_trip(tmp_path: Path) -> None:
    x = np.stack([sine(4800, SR, 100 * (k + 1), 0.1 * (k + 1)) for k in range(6)])
    path = tmp_path / "surround.wav"
    write_audio(path, x, SR, format="wav24")
    info = probe(path)
    assert (info.channels, info.layout, info.frames) == (6, "5.1", 4800)
    y, _ = read_audio(path)
    np.testing.assert_allclose(y, x, atol=0.5 / 2**23 + 1e-9)


def test_exception_mid_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    with pytest.raises(RuntimeError, match="render failed"):
        with AudioWriter(out, sample_rate=SR, channels=2, format="wav24") as w:
            w.write(np.zeros((2, 48000), np.float32))
            raise RuntimeError("render failed")
    assert list(tmp_path.iterdir()) == []
    # An existing destination survives a failed rewrite untouched.
    write_audio(out, np.full((2, 100), 0.25, np.float32), SR)
    before = out.read_bytes()
    with pytest.raises(RuntimeError):
        with AudioWriter(out, sample_rate=SR, channels=2) as w:
            w.write(np.zeros((2, 1000), np.float32))
            raise RuntimeError("boom")
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["mix.wav"]
    # A bad block aborts too.
    w = AudioWriter(tmp_path / "other.flac", sample_rate=SR, channels=2)
    with pytest.raises(ValueError, match="block must be"):
        w.write(np.zeros((3, 10), np.float32))
    w.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["mix.wav"]


def test_refuses_to_overwrite_inputs(tmp_path: Path) -> None:
    src = tmp_path / "input.wav"
    sf.write(src, np.zeros(100, np.float32), SR)
    before = src.read_bytes()
    link = tmp_path / "link.wav"
    link.symlink_to(src)
    hard = tmp_path / "hard.wav"
    os.link(src, hard)
    for dest, protect in [(src, [src]), (tmp_path / "." / "input.wav", [src]), (link, [src]), (hard, [src]), (src, [link])]:
        with pytest.raises(MediaError, match="refusing to overwrite an input") as exc:
            write_audio(dest, np.zeros((1, 10), np.float32), SR, protect=protect)
        assert str(dest) in str(exc.value)
        with pytest.raises(MediaError, match="refusing to overwrite"):
            with atomic_path(dest, protect=protect):
                pass  # pragma: no cover
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.wav", "input.wav", "link.wav"]


def test_atomic_path(tmp_path: Path) -> None:
    dest = tmp_path / "movie.mp4"
    with atomic_path(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4" and tmp != dest
        tmp.write_bytes(b"muxed")
        assert not dest.exists()
    assert dest.read_bytes() == b"muxed"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert dest.read_bytes() == b"muxed" and [p.name for p in tmp_path.iterdir()] == ["movie.mp4"]
    with pytest.raises(MediaError, match="output folder does not exist"):
        with atomic_path(tmp_path / "missing" / "x.wav"):
            pass  # pragma: no cover


def test_read_audio_decodes_and_resamples(media: dict[str, Path], original: np.ndarray) -> None:
    y, sr = read_audio(media["mp3"])
    assert sr == SR and y.shape == original.shape
    lag, snr = lag_and_snr(y, original)
    assert lag == 0 and snr > 20
    z, sr2 = read_audio(media["wav_f32"], sample_rate=44100)
    assert sr2 == 44100 and abs(z.shape[1] - N * 44100 // SR) <= 1


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = "import sys, mixdown.media; print(sorted(m for m in ('av', 'soundfile', 'soxr') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
