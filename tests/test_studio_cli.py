"""`mixdown studio` as a user starts it: one line on stdout, 127.0.0.1 only, a clear refusal
of a port in use, a clean stop on Ctrl-C that leaves no temporary files."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "podcast"


def start(args, env):
    return subprocess.Popen([sys.executable, "-m", "mixdown.cli", "studio", *args, "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_one_line_token_loopback_and_clean_ctrl_c(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), MIXDOWN_CACHE_DIR=str(tmp_path / "cache"))
    p = start([str(EXAMPLE / "session.yaml")], env)
    try:
        line = p.stdout.readline()
        assert line.startswith("studio: http://127.0.0.1:") and "/?token=" in line, line
        url = line.split(" ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("token=")[1]
        assert len(token) >= 24
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b"mixdown studio" in r.read()
        # a request that makes the server write preview segments into its temporary folder
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/audio/preview.wav",
                                     headers={"X-Mixdown-Token": token, "Range": "bytes=44-100043"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 206 and len(r.read()) == 100000
        assert any(f.name.startswith("mixdown-studio-") and any(f.iterdir()) for f in tmp.iterdir())
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/session", timeout=10)
            raise AssertionError("no token, yet served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        # bound to the loopback address only: the machine's other addresses refuse
        listening = [row for row in Path("/proc/net/tcp").read_text().splitlines()[1:]
                     if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A"]
        assert listening and all(row.split()[1].startswith("0100007F:") for row in listening)
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out == ""                       # the one line was all
    assert "Traceback" not in err
    # onnxruntime (the VAD's runtime) writes a `.ses` marker into TMPDIR on import, as `mixdown auto` does;
    # it is not the studio's: everything the studio wrote went with its folder
    assert [f.name for f in tmp.iterdir() if f.name != ".ses"] == []


def test_port_in_use_is_a_clear_error(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        env = dict(os.environ, MIXDOWN_CACHE_DIR=str(tmp_path / "cache"))
        p = start([str(EXAMPLE / "session.yaml"), "--port", str(port)], env)
        out, err = p.communicate(timeout=60)
    finally:
        s.close()
    assert p.returncode == 2
    assert out == ""
    assert err.strip() == (f"mixdown: error: port {port} on 127.0.0.1 is in use (or not allowed); choose another "
                           "with --port, or --port 0 for any free one")


def test_bad_session_is_one_line_exit_2(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("mixdown: 2\ntracks:\n  - {name: A, clips: [{source: nope.wav}]}\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = start([str(f)], dict(os.environ, TMPDIR=str(tmp)))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and out == ""
    assert err.startswith("mixdown: error: ") and "nope.wav" in err and len(err.strip().splitlines()) == 1
    assert list(tmp.iterdir()) == []
    shutil.rmtree(tmp)
