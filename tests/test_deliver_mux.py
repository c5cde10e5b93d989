"""The video deliverable on a real test video made here with PyAV: video packets
byte-identical, audio within spec after decoding, A/V sync kept."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf

from mixdown.analysis.loudness import measure_array
from mixdown.deliver.check import check_file
from mixdown.deliver.video import deliver_video_after_auto
from mixdown.deliver.deliverables import render_deliverables
from mixdown.deliver.mux import mux_video
from mixdown.targets import get_target
from mixdown.errors import MediaError, SessionError
from mixdown.media.decode import open_source, probe
from mixdown.session import Clip, Deliverable, Session, Track

SR = 48000
FPS = 25
VCODEC = "libx264" if "libx264" in av.codecs_available else "mpeg4"


def camera_audio(seconds: float, seed: int = 5) -> np.ndarray:
    """Speech-like bursts (band noise with an on/off envelope) and a sharp tick every 0.4 s."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    sos = butter(4, [200, 4000], btype="band", fs=SR, output="sos")
    x = sosfilt(sos, rng.standard_normal(n)) * (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * 1.3 * t)))
    x = 0.2 * x / np.abs(x).max()
    k = np.arange(-24, 24)
    tick = 0.5 * np.hanning(k.size) * np.sin(2 * np.pi * 2500 * k / SR)
    for at in range(SR // 5, n - 24, int(0.4 * SR)):
        x[at - 24:at + 24] += tick
    return np.stack([x, 0.8 * x]).astype(np.float32)


def make_video(path, seconds: float = 4.0, *, audio_start: int = 0, audio: bool = True) -> np.ndarray | None:
    """A small real video: generated frames through a real video codec, AAC audio starting at
    ``audio_start`` samples on the container clock. Returns the audio that went in."""
    x = camera_audio(seconds) if audio else None
    c = av.open(str(path), "w")
    v = c.add_stream(VCODEC, rate=FPS)
    v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
    a = None
    if audio:
        a = c.add_stream("aac", rate=SR, layout="stereo")
        a.bit_rate = 192000
    per = SR // FPS
    sent = 0
    for i in range(int(seconds * FPS)):
        img = np.zeros((64, 96, 3), np.uint8)
        img[:, (i * 4) % 96] = 255
        img[(i * 3) % 64, :, 1] = 200
        fr = av.VideoFrame.from_ndarray(img, format="rgb24")
        fr.pts = i
        for p in v.encode(fr):
            c.mux(p)
        while a is not None and audio_start + sent <= (i + 1) * per and sent < x.shape[1]:
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, sent:sent + per]), format="fltp",
                                            layout="stereo")
            af.sample_rate, af.pts, af.time_base = SR, audio_start + sent, Fraction(1, SR)
            sent += per
            for p in a.encode(af):
                c.mux(p)
    for s in (v, a):
        if s is not None:
            for p in s.encode(None):
                c.mux(p)
    c.close()
    return x


def packet_hashes(path, kind: str, index: int = 0) -> list[tuple]:
    with av.open(str(path)) as c:
        st = getattr(c.streams, kind)[index]
        return [(hashlib.sha1(bytes(p)).hexdigest(), p.is_keyframe) for p in c.demux(st) if p.size]


def decoded(path, stream: int = 0) -> np.ndarray:
    info = probe(path, stream=stream)
    with open_source(path, stream=stream, sample_rate=info.sample_rate) as r:
        return r.read_to_end()


def lag(a: np.ndarray, b: np.ndarray, window: int = 3000) -> int:
    from scipy.signal import correlate

    n = min(a.size, b.size) - 2 * window
    c = correlate(np.abs(b[:n + 2 * window]).astype(np.float64), np.abs(a[window:window + n]).astype(np.float64),
                  mode="valid", method="fft")
    return int(np.argmax(c)) - window


def session_for(tmp_path, video: str, deliverables, music_s: float = 2.0) -> Session:
    rng = np.random.default_rng(9)
    bed = (0.02 * rng.standard_normal((int(music_s * SR), 2))).astype(np.float32)
    sf.write(tmp_path / "bed.wav", bed, SR, subtype="FLOAT")
    s = Session(sample_rate=SR, tracks=[
        Track(name="camera", role="dialogue", clips=[Clip(source=video)]),
        Track(name="bed", role="music", clips=[Clip(source="bed.wav", start=0.5)]),
    ], deliverables=deliverables)
    s.base_dir = tmp_path
    return s


@pytest.fixture()
def video(tmp_path):
    make_video(tmp_path / "camera.mp4")
    return tmp_path / "camera.mp4"


def test_video_deliverable_copies_pictures_and_keeps_sync(tmp_path, video):
    out = tmp_path / "out" / "final.mp4"
    s = session_for(tmp_path, "camera.mp4", [Deliverable(
        kind="video", path="out/final.mp4", target="youtube", keep_original_audio=True, language="eng",
        title="Main mix")])
    rep = render_deliverables(s)
    o = rep.outputs[0]
    assert o.compliant, o.problems
    assert rep.compliant

    # pictures: the same packets, byte for byte, in the same order (never re-encoded)
    src_packets = packet_hashes(video, "video")
    assert len(src_packets) == 4 * FPS
    assert packet_hashes(out, "video") == src_packets
    # the original audio is the second track, copied packet for packet, not default
    assert packet_hashes(out, "audio", 1) == packet_hashes(video, "audio", 0)
    with av.open(str(out)) as c:
        new, orig = c.streams.audio
        assert new.codec_context.name == "aac" and new.metadata.get("language") == "eng"
        assert "Main mix" in (new.metadata.get("title"), new.metadata.get("handler_name"))
        assert new.disposition & av.stream.Disposition.default
        assert not orig.disposition & av.stream.Disposition.default

    # the delivered audio, decoded: within the spec, at or below the ceiling
    tgt = get_target("youtube")
    y = decoded(out)
    m = measure_array(y, SR)
    assert abs(m.integrated_lufs - tgt.integrated_lufs) <= tgt.tolerance_lu
    assert m.true_peak_dbtp <= tgt.true_peak_dbtp
    # the target's rules (the camera audio's ticks sit in exact digital silence: dropouts to the QC)
    assert check_file(out, tgt, max_silence_s=None, qc=False).passed
    assert o.measured["integrated_lufs"] == pytest.approx(m.integrated_lufs, abs=0.01)

    # sync: first sample at the original audio's time, same length within one AAC frame,
    # and the camera's ticks where they were
    a_in, a_out = probe(video), probe(out)
    assert a_out.start_time_s == a_in.start_time_s == 0.0
    x = decoded(video)
    assert abs(y.shape[1] - x.shape[1]) <= 1024
    assert abs(a_out.frames - a_in.frames) <= 1024
    assert lag(x[0], y[0]) == 0


@pytest.mark.parametrize("suffix,precision", [(".mkv", 48), (".mov", 1)])
def test_sync_when_the_source_audio_starts_late(tmp_path, suffix, precision):
    """Sample k of the mix plays when sample k of the camera audio played (Matroska stamps
    in milliseconds: 48 samples; MOV edit lists are made sample-exact)."""
    src = tmp_path / f"late{suffix}"
    make_video(src, audio_start=12345)
    s = session_for(tmp_path, src.name, [Deliverable(kind="video", path=f"out{suffix}", target="youtube")])
    rep = render_deliverables(s)
    assert rep.outputs[0].compliant
    out = tmp_path / f"out{suffix}"
    assert packet_hashes(out, "video") == packet_hashes(src, "video")
    a_in, a_out = probe(src), probe(out)
    x, y = decoded(src), decoded(out)
    # where the content sits on the container clock, in samples
    shift = round((a_out.start_time_s - a_in.start_time_s) * SR) + lag(x[0], y[0])
    assert abs(shift) <= precision
    assert a_in.start_time_s > 0.2  # the camera audio really starts late
    if suffix == ".mkv":  # Matroska drops the AAC priming: the first decoded sample is the first real one
        assert abs(a_out.start_time_s - a_in.start_time_s) <= 0.001


def test_video_without_audio_gets_the_mix_at_the_first_picture(tmp_path):
    make_video(tmp_path / "silent.mp4", audio=False)
    mix = camera_audio(4.0)
    sf.write(tmp_path / "mix.wav", mix.T, SR, subtype="FLOAT")
    rep = deliver_video_after_auto(tmp_path / "mix.wav", tmp_path / "silent.mp4", tmp_path / "done.mp4",
                                   target=get_target("podcast"))
    o = rep.outputs[0]
    assert o.compliant, o.problems
    assert packet_hashes(tmp_path / "done.mp4", "video") == packet_hashes(tmp_path / "silent.mp4", "video")
    info = probe(tmp_path / "done.mp4")
    assert info.start_time_s == 0.0 and info.audio_stream_count == 1
    assert abs(info.frames - 4 * SR) <= 1024
    assert lag(mix[0], decoded(tmp_path / "done.mp4")[0]) == 0


def test_longer_mix_is_cut_to_the_video_and_said_so(tmp_path, video):
    s = session_for(tmp_path, "camera.mp4", [Deliverable(kind="video", path="cut.mp4", target="youtube")],
                    music_s=5.0)  # music runs 1.5 s past the pictures
    rep = render_deliverables(s)
    o = rep.outputs[0]
    assert any("1.500 s longer than the video" in n for n in o.notes)
    assert abs(probe(tmp_path / "cut.mp4").frames - probe(video).frames) <= 1024
    assert o.compliant  # measured on what was delivered, corrected if the cut moved the loudness


def test_mux_refuses_bad_requests(tmp_path, video):
    silence = lambda pos, n: np.zeros((2, n), np.float32)
    with pytest.raises(MediaError, match="cannot carry aac"):
        mux_video(video, silence, tmp_path / "x.webm", sample_rate=SR, channels=2, frames=SR)
    with pytest.raises(MediaError, match="overwrite an input"):
        mux_video(video, silence, video, sample_rate=SR, channels=2, frames=SR)
    sf.write(tmp_path / "a.wav", np.zeros((SR, 2), np.float32), SR)
    with pytest.raises(MediaError, match="no video stream"):
        mux_video(tmp_path / "a.wav", silence, tmp_path / "y.mp4", sample_rate=SR, channels=2, frames=SR)
    before = video.read_bytes()
    s = session_for(tmp_path, "camera.mp4", [Deliverable(kind="video", path="camera.mp4", target="youtube")])
    with pytest.raises(MediaError, match="overwrite an input"):
        render_deliverables(s)
    assert video.read_bytes() == before
    s = session_for(tmp_path, "camera.mp4", [Deliverable(kind="video", path="v.webm", format="aac", target="youtube")])
    with pytest.raises(SessionError, match="cannot carry aac"):
        render_deliverables(s)
    # WebM takes Opus audio (its default) but only VP8/VP9/AV1 pictures, which are copied, never re-encoded
    s = session_for(tmp_path, "camera.mp4", [Deliverable(kind="video", path="v.webm", target="youtube")])
    with pytest.raises(SessionError, match="cannot carry the .* pictures"):
        render_deliverables(s)
    assert not (tmp_path / "v.webm").exists()
