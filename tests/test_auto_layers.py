"""auto's own layer (session schema 2): auto on its own output changes nothing, hand values are never
changed, the renderer adds the layers in dB, version-1 files load. Judged by the CLI's outputs, measured
with independent meters (libebur128 through pyebur128) and analytic gain curves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyebur128
import pytest
import soundfile as sf
import yaml

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast"
SR = 48000


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


def ebur128(x: np.ndarray, sr: int = SR) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of ``x`` (frames, channels) by libebur128."""
    x = np.atleast_2d(x.T).T if x.ndim == 1 else x
    st = pyebur128.R128State(
        x.shape[1], sr, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    )
    st.add_frames(np.ascontiguousarray(x, dtype=np.float64).reshape(-1), x.shape[0])
    tp = max(pyebur128.get_true_peak(st, c) for c in range(x.shape[1]))
    return pyebur128.get_loudness_global(st), 20 * np.log10(tp)


def layers(session: dict) -> list:
    """Every auto layer and auto- processor of a session document, in order."""
    out = []
    for t in session.get("tracks", []):
        out.append(
            (t["name"], t.get("auto"), [p for p in t.get("chain", []) if str(p.get("id", "")).startswith("auto-")])
        )
        out += [(t["name"], c.get("auto")) for c in t.get("clips", [])]
    out.append(("master", session.get("master", {}).get("auto"), session.get("master", {}).get("chain")))
    return out


def hand(session: dict) -> list:
    """Every hand value of a session (document or dump): the auto layers and auto- processors taken out."""
    out = []
    for t in session.get("tracks", []) + session.get("buses", []) + [session.get("master", {})]:
        out.append({k: v for k, v in t.items() if k not in ("auto", "clips", "chain")})
        out.append([p for p in t.get("chain", []) if not str(p.get("id", "")).startswith("auto-")])
        out += [{k: v for k, v in c.items() if k not in ("auto", "source")} for c in t.get("clips", [])]
    return out


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    """auto on the raw example, then auto on its own decided session."""
    tmp = tmp_path_factory.mktemp("twice")
    r1 = run("auto", POD / "raw.yaml", "--target", "podcast", "-o", tmp / "m1.wav", "--save-session",
             tmp / "d1.yaml", "--json")
    assert r1.returncode == 0, r1.stderr
    r2 = run("auto", tmp / "d1.yaml", "--target", "podcast", "-o", tmp / "m2.wav", "--save-session",
             tmp / "d2.yaml", "--json")
    assert r2.returncode == 0, r2.stderr
    return tmp, json.loads(r1.stdout), json.loads(r2.stdout)


def test_auto_on_its_own_output_gives_the_same_mix(twice):
    tmp, s1, s2 = twice
    m1, _ = sf.read(tmp / "m1.wav", always_2d=True)
    m2, _ = sf.read(tmp / "m2.wav", always_2d=True)
    assert m1.shape == m2.shape
    diff = np.sqrt(np.mean((m1 - m2) ** 2)) / np.sqrt(np.mean(m1 ** 2))
    assert diff == 0.0 or 20 * np.log10(diff) < -60.0
    d1, d2 = (yaml.safe_load((tmp / f"d{i}.yaml").read_text()) for i in (1, 2))
    assert d1["mixdown"] == 2
    assert layers(d1) == layers(d2)
    assert hand(d1) == hand(d2)
    # the decision list describes what the layer does: the same moves, not doubled ones
    acts = [[(d["kind"], d["target"], d["action"]) for d in s["decisions"]] for s in (s1, s2)]
    assert acts[0] == acts[1]
    ducks = [d for d in s1["decisions"] if d["kind"] == "duck" and d.get("value_db")]
    music = next(t for t in d1["tracks"] if t["name"] == "Music")
    lowest = min(k[1] for k in music["auto"]["automation"]["gain_db"])
    assert ducks and lowest == pytest.approx(ducks[0]["value_db"], abs=0.01)


def test_a_value_a_person_edited_in_the_auto_layer_is_kept(twice, tmp_path):
    tmp, _, _ = twice
    d = yaml.safe_load((tmp / "d1.yaml").read_text())
    music = next(t for t in d["tracks"] if t["name"] == "Music")
    music["auto"]["gain_db"] = -30.0
    music["auto"]["edited"] = ["gain_db"]
    src = tmp_path / "edited.yaml"
    for t in d["tracks"]:
        for c in t["clips"]:
            c["source"] = str((tmp / c["source"]).resolve())
    src.write_text(yaml.safe_dump(d, sort_keys=False))
    r = run("auto", src, "--target", "podcast", "--save-session", tmp_path / "out.yaml", "--json")
    assert r.returncode == 0, r.stderr
    out = yaml.safe_load((tmp_path / "out.yaml").read_text())
    music2 = next(t for t in out["tracks"] if t["name"] == "Music")
    assert music2["auto"]["gain_db"] == -30.0 and music2["auto"]["edited"] == ["gain_db"]
    decisions = json.loads(r.stdout)["decisions"]
    assert any(x["kind"] == "edited" and x["target"] == "Music" for x in decisions)
    assert not any(x["kind"] == "balance" and x["target"] == "Music" for x in decisions)
    # the music is 14 dB lower than auto had it: it no longer needs a 12 dB duck under the dialogue
    ducks = [x for x in decisions if x["kind"] == "duck" and x["target"] == "Music"]
    assert ducks and all((x.get("value_db") or 0) > -3.01 for x in ducks)


def test_hand_made_example_meets_its_target_and_keeps_its_hand_values(tmp_path):
    r = run("auto", POD / "session.yaml", "--target", "podcast", "-o", tmp_path / "x.wav", "--stems",
            tmp_path / "stems", "--stems-format", "wav32f", "--save-session", tmp_path / "d.yaml", "--json")
    assert r.returncode == 0, r.stderr
    mix, sr = sf.read(tmp_path / "x.wav", always_2d=True)
    lufs, tp = ebur128(mix, sr)
    assert abs(lufs - (-16.0)) <= 0.3 and tp <= -1.0 + 0.05
    from mixdown.session import load_session

    before = load_session(POD / "session.yaml").model_dump(mode="json", by_alias=True)
    after = load_session(tmp_path / "d.yaml").model_dump(mode="json", by_alias=True)
    assert yaml.safe_load((tmp_path / "d.yaml").read_text())["mixdown"] == 2
    assert hand(after) == hand(before)
    # the hand-drawn duck is honoured: between speech the music sits near its balance (-6 LU under the
    # dialogue as heard), not 10 dB lower under a fader and a second duck stacked on the hand ones
    dlg, _ = sf.read(tmp_path / "stems" / "dialogue.wav", always_2d=True)
    mus, _ = sf.read(tmp_path / "stems" / "music.wav", always_2d=True)
    conv = json.loads((POD / "conversation.json").read_text())
    speech = np.zeros(len(dlg), bool)
    for u in conv["utterances"]:
        speech[round((u["speech"][0] + 6) * sr): round((u["speech"][1] + 6) * sr)] = True
    dl, _ = ebur128(dlg[speech], sr)
    between, _ = ebur128(mus[~speech], sr)
    assert abs(between - (dl - 6.0)) <= 1.5, (between, dl)
    # the stems are at the mix's gain: they sum to the mix but for what its limiter took, which the summary reports
    summary = json.loads(r.stdout)
    fx, _ = sf.read(tmp_path / "stems" / "sfx.wav", always_2d=True)
    d = mix - (dlg + mus + fx)
    assert summary["limiter_max_reduction_db"] > 1.0
    assert summary["stems_sum"]["residual_peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(d).max()), abs=0.1)
    assert summary["stems_sum"]["residual_db"] == pytest.approx(10 * np.log10(np.sum(d ** 2) / np.sum(mix ** 2)),
                                                                abs=0.1)


def test_layers_add_in_db_as_the_readme_says(tmp_path):
    # a constant signal through hand and auto gains, each with its own keyframes and interpolation
    t = np.arange(4 * SR) / SR
    sf.write(tmp_path / "dc.wav", np.full(t.size, 0.25, np.float32), SR, subtype="FLOAT")
    (tmp_path / "s.yaml").write_text("""\
mixdown: 2
layout: mono
tracks:
  - name: T
    gain_db: -2
    automation: {gain_db: [[0.5, 0], [2.5, -12]]}
    auto: {gain_db: 1.5, automation: {gain_db: [[1.0, 0, exp], [3.0, -6, exp]]}}
    clips:
      - {source: dc.wav, gain_db: 1, auto: {gain_db: -0.5}}
""")
    r = run("render", tmp_path / "s.yaml", "-o", tmp_path / "out.wav", "--format", "wav32f")
    assert r.returncode == 0, r.stderr
    y, _ = sf.read(tmp_path / "out.wav")
    # README: linear = straight in amplitude, exp = straight in dB; hand and auto layers add in dB
    hand_lane = 20 * np.log10(np.interp(t, [0.5, 2.5], [1.0, 10 ** (-12 / 20)]))
    auto_lane = np.interp(t, [1.0, 3.0], [0.0, -6.0])
    want = -2 + 1.5 + 1 - 0.5 + hand_lane + auto_lane
    assert np.max(np.abs(20 * np.log10(y / 0.25) - want)) < 1e-3


def test_version_1_files_load_and_an_auto_layer_needs_version_2(tmp_path):
    (tmp_path / "v1.yaml").write_text((POD / "session.yaml").read_text().replace("media/", f"{POD}/media/"))
    r = run("auto", tmp_path / "v1.yaml", "--target", "podcast", "--no-level", "--cleanup", "off",
            "--save-session", tmp_path / "v2.yaml", "--json")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load((tmp_path / "v2.yaml").read_text())["mixdown"] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("mixdown: 1\ntracks:\n  - name: A\n    auto: {gain_db: -3}\n    clips: [{source: x.wav}]\n")
    r = run("render", bad, "-o", tmp_path / "o.wav")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1
    assert "bad.yaml:4" in lines[0] and "mixdown: 2" in lines[0]
    bad.write_text("mixdown: 2\ntracks:\n  - name: A\n    auto: {edited: [fader]}\n    clips: [{source: x.wav}]\n")
    r = run("render", bad, "-o", tmp_path / "o.wav")
    assert r.returncode == 2 and "edited" in r.stderr and "Traceback" not in r.stderr


LAYERED = """\
mixdown: 2
sample_rate: 48000
layout: mono
frame_rate: 25
tracks:
  - name: Dialogue
    role: dialogue
    clips:
      - {name: d1, source: dc.wav, start: 0, duration: 5, gain_db: -3.5, auto: {gain_db: 2.25}}
      - name: d2
        source: dc.wav
        start: 6
        duration: 4
        automation: {gain_db: [[0, 0], [2, -8, exp]]}
        auto: {gain_db: -1.0, automation: {gain_db: [[1, 0, exp], [3, 4, exp]]}}
  - name: Music
    role: music
    gain_db: -2
    automation: {gain_db: [[1, 0, exp], [2, -10, exp]]}
    auto:
      gain_db: -6.5
      automation: {gain_db: [[3, 0, exp], [4, -12, exp], [8, -12, exp], [9, 0, exp]]}
      edited: [gain_db]
    clips: [{name: bed, source: dc.wav, start: 0, duration: 10}]
"""


@pytest.mark.parametrize("suffix", [".fcpxml", ".xml", ".otio"])
def test_exports_carry_the_sum_of_the_layers(tmp_path, suffix):
    sf.write(tmp_path / "dc.wav", np.full(11 * SR, 0.25, np.float32), SR, subtype="FLOAT")
    (tmp_path / "s.yaml").write_text(LAYERED)
    assert run("export", tmp_path / "s.yaml", "-o", tmp_path / f"cut{suffix}").returncode == 0
    r = run("import", tmp_path / f"cut{suffix}", "-o", tmp_path / "back.yaml")
    assert r.returncode == 0, r.stderr
    for name in ("s", "back"):
        r = run("render", tmp_path / f"{name}.yaml", "-o", tmp_path / f"{name}.wav", "--format", "wav32f")
        assert r.returncode == 0, r.stderr
    a, _ = sf.read(tmp_path / "s.wav")
    b, _ = sf.read(tmp_path / "back.wav")
    n = min(len(a), len(b))
    ok = (a[:n] > 1e-5) & (b[:n] > 1e-5)
    # the editor's volume curve is the hand and auto layers added (within the formats' 0.01 dB, frames for FCP7)
    tol = 0.25 if suffix == ".xml" else 0.02
    assert ok.mean() > 0.9 and np.abs(20 * np.log10(a[:n][ok] / b[:n][ok])).max() < tol
    back = yaml.safe_load((tmp_path / "back.yaml").read_text())
    if suffix == ".otio":  # mixdown's own metadata: the auto layer stays auto's
        src = yaml.safe_load(LAYERED)
        assert [layers_of(t) for t in back["tracks"]] == [layers_of(t) for t in src["tracks"]]


def layers_of(track: dict) -> tuple:
    """A track's auto layers with times in seconds (files may write times in another notation)."""
    def norm(layer):
        if not layer:
            return None
        keys = [(round(float(str(k[0]).rstrip("s")) / (SR if str(k[0]).endswith("s") else 1), 6), k[1])
                for k in layer.get("automation", {}).get("gain_db", [])]
        return (layer.get("gain_db", 0.0), keys, layer.get("edited", []))
    return norm(track.get("auto")), [norm(c.get("auto")) for c in track["clips"]]
