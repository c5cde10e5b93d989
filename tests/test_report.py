"""The HTML/JSON report: self-contained, every plot present, and its numbers are the meter's."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

import mixdown.dsp.cleanup  # noqa: F401  (registers the cleanup processors)
from mixdown.analysis.spectrum import SpectrumMeter, noise_profile
from mixdown.auto.decisions import Decision
from mixdown.dsp.cleanup import noise_profile_params
from mixdown.media import read_audio, write_audio
from mixdown.pipeline.reportdata import collect, result_report_data
from mixdown.render.engine import render_file
from mixdown.report import lay_out
from mixdown.session import save_session
from mixdown.session.model import Clip, Keyframe, ProcessorSpec, Session, Track
from mixdown.targets import get_target

DATA = Path(__file__).parent / "data"


def build_report(session, **options):
    """The pipeline collects the report's data; the report lays it out."""
    return lay_out(collect(session, **options))


def report_from_result(path, **options):
    return lay_out(result_report_data(path, **options))

META = json.loads((DATA / "real_audio.json").read_text())["files"]
SPEECH = [tuple(r) for r in META["speech_host_16k.flac"]["speech"]]


@pytest.fixture(scope="module")
def mix(tmp_path_factory):
    """A small mix: noisy host (with a learned denoise) over music ducked by keyframes; rendered to a file."""
    d = tmp_path_factory.mktemp("report")
    x, fs = read_audio(DATA / "speech_host_16k.flac")
    y = x + 10 ** (-40 / 20) * np.random.default_rng(0).standard_normal(x.shape)
    write_audio(d / "host.flac", y.astype(np.float32), fs)
    write_audio(d / "music.flac", read_audio(DATA / "music_16k.flac")[0], fs)
    pauses = [(0, 4320), (23360, 28480), (50080, 52800), (73280, 75200)]
    meter = SpectrumMeter(fs, regions=pauses, keep_frames=True)
    meter.process(y.astype(np.float32), 0)
    profile = noise_profile_params(noise_profile(meter)[0])
    s = Session(sample_rate=fs, layout="stereo", tracks=[
        Track(name="Host", role="dialogue", clips=[Clip(source="host.flac")],
              chain=[ProcessorSpec(type="denoise", id="auto-denoise", amount_db=20.0, threshold_db=12.0, **profile),
                     ProcessorSpec(type="highpass", freq_hz=80.0)]),
        Track(name="Music", role="music", gain_db=-6.0, clips=[Clip(source="music.flac")],
              automation={"gain_db": [Keyframe(t=0.0, v=0.0), Keyframe(t=0.25, v=0.0, interp="exp"),
                                      Keyframe(t=0.5, v=-15.0), Keyframe(t=4.5, v=-15.0)]}),
    ])
    s.base_dir = d
    save_session(s, d / "mix.yaml")
    render_file(s, d / "mix.wav")
    decisions = [
        Decision("cleanup", "Host", "denoise -20.0 dB", "noise floor -40.0 dB in 0.9 s of pauses <measured>",
                 value_db=-20.0),
        Decision("duck", "Music", "duck -15.0 dB", "music under speech & ducked", start_s=0.25, end_s=4.5),
    ]
    speech = {"Host": SPEECH}
    rep = build_report(s, mix=d / "mix.wav", decisions=decisions, speech=speech, target=get_target("ebu-r128"))
    return d, s, rep, decisions


def test_page_is_self_contained_and_shows_every_plot(mix):
    d, s, rep, _ = mix
    html = rep.html
    plots = rep.data["plots"]
    assert set(plots) == {"loudness", "levels", "waveform-Host", "waveform-Music", "spectrum-Host"}
    imgs = re.findall(r"<img [^>]*src=\"([^\"]+)\"", html)
    assert len(imgs) == len(plots) == html.count("<img")
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing to fetch: no web address, no linked style sheet, script or font
    for bad in ("http://", "https://", "<link", "<script src", "url(", "@import"):
        assert bad not in html, bad
    path = rep.write(d / "report.html", json_path=d / "report.json")
    assert path.read_text(encoding="utf-8") == html
    assert json.loads((d / "report.json").read_text()) == json.loads(rep.to_json())


def test_numbers_match_mixdown_measure(mix, capsys):
    from mixdown.cli import main

    d, _, rep, _ = mix
    main(["measure", str(d / "mix.wav"), "--json"])
    measured = json.loads(capsys.readouterr().out)
    loud = rep.data["loudness"]
    for key in ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs",
                "momentary_max_lufs", "short_term_max_lufs", "duration_s"):
        assert loud[key] == measured[key], key
    # and what the page says is those numbers
    assert f"{measured['integrated_lufs']:.1f} LUFS" in rep.html
    assert f"{measured['true_peak_dbtp']:.1f} dBTP" in rep.html
    # the embedded data is the JSON data
    blob = re.search(r'<script type="application/json" id="mixdown-report-data">(.*?)</script>', rep.html, re.DOTALL)
    embedded = json.loads(blob.group(1))
    assert embedded["loudness"]["integrated_lufs"] == measured["integrated_lufs"]
    assert rep.data["compliance"]["checked"] and rep.data["target"]["name"] == "ebu-r128"


def test_curves_show_what_the_session_does(mix):
    _, s, rep, _ = mix
    tracks = {t["name"]: t for t in rep.data["tracks"]}
    music = tracks["Music"]["gain_curve"]
    t, g = np.array(music["t"]), np.array(music["db"])
    assert np.allclose(g[t < 0.25], -6.0) and np.allclose(g[(t > 0.5) & (t < 4.5)], -21.0)
    host = tracks["Host"]
    assert host["speech_s"][0] == [round(SPEECH[0][0] / 16000, 3), round(SPEECH[0][1] / 16000, 3)]
    # the waveform envelope is the chain input's: its extremes are the file's
    x, _ = read_audio(Path(s.base_dir) / "host.flac")
    assert max(host["waveform"]["hi"]) == pytest.approx(float(x.max()), abs=1e-3)
    assert min(host["waveform"]["lo"]) == pytest.approx(float(x.min()), abs=1e-3)
    # the spectrum after cleanup has the pauses' noise 10+ dB down, and the speech where it was
    sp = host["spectrum"]
    assert sp["after_is"] == "cleanup"
    mid = [i for i, f in enumerate(sp["bands_hz"]) if 300 <= f <= 5000]
    before, after = np.array(sp["pauses before"])[mid], np.array(sp["pauses after"])[mid]
    assert np.all(before - after >= 10.0)
    s_before, s_after = np.array(sp["speech before"])[mid], np.array(sp["speech after"])[mid]
    assert np.median(np.abs(s_before - s_after)) < 1.5
    assert host["input_lufs"] is not None and tracks["Music"]["mix_lufs"] < tracks["Music"]["input_lufs"]
    assert rep.data["dialogue_to_music_lu"] is not None


def test_decisions_in_words(mix):
    _, _, rep, decisions = mix
    for d in decisions:
        assert d.action in rep.html
    assert "&lt;measured&gt;" in rep.html and "<measured>" not in rep.html  # escaped, not markup
    assert "music under speech &amp; ducked" in rep.html
    assert [x["action"] for x in rep.data["decisions"]] == [d.action for d in decisions]


def test_report_of_an_auto_result_file(mix):
    d, _, _, decisions = mix
    result = {
        "output": "mix.wav",
        "session": "mix.yaml",
        "target": get_target("apple-podcasts").to_json(),
        "decisions": [x.to_json() for x in decisions] + [
            {"kind": "speech", "target": "Host", "action": "3 speech regions", "reason": "vad",
             "data": {"regions_s": [[a / 16000, b / 16000] for a, b in SPEECH]}}],
    }
    (d / "result.json").write_text(json.dumps(result))
    rep = report_from_result(d / "result.json")
    assert rep.data["target"]["name"] == "apple-podcasts"
    assert rep.data["compliance"]["compliant"] is False  # the mix is nowhere near -16 LUFS
    assert rep.data["speech_origin"] == "the decision list"
    assert rep.html.count("<img") == len(rep.data["plots"]) >= 5
    from mixdown.errors import MixdownError

    (d / "bad.json").write_text("{}")
    with pytest.raises(MixdownError):
        report_from_result(d / "bad.json")


def test_a_mix_file_alone(mix):
    d, _, _, _ = mix
    rep = build_report(None, mix=d / "mix.wav")
    assert rep.data["plots"] == ["loudness"] and rep.data["tracks"] == []
    assert rep.data["mix_qc"] is not None
