"""Delivery through the CLI: auto into a video, check pass/fail/unreadable, deliver from a session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from mixdown.media.write import read_audio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_deliver_mux import make_video, packet_hashes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def test_auto_into_a_video_copies_the_picture_and_passes_check(tmp_path):
    make_video(tmp_path / "cam.mp4", seconds=6.0)
    host, _ = read_audio(ROOT / "examples" / "podcast" / "media" / "host.flac", sample_rate=48000)
    sf.write(tmp_path / "vo.wav", host[0, 48000: 48000 * 7], 48000)
    r = run("auto", "--dialogue", tmp_path / "vo.wav", "--video", tmp_path / "cam.mp4", "--target", "youtube",
            "-o", tmp_path / "out.mp4", "--json")
    assert r.returncode == 0, r.stderr
    assert packet_hashes(tmp_path / "out.mp4", "video") == packet_hashes(tmp_path / "cam.mp4", "video")
    r = run("check", tmp_path / "out.mp4", "--target", "youtube", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["passed"] is True
    # the camera's own audio was never normalised: it fails the same spec
    r = run("check", tmp_path / "cam.mp4", "--target", "youtube")
    assert r.returncode == 3


def test_check_unreadable_is_exit_2(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"\x00" * 1000)
    r = run("check", tmp_path / "x.mp4", "--target", "ebu-r128")
    assert r.returncode == 2 and "x.mp4" in r.stderr


def test_render_writes_the_sessions_deliverables(tmp_path):
    host, _ = read_audio(ROOT / "examples" / "podcast" / "media" / "host.flac", sample_rate=48000)
    sf.write(tmp_path / "vo.wav", host[0, : 48000 * 6], 48000)
    (tmp_path / "s.yaml").write_text(
        "mixdown: 1\nlayout: stereo\n"
        "tracks:\n  - {name: VO, role: dialogue, clips: [{source: vo.wav}]}\n"
        "deliverables:\n"
        "  - {kind: mix, path: yt.wav, format: wav24, target: youtube}\n"
        "  - {kind: mix, path: tv.wav, format: bwf, target: ebu-r128}\n"
        "  - {kind: mix, path: pod.mp3, format: mp3, target: podcast}\n")
    r = run("render", tmp_path / "s.yaml", "--json")
    assert r.returncode == 0, r.stderr
    for name, lufs in (("yt.wav", -14), ("tv.wav", -23), ("pod.mp3", -16)):
        m = json.loads(run("measure", tmp_path / name, "--json").stdout)
        assert abs(m["integrated_lufs"] - lufs) <= 0.5, (name, m)
    assert json.loads(run("measure", tmp_path / "pod.mp3", "--json").stdout)["true_peak_dbtp"] <= -1.0
