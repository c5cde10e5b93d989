"""The studio's HTTP API through FastAPI's test client: token, validation with the session
error's message, atomic saves that never touch an input, byte ranges, no way out of the
session's files, peaks and curves against the samples and the renderer, render jobs that
do what `mixdown render` does."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

warnings.filterwarnings("ignore", message=".*httpx2.*")
from fastapi.testclient import TestClient  # noqa: E402

from mixdown.errors import MixdownError  # noqa: E402
from mixdown.render.engine import Renderer  # noqa: E402
from mixdown.render.graph import check  # noqa: E402
from mixdown.session import load_session, session_from_data  # noqa: E402
from mixdown.session.io import session_to_data  # noqa: E402
from mixdown.studio.app import create_app  # noqa: E402
from mixdown.studio.state import Studio  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "podcast"
TOKEN = "t0ken"
H = {"X-Mixdown-Token": TOKEN}


def copy_example(tmp_path: Path) -> Path:
    dst = tmp_path / "podcast"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("*.wav", "out"))
    return dst


def open_studio(path: Path, tmp_path: Path, **kw) -> tuple[Studio, TestClient]:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    st = Studio(path, media_root=kw.pop("media_root", None), tmp=scratch, cache_dir=tmp_path / "cache", **kw)
    return st, TestClient(create_app(st, TOKEN))


@pytest.fixture()
def podcast(tmp_path):
    folder = copy_example(tmp_path)
    st, client = open_studio(folder / "session.yaml", tmp_path)
    return folder, st, client


def test_every_request_needs_the_token(podcast):
    _, _, c = podcast
    for path in ("/", "/api/session", "/api/lanes", "/api/peaks/Host", "/api/audio/preview.wav"):
        assert c.get(path).status_code == 401, path
        assert c.get(path, headers={"X-Mixdown-Token": "nope"}).status_code == 403, path
        assert c.get(path + ("&" if "?" in path else "?") + "token=nope").status_code == 403, path
    assert c.put("/api/session", json={}).status_code == 401
    assert c.post("/api/save").status_code == 401
    assert c.get(f"/api/session?token={TOKEN}").status_code == 200
    assert c.get("/", headers=H).text.startswith("<!doctype html>")


def test_session_is_the_session_file_as_data(podcast):
    folder, _, c = podcast
    assert c.get("/api/session", headers=H).json() == session_to_data(load_session(folder / "session.yaml"))


def test_a_bad_edit_gets_the_session_errors_message_and_changes_nothing(podcast):
    _, st, c = podcast
    before = c.get("/api/session", headers=H).json()
    bad = c.get("/api/session", headers=H).json()
    bad["tracks"][0]["chain"][3]["ratio"] = 0.1
    with pytest.raises(MixdownError) as oracle:  # what `mixdown render` says about the same session
        check(session_from_data(bad, base_dir=st.base_dir))
    r = c.put("/api/session", headers=H, json=bad)
    assert r.status_code == 422
    assert r.json()["error"] == str(oracle.value)
    assert "tracks[0].chain[3].ratio" in r.json()["error"]
    bad = dict(before, tracks=[dict(before["tracks"][0], colour="#ff0000")] + before["tracks"][1:])
    r = c.put("/api/session", headers=H, json=bad)
    assert r.status_code == 422 and "unknown field" in r.json()["error"]
    r = c.put("/api/session", headers=H, json=dict(before, mixdown=3))
    assert r.status_code == 422 and "version 3 is not supported" in r.json()["error"]
    assert c.put("/api/session", headers={**H, "Content-Type": "application/json"}, content=b"{nope").status_code == 400
    assert c.get("/api/session", headers=H).json() == before


def test_put_then_save_writes_the_session_atomically(podcast, monkeypatch):
    folder, st, c = podcast
    f = folder / "session.yaml"
    data = c.get("/api/session", headers=H).json()
    data["tracks"][0]["gain_db"] = -4.5
    assert c.put("/api/session", headers=H, json=data).status_code == 200
    original = f.read_bytes()
    assert load_session(f).tracks[0].gain_db == 3.0           # nothing on disk until Save
    # a save that fails half way leaves the old file whole and no temporary file behind
    real = os.replace

    def broken(a, b):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken)
    r = c.post("/api/save", headers=H)
    assert r.status_code == 500 and "not saved: disk full" in r.json()["error"]
    assert f.read_bytes() == original
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    monkeypatch.setattr(os, "replace", real)
    inode = f.stat().st_ino
    r = c.post("/api/save", headers=H)
    assert r.status_code == 200 and Path(r.json()["path"]) == f
    assert f.stat().st_ino != inode                            # a new file renamed into place
    saved = load_session(f)
    assert saved.tracks[0].gain_db == -4.5 and saved.mixdown == 2
    assert session_to_data(saved) == c.get("/api/session", headers=H).json()


def test_an_imported_timeline_is_never_written(tmp_path):
    from mixdown.interchange import export_timeline

    folder = copy_example(tmp_path)
    xml = folder / "cut.xml"
    export_timeline(load_session(folder / "session.yaml"), xml)
    before = xml.read_bytes()
    st, c = open_studio(xml, tmp_path, media_root=folder / "media")
    data = c.get("/api/session", headers=H).json()
    data["tracks"][0]["gain_db"] = 1.5
    assert c.put("/api/session", headers=H, json=data).status_code == 200
    path = Path(c.post("/api/save", headers=H).json()["path"])
    assert path == folder / "cut.mixdown.yaml" and load_session(path).tracks[0].gain_db == 1.5
    r = c.post("/api/export", headers=H, json={"format": "xml"})
    assert r.status_code == 200 and Path(r.json()["path"]) == folder / "cut.studio.xml"
    assert xml.read_bytes() == before
    assert c.post("/api/export", headers=H, json={"format": "wav"}).status_code == 422


def test_byte_ranges_of_media_and_the_preview(podcast):
    folder, st, c = podcast
    media = c.get("/api/media", headers=H).json()
    i = next(m["id"] for m in media if m["name"] == "typing.flac")
    raw = (folder / "media" / "typing.flac").read_bytes()
    r = c.get(f"/api/audio/source/{i}", headers={**H, "Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == raw[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(raw)}"
    r = c.get(f"/api/audio/source/{i}", headers={**H, "Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == raw[-10:]
    r = c.get(f"/api/audio/source/{i}", headers=H)
    assert r.status_code == 200 and r.content == raw
    assert c.get(f"/api/audio/source/{i}", headers={**H, "Range": f"bytes={len(raw)}-"}).status_code == 416
    # the preview bundle: a float WAV header, then every track's post-fader signal and the raw sum
    lay = c.get("/api/state", headers=H).json()["preview"]
    hdr = c.get("/api/audio/preview.wav", headers={**H, "Range": "bytes=0-43"})
    assert hdr.status_code == 206 and hdr.content[:4] == b"RIFF" and hdr.content[8:16] == b"WAVEfmt "
    assert int.from_bytes(hdr.content[22:24], "little") == lay["channels"]
    seg = lay["segment_frames"]
    C = lay["channels"]
    k = 2                                     # a segment rendered from a pre-roll, not from 0
    a = lay["header_bytes"] + k * seg * C * 4
    r = c.get("/api/audio/preview.wav", headers={**H, "Range": f"bytes={a}-{a + seg * C * 4 - 1}"})
    assert r.status_code == 206 and r.headers["x-segment-versions"] == "1"
    got = np.frombuffer(r.content, "<f4").reshape(seg, C)
    # Music has no inserts: its stem is the full render's post-fader tap (to the last bits of the
    # Vorbis decoder, which starts from a seek point instead of the file's start)
    graph = check(load_session(folder / "session.yaml"))
    want = np.zeros((2, seg), np.float32)
    for pos, _, taps in Renderer(graph, taps={"Music": ["Music"]}, workers=1).blocks(end=(k + 1) * seg):
        m = taps["Music"].shape[1]
        lo, hi = max(pos, k * seg), pos + m
        if lo < hi:
            want[:, lo - k * seg:hi - k * seg] = taps["Music"][:, lo - pos:hi - pos]
    first = next(s["first_channel"] for s in lay["stems"] if s["track"] == "Music")
    np.testing.assert_allclose(got[:, first:first + 2].T, want, rtol=0, atol=1e-6)
    assert np.abs(want).max() > 0.01


def test_no_path_from_a_request_reaches_the_disk(podcast):
    folder, _, c = podcast
    for path in ("/static/..%2F..%2Fpyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml",
                 "/api/audio/source/..%2F..%2Fsession.yaml", "/api/audio/source/-1", "/api/audio/source/99",
                 "/api/peaks/..%2F..%2Fetc%2Fpasswd", "/api/audio/render/1/0", "/../../etc/passwd",
                 "/api/audio/..%2Fsession.yaml", "/static/app.js/..%2F..%2Fstate.py"):
        assert c.get(path, headers=H).status_code == 404, path
    assert c.get("/static/app.js").status_code == 200
    # an edit may not point a clip at a file outside the session's folders
    data = c.get("/api/session", headers=H).json()
    data["tracks"][3]["clips"][0]["source"] = "/etc/passwd"
    r = c.put("/api/session", headers=H, json=data)
    assert r.status_code == 403 and "outside the session's media folders" in r.json()["error"]
    # nor make Render write outside them, or over an input
    data = c.get("/api/session", headers=H).json()
    r = c.put("/api/session", headers=H, json=dict(data, deliverables=[{"kind": "mix", "path": "/tmp/../etc/x.wav"}]))
    assert r.status_code == 403 and "deliverables[0].path" in r.json()["error"]
    r = c.put("/api/session", headers=H, json=dict(data, deliverables=[{"kind": "mix", "path": "media/host.flac"}]))
    assert r.status_code == 409 and "would overwrite an input" in r.json()["error"]


@pytest.fixture()
def dc(tmp_path):
    """A stereo source whose every sample is known: a ramp in the left, its negative in the right."""
    n = 48000 * 4
    x = np.linspace(-0.9, 0.9, n, dtype=np.float32)
    sf.write(tmp_path / "ramp.wav", np.stack([x, -0.5 * x], axis=1), 48000, subtype="FLOAT")
    sf.write(tmp_path / "dc.wav", np.full((n, 2), 0.5, np.float32), 48000, subtype="FLOAT")
    return tmp_path, x


def test_peaks_are_the_samples_min_and_max(dc, tmp_path):
    folder, x = dc
    f = folder / "s.yaml"
    f.write_text("mixdown: 2\ntracks:\n  - {name: R, clips: [{source: ramp.wav, start: '8192s', in: '4096s'}]}\n")
    st, c = open_studio(f, tmp_path)
    ch = np.stack([x, -0.5 * x])
    for bin_, count in ((4096, 40), (64, 200), (1, 200)):
        start = 8192 + 4096 * 3
        r = c.get(f"/api/peaks/R?start={start}&bin={bin_}&count={count}", headers=H)
        got = np.frombuffer(r.content, "<f4").reshape(count, 2)
        src = ch[:, start - 8192 + 4096:start - 8192 + 4096 + bin_ * count].reshape(2, count, bin_)
        lo, hi = np.minimum(src.min(axis=(0, 2)), 0), np.maximum(src.max(axis=(0, 2)), 0)
        tol = 2e-3 if bin_ >= 64 else 0   # the pyramid keeps float16; single samples come from the file
        np.testing.assert_allclose(got[:, 0], lo, atol=tol)
        np.testing.assert_allclose(got[:, 1], hi, atol=tol)
    # before the clip: nothing
    r = c.get("/api/peaks/R?start=0&bin=64&count=100", headers=H)
    assert not np.frombuffer(r.content, "<f4").any()
    assert c.get("/api/peaks/R?start=0&bin=0&count=10", headers=H).status_code == 422
    assert c.get("/api/peaks/Nope", headers=H).status_code == 404
    # the pyramid is cached by source: a second studio reads it without decoding
    assert any((tmp_path / "cache").glob("*.npz"))


def test_gain_curve_is_what_the_renderer_applies(dc, tmp_path):
    folder, _ = dc
    f = folder / "c.yaml"
    f.write_text("mixdown: 2\ntracks:\n  - name: D\n    gain_db: -3\n    clips: [{source: dc.wav, gain_db: 2, "
                 "automation: {gain_db: [[0.5, 0], [1.5, -10, exp], [2.0, -10], [3.0, 0]]}}]\n"
                 "    automation: {gain_db: [[1.0, 0, exp], [2.5, -20, hold], [3.0, 0]]}\n"
                 "groups: [{name: g, members: [D], gain_db: -1}]\n")
    st, c = open_studio(f, tmp_path)
    out = np.zeros((2, 4 * 48000), np.float32)
    for pos, block, _ in Renderer(st.graph).blocks():
        out[:, pos:pos + block.shape[1]] = block
    rendered_db = 20 * np.log10(out[0] / 0.5)
    bin_ = 480
    r = c.get(f"/api/curve/D?start=0&bin={bin_}&count=400", headers=H).json()
    centres = np.arange(400) * bin_ + bin_ // 2
    total = np.array(r["track_db"]) + np.array(r["clip_db"])
    # the render is float32 (1e-7 relative: 1e-6 dB)
    np.testing.assert_allclose(total, rendered_db[centres], atol=1e-4)
    assert r["offset_db"] == -4.0


def test_edits_rerender_only_what_they_touch(podcast):
    _, st, c = podcast
    data = c.get("/api/session", headers=H).json()
    data["tracks"][1]["mute"] = True
    assert c.put("/api/session", headers=H, json=data).json()["affected"] == [0, 0]
    lanes = c.get("/api/lanes", headers=H).json()
    assert [t["heard"] for t in lanes["tracks"]] == [True, False, True, True]
    data["tracks"][2]["automation"]["gain_db"][4] = [46.0, -11.0, "exp"]     # was [45.9, -13, exp]
    a, b = c.put("/api/session", headers=H, json=data).json()["affected"]
    sr = 48000
    assert 45.2 * sr - 0.02 * sr <= a <= 45.2 * sr + 0.02 * sr and 47.9 * sr <= b <= 48.0 * sr
    # the segments an edit touches are rendered again and carry the new version; others keep theirs
    lay = c.get("/api/state", headers=H).json()["preview"]
    seg, C, hb = lay["segment_frames"], lay["channels"], lay["header_bytes"]

    def version_of(k):
        a = hb + k * seg * C * 4
        return c.get("/api/audio/preview.wav", headers={**H, "Range": f"bytes={a}-{a + 3}"}).headers[
            "x-segment-versions"
        ]

    v = c.get("/api/state", headers=H).json()["version"]
    before = {k: version_of(k) for k in (0, 4)}
    data["tracks"][2]["automation"]["gain_db"][4] = [46.0, -12.0, "exp"]
    assert c.put("/api/session", headers=H, json=data).json()["version"] == v + 1
    assert version_of(4) == str(v + 1) and version_of(0) == before[0]       # 46 s is in segment 4 (40-50 s)
    data["buses"][0]["solo"] = True
    c.put("/api/session", headers=H, json=data)
    heard = {t["name"]: t["heard"] for t in c.get("/api/lanes", headers=H).json()["tracks"]}
    assert heard == {"Host": True, "Guest": False, "Music": False, "Typing": False}   # Guest is muted


def test_render_job_does_what_mixdown_render_does(podcast, tmp_path):
    import subprocess
    import sys

    import pyloudnorm

    folder, st, c = podcast
    job = c.post("/api/render", headers=H, json={"mode": "render", "target": "podcast"}).json()["id"]
    t0 = time.time()
    while (s := c.get(f"/api/render/{job}", headers=H).json())["state"] not in ("done", "failed"):
        assert 0.0 <= s["progress"] <= 1.0
        assert time.time() - t0 < 120
        time.sleep(0.1)
    assert s["state"] == "done", s
    out = folder / "session.wav"
    assert s["outputs"][0]["path"] == str(out)
    cli = tmp_path / "cli.wav"
    subprocess.run([sys.executable, "-m", "mixdown.cli", "render", str(folder / "session.yaml"), "-o", str(cli)],
                   check=True, capture_output=True)
    assert out.read_bytes() == cli.read_bytes()
    x, sr = sf.read(out)
    assert s["measured"]["integrated_lufs"] == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(x), abs=0.1)
    assert s["compliant"] is False and "misses -16.0" in s["problems"][0]   # the hand mix is not at -16
    assert c.get(f"/api/audio/render/{job}/0", headers={**H, "Range": "bytes=0-3"}).content == b"RIFF"
    assert c.post("/api/render", headers=H, json={"mode": "bounce"}).status_code == 422


HAS_AUTO_LAYER = "auto" in __import__("mixdown.session", fromlist=["Track"]).Track.model_fields
needs_auto_layer = pytest.mark.skipif(not HAS_AUTO_LAYER, reason="session format 2's auto layer is not on this branch")


@needs_auto_layer
def test_auto_layer_is_drawn_apart_and_summed_like_the_renderer(dc, tmp_path):
    folder, _ = dc
    f = folder / "a.yaml"
    f.write_text("mixdown: 2\ntracks:\n  - name: D\n    clips: [{source: dc.wav}]\n"
                 "    automation: {gain_db: [[1.0, 0, exp], [2.0, -6]]}\n"
                 "    auto: {gain_db: -2, automation: {gain_db: [[0.5, 0, exp], [1.5, -10, exp], [3.0, 0]]}}\n")
    st, c = open_studio(f, tmp_path)
    lane = c.get("/api/lanes", headers=H).json()["tracks"][0]
    assert lane["keyframes"] == [[48000, 0.0, "exp"], [96000, -6.0, "linear"]]
    assert lane["auto"]["keyframes"] == [[24000, 0.0, "exp"], [72000, -10.0, "exp"], [144000, 0.0, "linear"]]
    assert lane["auto"]["edited"] == [] and lane["strip_db"] == -2.0
    out = np.zeros((2, 4 * 48000), np.float32)
    for pos, block, _ in Renderer(st.graph).blocks():
        out[:, pos:pos + block.shape[1]] = block
    r = c.get("/api/curve/D?start=0&bin=480&count=400", headers=H).json()
    centres = np.arange(400) * 480 + 240
    np.testing.assert_allclose(r["track_db"], 20 * np.log10(out[0, centres] / 0.5), atol=1e-4)
