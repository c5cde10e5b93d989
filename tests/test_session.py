"""Session files: round trip, and every invalid input named by file, field and line."""

import json

import pytest

from mixdown.errors import SessionError
from mixdown.session import Clip, Keyframe, Session, Track, dump_session, load_session, save_session

GOOD = """\
mixdown: 1
sample_rate: 48000
frame_rate: 25
tracks:
  - name: Host
    role: dialogue
    clips:
      - source: host.wav
        start: 1.5
        in: "00:00:00.500"
        duration: 2
        fade_in: {length: 0.1, shape: s-curve}
        automation:
          gain_db: [[0, 0], [1, -6, exp]]
    output: dx
  - name: Music
    role: music
    clips:
      - {source: music.wav, start: 0}
    automation:
      gain_db: [[0, 0], [1.0, -12, exp], [3.0, -12], [4.0, 0]]
buses:
  - name: dx
"""


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_and_round_trip(tmp_path):
    p = write(tmp_path, GOOD)
    s = load_session(p)
    assert s.tracks[0].clips[0].in_ == "00:00:00.500"
    assert s.samples(s.tracks[0].clips[0].start, position=True) == 72000
    assert s.tracks[1].automation["gain_db"][1] == Keyframe(t=1.0, v=-12, interp="exp")
    out = save_session(s, tmp_path / "sub" / "copy.yaml") if (tmp_path / "sub").mkdir() is None else None
    again = load_session(out)
    assert again.model_dump() == {**s.model_dump(), "tracks": again.model_dump()["tracks"]}
    # sources were rewritten relative to the new folder and still point at the same files
    assert again.resolve(again.tracks[0].clips[0].source).resolve() == s.resolve("host.wav").resolve()
    assert again.tracks[1].automation == s.tracks[1].automation


def test_json_is_the_same_model(tmp_path):
    s = load_session(write(tmp_path, GOOD))
    j = write(tmp_path, dump_session(s, fmt="json"), "s.json")
    assert load_session(j).model_dump() == s.model_dump()


def test_python_api_builds_the_same_objects():
    s = Session(tracks=[Track(name="Host", role="dialogue", clips=[Clip(source="a.wav", start="00:00:01:00")])])
    assert s.samples(s.tracks[0].clips[0].start, position=True) == 48000
    assert "Host" in dump_session(s)


def err(tmp_path, text):
    with pytest.raises(SessionError) as info:
        load_session(write(tmp_path, text))
    return str(info.value)


def test_unknown_field_names_line(tmp_path):
    msg = err(tmp_path, GOOD.replace("    role: music\n", "    role: music\n    volume: 3\n"))
    assert "s.yaml:18" in msg and "tracks[1].volume" in msg and "unknown field" in msg


def test_negative_time(tmp_path):
    msg = err(tmp_path, GOOD.replace("start: 1.5", "start: -1"))
    assert "s.yaml:9" in msg and "negative" in msg and "tracks[0].clips[0].start" in msg


def test_keyframes_out_of_order(tmp_path):
    msg = err(tmp_path, GOOD.replace("[3.0, -12], [4.0, 0]", "[3.0, -12], [2.0, 0]"))
    assert "out of order" in msg and "s.yaml:21" in msg and "automation.gain_db[3]" in msg


def test_routing_cycle(tmp_path):
    text = GOOD.replace("buses:\n  - name: dx\n", "buses:\n  - name: dx\n    output: fx\n  - name: fx\n    output: dx\n")
    msg = err(tmp_path, text)
    assert "routing cycle" in msg and "dx -> fx -> dx" in msg


def test_unknown_output(tmp_path):
    msg = err(tmp_path, GOOD.replace("output: dx", "output: dialog"))
    assert "s.yaml:15" in msg and "'dialog' is not a bus" in msg


def test_bad_time_syntax(tmp_path):
    msg = err(tmp_path, GOOD.replace("start: 1.5", "start: soon"))
    assert "s.yaml:9" in msg and "is not a time" in msg


def test_bad_role_and_version(tmp_path):
    assert "must be" in err(tmp_path, GOOD.replace("role: music", "role: musik"))
    assert "version 3 is not supported" in err(tmp_path, GOOD.replace("mixdown: 1", "mixdown: 3"))
    assert "missing 'mixdown: 2'" in err(tmp_path, GOOD.replace("mixdown: 1\n", ""))


def test_yaml_syntax_and_duplicates(tmp_path):
    assert "not valid YAML" in err(tmp_path, GOOD + "  - name: [oops\n")
    assert "appears twice" in err(tmp_path, GOOD.replace("frame_rate: 25\n", "frame_rate: 25\nframe_rate: 30\n"))


def test_fades_longer_than_clip(tmp_path):
    msg = err(tmp_path, GOOD.replace("fade_in: {length: 0.1, shape: s-curve}", "fade_in: 1.5\n        fade_out: 1.0"))
    assert "longer than the clip" in msg


def test_drop_frame_needs_ntsc_rate(tmp_path):
    msg = err(tmp_path, GOOD.replace("start: 1.5", 'start: "00:00:01;00"'))
    assert "drop-frame" in msg


def test_missing_session_file(tmp_path):
    with pytest.raises(SessionError, match="not found"):
        load_session(tmp_path / "nope.yaml")


def test_saved_keyframes_are_compact(tmp_path):
    s = load_session(write(tmp_path, GOOD))
    text = dump_session(s)
    assert "- [1.0, -12.0, exp]" in text
    assert json.loads(dump_session(s, fmt="json"))["tracks"][1]["automation"]["gain_db"][0] == [0, 0.0]
