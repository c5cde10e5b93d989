"""`mixdown check` judges phase, mono fold-down, DC and silence with the report's own QC (CLI as a subprocess).

Truth is analytic: an anti-phase pair (L = -R) cancels completely in a mono fold-down
(correlation -1); identical channels lose nothing (correlation +1); a channel mean is
its DC offset. Loudness is set with an independent BS.1770 meter (pyebur128).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pyebur128
import pytest
import soundfile as sf

SR = 48000


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def ebur128_lufs(x: np.ndarray) -> float:
    meter = pyebur128.R128State(x.shape[0], SR, pyebur128.MeasurementMode.MODE_I)
    meter.add_frames(np.ascontiguousarray(x.T, dtype=np.float64).reshape(-1), x.shape[1])
    return pyebur128.get_loudness_global(meter)


def speechlike(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = sosfilt(butter(4, [150, 5000], btype="band", fs=SR, output="sos"), rng.standard_normal(n))
    return x * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))


def at(x: np.ndarray, lufs: float) -> np.ndarray:
    return (x * 10 ** ((lufs - ebur128_lufs(x)) / 20)).astype(np.float32)


def requirements(r) -> dict[str, dict]:
    return {q["name"]: q for q in json.loads(r.stdout)["requirements"]}


def test_a_mono_cancelling_file_fails(tmp_path):
    s = speechlike()
    x = at(np.stack([s, -s]), -23.0)  # L = -R at -23 LUFS (EBU R 128's target)
    sf.write(tmp_path / "antiphase.wav", x.T, SR, subtype="PCM_24")
    r = run("check", tmp_path / "antiphase.wav", "--target", "ebu-r128", "--json")
    assert r.returncode == 3, r.stderr
    req = requirements(r)
    assert req["integrated_loudness"]["passed"]  # loud enough: only the new rules catch it
    assert not req["phase_correlation"]["passed"] and req["phase_correlation"]["measured"] == pytest.approx(
        -1, abs=1e-3
    )
    assert not req["mono_fold_down"]["passed"] and "cancel" in req["mono_fold_down"]["detail"]
    # the text form names both and says exit 3 on a fail
    r = run("check", tmp_path / "antiphase.wav", "--target", "ebu-r128")
    assert r.returncode == 3
    assert re.search(r"FAIL phase_correlation", r.stdout) and re.search(r"FAIL mono_fold_down", r.stdout)


def test_in_phase_and_wide_files_pass_the_phase_rules(tmp_path):
    s = speechlike()
    same = at(np.stack([s, s]), -23.0)
    wide = at(np.stack([s, speechlike(seed=1)]), -23.0)  # unrelated channels: correlation 0, fold-down -3 dB
    for name, x in (("same", same), ("wide", wide)):
        sf.write(tmp_path / f"{name}.wav", x.T, SR, subtype="PCM_24")
        r = run("check", tmp_path / f"{name}.wav", "--target", "ebu-r128", "--json")
        assert r.returncode == 0, r.stdout
        req = requirements(r)
        assert req["phase_correlation"]["passed"] and req["mono_fold_down"]["passed"]
    assert requirements(run("check", tmp_path / "wide.wav", "--target", "ebu-r128", "--json"))["mono_fold_down"][
        "measured"] == pytest.approx(-3.01, abs=0.3)


def test_dc_offset_fails(tmp_path):
    s = speechlike()
    x = at(np.stack([s, s]), -23.0)
    x[0] += np.float32(0.01)  # -40 dBFS of DC on the left
    sf.write(tmp_path / "dc.wav", x.T, SR, subtype="PCM_24")
    r = run("check", tmp_path / "dc.wav", "--target", "ebu-r128", "--json")
    assert r.returncode == 3
    req = requirements(r)
    assert not req["dc_offset"]["passed"] and req["dc_offset"]["measured"] == pytest.approx(-40.0, abs=0.2)


def test_check_and_the_report_agree_on_the_same_mix(tmp_path):
    """A session rendered with --report, then the file checked: one detector, the same verdicts."""
    s = speechlike(seconds=10.0)
    x = at(np.stack([s, -s]), -23.0)
    x[:, 3 * SR : 3 * SR + 480] = 0.0  # a 10 ms dropout
    x[0, 5 * SR : 5 * SR + 6] = 0.99999  # a flat top of 6 samples
    sf.write(tmp_path / "src.wav", x.T, SR, subtype="FLOAT")
    (tmp_path / "s.yaml").write_text("mixdown: 1\nsample_rate: 48000\ntracks:\n"
                                     "  - {name: Mix, role: music, clips: [{source: src.wav}]}\n")
    r = run("render", tmp_path / "s.yaml", "-o", tmp_path / "mix.wav", "--format", "wav32f",
            "--report", tmp_path / "r.html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r.html").read_text()
    qc = json.loads(re.search(r'id="mixdown-report-data">(.*?)</script>', html).group(1))["mix_qc"]
    r = run("check", tmp_path / "mix.wav", "--target", "ebu-r128", "--json")
    req = requirements(r)
    failed = {k for k, v in req.items() if not v["passed"]}
    assert {"phase_correlation", "mono_fold_down", "dropouts", "clipping"} <= failed
    # the report lists the same faults, in the same words
    for name in ("phase_correlation", "mono_fold_down", "dropouts", "clipping"):
        assert req[name]["detail"] in qc["problems"], (name, req[name]["detail"], qc["problems"])
    m = json.loads(r.stdout)["measured"]
    assert m["clipped_runs"] == qc["clip_event_count"] == 1
    assert m["qc"]["dropouts_s"] == qc["dropouts_s"] == [[3.0, 3.01]]
    assert m["qc"]["correlation"] == qc["correlation"]


def test_digital_silence_in_the_pauses_is_said_so(tmp_path):
    """Pauses of exact zeros (gated dialogue): the noise floor is 'digital silence', not -437 dB."""
    sp, fs = sf.read("tests/data/speech_host_16k.flac", dtype="float32")
    gated = sp.copy()
    # the phrases of real_audio.json, and exact zeros (plus a denormal-sized residue) between them
    keep = np.zeros(sp.shape[0], dtype=bool)
    for a, b in ((4320, 23360), (28480, 50080), (52800, 73280)):
        keep[a:b] = True
    gated[~keep] = 0.0
    gated[np.flatnonzero(~keep)[::97]] = 1e-22  # a residue far under any 24-bit code: still digital silence
    sf.write(tmp_path / "host.wav", gated, fs, subtype="FLOAT")
    (tmp_path / "s.yaml").write_text("mixdown: 1\nsample_rate: 16000\nlayout: mono\ntracks:\n"
                                     "  - {name: Host, role: dialogue, clips: [{source: host.wav}]}\n")
    r = run("render", tmp_path / "s.yaml", "-o", tmp_path / "mix.wav", "--report", tmp_path / "r.html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r.html").read_text()
    data = json.loads(re.search(r'id="mixdown-report-data">(.*?)</script>', html).group(1))
    host = data["tracks"][0]["qc"]
    assert host["noise_floor"] == "digital silence" and host["noise_floor_db"] is None
    assert "digital silence" in html and "-437" not in html


def test_check_with_the_energy_vad_passes_a_compliant_dialogue_mix(tmp_path):
    """Real dialogue over a music bed, its speech (real_audio.json's phrases) at Netflix's -27 LKFS."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    truth = [tuple(r) for r in json.loads((data / "real_audio.json").read_text())["files"][
        "speech_host_16k.flac"]["speech"]]
    sp, fs = sf.read(data / "speech_host_16k.flac", dtype="float32")
    mu, _ = sf.read(data / "music_16k.flac", dtype="float32")
    n = min(len(sp), len(mu))
    mix = sp[:n] + 0.1 * mu[:n]  # the bed about 20 dB under the voice
    # dialogue-gated loudness by an independent meter: libebur128 over the speech alone
    speech_only = np.concatenate([mix[a:b] for a, b in truth if b <= n])
    meter = pyebur128.R128State(1, fs, pyebur128.MeasurementMode.MODE_I)
    meter.add_frames(speech_only.astype(np.float64), speech_only.shape[0])
    mix = (mix * 10 ** ((-27.0 - pyebur128.get_loudness_global(meter)) / 20)).astype(np.float32)
    sf.write(tmp_path / "mix.wav", mix, fs, subtype="FLOAT")
    for vad in ("energy", "silero"):
        r = run("check", tmp_path / "mix.wav", "--target", "netflix", "--vad", vad, "--max-silence", "-1", "--json")
        assert r.returncode == 0, (vad, r.stdout)
        m = json.loads(r.stdout)["measured"]
        assert m["dialogue_gated_lufs"] == pytest.approx(-27.0, abs=1.0), vad
        assert m["speech_s"] >= 0.8 * sum(b - a for a, b in truth) / fs, vad
