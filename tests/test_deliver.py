"""Deliverables from one render: several targets, every format checked after writing,
stems at the mix's gain, 5.1 and its downmix, lossy verification and correction,
failures reported as failures."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from mixdown.analysis.loudness import measure_array
from mixdown.deliver import formats
from mixdown.deliver.bwf import read_bext
from mixdown.deliver.check import check_file
from mixdown.deliver.deliverables import lossy_retry_lu, render_deliverables
from mixdown.errors import MediaError, SessionError, TargetError
from mixdown.media.channels import map_channels
from mixdown.media.write import read_audio
from mixdown.render import engine
from mixdown.session import Clip, Deliverable, Keyframe, Session, Track
from mixdown.targets import get_target

SR = 48000


def noise(seconds: float, channels: int, *, seed: int, level: float, lo: float = 100, hi: float = 8000,
          am_hz: float = 0.0) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    sos = butter(4, [lo, hi], btype="band", fs=SR, output="sos")
    x = sosfilt(sos, rng.standard_normal((channels, n)), axis=1)
    if am_hz:
        x *= 0.55 + 0.45 * np.sin(2 * np.pi * am_hz * np.arange(n) / SR)
    return (level * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture()
def media(tmp_path):
    sf.write(tmp_path / "voice.wav", noise(6, 1, seed=1, level=0.3, lo=150, hi=5000, am_hz=1.7).T, SR,
             subtype="FLOAT")
    sf.write(tmp_path / "music.wav", noise(6, 2, seed=2, level=0.2, am_hz=0.3).T, SR, subtype="FLOAT")
    sf.write(tmp_path / "fx.wav", noise(2, 2, seed=3, level=0.3, lo=1000, hi=12000).T, SR, subtype="FLOAT")
    sf.write(tmp_path / "room.wav", noise(6, 2, seed=4, level=0.05, lo=60, hi=1000).T, SR, subtype="FLOAT")
    return tmp_path


def make_session(tmp_path, deliverables, **kw) -> Session:
    s = Session(sample_rate=SR, tracks=[
        Track(name="voice", role="dialogue", clips=[Clip(source="voice.wav")]),
        Track(name="music", role="music", gain_db=-6, clips=[Clip(source="music.wav")]),
        Track(name="fx", role="sfx", clips=[Clip(source="fx.wav", start=2)]),
        Track(name="room", role="ambience", clips=[Clip(source="room.wav")]),
    ], deliverables=deliverables, **kw)
    s.base_dir = tmp_path
    return s


def count_renders(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = engine.Renderer.blocks

    def blocks(self, *a, **k):
        calls.append(1)
        return original(self, *a, **k)

    monkeypatch.setattr(engine.Renderer, "blocks", blocks)
    return calls


def test_one_render_many_targets_every_format_checked(tmp_path, media, monkeypatch):
    renders = count_renders(monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outs = [("mix.wav", None, "youtube"), ("mix.flac", None, "ebu-r128"), ("bwf.wav", "bwf", "ebu-r128"),
            ("mix16.wav", "wav16", "podcast"), ("mix32.wav", "wav32f", "youtube"), ("mix.mp3", None, "podcast"),
            ("mix.m4a", None, "youtube"), ("mix.opus", None, "ebu-r128"), ("mix.ogg", None, "spotify")]
    s = make_session(tmp_path, [Deliverable(path=f"out/{p}", format=f, target=t) for p, f, t in outs])
    rep = render_deliverables(s)
    assert len(renders) == 1  # one render for nine files and four specs
    assert rep.compliant, rep.problems
    for (p, _f, t), o in zip(outs, rep.outputs, strict=True):
        tgt = get_target(t)
        path = tmp_path / "out" / p
        assert o.compliant and o.path == str(path)
        # independently: decode the file and check it against its spec
        res = check_file(path, tgt, max_silence_s=None)
        assert res.passed, (p, [r.to_json() for r in res.failures])
        got = res.measurement.loudness
        # lossless: on target (the master stage's 0.05 LU); lossy: within half the spec's tolerance
        off = abs(got.integrated_lufs - tgt.integrated_lufs)
        assert off <= (lossy_retry_lu(tgt) if formats.is_lossy(o.format) else 0.05 + 1e-3)
        assert got.true_peak_dbtp <= tgt.true_peak_dbtp
        # the report's numbers are the file's
        assert o.measured["integrated_lufs"] == pytest.approx(got.integrated_lufs, abs=0.01)
        assert o.measured["true_peak_dbtp"] == pytest.approx(got.true_peak_dbtp, abs=0.01)
        if formats.is_lossy(o.format):
            assert o.verified == "decoded"
            assert o.ceiling_dbtp <= formats.lossy_ceiling(tgt) - 0.1 + 1e-9
        else:
            assert o.verified == "rendered"
    info = read_bext(tmp_path / "out" / "bwf.wav")
    m = measure_array(read_audio(tmp_path / "out" / "bwf.wav")[0], SR)
    assert info.loudness_value == pytest.approx(m.integrated_lufs, abs=0.0051)
    assert info.max_true_peak_level == pytest.approx(m.true_peak_dbtp, abs=0.0051)
    assert info.loudness_range == pytest.approx(m.loudness_range_lu, abs=0.0051)
    assert info.origination_date == "2023-11-14"
    # same target, same layout, lossless: the same stage, so the same samples
    a, _ = read_audio(tmp_path / "out" / "mix.wav")
    b, _ = read_audio(tmp_path / "out" / "mix32.wav")
    assert np.max(np.abs(a - b)) <= 2 ** -24
    # nothing temporary left behind
    assert sorted(q.name for q in (tmp_path / "out").iterdir()) == sorted(p for p, _, _ in outs)
    # deterministic: the same session gives the same bytes (the float WAV's PEAK chunk, written by
    # libsndfile, carries a time stamp: its samples are compared instead)
    first = {p: (tmp_path / "out" / p).read_bytes() for p, _, _ in outs if p != "mix32.wav"}
    render_deliverables(s)
    assert {p: (tmp_path / "out" / p).read_bytes() for p, _, _ in outs if p != "mix32.wav"} == first
    np.testing.assert_array_equal(read_audio(tmp_path / "out" / "mix32.wav")[0], b)


def test_stems_and_me_sum_to_the_mix_before_its_limiter(tmp_path, media):
    # quiet target, no limiting: the mix is exactly premaster x gain, so the stems must sum to it
    fade = {"gain_db": [Keyframe(t=4.0, v=0.0), Keyframe(t=6.0, v=-30.0)]}
    s = make_session(tmp_path, [
        Deliverable(path="mix.wav", format="wav32f", target="ebu-r128"),
        Deliverable(kind="stems", path="stems", format="wav32f"),
        Deliverable(kind="me", path="me.wav", format="wav32f"),
    ])
    s.master.automation = fade
    rep = render_deliverables(s)
    mix_rep, stems_rep, me_rep = rep.outputs
    assert mix_rep.limiter_max_reduction_db == 0.0
    assert stems_rep.gain_db == pytest.approx(mix_rep.gain_db) == pytest.approx(me_rep.gain_db)
    mix, _ = read_audio(tmp_path / "mix.wav")
    stems = {r: read_audio(tmp_path / "stems" / f"{r}.wav")[0] for r in ("dialogue", "music", "sfx", "ambience")}
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == sorted(f"{r}.wav" for r in stems)
    total = sum(stems.values())
    assert np.max(np.abs(total - mix)) < 1e-5
    me, _ = read_audio(tmp_path / "me.wav")
    np.testing.assert_allclose(me, stems["music"] + stems["sfx"] + stems["ambience"], atol=1e-6)
    # the master fade is in the stems too
    assert np.abs(stems["music"][:, -SR // 10:]).max() < 0.002


def test_stems_follow_their_own_target_and_warn_about_clipping(tmp_path, media):
    hot = dict(lufs=-9.0, true_peak=-1.0)
    s = make_session(tmp_path, [Deliverable(kind="stems", path="st", roles=["dialogue", "sfx"], **hot),
                                Deliverable(kind="stems", path="st32", format="wav32f", **hot),
                                Deliverable(path="hot.wav", **hot)])
    rep = render_deliverables(s)
    o = rep.outputs[0]
    assert "the custom mix's gain" in o.notes[0]
    assert o.gain_db == pytest.approx(rep.outputs[2].gain_db)
    assert rep.outputs[2].limiter_max_reduction_db > 1.0  # the mix is limited, its stems are not
    assert sorted(p.name for p in (tmp_path / "st").iterdir()) == ["dialogue.wav", "sfx.wav"]
    # -9 LUFS before the limiter: the effects stem goes past full scale, which 24-bit cannot hold
    assert any("clipped in wav24" in p for p in o.problems)
    assert o.compliant is None
    peak = np.abs(read_audio(tmp_path / "st32" / "sfx.wav")[0]).max()
    assert peak > 1.0  # float keeps it


def test_surround_and_its_downmix_each_normalised(tmp_path):
    x = noise(5, 6, seed=7, level=0.25, am_hz=0.5)
    x[3] *= 0.2  # a little LFE
    sf.write(tmp_path / "surround.wav", x.T, SR, subtype="FLOAT")
    s = Session(sample_rate=SR, layout="5.1", tracks=[Track(name="m", clips=[Clip(source="surround.wav")])],
                deliverables=[Deliverable(path="51.wav", target="ebu-r128"),
                              Deliverable(path="20.wav", layout="stereo", target="ebu-r128"),
                              Deliverable(path="51.m4a", target="ebu-r128")])
    s.base_dir = tmp_path
    rep = render_deliverables(s)
    assert rep.compliant, rep.problems
    assert set(rep.premaster) == {"5.1", "stereo"}
    for name, layout in (("51.wav", "5.1"), ("20.wav", "stereo"), ("51.m4a", "5.1")):
        res = check_file(tmp_path / name, get_target("ebu-r128"), max_silence_s=None)
        assert res.passed and res.measurement.layout == layout
    five, two = rep.outputs[0], rep.outputs[1]
    assert five.gain_db != pytest.approx(two.gain_db, abs=0.1)  # the downmix has its own loudness
    # the stereo file is the ITU downmix of the 5.1 file's premaster, at its own gain
    a, _ = read_audio(tmp_path / "51.wav")
    b, _ = read_audio(tmp_path / "20.wav")
    expect = map_channels(a, 2) * np.float32(10 ** ((two.gain_db - five.gain_db) / 20))
    assert np.max(np.abs(expect - b)) < 1e-4


def test_mono_mp3_level_is_corrected_after_decoding(tmp_path, media):
    """LAME encodes mono 0.45 dB low: caught by decoding, fixed by a second encode."""
    s = make_session(tmp_path, [Deliverable(path="pod.mp3", layout="mono", target="ebu-r128")])
    o = render_deliverables(s).outputs[0]
    assert o.encodes == 2
    assert "LU off" in o.notes[0] and "encoded again" in o.notes[0]
    res = check_file(tmp_path / "pod.mp3", get_target("ebu-r128"), max_silence_s=None)
    assert res.passed
    assert lossy_retry_lu(get_target("ebu-r128")) == 0.1  # half of R128's +-0.2 LU
    assert abs(res.measurement.loudness.integrated_lufs + 23) <= 0.1


def test_codec_overshoot_is_caught_and_fixed(tmp_path, monkeypatch):
    """Without headroom, AAC overshoots the ceiling of a hard-limited master: the file is
    limited lower (and its level re-aimed) and encoded again until the decoded file complies."""
    monkeypatch.setattr(formats, "LOSSY_HEADROOM_DB", 0.0)
    sf.write(tmp_path / "dense.wav", noise(5, 2, seed=5, level=0.5, hi=12000, am_hz=3.0).T, SR, subtype="FLOAT")
    s = Session(sample_rate=SR, tracks=[Track(name="c", clips=[Clip(source="dense.wav")])],
                deliverables=[Deliverable(path="c.m4a", lufs=-12.0, true_peak=-1.0, bitrate=192000)])
    s.base_dir = tmp_path
    o = render_deliverables(s).outputs[0]
    assert o.encodes >= 2
    assert any("codec overshoot" in n for n in o.notes)
    assert o.limiter_max_reduction_db > 0.5
    assert o.compliant, o.problems
    tgt = get_target(None, lufs=-12.0, true_peak=-1.0)
    res = check_file(tmp_path / "c.m4a", tgt, max_silence_s=None)
    assert res.passed
    assert res.measurement.loudness.true_peak_dbtp <= -1.0


def test_unreachable_target_is_a_failure_not_a_pass(tmp_path, media):
    s = make_session(tmp_path, [Deliverable(path="hot.wav", lufs=-5.0, true_peak=-1.0),
                                Deliverable(path="ok.wav", target="ebu-r128")])
    rep = render_deliverables(s)
    hot, ok = rep.outputs
    assert hot.compliant is False and not rep.compliant
    assert any("limiting" in p for p in hot.problems)
    assert any(p.startswith("integrated_loudness") for p in hot.problems)
    assert ok.compliant
    assert not check_file(tmp_path / "hot.wav", get_target(None, lufs=-5.0, true_peak=-1.0), max_silence_s=None).passed


def test_dialogue_gated_target(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXDOWN_CACHE_DIR", str(tmp_path / "cache"))
    s = Session(sample_rate=SR, tracks=[
        Track(name="host", role="dialogue", clips=[Clip(source="speech_host_16k.flac")]),
        Track(name="bed", role="music", gain_db=-14, clips=[Clip(source="music_16k.flac")]),
    ], deliverables=[Deliverable(path=str(tmp_path / "nf.wav"), target="netflix")])
    s.base_dir = "tests/data"
    rep = render_deliverables(s)
    o = rep.outputs[0]
    assert rep.speech_s > 2.0
    assert o.measured["dialogue_gated_lufs"] == pytest.approx(-27.0, abs=0.06)
    assert o.requirements[0]["name"] == "dialogue_loudness"
    # the programme loudness is another number: gating on dialogue mattered
    assert abs(o.measured["integrated_lufs"] + 27.0) > 0.2
    res = check_file(tmp_path / "nf.wav", get_target("netflix"), max_silence_s=None)
    assert res.passed
    assert res.measurement.dialogue_lufs == pytest.approx(-27.0, abs=0.5)  # the file's own VAD


@pytest.mark.parametrize("bad,error,match", [
    (dict(path="x.wav", format="wav8"), SessionError, "unknown output format"),
    (dict(path="x.mp3", layout="5.1"), SessionError, "cannot make 5.1|MP3 carries"),
    (dict(path="x.m4a", target="no-such"), TargetError, "unknown target"),
    (dict(path="x.xyz"), SessionError, "cannot tell"),
    (dict(path="voice.wav", target="youtube"), MediaError, "overwrite an input"),
    (dict(path="x.wav", true_peak=-2.0), SessionError, "needs a target"),
    (dict(kind="video", path="x.mp4"), SessionError, "needs `video:`"),
])
def test_bad_deliverables_are_refused_before_anything_is_written(tmp_path, media, bad, error, match):
    s = make_session(tmp_path, [Deliverable(path="fine.wav"), Deliverable(**bad)])
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(error, match=match) as exc:
        render_deliverables(s)
    assert exc.value.loc[:2] == ("deliverables", 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_same_path_twice_and_no_deliverables(tmp_path, media):
    s = make_session(tmp_path, [Deliverable(path="a.wav"), Deliverable(path="a.wav", target="youtube")])
    with pytest.raises(SessionError, match="same path"):
        render_deliverables(s)
    with pytest.raises(SessionError, match="no deliverables"):
        render_deliverables(make_session(tmp_path, []))


def test_without_target_the_session_renders_as_written(tmp_path, media):
    s = make_session(tmp_path, [Deliverable(path="plain.wav", format="wav32f")])
    o = render_deliverables(s).outputs[0]
    assert o.compliant is None and o.gain_db == 0.0 and o.ceiling_dbtp is None
    got, _ = read_audio(tmp_path / "plain.wav")
    np.testing.assert_array_equal(got, engine.render_array(s))
