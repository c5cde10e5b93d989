"""The CLI as a user meets it: subprocesses, exit codes, one-line errors, JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

MEASURE_KEYS = {"file", "duration_s", "integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs",
                "momentary_max_lufs", "short_term_max_lufs"}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture()
def project(tmp_path):
    t = np.arange(48000 * 3) / 48000
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", tone, 48000, subtype="PCM_24")
    (tmp_path / "s.yaml").write_text(
        "mixdown: 1\n"
        "tracks:\n"
        "  - name: Tone\n"
        "    clips:\n"
        "      - {source: tone.wav, start: 0.5, duration: 2}\n"
        "    chain:\n"
        "      - {type: highpass, freq_hz: 80}\n"
    )
    return tmp_path


def test_render_writes_and_reports(project):
    r = run("render", project / "s.yaml", "-o", project / "out.wav", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["duration_s"] == pytest.approx(2.5)
    data, sr = sf.read(project / "out.wav")
    assert sr == 48000 and data.shape == (120000, 2)
    assert sf.info(project / "out.wav").subtype == "PCM_24"
    assert set(summary["measured"]) == MEASURE_KEYS


def test_measure_json_keys_and_values(project):
    r = run("measure", project / "tone.wav", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert set(m) == MEASURE_KEYS
    # BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS, so one at -20 dBFS reads -23.01
    assert m["sample_peak_dbfs"] == pytest.approx(-20.0, abs=0.01)
    assert m["integrated_lufs"] == pytest.approx(-23.01, abs=0.05)
    r2 = run("measure", project / "tone.wav", project / "tone.wav", "--json")
    assert isinstance(json.loads(r2.stdout), list)


def test_measure_undefined_is_null(tmp_path):
    sf.write(tmp_path / "short.wav", np.full(9600, 0.1, dtype=np.float32), 48000)
    m = json.loads(run("measure", tmp_path / "short.wav", "--json").stdout)
    assert m["integrated_lufs"] is None and m["momentary_max_lufs"] is None


@pytest.mark.parametrize("edit,needle", [
    (("source: tone.wav", "source: missing.wav"), "not found"),
    (("duration: 2", "duration: 4"), "past the end of its source"),
    (("type: highpass", "type: highpas"), "unknown processor 'highpas'"),
    (("freq_hz: 80", "freq_hz: 80, fre: 2"), "has no parameter 'fre'"),
    (("freq_hz: 80", "freq_hz: -5"), "below its minimum"),
])
def test_bad_sessions_exit_2_with_one_line(project, edit, needle):
    text = (project / "s.yaml").read_text().replace(*edit)
    (project / "bad.yaml").write_text(text)
    r = run("render", project / "bad.yaml", "-o", project / "out.wav")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0] and "bad.yaml:" in lines[0] and "Traceback" not in r.stderr
    assert not (project / "out.wav").exists()


def test_unreadable_media_and_no_overwrite(project):
    (project / "junk.wav").write_bytes(b"not audio at all" * 100)
    r = run("measure", project / "junk.wav")
    assert r.returncode == 2 and "junk.wav" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    before = (project / "tone.wav").read_bytes()
    r = run("render", project / "s.yaml", "-o", project / "tone.wav")
    assert r.returncode == 2 and "tone.wav" in r.stderr
    assert (project / "tone.wav").read_bytes() == before


def test_help_is_fast_and_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("render", "measure", "auto", "targets"):
        assert cmd in r.stdout


def test_sync_finds_a_known_offset_and_refuses_unrelated_audio(tmp_path):
    from pathlib import Path

    from mixdown.media.write import read_audio

    root = Path(__file__).resolve().parents[1]
    speech, sr = read_audio(root / "tests" / "data" / "speech_host_16k.flac")
    ref = np.concatenate([np.zeros(4000), speech[0]]).astype(np.float32)
    rng = np.random.default_rng(3)
    ext = (np.concatenate([speech[0], np.zeros(4000)]) * 0.5 + 0.003 * rng.standard_normal(len(ref))).astype(np.float32)
    sf.write(tmp_path / "cam.wav", ref, sr)
    sf.write(tmp_path / "lav.wav", ext, sr)
    r = run("sync", tmp_path / "cam.wav", tmp_path / "lav.wav", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["offset_samples"] == 4000  # the external recording starts 4000 samples in
    sf.write(tmp_path / "other.wav", (0.1 * rng.standard_normal(len(ref))).astype(np.float32), sr)
    r = run("sync", tmp_path / "cam.wav", tmp_path / "other.wav")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_render_report_is_self_contained(project):
    r = run("render", project / "s.yaml", "-o", project / "out.wav", "--report", project / "r.html")
    assert r.returncode == 0, r.stderr
    html = (project / "r.html").read_text()
    assert "<img" in html and "http://" not in html and "https://" not in html
