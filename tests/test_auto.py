"""`mixdown auto` on real recordings, judged by measuring what it wrote.

The scenario: the bundled podcast's two real speakers (examples/podcast/media), each
on their own microphone that also hears the room (noise ~30 dB under the voice) and
the other speaker (bleed at -15 dB, 3 ms late); the guest 8 dB quieter than the host;
the real music bed at full level; a low room-tone ambience. Ground truth for who
speaks when is examples/podcast/conversation.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.analysis.levels import LevelMeter
from mixdown.auto.ducking import DuckParams, duck_keyframes, duck_spans
from mixdown.media.write import read_audio

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast"
SR = 48000
OFFSET = 6.0  # the conversation starts 6 s into the programme


def run(*args):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def loud(audio, regions=None):
    m = LevelMeter(SR, audio.shape[0])
    m.process(audio.astype(np.float32))
    return m.series().loudness(regions)


def truth():
    conv = json.loads((POD / "conversation.json").read_text())
    utts = [(u["speaker"], round((u["speech"][0] + OFFSET) * SR), round((u["speech"][1] + OFFSET) * SR))
            for u in conv["utterances"]]
    return utts


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("auto")
    rng = np.random.default_rng(11)
    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "media" / "guest.flac", sample_rate=SR)
    n = min(host.shape[1], guest.shape[1])
    host, guest = host[0, :n], guest[0, :n]
    # equal loudness first, then the guest 8 dB down
    host = host * 10 ** ((-24 - loud(host[None])) / 20)
    guest = guest * 10 ** ((-32 - loud(guest[None])) / 20)
    delay = int(0.003 * SR)
    bleed = 10 ** (-15 / 20)

    def late(x):
        return np.concatenate([np.zeros(delay), x[:-delay]])

    def room(level_db):
        from scipy.signal import butter, sosfilt

        x = sosfilt(butter(1, 400, fs=SR, output="sos"), rng.standard_normal(n))
        return x * 10 ** (level_db / 20) / np.sqrt(np.mean(x ** 2))

    host_mic = host + bleed * late(guest) + room(-56)
    guest_mic = guest + bleed * late(host) + room(-60)
    sf.write(tmp / "host_mic.wav", host_mic.astype(np.float32), SR, subtype="FLOAT")
    sf.write(tmp / "guest_mic.wav", guest_mic.astype(np.float32), SR, subtype="FLOAT")
    length = n + int(OFFSET * SR)
    amb = room(-40)[: min(n, length)]
    sf.write(tmp / "room.wav", np.stack([amb, np.roll(amb, 4800)], axis=1).astype(np.float32), SR, subtype="FLOAT")
    (tmp / "raw.yaml").write_text(f"""\
mixdown: 1
tracks:
  - {{name: Host, role: dialogue, clips: [{{source: host_mic.wav, start: {OFFSET}}}]}}
  - {{name: Guest, role: dialogue, clips: [{{source: guest_mic.wav, start: {OFFSET}}}]}}
  - name: Music
    role: music
    clips:
      - {{source: {POD / 'media' / 'music.ogg'}, start: 0, duration: 60}}
      - {{source: {POD / 'media' / 'music.ogg'}, start: 60, in: 5, duration: {length / SR - 60:.3f}}}
  - {{name: Room, role: ambience, clips: [{{source: room.wav, start: {OFFSET}}}]}}
""")
    out = tmp / "mix.wav"
    r = run("auto", tmp / "raw.yaml", "--target", "ebu-r128", "-o", out, "--stems", tmp / "stems",
            "--save-session", tmp / "decided.yaml", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    music_src = np.zeros((2, length), dtype=np.float32)
    m1, _ = read_audio(POD / "media" / "music.ogg", sample_rate=SR)
    music_src[:, :60 * SR] = m1[:, :60 * SR]
    music_src[:, 60 * SR:] = m1[:, 5 * SR: 5 * SR + length - 60 * SR]
    return tmp, out, summary, music_src


def test_loudness_on_target_and_under_ceiling(scenario):
    tmp, out, summary, _ = scenario
    m = json.loads(run("measure", out, "--json").stdout)
    assert abs(m["integrated_lufs"] - (-23.0)) <= 0.2
    assert m["true_peak_dbtp"] <= -1.0
    assert summary["compliant"] is True


def test_music_sits_12_db_under_each_speaker(scenario):
    tmp, _, _, _ = scenario
    dlg, _ = sf.read(tmp / "stems" / "dialogue.wav", always_2d=True)
    mus, _ = sf.read(tmp / "stems" / "music.wav", always_2d=True)
    for speaker in ("host", "guest"):
        for who, a, b in truth():
            if who != speaker:
                continue
            d = loud(dlg.T[:, a:b])
            mu = loud(mus.T[:, a:b])
            assert mu is None or d - mu >= 12.0, (speaker, a / SR, d, mu)


def music_gain_db(tmp, music_src):
    """The gain applied to the music, every 100 ms: its stem against its source."""
    mus, _ = sf.read(tmp / "stems" / "music.wav", always_2d=True)
    hop = SR // 10
    n = min(mus.shape[0], music_src.shape[1]) // hop
    e_out = (mus[: n * hop].T ** 2).reshape(2, n, hop).mean(axis=(0, 2))
    e_src = (music_src[:, : n * hop] ** 2).reshape(2, n, hop).mean(axis=(0, 2))
    ok = e_src > 1e-7
    g = np.full(n, np.nan)
    g[ok] = 10 * np.log10(e_out[ok] / e_src[ok])
    return g


def test_no_pumping_between_turns_and_return_in_pauses(scenario):
    tmp, _, _, music_src = scenario
    g = music_gain_db(tmp, music_src)
    utts = truth()
    hop = SR // 10
    ducked = np.nanmedian(np.concatenate([g[a // hop: b // hop] for _, a, b in utts]))
    checked_short = checked_long = 0
    for (_, _, b0), (_, a1, _) in pairwise(utts):
        gap = (a1 - b0) / SR
        seg = g[b0 // hop + 1: a1 // hop]
        seg = seg[~np.isnan(seg)]
        if seg.size == 0:
            continue
        if gap < 1.5:
            assert seg.max() - ducked <= 3.0, (b0 / SR, gap, seg.max() - ducked)
            checked_short += 1
        else:
            assert seg.max() - ducked >= 6.0, (b0 / SR, gap, seg.max() - ducked)
            checked_long += 1
    assert checked_short >= 5 and checked_long >= 1


def test_speakers_end_within_1_5_db(scenario):
    tmp, _, _, _ = scenario
    dlg, _ = sf.read(tmp / "stems" / "dialogue.wav", always_2d=True)
    regions = {"host": [], "guest": []}
    for who, a, b in truth():
        regions[who].append((a, b))
    lh = loud(dlg.T, regions["host"])
    lg = loud(dlg.T, regions["guest"])
    assert abs(lh - lg) <= 1.5, (lh, lg)


def test_decisions_are_listed_and_saved_session_renders_the_same_bytes(scenario):
    tmp, out, summary, _ = scenario
    kinds = {d["kind"] for d in summary["decisions"]}
    assert {"speech", "leveling", "balance", "duck", "loudness", "limiter"} <= kinds
    for d in summary["decisions"]:
        assert d["reason"] and d["action"]
    again = tmp / "again.wav"
    r = run("render", tmp / "decided.yaml", "-o", again)
    assert r.returncode == 0, r.stderr
    assert again.read_bytes() == out.read_bytes()


def test_stems_sum_to_the_mix(scenario):
    tmp, out, summary, _ = scenario
    stems = [sf.read(tmp / "stems" / f"{r}.wav", always_2d=True)[0] for r in ("dialogue", "music", "ambience")]
    total = sum(stems)
    # stems are at the mix's gain, before the limiter: where the limiter is idle, mix = sum of the stems
    mix, _ = sf.read(out, always_2d=True)
    from scipy.ndimage import maximum_filter1d

    # far under the ceiling for 2 s around: the limiter has fully released (80 ms release)
    quiet = maximum_filter1d(np.abs(total).max(axis=1), size=2 * SR) < 10 ** (-8 / 20)
    assert quiet.mean() > 0.05
    err = np.abs(mix[quiet] - total[quiet]).max()
    assert err < 4 * 2.0 ** -23  # 24-bit quantisation of three stems and the mix
    # the summary reports the stems' gain, and a residual that is float rounding only: this mix needs no limiting
    stems_sum = summary["stems_sum"]
    assert stems_sum["gain_db"] == pytest.approx(summary["loudness_gain_db"], abs=1e-3)
    assert summary["limiter_max_reduction_db"] < 0.01 and stems_sum["residual_peak_dbfs"] < -120


def test_duck_keyframes_follow_hold_and_lookahead():
    p = DuckParams(attack_s=0.3, release_s=0.8, lookahead_s=0.35, hold_s=1.5, min_duck_s=0.6)
    speech = [(SR * 10, SR * 12), (SR * 13, SR * 15), (SR * 20, SR * 20 + 100)]
    spans = duck_spans(speech, SR, p)
    assert spans == [(SR * 10, SR * 15), (SR * 20, SR * 20 + int(0.6 * SR))]  # 1 s gap held; short one lengthened
    keys = duck_keyframes(speech, SR, 12.0, p)
    assert keys[0] == (SR * 10 - int(0.35 * SR), 0.0, "exp")
    assert keys[1] == (SR * 10 - int(0.05 * SR), -12.0, "exp")
    assert keys[3] == (SR * 15 + int(0.8 * SR), 0.0, "exp")


@pytest.mark.parametrize("case", ["no_files", "silent_dialogue", "too_short", "unreachable"])
def test_bad_input_gets_one_clear_line(tmp_path, case):
    t = np.arange(SR * 4) / SR
    music = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(tmp_path / "music.wav", music, SR)
    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    sf.write(tmp_path / "speech.wav", host[0, : SR * 8], SR)
    sf.write(tmp_path / "silence.wav", np.zeros(SR * 4, dtype=np.float32), SR)
    sf.write(tmp_path / "short.wav", host[0, SR: SR + SR // 4], SR)
    out = tmp_path / "out.wav"
    args = {
        "no_files": ["--target", "youtube"],
        "silent_dialogue": ["--dialogue", tmp_path / "silence.wav", "--music", tmp_path / "music.wav",
                            "--target", "youtube"],
        "too_short": ["--dialogue", tmp_path / "short.wav", "--target", "youtube"],
        "unreachable": ["--dialogue", tmp_path / "speech.wav", "--lufs", "-4", "--true-peak", "-1",
                        "--max-limiting", "3"],
    }[case]
    r = run("auto", *args, "-o", out)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln]
    assert "Traceback" not in r.stderr
    if case == "unreachable":
        assert r.returncode == 3
        assert any("misses the target" in ln and "limiting" in ln for ln in lines), r.stderr
        assert json.loads(run("measure", out, "--json").stdout)["true_peak_dbtp"] <= -1.0
    else:
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert {"no_files": "nothing to mix", "silent_dialogue": "no speech found",
                "too_short": "400 ms"}[case] in lines[0]
        assert not out.exists()


def test_master_stage_corrections_between_passes():
    from dataclasses import astuple

    from mixdown.master import MasterParams, next_pass

    mp = MasterParams(tolerance_lu=0.05, max_limiting_db=6.0)
    kw = {"goal": -14.0, "gain": 10.0, "ceiling": -1.1, "capped": False}
    # within tolerance, peaks under, little limiting: done, nothing moves
    assert astuple(next_pass(mp, got=-14.03, over_tp=-0.2, limited_db=2.0, **kw)) == (10.0, -1.1, False, False)
    # 0.4 LU short (the limiter cost loudness): the gain moves by the miss
    assert astuple(next_pass(mp, got=-14.4, over_tp=-0.2, limited_db=2.0, **kw)) == pytest.approx(
        (10.4, -1.1, False, True)
    )
    # a true peak 0.02 dB over: the ceiling drops by the overshoot and 0.05 dB
    assert astuple(next_pass(mp, got=-14.0, over_tp=0.02, limited_db=2.0, **kw)) == pytest.approx(
        (10.0, -1.17, False, True)
    )
    # 8 dB of limiting: 2 dB come off the gain and it is capped there ...
    assert astuple(next_pass(mp, got=-14.0, over_tp=-0.2, limited_db=8.0, **kw)) == pytest.approx(
        (8.0, -1.1, True, True)
    )
    # ... after which a loudness miss no longer moves it
    capped = dict(kw, capped=True)
    assert astuple(next_pass(mp, got=-16.0, over_tp=-0.2, limited_db=6.0, **capped)) == (10.0, -1.1, True, False)
    # an undefined loudness moves nothing
    assert astuple(next_pass(mp, got=None, over_tp=-0.2, limited_db=0.0, **kw)) == (10.0, -1.1, False, False)


def test_when_passes_run_out_the_saved_gain_is_the_one_rendered(tmp_path):
    # One pass only, on speech made so peaky that the limiter costs loudness: the
    # pass wants another with more gain but may not have it. The saved session and
    # the summary must then carry the gain the output was rendered with.
    from mixdown.auto.build import session_from_files
    from mixdown.auto.run import AutoOptions
    from mixdown.master import MasterParams
    from mixdown.pipeline.autojob import mix_auto
    from mixdown.render.engine import render_file
    from mixdown.targets import get_target

    host, _ = read_audio(POD / "media" / "host.flac", sample_rate=SR)
    x = host[0, : 20 * SR] * 0.05
    x[:: SR // 4] = 0.9  # a click every 250 ms: a limiter has to take them down
    sf.write(tmp_path / "v.wav", x, SR, subtype="FLOAT")
    s = session_from_files(dialogue=[str(tmp_path / "v.wav")], base_dir=tmp_path)
    opts = AutoOptions(target=get_target("spotify"), master=MasterParams(max_passes=1),
                       cache_dir=tmp_path / "cache", cleanup_mode="off")
    res = mix_auto(s, opts, output=tmp_path / "out.wav")
    assert res.passes == 1
    again = tmp_path / "again.wav"
    render_file(res.session, again)
    assert again.read_bytes() == (tmp_path / "out.wav").read_bytes()
