"""`mixdown batch` running for real on a LocalCluster: resume after kill -9, worker deaths, bad input, reruns.

Material: 10-second cuts of the bundled two-speaker podcast and its music bed (speech
detection by energy, which is what the jobs' cost is not about here).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from mixdown.analysis.measure import measure_file
from mixdown.batch.verify import file_record

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast" / "media"
SR = 48000
SECONDS = 8


def cli(*args, cwd=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    from mixdown.media.write import read_audio

    root = tmp_path_factory.mktemp("batch-media")
    host, _ = read_audio(POD / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "guest.flac", sample_rate=SR)
    music, _ = read_audio(POD / "music.ogg", sample_rate=SR)
    n = SECONDS * SR
    for i in range(4):
        d = root / "episodes" / f"ep{i + 1:02d}"
        d.mkdir(parents=True)
        off = (6 + 9 * i) * SR
        sf.write(d / "host.wav", host[0, off:off + n], SR, subtype="PCM_16")
        sf.write(d / "guest.wav", 0.6 * guest[0, off:off + n], SR, subtype="PCM_16")
    sf.write(root / "bed.wav", music[:, :n].T, SR, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def cluster():
    """An existing Dask cluster (as `--scheduler` finds one), its workers warm: the cheap way to run a batch."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            Client(c) as client:
        client.run(lambda: __import__("mixdown.pipeline") and __import__("mixdown.batch.worker"))
        yield c.scheduler_address


def _project(media: Path, tmp: Path, episodes: int) -> Path:
    """A manifest beside links to the shared media: each test has its own outputs and state."""
    (tmp / "episodes").mkdir()
    for i in range(episodes):
        (tmp / "episodes" / f"ep{i + 1:02d}").symlink_to(media / "episodes" / f"ep{i + 1:02d}")
    (tmp / "bed.wav").symlink_to(media / "bed.wav")
    (tmp / "cat.yaml").write_text(
        "defaults:\n  target: podcast\n  vad: energy\n  music: bed.wav\n"
        "jobs:\n"
        "  - name: '{parent}'\n"
        "    dialogue: [episodes/*/host.wav, 'episodes/{parent}/guest.wav']\n"
        "    output: out/{name}.wav\n")
    return tmp / "cat.yaml"


def _rows(db: Path) -> dict[str, dict]:
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            c.row_factory = sqlite3.Row
            return {r["name"]: dict(r) for r in c.execute("SELECT * FROM jobs")}
    except sqlite3.OperationalError:
        return {}


def _events(db: Path) -> list[dict]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        c.row_factory = sqlite3.Row
        return [dict(r) for r in c.execute("SELECT * FROM events ORDER BY id")]


def _wait_for(cond, what: str, timeout: float = 120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _check_outputs(out: Path, rows: dict[str, dict]) -> None:
    """Every output is one complete render: the bytes the state recorded, full length, as measured."""
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == sorted(f"{n}.wav" for n in rows)
    assert not list(out.glob(".*mixdown-tmp*")), "a half-written output was left behind"
    for name, row in rows.items():
        rec = json.loads(row["outputs"])[0]
        path = out / f"{name}.wav"
        assert file_record(path)["sha256"] == rec["sha256"]
        info = sf.info(path)
        assert info.frames == SECONDS * SR and info.channels == 2
        assert measure_file(path).integrated_lufs == pytest.approx(row["integrated_lufs"], abs=1e-9)
        assert -17.0 <= row["integrated_lufs"] <= -15.0 and row["true_peak_dbtp"] <= -1.0


def test_resume_after_the_coordinator_is_killed(media, tmp_path):
    manifest = _project(media, tmp_path, 4)
    db = tmp_path / "cat.batch.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "batch", str(manifest), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rows = _wait_for(lambda: (r := _rows(db)) and any(x["state"] == "done" for x in r.values())
                         and any(x["state"] == "running" for x in r.values()) and r, "one job done, one running")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    running = {n: x for n, x in rows.items() if x["state"] == "running"}
    done_before = {n: json.loads(x["outputs"])[0] for n, x in _rows(db).items() if x["state"] == "done"}
    # its worker processes die with it (they would otherwise finish jobs nobody records)
    _wait_for(lambda: not any(_alive(x["pid"]) for x in running.values()), "the orphaned workers to exit", 20)

    r = cli("batch", manifest, "--workers", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = _rows(db)
    assert set(rows) == {f"ep{i:02d}" for i in range(1, 5)}
    # done now, or done before and skipped by this run
    assert {n: x["state"] for n, x in rows.items()} == {n: "skipped" if n in done_before else "done" for n in rows}
    events = _events(db)
    for name, row in rows.items():
        dones = [e for e in events if e["name"] == name and e["event"] == "done"]
        assert len(dones) == 1 and row["completions"] == 1, name  # done exactly once
        if name in done_before:  # not run again: same attempt, same file
            assert row["attempts"] == 1
            assert file_record(tmp_path / "out" / f"{name}.wav")["mtime_ns"] == done_before[name]["mtime_ns"]
        if name in running:
            assert row["attempts"] == 2
            assert any(e["name"] == name and e["event"] == "interrupted" for e in events)
    _check_outputs(tmp_path / "out", rows)

    # and the third run finds everything done
    r = cli("batch", manifest, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["summary"]["skipped"] == 4 and report["summary"]["done"] == 0
    assert all(_rows(db)[n]["attempts"] == rows[n]["attempts"] for n in rows)


def test_a_worker_killed_mid_job_is_rerun_elsewhere(media, tmp_path):
    manifest = _project(media, tmp_path, 3)
    db = tmp_path / "cat.batch.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "batch", str(manifest), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = _wait_for(lambda: next((x for x in _rows(db).values() if x["state"] == "running" and x["pid"]),
                                        None), "a running job")
        os.kill(victim["pid"], signal.SIGKILL)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rows = _rows(db)
    assert all(x["state"] == "done" and x["completions"] == 1 for x in rows.values())
    again = rows[victim["name"]]
    assert again["attempts"] == 2 and again["pid"] != victim["pid"]
    kinds = [e["event"] for e in _events(db) if e["name"] == victim["name"]]
    assert kinds == ["new", "start", "worker-died", "retry", "start", "done"]
    assert "its worker died; running it again" in err
    _check_outputs(tmp_path / "out", rows)


def test_bad_input_only_failed_and_force(media, tmp_path, cluster):
    """A bad file among good ones; then fix it and rerun only it (on an existing cluster); then force everything."""
    for ep in ("ep01", "ep02"):
        (tmp_path / ep).mkdir()
        for f in ("host.wav", "guest.wav"):
            (tmp_path / ep / f).symlink_to(media / "episodes" / ep / f)
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 100)
    (tmp_path / "m.csv").write_text(
        "name,dialogue,music,target,vad,output\n"
        "ep01,ep01/host.wav;ep01/guest.wav,../bed.wav,podcast,energy,out/ep01.wav\n"
        "bad,bad.wav,,podcast,energy,out/bad.wav\n"
        "ep02,ep02/host.wav;ep02/guest.wav,,podcast,energy,out/ep02.wav\n"
        .replace("../bed.wav", str(media / "bed.wav")))
    r = cli("batch", "m.csv", "--workers", "2", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("mixdown: error:")]
    assert len(errors) == 1 and errors[0].startswith("mixdown: error: bad: ") and "bad.wav" in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    with open(tmp_path / "m-report" / "report.csv", newline="") as fh:
        report = {row["name"]: row for row in csv.DictReader(fh)}
    assert [report[n]["status"] for n in ("ep01", "bad", "ep02")] == ["done", "failed", "done"]
    assert report["bad"]["error_kind"] == "input" and "bad.wav" in report["bad"]["error"]
    assert float(report["ep01"]["integrated_lufs"]) == pytest.approx(
        measure_file(tmp_path / "out" / "ep01.wav").integrated_lufs, abs=1e-3)
    assert not (tmp_path / "out" / "bad.wav").exists()
    html = (tmp_path / "m-report" / "report.html").read_text()
    assert "data:image/png;base64," in html and "bad.wav" in html
    db = tmp_path / "m.batch.sqlite"
    assert _rows(db)["bad"]["attempts"] == 1  # input errors are not retried
    first = {n: x["finished_at"] for n, x in _rows(db).items()}

    # fix the file: --only-failed runs it and nothing else
    (tmp_path / "bad.wav").unlink()
    (tmp_path / "bad.wav").symlink_to(media / "episodes" / "ep03" / "host.wav")
    r = cli("batch", "m.csv", "--only-failed", "--json", "--scheduler", cluster, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {j["name"]: j["status"] for j in data["jobs"]} == {"ep01": "skipped", "bad": "done", "ep02": "skipped"}
    rows = _rows(db)
    assert rows["ep01"]["finished_at"] == first["ep01"] and rows["ep02"]["finished_at"] == first["ep02"]
    assert (tmp_path / "out" / "bad.wav").exists()

    # --force runs every job again, whatever the state says
    r = cli("batch", "m.csv", "--force", "--json", "--scheduler", cluster, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [j["status"] for j in json.loads(r.stdout)["jobs"]] == ["done"] * 3
    assert [x["completions"] for x in _rows(db).values()] == [2, 2, 2]


def test_python_api_crashing_job_is_reported_not_retried_forever(media, tmp_path, cluster):
    from distributed import Client

    import mixdown
    from mixdown.pipeline import Job

    def runner(job, progress=None):
        from mixdown.pipeline import run

        if job.name == "crash":
            os._exit(1)  # what an out-of-memory kill or a segfault in a native library looks like
        (Path(job.output).parent / f"{job.name}.env").write_text(os.environ.get("MIXDOWN_THREADS", ""))
        return run(job, progress=progress)

    ep = media / "episodes"
    jobs = [Job(name=n, dialogue=(str(ep / d / "host.wav"),), target="podcast", options={"vad": "energy"},
                output=str(tmp_path / "out" / f"{n}.wav"))
            for n, d in (("a", "ep01"), ("crash", "ep02"), ("b", "ep03"))]
    # and one that cannot reach its target within the limiting it may use (exit 3 on its own)
    jobs.append(Job(name="loud", dialogue=(str(ep / "ep04" / "host.wav"),), lufs=-6.0,
                    options={"vad": "energy", "max_limiting": 0.5}, output=str(tmp_path / "out" / "loud.wav")))
    # the caller's own Dask client is the current one: the batch keeps to its own cluster all the same
    with Client(cluster) as mine, mine.as_current():
        res = mixdown.batch(jobs, workers=2, retries=1, runner=runner, state=tmp_path / "s.sqlite")
    assert res.exit_code == 1
    assert [j.status for j in res.jobs] == ["done", "failed", "done", "failed"]
    loud = res["loud"]
    assert loud.error_kind == "target" and "misses the target -6" in loud.error
    assert loud.integrated_lufs == pytest.approx(measure_file(tmp_path / "out" / "loud.wav").integrated_lufs)
    crash = res["crash"]
    assert crash.error_kind == "crash" and "killed its worker 2 times" in crash.error and crash.attempts == 2
    assert res["a"].integrated_lufs == pytest.approx(measure_file(tmp_path / "out" / "a.wav").integrated_lufs)
    # several jobs share the cores: each worker runs its job on one thread
    assert (tmp_path / "out" / "a.env").read_text() == "1"


def test_versions_of_a_session_track_render_and_are_compared(media, tmp_path, cluster):
    ep = media / "episodes"
    sf.write(tmp_path / "dx_fr.wav", sf.read(ep / "ep02" / "host.wav")[0][: 7 * SR], SR, subtype="PCM_16")
    (tmp_path / "film.yaml").write_text(
        "mixdown: 1\ntracks:\n"
        f"  - {{name: DX, role: dialogue, clips: [{{source: {ep / 'ep01' / 'host.wav'}}}]}}\n"
        f"  - {{name: ME, role: music, gain_db: -12, clips: [{{source: {media / 'bed.wav'}, duration: 7.0}}]}}\n")
    (tmp_path / "v.yaml").write_text(
        "jobs:\n  - name: film\n    session: film.yaml\n"
        f"    tracks: {{DX: {{en: {ep / 'ep01' / 'host.wav'}, fr: dx_fr.wav}}}}\n"
        "    output: out/film-{version}.wav\n")
    r = cli("batch", "v.yaml", "--scheduler", cluster, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [(j["name"], j["status"], j["group"], j["version"]) for j in data["jobs"]] == [
        ("film-en", "done", "film", "en"), ("film-fr", "done", "film", "fr")]
    assert sf.info(tmp_path / "out/film-en.wav").frames == SECONDS * SR
    assert sf.info(tmp_path / "out/film-fr.wav").frames == 7 * SR
    warn = [f for f in data["catalogue"] if f["check"] == "version-duration"]
    assert len(warn) == 1 and "en 8.00 s, fr 7.00 s" in warn[0]["message"]
    assert "mixdown: warning: catalogue: film: the versions are not one length" in r.stderr


def test_sigterm_stops_the_batch_and_puts_running_jobs_back(media, tmp_path):
    manifest = _project(media, tmp_path, 2)
    db = tmp_path / "cat.batch.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "batch", str(manifest), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: any(x["state"] == "running" for x in _rows(db).values()), "a running job")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "run the same command again to resume" in err, err
    rows = _rows(db)
    stopped = [n for n, x in rows.items() if x["attempts"] == 1 and x["state"] == "pending"]
    assert stopped and all(x["state"] in ("pending", "done") for x in rows.values())
    assert all(any(e["name"] == n and e["event"] == "interrupted" for e in _events(db)) for n in stopped)
