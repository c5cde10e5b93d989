"""The render engine against analytic expectations: placement, gains, fades, routing,
latency compensation and determinism (block-size and worker invariance:
test_block_invariance.py; memory: test_memory.py)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from mixdown.render.engine import fade_curve, pan_gains, render_array, render_file
from mixdown.render.graph import check
from mixdown.session import Bus, Clip, Fade, Keyframe, ProcessorSpec, Session, Track

SR = 48000
C = np.float32(np.cos(np.pi / 4))


@pytest.fixture()
def media(tmp_path):
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(SR * 2) * 0.1).astype(np.float32)
    stereo = (rng.standard_normal((SR * 2, 2)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "mono.wav", noise, SR, subtype="FLOAT")
    sf.write(tmp_path / "stereo.wav", stereo, SR, subtype="FLOAT")
    return tmp_path, noise, stereo.T


def session(tmp_path, tracks, **kw):
    s = Session(sample_rate=SR, tracks=tracks, **kw)
    s.base_dir = tmp_path
    return s


def test_clip_lands_on_its_sample(media):
    tmp, mono, _ = media
    s = session(tmp, [Track(name="a", clips=[Clip(source="mono.wav", start="12345s", **{"in": "1000s"},
                                                  duration="20000s")])])
    out = render_array(s)
    assert out.shape == (2, 12345 + 20000)
    assert not out[:, :12345].any()
    # a mono track in a stereo session is panned centre with the constant-power law
    np.testing.assert_array_equal(out[0, 12345:], mono[1000:21000] * C)
    np.testing.assert_array_equal(out[0], out[1])


def test_clip_gain_fades_and_automation(media):
    tmp, mono, _ = media
    clip = Clip(source="mono.wav", duration=1.0, gain_db=-6.0, fade_in=Fade(length="4800s", shape="linear"),
                fade_out=Fade(length="9600s", shape="equal-power"),
                automation={"gain_db": [Keyframe(t="24000s", v=0.0, interp="exp"), Keyframe(t="30000s", v=-12.0)]})
    s = session(tmp, [Track(name="a", clips=[clip])])
    out = render_array(s)[0]
    n = np.arange(SR)
    g = 10 ** (-6 / 20) * np.ones(SR)
    auto_db = np.interp(n, [24000, 30000], [0, -12])
    g *= 10 ** (auto_db / 20)
    g[:4800] *= n[:4800] / 4800
    fo = SR - 9600
    g[fo:] *= np.sin((SR - 1 - n[fo:]) / 9600 * np.pi / 2)
    np.testing.assert_allclose(out, mono[:SR] * C * g, rtol=1e-5, atol=1e-7)
    assert out[0] == 0 and out[-1] == 0


def test_fade_shapes_are_what_they_say():
    x = np.linspace(0, 1, 11)
    assert np.allclose(fade_curve(x, "linear"), x)
    ep = fade_curve(x, "equal-power")
    assert np.allclose(ep ** 2 + fade_curve(1 - x, "equal-power") ** 2, 1)  # constant power crossfade
    assert np.allclose(fade_curve(x, "s-curve") + fade_curve(1 - x, "s-curve"), 1)  # constant amplitude
    assert fade_curve(np.array([0.5]), "log")[0] == pytest.approx(10 ** (-1.5))


def test_overlapping_clips_sum_and_stereo_passes_through(media):
    tmp, mono, stereo = media
    s = session(tmp, [Track(name="a", clips=[Clip(source="stereo.wav", duration=1.0),
                                             Clip(source="stereo.wav", start=0.5, duration=1.0)])])
    out = render_array(s)
    exp = np.zeros((2, int(1.5 * SR)), dtype=np.float32)
    exp[:, :SR] += stereo[:, :SR]
    exp[:, SR // 2:] += stereo[:, :SR]
    np.testing.assert_allclose(out, exp, atol=1e-7)


def test_pan_law(media):
    tmp, mono, stereo = media
    s = session(tmp, [Track(name="m", pan=1.0, clips=[Clip(source="mono.wav", duration=0.5)]),
                      Track(name="s", pan=-0.5, gain_db=-6, clips=[Clip(source="stereo.wav", duration=0.5)])])
    s.tracks[1].mute = True
    out = render_array(s)
    np.testing.assert_allclose(out[0], 0, atol=1e-9)
    np.testing.assert_allclose(out[1], mono[:SR // 2], rtol=1e-6)  # hard right: the whole mono signal
    s.tracks[1].mute = False
    s.tracks[0].mute = True
    out = render_array(s)
    theta = 0.5 * np.pi / 4
    g = 10 ** (-6 / 20)
    np.testing.assert_allclose(out[0], stereo[0, :SR // 2] * g, rtol=1e-5)  # balance keeps the near side
    np.testing.assert_allclose(out[1], stereo[1, :SR // 2] * g * np.sqrt(2) * np.sin(theta), rtol=1e-5)


def test_automated_pan_is_exact_at_centre_and_hard_sides_and_matches_static():
    sweep = np.linspace(-1.0, 1.0, 2001)  # includes -1, 0 and 1
    for mono in (True, False):
        gl, gr = pan_gains(sweep, mono_source=mono)
        assert gl[-1] == 0.0 and gr[0] == 0.0  # a hard pan silences the other side exactly
        if mono:
            np.testing.assert_allclose(gl**2 + gr**2, 1.0, rtol=1e-6)  # constant power
        else:
            assert gl[1000] == 1.0 and gr[1000] == 1.0  # a balance at centre is unity, exactly
        # each value gives the same gains alone as inside an automated block
        for i in (0, 137, 1000, 1999):
            assert pan_gains(float(sweep[i]), mono_source=mono) == (gl[i], gr[i])


def test_solo_and_buses_and_sends(media):
    tmp, mono, stereo = media
    s = session(tmp, [
        Track(name="a", clips=[Clip(source="stereo.wav", duration=0.5)], output="bus1", gain_db=-6,
              sends=[{"bus": "fx", "level_db": -12, "pre_fader": True}]),
        Track(name="b", clips=[Clip(source="stereo.wav", duration=0.5)]),
    ], buses=[Bus(name="bus1", gain_db=-3), Bus(name="fx")])
    out = render_array(s)
    x = stereo[:, :SR // 2]
    exp = x * 10 ** (-9 / 20) + x * 10 ** (-12 / 20) + x
    np.testing.assert_allclose(out, exp, rtol=1e-5, atol=1e-7)
    s.tracks[1].solo = True
    np.testing.assert_allclose(render_array(s), x, atol=1e-7)


def test_latency_is_compensated(tmp_path):
    click = np.zeros(SR, dtype=np.float32)
    click[1000] = 0.5
    sf.write(tmp_path / "click.wav", click, SR, subtype="FLOAT")
    lim = ProcessorSpec(type="limiter", ceiling_db=-1.0, lookahead_ms=5.0)
    s = session(tmp_path, [Track(name="a", clips=[Clip(source="click.wav")], chain=[lim]),
                           Track(name="b", clips=[Clip(source="click.wav")], pan=1.0)],
                master={"chain": [lim]})
    g = check(s)
    assert g.output_latency == 2 * 240
    out = render_array(s)
    # both tracks' clicks still land on sample 1000 of the output
    assert np.argmax(np.abs(out[0])) == 1000
    assert np.argmax(np.abs(out[1])) == 1000
    assert out.shape[1] == SR


@pytest.mark.parametrize("where", ["after an insert", "on a bus", "on the master"])
def test_automation_after_latency_lands_on_its_timeline_sample(media, where):
    # a 5 ms lookahead limiter delays everything after it by 240 samples: a keyframe
    # downstream still acts on the audio of its own timeline sample (it acted 240 early)
    tmp, _, _ = media
    lim = ProcessorSpec(type="limiter", ceiling_db=-0.1, lookahead_ms=5.0)

    def make(step: bool) -> Session:
        auto = {"automation": {"gain_db": [Keyframe(t=0, v=0, interp="hold"), Keyframe(t=0.1, v=12)]}} if step else {}
        bell = ProcessorSpec(type="bell", freq_hz=1000.0, gain_db=0.0, **auto)
        track_chain = [lim, bell] if where == "after an insert" else [lim]
        return session(tmp, [Track(name="a", clips=[Clip(source="stereo.wav", duration=0.5)], chain=track_chain,
                                   output="b")],
                       buses=[Bus(name="b", chain=[bell] if where == "on a bus" else [])],
                       master={"chain": [bell] if where == "on the master" else []})

    a, b = render_array(make(True)), render_array(make(False))
    assert int(np.flatnonzero(np.any(a != b, axis=0))[0]) == int(0.1 * SR)


CHAIN = [
    ProcessorSpec(type="highpass", freq_hz=120.0),
    ProcessorSpec(type="compressor", threshold_db=-30.0, ratio=4.0, attack_ms=5.0, release_ms=80.0,
                  automation={"threshold_db": [Keyframe(t=0.1, v=-30), Keyframe(t=0.3, v=-10)]}),
    ProcessorSpec(type="bell", freq_hz=2000.0, gain_db=4.0, q=1.0,
                  automation={"freq_hz": [Keyframe(t=0.0, v=500.0, interp="exp"), Keyframe(t=0.4, v=4000.0)]}),
]


FX_CHAIN = [
    ProcessorSpec(type="delay", time_ms=30.0, feedback=0.4, mix=0.5,
                  automation={"time_ms": [Keyframe(t=0.05, v=30.0), Keyframe(t=0.3, v=80.0)]}),
    ProcessorSpec(type="dehum", harmonics=4, q=20.0,
                  automation={"freq_hz": [Keyframe(t=0.1, v=50.0, interp="hold"), Keyframe(t=0.2, v=60.0)]}),
    ProcessorSpec(type="deesser", threshold_db=-40.0,
                  automation={"freq_hz": [Keyframe(t=0.0, v=4000.0, interp="exp"), Keyframe(t=0.4, v=9000.0)],
                              "q": [Keyframe(t=0.15, v=1.0), Keyframe(t=0.25, v=3.0)]}),
]


def rich_session(tmp):
    return session(tmp, [
        Track(name="v", role="dialogue", clips=[Clip(source="mono.wav", duration=0.45, fade_in=0.01, fade_out=0.02)],
              chain=CHAIN, output="dx",
              automation={"pan": [Keyframe(t=0, v=-1), Keyframe(t=0.4, v=1)]}),
        Track(name="m", role="music", clips=[Clip(source="stereo.wav", start=0.05, duration=0.4)],
              chain=[ProcessorSpec(type="compressor", sidechain="v", threshold_db=-40, ratio=8)],
              automation={"gain_db": [Keyframe(t=0.1, v=0, interp="exp"), Keyframe(t=0.2, v=-20, interp="hold"),
                                      Keyframe(t=0.35, v=0)]}),
        # parameters that became automatable: a moving delay time, a moving de-esser band and hum notch
        Track(name="fx", role="sfx", clips=[Clip(source="stereo.wav", start=0.02, duration=0.4)], chain=FX_CHAIN),
    ], buses=[Bus(name="dx", chain=[ProcessorSpec(
        type="limiter", ceiling_db=-6.0,
        automation={"ceiling_db": [Keyframe(t=0.1, v=-6.0, interp="hold"), Keyframe(t=0.2001, v=-12.0)]})])],
        master={"chain": [ProcessorSpec(type="limiter", ceiling_db=-1.0, true_peak=True)]})


def test_same_session_same_bytes(media):
    tmp, _, _ = media
    s = rich_session(tmp)
    a = tmp / "a.wav"
    b = tmp / "b.wav"
    render_file(s, a, format="wav24")
    render_file(s, b, format="wav24", block_size=1234)
    assert a.read_bytes() == b.read_bytes()


def test_progress_callback_reaches_the_end(media):
    tmp, _, _ = media
    calls = []
    s = rich_session(tmp)
    render_array(s, block_size=4096, progress=lambda d, t: calls.append((d, t)))
    # the fx track's delay rings on past the last clip (0.45 s): the programme runs to its tail
    length = check(s).length
    assert length > int(0.45 * SR)
    assert calls[-1][0] == calls[-1][1] == length
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
