"""Session format 2: colours, groups (VCA faders, shared mute/solo), solo on buses,
and the upgrade of version-1 files; honoured by the render graph."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from mixdown.errors import SessionError
from mixdown.render.engine import render_array
from mixdown.session import Bus, Clip, Group, Session, Track, load_session, save_session
from mixdown.session.io import session_from_data

SR = 48000


@pytest.fixture()
def tones(tmp_path):
    """Two stereo sources of distinct constant values, so every path's gain reads off exactly."""
    sf.write(tmp_path / "a.wav", np.full((SR // 2, 2), 0.25, np.float32), SR, subtype="FLOAT")
    sf.write(tmp_path / "b.wav", np.full((SR // 2, 2), 0.125, np.float32), SR, subtype="FLOAT")
    return tmp_path


def mk(tmp, **kw):
    tracks = kw.pop("tracks", None) or [
        Track(name="A", role="dialogue", clips=[Clip(source="a.wav")], output="dx"),
        Track(name="B", role="music", clips=[Clip(source="b.wav")]),
    ]
    s = Session(sample_rate=SR, tracks=tracks, buses=kw.pop("buses", [Bus(name="dx")]), **kw)
    s.base_dir = tmp
    return s


def level(s):
    return float(render_array(s)[0, 1000])


def test_group_fader_moves_members_together(tones):
    base = level(mk(tones))
    assert base == pytest.approx(0.375, abs=1e-6)
    s = mk(tones, groups=[Group(name="all", members=["A", "B"], gain_db=-6.0)])
    assert level(s) == pytest.approx(0.375 * 10 ** (-6 / 20), abs=1e-6)
    # a member's own fader still counts: the group adds to it
    s.tracks[0].gain_db = 6.0
    assert level(s) == pytest.approx(0.25 + 0.125 * 10 ** (-6 / 20), abs=1e-6)


def test_group_mute_and_solo(tones):
    assert level(mk(tones, groups=[Group(name="g", members=["B"], mute=True)])) == pytest.approx(0.25)
    assert level(mk(tones, groups=[Group(name="g", members=["B"], solo=True)])) == pytest.approx(0.125)


def test_solo_on_a_bus_solos_what_feeds_it(tones):
    s = mk(tones, buses=[Bus(name="dx", solo=True)])
    assert level(s) == pytest.approx(0.25)
    # a send is a path too: B sending to the soloed bus is heard (through its send and its output)
    s.tracks[1].sends = [{"bus": "dx", "level_db": 0.0}]
    assert level(s) == pytest.approx(0.25 + 2 * 0.125)


def test_track_solo_unchanged(tones):
    s = mk(tones)
    s.tracks[1].solo = True
    assert level(s) == pytest.approx(0.125)


def test_colours_default_by_role_and_validate():
    t = Track(name="x", role="dialogue")
    m = Track(name="y", role="music")
    assert t.display_color != m.display_color
    assert Track(name="z", color="#A0B0C0").display_color == "#a0b0c0"
    with pytest.raises(ValueError, match="not #rrggbb"):
        Track(name="z", color="red")


def test_group_validation_names_the_field(tmp_path):
    data = {"mixdown": 2, "tracks": [{"name": "A"}], "groups": [{"name": "g", "members": ["A", "Nope"]}]}
    with pytest.raises(SessionError, match="'Nope' is not a track or bus") as e:
        session_from_data(data)
    assert "groups[0].members[1]" in str(e.value) or "groups" in str(e.value)
    data["groups"] = [{"name": "g", "members": ["A"]}, {"name": "g", "members": []}]
    with pytest.raises(SessionError, match="used twice"):
        session_from_data(data)


def test_version_1_is_upgraded_and_saved_as_2(tmp_path, tones):
    src = tmp_path / "v1.yaml"
    src.write_text("mixdown: 1\ntracks:\n  - {name: A, clips: [{source: a.wav}]}\n")
    s = load_session(src)
    assert s.mixdown == 2
    out = tmp_path / "v2.yaml"
    save_session(s, out)
    assert out.read_text().startswith("mixdown: 2\n")
    assert "groups" not in out.read_text() and "color" not in out.read_text()
    # and the CLI renders both, to the same bytes
    for f in (src, out):
        subprocess.run([sys.executable, "-m", "mixdown.cli", "render", str(f), "-o", str(f.with_suffix(".wav"))],
                       check=True, capture_output=True)
    assert src.with_suffix(".wav").read_bytes() == out.with_suffix(".wav").read_bytes()


def test_cli_render_honours_groups(tmp_path, tones):
    f = tmp_path / "g.yaml"
    f.write_text("mixdown: 2\ntracks:\n  - {name: A, clips: [{source: a.wav}], color: '#112233'}\n"
                 "  - {name: B, clips: [{source: b.wav}]}\n"
                 "groups:\n  - {name: g, members: [A, B], gain_db: -12, color: '#445566'}\n")
    subprocess.run([sys.executable, "-m", "mixdown.cli", "render", str(f), "-o", str(tmp_path / "g.wav"),
                    "--format", "wav32f"], check=True, capture_output=True)
    x, _ = sf.read(tmp_path / "g.wav")
    assert x[1000, 0] == pytest.approx(0.375 * 10 ** (-12 / 20), abs=1e-6)
