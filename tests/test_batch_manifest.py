"""Batch manifests without running anything: YAML and CSV, globs, versions, keys, errors, --dry-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.batch import load_jobs, plan
from mixdown.batch.key import Keyer, media_identity
from mixdown.errors import MixdownError

SR = 48000


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _wav(path: Path, seconds: float, *, channels: int = 1, freq: float = 220.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    x = (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    sf.write(path, np.stack([x] * channels, axis=1) if channels > 1 else x, SR, subtype="PCM_16")
    return path


@pytest.fixture()
def tree(tmp_path):
    for ep in ("ep01", "ep02", "ep03"):
        _wav(tmp_path / "episodes" / ep / "host.wav", 1.0)
        _wav(tmp_path / "episodes" / ep / "guest.wav", 1.0, freq=330)
    _wav(tmp_path / "bed.wav", 1.0, channels=2)
    _wav(tmp_path / "dx" / "en.wav", 1.0)
    _wav(tmp_path / "dx" / "fr.wav", 1.0, freq=250)
    _wav(tmp_path / "me.wav", 1.0, channels=2)
    return tmp_path


def test_glob_expands_to_one_job_per_match_with_placeholders(tree):
    (tree / "m.yaml").write_text(
        "defaults: {target: podcast, vad: energy}\n"
        "jobs:\n"
        "  - name: '{parent}'\n"
        "    dialogue: [episodes/*/host.wav, 'episodes/{parent}/guest.wav']\n"
        "    music: bed.wav\n"
        "    output: out/{name}.wav\n")
    jobs, manifest = load_jobs(tree / "m.yaml")
    assert manifest == str(tree / "m.yaml")
    assert [j.name for j in jobs] == ["ep01", "ep02", "ep03"]
    j = jobs[1].job
    # relative paths are relative to the manifest, whatever the working directory
    assert j.dialogue == (str(tree / "episodes/ep02/host.wav"), str(tree / "episodes/ep02/guest.wav"))
    assert j.music == (str(tree / "bed.wav"),) and j.output == str(tree / "out/ep02.wav")
    assert j.mode == "auto" and j.target == "podcast" and j.options == {"vad": "energy"}
    assert jobs[1].line == 3 and jobs[1].group is None


def test_versions_expand_to_one_job_each_sharing_everything_else(tree):
    (tree / "m.yaml").write_text(
        "jobs:\n"
        "  - name: film\n"
        "    dialogue: {en: dx/en.wav, fr: dx/fr.wav}\n"
        "    music: me.wav\n"
        "    target: ebu-r128\n"
        "    output: out/film-{version}.wav\n")
    jobs, _ = load_jobs(tree / "m.yaml")
    assert [(j.name, j.group, j.version) for j in jobs] == [("film-en", "film", "en"), ("film-fr", "film", "fr")]
    en, fr = jobs[0].job, jobs[1].job
    assert en.dialogue == (str(tree / "dx/en.wav"),) and fr.dialogue == (str(tree / "dx/fr.wav"),)
    assert en.music == fr.music == (str(tree / "me.wav"),)
    assert en.output == str(tree / "out/film-en.wav") and fr.output == str(tree / "out/film-fr.wav")
    assert en.replace(dialogue=(), output=None, name=None) == fr.replace(dialogue=(), output=None, name=None)


def test_versions_of_a_session_track_replace_its_clips_sources(tree):
    (tree / "film.yaml").write_text(
        "mixdown: 1\ntracks:\n"
        "  - {name: DX, role: dialogue, clips: [{source: dx/en.wav, start: 0.5}]}\n"
        "  - {name: ME, role: music, clips: [{source: me.wav}]}\n")
    (tree / "m.yaml").write_text(
        "jobs:\n"
        "  - name: film\n"
        "    session: film.yaml\n"
        "    tracks: {DX: {en: dx/en.wav, fr: dx/fr.wav}}\n"
        "    output: out/{name}.wav\n")
    jobs, _ = load_jobs(tree / "m.yaml")
    assert [j.name for j in jobs] == ["film-en", "film-fr"]
    fr = jobs[1].job
    assert fr.mode == "render" and fr.session is None and fr.base_dir == str(tree)
    tracks = {t["name"]: t for t in fr.session_data["tracks"]}
    assert tracks["DX"]["clips"] == [{"source": str(tree / "dx/fr.wav"), "start": 0.5}]
    assert tracks["ME"]["clips"][0]["source"] == "me.wav"
    assert fr.output == str(tree / "out/film-fr.wav")
    # the session job really renders the fr file, not the en one
    from mixdown.pipeline import load

    s = load(fr)
    assert s.resolve(s.tracks[0].clips[0].source) == tree / "dx/fr.wav"


def test_csv_manifest_gives_the_same_jobs_as_yaml(tree):
    (tree / "m.yaml").write_text(
        "jobs:\n"
        "  - {name: a, dialogue: [episodes/ep01/host.wav, episodes/ep01/guest.wav], music: bed.wav,\n"
        "     target: podcast, vad: energy, duck_under: 16, output: out/a.wav}\n"
        "  - {name: b, dialogue: episodes/ep02/host.wav, lufs: -20, true_peak: -2, output: out/b.flac}\n")
    (tree / "m.csv").write_text(
        "name,dialogue,music,target,lufs,true_peak,vad,duck_under,output\n"
        "a,episodes/ep01/host.wav;episodes/ep01/guest.wav,bed.wav,podcast,,,energy,16,out/a.wav\n"
        "\n"
        "b,episodes/ep02/host.wav,,,-20,-2,,,out/b.flac\n")
    y, _ = load_jobs(tree / "m.yaml")
    c, _ = load_jobs(tree / "m.csv")
    assert [j.job for j in y] == [j.job for j in c]
    assert c[0].job.options == {"vad": "energy", "duck_under": 16}
    assert [j.line for j in c] == [2, 4]


@pytest.mark.parametrize("text, where, what", [
    ("jobs:\n  - name: a\n    dialouge: x.wav\n    output: o.wav\n", "m.yaml:3: jobs[0].dialouge",
     "unknown field (did you mean 'dialogue'?)"),
    ("jobs:\n  - name: a\n    target: podcast\n    dialogue: nope/*.wav\n    output: o.wav\n",
     "m.yaml:4: jobs[0].dialogue", "matches no file"),
    ("jobs:\n  - name: a\n    target: podcast\n    dialogue: {en: dx/en.wav, fr: dx/fr.wav}\n"
     "    music: {en: me.wav}\n    output: o-{version}.wav\n", "m.yaml:5: jobs[0].music", "differ from those of"),
    ("jobs:\n  - name: a\n    target: podcast\n    dialogue: {en: dx/en.wav, fr: dx/fr.wav}\n    output: o.wav\n",
     "m.yaml:2", "is written by two jobs (a-en and a-fr)"),
    ("jobs:\n  - name: a\n    target: podcast\n    dialogue: dx/en.wav\n    output: o-{stem}.wav\n",
     "m.yaml:5: jobs[0].output", "unknown placeholder {stem}"),
    ("jobs:\n  - name: a\n    target: podkast\n    dialogue: dx/en.wav\n    output: o.wav\n",
     "m.yaml:3: jobs[0].target", "unknown target 'podkast'"),
    ("jobs:\n  - {name: a, target: podcast, dialogue: dx/en.wav, output: o.wav}\n"
     "  - {name: a, target: podcast, dialogue: dx/fr.wav, output: p.wav}\n", "m.yaml:3", "used twice"),
    ("jobs:\n  - name: a\n   target: x\n", "m.yaml:3", "not valid YAML"),
    ("name,dialogue,target,output,sample_rate\na,dx/en.wav,podcast,o.wav,fast\n", "m.csv:2: sample_rate",
     "must be a positive whole number"),
    ("name,dialogue,output\na,dx/en.wav,o.wav\n", "m.csv:2", "needs a target"),
])
def test_manifest_errors_name_the_line_and_field_exit_2(tree, text, where, what):
    name = "m.csv" if text.startswith("name,") else "m.yaml"
    (tree / name).write_text(text)
    r = cli("batch", name, "--dry-run", cwd=tree)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mixdown: error: {where}: ") and what in lines[0], lines
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not (tree / (Path(name).stem + ".batch.sqlite")).exists()


def test_key_follows_inputs_content_and_fields_but_not_the_name(tree):
    (tree / "m.yaml").write_text(
        "jobs:\n  - {name: a, dialogue: dx/en.wav, target: podcast, output: out/a.wav}\n")
    jobs, _ = load_jobs(tree / "m.yaml")
    k0 = Keyer().key(jobs[0])
    assert Keyer().key(jobs[0]) == k0
    assert Keyer().key(jobs[0].__class__(name="other", job=jobs[0].job.replace(name="other"),
                                         inputs=jobs[0].inputs)) == k0
    assert Keyer().key(jobs[0].__class__(name="a", job=jobs[0].job.replace(target="youtube"),
                                         inputs=jobs[0].inputs)) != k0
    # same size, same modification time, other samples: the first/last MiB hash sees it
    src = tree / "dx/en.wav"
    st = src.stat()
    data, _ = sf.read(src, dtype="int16")
    sf.write(src, -data, SR, subtype="PCM_16")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert src.stat().st_size == st.st_size and src.stat().st_mtime_ns == st.st_mtime_ns
    assert Keyer().key(jobs[0]) != k0


def test_media_identity_reads_only_the_ends_of_a_long_file(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"a" * (3 << 20))
    before = media_identity(big)["head_tail_sha256"]
    with open(big, "r+b") as fh:  # the middle changes: not seen (size and time are the guard there)
        fh.seek(3 << 19)
        fh.write(b"b")
    st = big.stat()
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert media_identity(big)["head_tail_sha256"] == before
    with open(big, "r+b") as fh:
        fh.seek((3 << 20) - 1)
        fh.write(b"b")
    assert media_identity(big)["head_tail_sha256"] != before


def test_missing_input_is_a_job_error_not_a_manifest_error(tree):
    (tree / "m.yaml").write_text(
        "jobs:\n  - {name: a, dialogue: dx/en.wav, target: podcast, output: out/a.wav}\n"
        "  - {name: b, dialogue: dx/missing.wav, target: podcast, output: out/b.wav}\n")
    jobs, _ = load_jobs(tree / "m.yaml")
    p = plan(jobs, {})
    assert [j.name for j in p.run] == ["a"]
    assert "m.yaml:3: dialogue:" in p.errors["b"] and "missing.wav" in p.errors["b"] and "not found" in p.errors["b"]


def test_dry_run_lists_the_plan_and_writes_nothing(tree):
    (tree / "m.yaml").write_text(
        "defaults: {target: podcast}\n"
        "jobs:\n  - {name: '{parent}', dialogue: episodes/*/host.wav, output: 'out/{name}.wav'}\n"
        "  - {name: bad, dialogue: dx/missing.wav, output: out/bad.wav}\n")
    r = cli("batch", "m.yaml", "--dry-run", cwd=tree)
    assert r.returncode == 2, r.stderr  # the missing file is an input error, reported as such
    assert "bad: " in r.stderr and "missing.wav" in r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert [(x[0], x[1]) for x in rows[:4]] == [("run", "ep01"), ("run", "ep02"), ("run", "ep03"), ("error", "bad")]
    assert rows[0][-1] == str(tree / "out/ep01.wav")
    r = cli("batch", "m.yaml", "--dry-run", "--json", cwd=tree)
    data = json.loads(r.stdout)
    assert [j["plan"] for j in data["jobs"]] == ["run", "run", "run", "error"]
    assert data["jobs"][0]["dialogue"] == [str(tree / "episodes/ep01/host.wav")]
    assert sorted(p.name for p in tree.iterdir()) == ["bed.wav", "dx", "episodes", "m.yaml", "me.wav"]


def test_import_mixdown_does_not_import_dask():
    code = ("import sys, mixdown; assert callable(mixdown.batch); "
            "assert 'dask' not in sys.modules and 'distributed' not in sys.modules; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "ok", r.stderr


def test_bad_options_are_refused(tree):
    (tree / "m.yaml").write_text("jobs:\n  - {name: a, dialogue: dx/en.wav, target: podcast, output: o.wav}\n")
    r = cli("batch", "m.yaml", "--workers", "0", cwd=tree)
    assert r.returncode == 2 and r.stderr.startswith("mixdown: error: --workers")
    with pytest.raises(MixdownError, match="manifest not found"):
        load_jobs(tree / "nope.yaml")


def _rec(name, lufs=-16.0, *, lra=5.0, gain=3.0, dur=180.0, group=None, version=None, music="bed.wav"):
    from mixdown.batch.result import JobRecord

    target = {"name": "podcast", "integrated_lufs": -16.0, "tolerance_lu": 1.0, "true_peak_dbtp": -1.0}
    return JobRecord(name=name, status="done", integrated_lufs=lufs, lra_lu=lra, duration_s=dur, group=group,
                     version=version, target=target, true_peak_dbtp=-1.2,
                     data={"loudness_gain_db": gain, "tracks": [
                         {"name": "DX", "role": "dialogue", "gain_db": 0.0, "sources": [f"{name}.wav"]},
                         {"name": "Music", "role": "music", "gain_db": -4.0, "sources": [music]}]})


def test_catalogue_checks_flag_spread_outliers_and_odd_versions():
    from mixdown.batch.catalogue import check_catalogue

    eps = [_rec("ep1", -16.1, lra=5.2, gain=3.1), _rec("ep2", -15.9, lra=4.8, gain=2.7), _rec("ep3", -16.0),
           _rec("ep4", -15.8, lra=5.5, gain=3.4), _rec("ep5", -16.2, lra=4.6, gain=2.9),
           _rec("ep6", -16.0, lra=14.0, gain=15.0), _rec("ep7", -16.0, dur=12.0)]
    found = check_catalogue(eps)
    warned = sorted((f.check, tuple(f.jobs)) for f in found if f.severity == "warning")
    assert warned == [("outlier", ("ep6",)), ("outlier", ("ep6",)), ("outlier", ("ep7",))]
    msgs = [f.message for f in found]
    assert any("ep6: loudness range 14.0 LU" in m for m in msgs)
    assert any("ep6: master loudness gain 15.0 dB" in m for m in msgs)
    assert any("ep7: 12.0 s long" in m for m in msgs)
    spread = next(f for f in found if f.check == "loudness-spread")
    assert spread.severity == "info" and "spread 0.40 LU" in spread.message
    # a 2 LU jump between two episodes is heard, though each is within its ±1 LU tolerance
    found = check_catalogue([_rec("a", -16.9), _rec("b", -15.0)])
    assert [(f.check, f.severity, f.jobs) for f in found] == [("loudness-spread", "warning", ["a", "b"])]

    film = [_rec("film-en", group="film", version="en", dur=60.0, gain=2.0),
            _rec("film-fr", group="film", version="fr", dur=60.0, gain=2.2),
            _rec("film-de", group="film", version="de", dur=62.4, gain=5.0, music="bed-de.wav")]
    found = [f for f in check_catalogue(film) if f.check.startswith("version-") and f.severity == "warning"]
    assert sorted((f.check, tuple(f.jobs)) for f in found) == [
        ("version-duration", ("film-de",)), ("version-me", ("film-de",)), ("version-me", ("film-de",))]
    text = " | ".join(f.message for f in found)
    assert "de 62.40 s" in text and "other media on the M&E track 'Music' (bed-de.wav)" in text
    assert "not at one level" in text and "de +1.0 dB" in text


def test_readme_manifests_are_the_example_files_and_plan(tmp_path):
    import re

    import yaml

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text()
    section = text[text.index("## Batch"):text.index("## Development")]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    yaml_block = next(b for lang, b in blocks if lang == "yaml")
    csv_block = next(b for lang, b in blocks if lang == "text")
    example = root / "examples" / "batch"
    assert yaml.safe_load(yaml_block) == yaml.safe_load((example / "catalogue.yaml").read_text())
    assert csv_block == (example / "catalogue.csv").read_text()
    r = cli("batch", "examples/batch/catalogue.csv", "--workers", "2", "--dry-run", "--state", tmp_path / "s.sqlite",
            cwd=root)
    assert r.returncode == 0, r.stderr
    assert [line.split()[:2] for line in r.stdout.splitlines()[:2]] == [["run", "duo"], ["run", "guest"]]
    jobs, _ = load_jobs(example / "catalogue.yaml")
    assert [(j.name, j.job.mode) for j in jobs] == [("episode-duo", "auto"), ("episode-host", "auto"),
                                                    ("handmix", "render")]


def test_exit_code_is_the_worst_failure():
    from mixdown.batch.result import BatchResult, JobRecord

    def res(*kinds):
        return BatchResult([JobRecord(name=f"j{i}", status="failed" if k else "done", error_kind=k)
                            for i, k in enumerate(kinds)]).exit_code

    assert res(None, None) == 0
    assert res(None, "target") == 3
    assert res("target", "input") == 2
    assert res("input", "crash", "target") == 1
    assert res("bug") == 1
