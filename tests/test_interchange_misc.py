"""Roles from names, role overrides, media URLs, and the keyframe re-expression used by exporters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import TimelineError
from mixdown.interchange import import_timeline
from mixdown.interchange.gaincurve import Curve, approximate
from mixdown.interchange.media import MediaResolver, path_to_url, url_to_path
from mixdown.interchange.roles import infer_role, role_from_name


@pytest.mark.parametrize("name, role", [
    ("Dialogue", "dialogue"), ("DX 1", "dialogue"), ("DX1", "dialogue"), ("VO", "dialogue"), ("Dia 2", "dialogue"),
    ("Voice Over", "dialogue"), ("Music", "music"), ("MX_theme", "music"), ("mxStingers", "music"),
    ("SFX", "sfx"), ("FX 3", "sfx"), ("Foley", "sfx"), ("Sound Effects", "sfx"), ("Ambience", "ambience"),
    ("AMB", "ambience"), ("BG Atmos", "ambience"), ("Room Tone", "ambience"), ("Atmos L", "ambience"),
    ("Audio 3", None), ("A1", None), ("Track", None),
])
def test_role_words(name, role):
    assert role_from_name(name) == role


def test_infer_role_prefers_file_role_then_track_then_clip_names():
    assert infer_role("Audio 1", ["MX_theme.wav", "mx_sting.wav", "door.wav"]) == \
        ("music", "2 clip names such as 'MX_theme.wav'")
    assert infer_role("DX", ["song.wav"])[0] == "dialogue"
    assert infer_role("A1", [], hint="effects")[0] == "sfx"
    assert infer_role("A1", ["x.wav"]) == ("other", "no role word in the track or clip names")


def wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros((100, 2), np.float32), 8000)
    return path


def two_track_xml(tmp: Path) -> Path:
    a = wav(tmp / "a.wav")
    items = "".join(
        f'<track{attr}><clipitem id="c{i}"><name>{clip}</name><start>0</start><end>10</end><in>0</in><out>10</out>'
        f'<file id="f{i}"><name>a.wav</name><pathurl>{path_to_url(a)}</pathurl></file></clipitem></track>'
        for i, (attr, clip) in enumerate([(' MZ.TrackName="Atmos"', "wind"), ("", "score_v2.wav"),
                                          ("", "door.wav")]))
    p = tmp / "r.xml"
    p.write_text(f"<xmeml><sequence><rate><timebase>25</timebase></rate><media><audio>{items}</audio></media>"
                 "</sequence></xmeml>")
    return p


def test_roles_are_inferred_reported_and_overridable(tmp_path):
    p = two_track_xml(tmp_path)
    s, report = import_timeline(p)
    assert [(t.name, t.role) for t in s.tracks] == [("Atmos", "ambience"), ("A2", "music"), ("A3", "other")]
    assert report.roles["A2"][0] == "music" and "score_v2.wav" in report.roles["A2"][1]
    s, report = import_timeline(p, roles={"A3": "sfx", "atmos": "music"})
    assert [t.role for t in s.tracks] == ["music", "music", "sfx"]
    assert report.roles["A3"] == ("sfx", "set on the command line")
    with pytest.raises(TimelineError, match="'Nope'.*Atmos, A2, A3"):
        import_timeline(p, roles={"Nope": "music"})
    with pytest.raises(TimelineError, match="not one of"):
        import_timeline(p, roles={"A2": "drums"})
    data = json.loads(report.to_json())
    assert data["roles"]["A3"] == {"role": "sfx", "reason": "set on the command line"}
    assert "A3: sfx (set on the command line)" in report.to_text()


@pytest.mark.parametrize("url, path", [
    ("file://localhost/Volumes/My%20Drive/a%23b.wav", "/Volumes/My Drive/a#b.wav"),
    ("file:///C:/Media/x%20y.wav", "C:/Media/x y.wav"),
    ("file://localhost/D%3a/f/A.mp4", "D:/f/A.mp4"),
    ("file://server/share/x.wav", "//server/share/x.wav"),
    ("/plain/path with space.wav", "/plain/path with space.wav"),
])
def test_url_to_path(url, path):
    assert url_to_path(url) == path


def test_resolver_prefers_the_candidate_whose_folders_match(tmp_path):
    wav(tmp_path / "root" / "day1" / "sound" / "take.wav")
    right = wav(tmp_path / "root" / "day2" / "sound" / "take.wav")
    r = MediaResolver(tmp_path / "elsewhere", tmp_path / "root")
    assert r.resolve("file://localhost/Volumes/X/day2/sound/take.wav") == right.resolve()
    assert r.resolve("file://localhost/Volumes/X/none.wav") is None


def test_approximate_follows_a_db_ramp_with_amplitude_linear_keys_within_tolerance():
    # a 40 dB fade over 2 s, linear in dB; Premiere's levels move linearly in amplitude, so the
    # keyframes must be denser where the two laws part
    sr = 48000

    def fn(p):
        return np.clip(-40.0 * (p - sr) / (2 * sr), -40.0, 0.0)

    curve = Curve(fn, [sr, 3 * sr])
    frame = sr // 25
    keys, err = approximate(curve, 0, 4 * sr, rep="amp", snap=lambda x: round(x / frame) * frame)
    assert err <= 0.01
    pos = np.arange(0, 4 * sr)
    kp = np.array([k[0] for k in keys])
    amps = np.interp(pos, kp, [10 ** (k[1] / 20) for k in keys])
    got = 20 * np.log10(np.maximum(amps, 1e-12))
    assert np.max(np.abs(got - fn(pos))) <= 0.01
    assert all(k[0] % frame == 0 for k in keys)
    # linear in dB is the target's own law: only its breakpoints are needed
    keys_db, err_db = approximate(curve, 0, 4 * sr, rep="db", snap=lambda x: x)
    assert [k[0] for k in keys_db] == [0, sr, 3 * sr, 4 * sr] and err_db < 1e-9
