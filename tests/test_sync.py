"""Sync of an external recording to the camera's audio, on real speech through two different "microphones".

The external copy is the same recording through another frequency response
(zero-phase band-pass, so the true offset is exactly the shift applied), at
another level, with its own noise, shifted by a known number of samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal as sig

from mixdown.auto.sync import find_offset, sync_clip, sync_files
from mixdown.errors import AnalysisError, SessionError
from mixdown.media import read_audio, write_audio
from mixdown.session.model import Clip, Session, Track

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def _speech(which: str) -> tuple[np.ndarray, int]:
    if which == "host44":
        x, fs = read_audio(ROOT / "examples/podcast/media/host.flac")
        return x[0, : 40 * fs].astype(np.float64), fs
    x, fs = read_audio(DATA / f"speech_{which}_16k.flac")
    return x[0].astype(np.float64), fs


def _two_mics(x: np.ndarray, fs: int, offset: int, *, noise_db: float = -45.0, seed: int = 1):
    """Camera (room noise) and lavalier (band-limited, quieter, own noise) with ext[0] = cam[offset]."""
    rng = np.random.default_rng(seed)
    cam = x + 10 ** (noise_db / 20) * rng.standard_normal(x.shape[0])
    band = sig.butter(4, [150.0, min(6000.0, 0.7 * fs / 2)], btype="band", fs=fs, output="sos")
    lav = 0.5 * sig.sosfiltfilt(band, x) + 10 ** ((noise_db - 5) / 20) * rng.standard_normal(x.shape[0])
    if offset >= 0:
        ext = lav[offset:]
    else:  # the recorder started first: it has audio the camera never heard
        ext = np.concatenate([10 ** ((noise_db - 5) / 20) * rng.standard_normal(-offset), lav])
    return cam, ext


@pytest.mark.parametrize("which", ["host", "guest", "host44"])
@pytest.mark.parametrize("offset", [12345, -3210, 7])
def test_finds_the_offset_to_the_sample(which, offset):
    x, fs = _speech(which)
    cam, ext = _two_mics(x, fs, offset)
    res = find_offset(cam, ext, fs)
    assert res.offset == offset
    assert res.polarity == 1
    assert res.confidence >= 30 and res.peak_ratio >= 1.5


def test_noisy_inverted_and_limited_search():
    x, fs = _speech("host44")
    cam, ext = _two_mics(x, fs, 22050, noise_db=-25.0)  # speech barely 5 dB over the noise
    res = find_offset(cam, -ext, fs, max_offset=fs)
    assert res.offset == 22050 and res.polarity == -1


@pytest.mark.parametrize("pair", [("host", "guest"), ("host", "music"), ("music", "guest")])
def test_unrelated_audio_is_refused(pair):
    def load(name: str) -> np.ndarray:
        f = "music_16k.flac" if name == "music" else f"speech_{name}_16k.flac"
        return read_audio(DATA / f)[0][0].astype(np.float64)

    with pytest.raises(AnalysisError, match="does not match|ambiguous"):
        find_offset(load(pair[0]), load(pair[1]), 16000, names=pair)


def test_longer_unrelated_recordings_are_refused():
    host, fs = read_audio(ROOT / "examples/podcast/media/host.flac", sample_rate=16000)
    guest, _ = read_audio(ROOT / "examples/podcast/media/guest.flac")
    with pytest.raises(AnalysisError):
        find_offset(host[:, : 60 * fs], guest[:, 10 * fs : 70 * fs], fs)


def test_silence_and_too_short_are_errors():
    with pytest.raises(AnalysisError, match="silence"):
        find_offset(np.zeros(16000), np.ones(16000), 16000)
    with pytest.raises(AnalysisError, match="too short"):
        find_offset(np.ones(16000), np.ones(100), 16000)


def test_files_and_a_session_clip(tmp_path):
    x, fs = _speech("host")
    offset = 4321  # at 16 kHz: the lav's first sample is the camera's sample 4321
    cam, ext = _two_mics(x, fs, offset)
    write_audio(tmp_path / "camera.flac", cam.astype(np.float32)[None], fs)
    write_audio(tmp_path / "lav.wav", ext.astype(np.float32)[None], fs)
    res = sync_files(tmp_path / "camera.flac", tmp_path / "lav.wav")
    assert res.offset == offset and res.sample_rate == fs
    # at a 48 kHz session rate the offset is found in session samples (3x)
    res48 = sync_files(tmp_path / "camera.flac", tmp_path / "lav.wav", sample_rate=48000)
    assert res48.offset == 3 * offset
    s = Session(sample_rate=48000, layout="mono", tracks=[
        Track(name="Camera", role="dialogue", clips=[Clip(source="camera.flac", start="2.0")]),
        Track(name="Lav", role="dialogue", clips=[Clip(source="lav.wav", start=0)]),
    ])
    s.base_dir = tmp_path
    res, dec = sync_clip(s, "Lav", reference_track="Camera")
    assert s.tracks[1].clips[0].start == f"{96000 + 3 * offset}s"
    assert dec.kind == "sync" and "confidence" in dec.reason and dec.data["offset_samples"] == 3 * offset
    # the camera started later than the lav recording runs: the lav's head is trimmed, not moved before 0
    s.tracks[0].clips[0].start = 0
    s.tracks[0].clips[0].in_ = "1.0"  # the camera clip starts 1 s into its file
    s.tracks[1].clips[0].duration = "3.0"
    sync_clip(s, "Lav", reference_track="Camera")
    lav = s.tracks[1].clips[0]
    expect_start = 0 + 3 * offset - 48000  # negative: trim instead
    assert lav.start == "0s" and lav.in_ == f"{-expect_start}s"
    assert lav.duration == f"{144000 + expect_start}s"
    with pytest.raises(SessionError):
        sync_clip(s, "Boom", reference_track="Camera")
    with pytest.raises(SessionError):
        sync_clip(s, "Lav", 3, reference_track="Camera")
