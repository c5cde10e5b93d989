"""Session files: round trip, and every invalid input named by file, field and line."""

import json

import pytest

from mixdown.errors import SessionError
from mixdown.session import (
    Clip,
    Session,
    Track,
    dump_session,
    load_session,
    save_session,
)

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


# Written by hand in the canonical forms the saver uses (keyframes as [t, v] lists, linear
# interpolation left out, fades as {length, shape}), so that every value written here can be
# compared with what the loaded session holds, independently of the loader.
ROUND = """\
mixdown: 2
sample_rate: 48000
layout: stereo
frame_rate: 25
start_timecode: "01:00:00:00"
duration: "00:00:10:00"
tracks:
  - name: Host
    role: dialogue
    gain_db: -3.5
    pan: -0.25
    clips:
      - name: first line
        source: media/host.wav
        start: "01:00:01:12"
        in: "00:00:00.500"
        duration: 2.25
        gain_db: 1.5
        fade_in: {length: 0.1, shape: s-curve}
        fade_out: {length: "4800s", shape: linear}
        automation:
          gain_db: [[0, 0], [1, -6, exp], [1.5, -6, hold]]
    chain:
      - {type: highpass, freq_hz: 90, slope_db_oct: 24}
      - {type: compressor, threshold_db: -22, ratio: 3, sidechain: Music, automation: {ratio: [[0.5, 2], [2, 6]]}}
    sends:
      - {bus: verb, level_db: -12, pre_fader: true}
    output: dx
  - name: Music
    role: music
    clips:
      - {source: media/music.wav, start: 0, fade_out: {length: 3.0, shape: equal-power}}
    automation:
      gain_db: [[0, 0], [1.0, -12, exp], [3.0, -12], [4.0, 0]]
      pan: [[0, -1], [4.0, 1]]
buses:
  - name: dx
    role: dialogue
    chain:
      - {type: limiter, ceiling_db: -3}
  - name: verb
    chain:
      - {type: reverb, room_size: 0.7, wet_level: 0.5}
    output: dx
master:
  chain:
    - {type: limiter, ceiling_db: -1, true_peak: true}
"""


def contains(loaded, written, path="session"):
    """Every value written is the value loaded (the loader may add defaults, nothing else)."""
    if isinstance(written, dict):
        assert isinstance(loaded, dict), path
        for k, v in written.items():
            assert k in loaded, f"{path}.{k} written but not loaded"
            contains(loaded[k], v, f"{path}.{k}")
    elif isinstance(written, list):
        assert isinstance(loaded, list) and len(loaded) == len(written), path
        for i, (a, b) in enumerate(zip(loaded, written)):
            contains(a, b, f"{path}[{i}]")
    else:
        assert loaded == written and type(loaded) is type(written) or (
            isinstance(written, (int, float)) and not isinstance(written, bool) and float(loaded) == float(written)
        ), f"{path}: wrote {written!r}, loaded {loaded!r}"


def test_loaded_values_are_the_values_written(tmp_path):
    import yaml

    p = write(tmp_path, ROUND)
    s = load_session(p)
    contains(s.model_dump(mode="json", by_alias=True), yaml.safe_load(ROUND))
    # times, converted by hand: 01:00:01:12 at 25 fps from an 01:00:00:00 start is 1.48 s
    clip = s.tracks[0].clips[0]
    assert s.samples(clip.start, position=True) == 71040
    assert s.samples(clip.in_) == 24000
    assert s.samples(clip.fade_out.length) == 4800
    assert s.samples(s.duration) == 10 * 48000  # a length: not offset by start_timecode
    assert s.tracks[0].chain[1].params == {"threshold_db": -22, "ratio": 3}
    assert s.tracks[0].chain[1].sidechain == "Music"
    assert s.resolve(clip.source) == (tmp_path / "media" / "host.wav").resolve()


def test_save_load_save_gives_the_same_bytes(tmp_path):
    s = load_session(write(tmp_path, ROUND))
    first = save_session(s, tmp_path / "a.yaml").read_bytes()
    again = load_session(tmp_path / "a.yaml")
    assert save_session(again, tmp_path / "b.yaml").read_bytes() == first
    assert again.model_dump() == s.model_dump()
    # and through JSON
    j = save_session(again, tmp_path / "c.json")
    assert save_session(load_session(j), tmp_path / "d.json").read_bytes() == j.read_bytes()
    assert load_session(j).model_dump() == s.model_dump()


def test_saving_elsewhere_keeps_the_media_and_every_other_value(tmp_path):
    s = load_session(write(tmp_path, ROUND))
    (tmp_path / "deep" / "er").mkdir(parents=True)
    out = load_session(save_session(s, tmp_path / "deep" / "er" / "copy.yaml"))
    for a, b in zip(s.tracks, out.tracks):
        for ca, cb in zip(a.clips, b.clips):
            assert cb.source != ca.source  # rewritten relative to the new folder ...
            assert out.resolve(cb.source).resolve() == s.resolve(ca.source).resolve()  # ... same file
    strip_sources = lambda d: [{**t, "clips": [{k: v for k, v in c.items() if k != "source"} for c in t["clips"]]}
                               for t in d["tracks"]]
    a, b = s.model_dump(), out.model_dump()
    assert strip_sources(a) == strip_sources(b)
    assert {k: v for k, v in a.items() if k != "tracks"} == {k: v for k, v in b.items() if k != "tracks"}


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
