"""Hostile input (issue 18): every bad session value, YAML trick or option is a located error, exit 2.

Each case here was accepted, crashed (exit 1) or was unlocated before; the
message must name the file, the line and the field in the user's words.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
import typer

from mixdown.errors import MixdownError, MixdownWarning, SessionError
from mixdown.session import load_session
from mixdown.timebase import Timebase

HEAD = "mixdown: 1\nframe_rate: 25\n"
TRACK = """\
tracks:
  - name: Host
    role: dialogue
    clips:
      - source: tone.wav
        start: 0.5
        duration: 1
"""


def run(*args, cwd=None, env=None, timeout=120, preexec_fn=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env, preexec_fn=preexec_fn)


@pytest.fixture()
def project(tmp_path):
    t = np.arange(48000 * 2) / 48000
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", tone, 48000, subtype="PCM_24")
    return tmp_path


def load_err(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MixdownError) as info:
        load_session(p)
    msg = str(info.value)
    assert "\n" not in msg
    return info.value, msg


# -- 1. session values that are not valid ------------------------------------------------------

@pytest.mark.parametrize("start,rule", [
    ('"01:00:60:00"', "seconds must be below 60"),
    ('"00:60:00:00"', "minutes must be below 60"),
    ('"00:00:61.000"', "seconds must be below 60"),
    ('"1:99"', "seconds must be below 60"),
    ('"00:00:01:25"', "frame 25 does not exist at 25 fps"),
    ('"00:00:01:99"', "frame 99 does not exist at 25 fps"),
    ('"24:00:00:00"', "timecode hours run from 00 to 23"),
    ("true", "not a time"),
    ('"00:00:01;02"', "drop-frame timecode (';'), which exists only at 29.97 and 59.94 fps"),
])
def test_time_values_refused_with_field_and_rule(tmp_path, start, rule):
    exc, msg = load_err(tmp_path, HEAD + TRACK.replace("start: 0.5", f"start: {start}"))
    assert msg.startswith(f"{tmp_path / 's.yaml'}:8: tracks[0].clips[0].start: "), msg
    assert rule in msg


def test_bool_is_not_a_number_anywhere(tmp_path):
    _, msg = load_err(tmp_path, HEAD + TRACK.replace("duration: 1", "duration: 1\n        gain_db: true"))
    assert "s.yaml:10: tracks[0].clips[0].gain_db: must be a number, not true" in msg


def test_drop_frame_only_at_29_97_and_59_94(tmp_path):
    _, msg = load_err(tmp_path, HEAD + "drop_frame: true\n" + TRACK)
    assert "s.yaml:3: drop_frame: drop-frame timecode exists only at 29.97 and 59.94 fps, not at 25 fps" in msg
    # at the NTSC rate it is fine
    p = tmp_path / "ok.yaml"
    p.write_text("mixdown: 1\nframe_rate: 29.97\ndrop_frame: true\nstart_timecode: '01:00:00;00'\n" + TRACK)
    assert load_session(p).timebase.drop_frame


def test_version_true_is_not_version_1(tmp_path):
    _, msg = load_err(tmp_path, "mixdown: true\n" + TRACK)
    assert "s.yaml:1: mixdown: the session format version is a whole number (2), not true" in msg


def test_frame_rate_errors_are_located(tmp_path):
    _, msg = load_err(tmp_path, "mixdown: 1\nsample_rate: 48000\nframe_rate: fast\n" + TRACK)
    assert msg.startswith(f"{tmp_path / 's.yaml'}:3: frame_rate: frame rate 'fast' is not a number"), msg
    _, msg = load_err(tmp_path, "mixdown: 1\nframe_rate: 1000000\n" + TRACK)
    assert "s.yaml:2: frame_rate: frame rate 1000000 must be between 1 and 384000" in msg
    _, msg = load_err(tmp_path, "mixdown: 1\nstart_timecode: '01:61:00:00'\n" + TRACK)
    assert "s.yaml:2: start_timecode: '01:61:00:00': minutes must be below 60" in msg


# -- 2. YAML: tags, nesting, aliases ---------------------------------------------------------------

def test_python_tag_is_refused_with_its_line(tmp_path):
    _, msg = load_err(tmp_path, HEAD + "tracks: !!python/object/apply:os.system ['echo owned']\n")
    assert "s.yaml:3: not valid YAML/JSON: YAML tag !!python/object/apply:os.system is not accepted" in msg


def test_deep_nesting_is_refused_with_its_line(tmp_path):
    _, msg = load_err(tmp_path, HEAD + "tracks:\n  - name: " + "[" * 1000 + "]" * 1000 + "\n")
    assert "s.yaml:4: not valid YAML/JSON: nested more than 32 levels deep" in msg


@pytest.mark.parametrize("value,needle", [
    ("1" + "0" * 5000, "a number with too many digits"),
    ("2001-13-45", "cannot read the value '2001-13-45'"),
    ("!!bool maybe", "cannot read the value 'maybe'"),
    ("{[a, b]: 1}", "a key must be a plain name"),
])
def test_values_the_yaml_constructor_chokes_on(tmp_path, value, needle):
    _, msg = load_err(tmp_path, HEAD + f"tracks:\n  - name: x\n    gain_db: {value}\n")
    assert needle in msg and "s.yaml:" in msg


def test_control_characters_and_bad_utf8_name_the_line(tmp_path):
    _, msg = load_err(tmp_path, HEAD + "tracks:\n  - name: a\x00b\n")
    assert "s.yaml:4: not valid YAML/JSON: the file contains the control character #x0000" in msg
    p = tmp_path / "l1.yaml"
    p.write_bytes((HEAD + "tracks:\n  - name: caf\xe9\n").encode("latin-1"))
    with pytest.raises(SessionError, match=r"l1.yaml:4: is not UTF-8 text"):
        load_session(p)


BOMB = "mixdown: 1\na0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)) + "tracks: *a9\n"


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


def test_alias_bomb_is_refused_fast_and_small(tmp_path):
    """9 levels x 9 aliases (387 million list items expanded) used to take 17.8 GB; now refused at the first alias."""
    assert len(BOMB) < 600
    p = tmp_path / "bomb.yaml"
    p.write_text(BOMB)
    t0 = time.perf_counter()
    r = run("render", p, "-o", tmp_path / "out.wav", timeout=60, preexec_fn=_limit_memory)
    assert time.perf_counter() - t0 < 30
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == (f"mixdown: error: {p}:3: not valid YAML/JSON: YAML aliases (*a0) are not accepted "
                                "in a session: write the value out where it is used")
    assert not (tmp_path / "out.wav").exists()


def test_sessions_written_by_mixdown_never_hold_aliases(tmp_path):
    from mixdown.session import Keyframe, Session, Track, dump_session

    keys = [Keyframe(t=0, v=0), Keyframe(t=1, v=-6)]
    s = Session(tracks=[Track(name="a", automation={"gain_db": keys}), Track(name="b", automation={"gain_db": keys})])
    s.tracks[1].automation = s.tracks[0].automation  # one list shared by two tracks
    text = dump_session(s)
    assert "&id" not in text and "*id" not in text
    (tmp_path / "d.yaml").write_text(text)
    assert load_session(tmp_path / "d.yaml").tracks[1].automation["gain_db"][1].v == -6


# -- 3. upper bounds on times --------------------------------------------------------------------

@pytest.mark.parametrize("edit,field", [
    (("start: 0.5", "start: 1e300"), "start"),
    (("start: 0.5", "start: 1.0e+300"), "start"),
    (("duration: 1", 'duration: "1e400"'), "duration"),
    (("start: 0.5", 'start: "99999999999999999999999999s"'), "start"),
    (("start: 0.5", 'start: "1e99999999999"'), "start"),
    (("start: 0.5", 'start: "49:00:00.000"'), "start"),
])
def test_huge_times_are_refused(tmp_path, edit, field):
    t0 = time.perf_counter()
    _, msg = load_err(tmp_path, HEAD + TRACK.replace(*edit))
    assert time.perf_counter() - t0 < 2  # "1e99999999999" must not build ten to that power
    assert f"tracks[0].clips[0].{field}: " in msg and "more than 48 h, the longest programme mixdown accepts" in msg
    assert "MIXDOWN_MAX_HOURS" in msg


def test_clip_ending_past_the_limit_is_refused(tmp_path):
    _, msg = load_err(
        tmp_path, HEAD + TRACK.replace("start: 0.5", "start: 47:00:00").replace("duration: 1", "duration: 7200")
    )
    assert "tracks[0].clips[0].duration: the clip ends 49.00 h into the programme, more than 48 h" in msg


def test_session_duration_is_bounded_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    text = HEAD + 'duration: "50:00:00"\n' + TRACK
    _, msg = load_err(tmp_path, text)
    assert "s.yaml:3: duration: '50:00:00' is more than 48 h" in msg
    monkeypatch.setenv("MIXDOWN_MAX_HOURS", "60")
    s = load_session(tmp_path / "s.yaml")
    assert s.samples(s.duration) == 50 * 3600 * 48000
    monkeypatch.setenv("MIXDOWN_MAX_HOURS", "1")
    _, msg = load_err(tmp_path, text)
    assert "more than 1 h" in msg


def test_a_bad_limit_is_a_user_error(project):
    (project / "s.yaml").write_text(HEAD + TRACK)
    r = run("render", project / "s.yaml", "-o", project / "o.wav", env=dict(os.environ, MIXDOWN_MAX_HOURS="lots"))
    assert r.returncode == 2
    assert (
        r.stderr.strip() == "mixdown: error: MIXDOWN_MAX_HOURS='lots': must be a number of hours between 0 and 1000000"
    )


def test_programme_from_media_beyond_the_limit_is_refused(project, monkeypatch):
    from mixdown.render.graph import check

    (project / "s.yaml").write_text(HEAD + TRACK.replace("        duration: 1\n", ""))
    monkeypatch.setenv("MIXDOWN_MAX_HOURS", str(1.5 / 3600))  # 1.5 s; the clip ends at 2.5 s
    with pytest.raises(SessionError, match=r"s.yaml:7: tracks\[0\].clips\[0\]: the programme would end .* more than"):
        check(load_session(project / "s.yaml"))


# -- 4. automation values and clips outside the programme ------------------------------------------

@pytest.mark.parametrize("value,needle", [
    (".nan", "must be a finite number, not nan"),
    ("-.inf", "must be a finite number, not -inf (for silence write -144 dB)"),
    ("+500", "gain_db 500 dB is outside -144..48"),
    ("-200", "gain_db -200 dB is outside -144..48 (-144 dB is silence)"),
])
@pytest.mark.parametrize("where", ["track", "clip", "master"])
def test_gain_automation_is_bounded_like_fixed_gains(tmp_path, value, needle, where):
    lane = f"automation:\n  gain_db: [[0, 0], [1, {value}]]\n"
    if where == "track":
        text, loc, line = (
            HEAD + TRACK + "    " + lane.replace("\n  ", "\n      "),
            "tracks[0].automation.gain_db[1]",
            11,
        )
    elif where == "clip":
        text = HEAD + TRACK + "        " + lane.replace("\n  ", "\n          ")
        loc, line = "tracks[0].clips[0].automation.gain_db[1]", 11
    else:
        text, loc, line = (
            HEAD + TRACK + "master:\n  " + lane.replace("\n  ", "\n    "),
            "master.automation.gain_db[1]",
            12,
        )
    _, msg = load_err(tmp_path, text)
    assert f"s.yaml:{line}: {loc}" in msg and needle in msg


def test_pan_automation_within_minus_one_to_one(tmp_path):
    _, msg = load_err(tmp_path, HEAD + TRACK + "    automation:\n      pan: [[0, 0], [1, 1.5]]\n")
    assert "tracks[0].automation.pan[1]: pan 1.5 is outside -1..1" in msg


def test_processor_automation_within_its_declared_range(project):
    from mixdown.render.graph import check

    chain = "    chain:\n      - {type: compressor, automation: {threshold_db: [[0, -20], [1, 12]]}}\n"
    (project / "s.yaml").write_text(HEAD + TRACK + chain)
    with pytest.raises(SessionError) as info:
        check(load_session(project / "s.yaml"))
    assert "s.yaml:11: tracks[0].chain[0].automation.threshold_db[1]: threshold_db = 12 is above its maximum 0 dB" \
        in str(info.value)
    (project / "s.yaml").write_text(HEAD + TRACK + chain.replace("12]", ".inf]"))
    with pytest.raises(MixdownError, match=r"threshold_db\[1\]\[1\]: must be a finite number, not inf"):
        load_session(project / "s.yaml")


def test_fixed_processor_parameters_refuse_infinity_and_huge_ints(project):
    from mixdown.render.graph import check

    for value, needle in (
        (".inf", "freq_hz must be a finite number, not inf"),
        ("1" + "0" * 400, r"freq_hz = 1000+\.\.\. is far outside its range"),
    ):
        (project / "s.yaml").write_text(HEAD + TRACK + f"    chain:\n      - {{type: highpass, freq_hz: {value}}}\n")
        with pytest.raises(SessionError, match=r"tracks\[0\]\.chain\[0\]\.freq_hz: " + needle):
            check(load_session(project / "s.yaml"))


def test_clip_after_the_programme_end_is_warned_about(project):
    text = HEAD + "duration: 1.2\n" + TRACK + "      - {name: outro, source: tone.wav, start: 1.5, duration: 0.5}\n"
    (project / "s.yaml").write_text(text)
    r = run("render", project / "s.yaml", "-o", project / "o.wav")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == (
        f"mixdown: warning: {project / 's.yaml'}:11: tracks[0].clips[1] (outro) on track 'Host' starts at 1.500 s, "
        "at or after the end of the programme (duration: 1.200 s): it is not heard")
    assert sf.info(project / "o.wav").frames == round(1.2 * 48000)


def test_clip_after_the_programme_end_warns_in_python(project):
    from mixdown.render.graph import check

    (project / "s.yaml").write_text(HEAD + "duration: 0.25\n" + TRACK)
    with pytest.warns(MixdownWarning, match=r"tracks\[0\].clips\[0\] on track 'Host' starts at 0.500 s"):
        check(load_session(project / "s.yaml"))


# -- 5. located, friendly messages -----------------------------------------------------------------

def test_nan_samples_name_the_file_and_the_clip(project):
    x = np.full(48000, 0.1, dtype=np.float32)
    x[30000] = np.nan
    sf.write(project / "nan.wav", x, 48000, subtype="FLOAT")
    (project / "s.yaml").write_text(HEAD + TRACK.replace("tone.wav", "nan.wav").replace("start: 0.5", "start: 0"))
    r = run("render", project / "s.yaml", "-o", project / "o.wav")
    assert r.returncode == 2
    assert r.stderr.strip() == (f"mixdown: error: {project / 's.yaml'}:7: tracks[0].clips[0].source: "
                                f"{project / 'nan.wav'}: contains NaN or infinite samples (the first one 0.625000 s "
                                "into the file)")
    assert not (project / "o.wav").exists()


def test_media_errors_name_the_session_line_then_the_media_file(project):
    (project / "junk.wav").write_bytes(b"RIFF not really a wave file" * 10)
    (project / "s.yaml").write_text(HEAD + TRACK.replace("tone.wav", "junk.wav"))
    r = run("render", project / "s.yaml", "-o", project / "o.wav")
    assert r.returncode == 2
    line = r.stderr.strip()
    prefix = f"mixdown: error: {project / 's.yaml'}:7: tracks[0].clips[0].source: {project / 'junk.wav'}: "
    assert line.startswith(prefix), line
    assert f"{project / 'junk.wav'}:7" not in line  # never the media file with the session's line number


def test_media_error_location_logic():
    err = MixdownError("cannot decode audio", file="/m/host.wav", loc=("tracks", 0, "clips", 1, "source"))
    err.located(file="session.yaml", lines={("tracks", 0, "clips", 1): 12})
    assert str(err) == "session.yaml:12: tracks[0].clips[1].source: /m/host.wav: cannot decode audio"
    # an error about the file itself (no location in another document) keeps its file
    err = MixdownError("cannot decode audio", file="/m/host.wav")
    assert str(err.located(file="session.yaml", lines={})) == "/m/host.wav: cannot decode audio"


def test_nyquist_errors_are_located(project):
    from mixdown.render.graph import check

    (project / "s.yaml").write_text(HEAD + TRACK + "    chain:\n      - {type: highpass, freq_hz: 30000}\n")
    with pytest.raises(SessionError) as info:
        check(load_session(project / "s.yaml"))
    assert str(info.value) == (f"{project / 's.yaml'}:11: tracks[0].chain[0].freq_hz: highpass.freq_hz = 30000 Hz is "
                               "not below the Nyquist frequency (24000 Hz) of a 48000 Hz stream")


@pytest.mark.parametrize("edit,expected", [
    (("start: 0.5", "start: [0.5]"), "tracks[0].clips[0].start: a list is not a time"),
    (("start: 0.5", "start: {at: 1}"), "tracks[0].clips[0].start: a mapping is not a time"),
    (("    clips:\n", "    chain: [highpass]\n    clips:\n"), "tracks[0].chain[0]: must be a mapping (key: value)"),
    (("duration: 1", "duration: 1\n        stream: 1.5"), "tracks[0].clips[0].stream: must be a whole number"),
    (("role: dialogue", "role: 5"), "tracks[0].role: must be one of dialogue, music, sfx, ambience or other"),
    (("name: Host", "name: [Host]"), "tracks[0].name: must be text (put it in quotes)"),
    (("duration: 1", "duration: 1\n        automation: {gain_db: [[0, x]]}"),
     "tracks[0].clips[0].automation.gain_db[0][1]: must be a number"),
])
def test_messages_use_the_users_words(tmp_path, edit, expected):
    _, msg = load_err(tmp_path, HEAD + TRACK.replace(*edit))
    assert expected in msg, msg
    for leak in ("Input should", "instance of", ".int", ".float", ".str:", "function-", "Value error"):
        assert leak not in msg, msg


def test_odd_keys_are_quoted_in_locations(tmp_path):
    _, msg = load_err(tmp_path, HEAD + TRACK.replace("role: dialogue", '"ro le\\n": dialogue'))
    assert "tracks[0]['ro le\\n']: unknown field" in msg


# -- 6. options ------------------------------------------------------------------------------------

def _numeric_options():
    from mixdown.cli import app

    cmd = typer.main.get_command(app)
    for name, sub in sorted(cmd.commands.items()):
        positional = [p for p in sub.params if isinstance(p, typer.core.TyperArgument) and p.required]
        for p in sub.params:
            if isinstance(p, typer.core.TyperOption) and _number_type(p) is not None:
                yield name, sub, p, ["x.yaml"] * len(positional) + (["y"] if name == "sync" else [])


def _number_type(p):
    ann = p.type_descriptor.annotation
    args = [a for a in getattr(ann, "__args__", (ann,)) if a is not type(None)]
    return args[0] if len(args) == 1 and args[0] in (int, float) else None


NUMERIC = list(_numeric_options())


def test_every_numeric_option_has_a_documented_range():
    assert len(NUMERIC) >= 25
    for name, _, p, _ in NUMERIC:
        assert getattr(p.callback, "__qualname__", "").startswith("number_option"), \
            f"mixdown {name} {p.opts[0]} is not declared with cli.common.number_option"
        assert "[" in (p.help or "") and ".." in p.help, f"{name} {p.opts[0]}: no range in --help"


@pytest.mark.parametrize("name,sub,param,positional", NUMERIC, ids=[f"{n}{p.opts[0]}" for n, _, p, _ in NUMERIC])
def test_numeric_options_refuse_out_of_range_and_nan(capsys, name, sub, param, positional):
    from mixdown.cli import main
    from mixdown.cli.common import _plain

    lo, hi = _range(param.help)
    flag = next(o for o in param.opts if o.startswith("--"))
    kind = _number_type(param)
    bad = [kind(lo - max(1, abs(lo))), kind(hi + max(1, abs(hi)))]
    if kind is float:
        bad += [float("nan"), float("inf")]
    for value in bad:
        with pytest.raises(SystemExit) as info:
            main([name, *positional, flag, str(value)])
        err = capsys.readouterr().err.strip()
        assert info.value.code == 2, err
        assert err == f"mixdown: error: {flag} {_plain(value)}: must be between {_plain(lo)} and {_plain(hi)}" + \
            (f" {param.help.rsplit(' ', 1)[1][:-1]}" if not param.help.endswith(f"{_plain(hi)}]") else ""), err


def _range(help_text):
    inside = help_text[help_text.rindex("[") + 1:-1]
    lo, rest = inside.split("..")
    return float(lo), float(rest.split(" ")[0])


def test_option_errors_as_a_user_meets_them(project):
    """The issue's cases through the real CLI: one line naming the option, exit 2, before any work."""
    cases = [
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--duck-attack", "-1"],
            "mixdown: error: --duck-attack -1: must be between 0 and 10 s",
        ),
        # renamed options are refused, naming the new spelling (never accepted silently)
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--attack", "0.3"],
            "mixdown: error: --attack is now --duck-attack",
        ),
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--min-duck", "1"],
            "mixdown: error: --min-duck is now --duck-min-length",
        ),
        (["report", "s.yaml", "-o", "r.html", "--json", "r.json"], "mixdown: error: --json is now --json-out PATH"),
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--block-size", "1"],
            "mixdown: error: --block-size 1: must be between 64 and 1048576 frames",
        ),
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--sample-rate", "1000000"],
            "mixdown: error: --sample-rate 1000000: must be between 8000 and 384000 Hz",
        ),
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--music-lu", "nan"],
            "mixdown: error: --music-lu nan: must be between -60 and 20 LU",
        ),
        (
            ["auto", "--dialogue", "tone.wav", "--target", "podcast", "-o", "o.wav", "--dialogue-level", "50"],
            "mixdown: error: --dialogue-level 50: must be between -35 and -10 LUFS",
        ),
        (
            ["render", "s.yaml", "--block-size", "1"],
            "mixdown: error: --block-size 1: must be between 64 and 1048576 frames",
        ),
        (
            ["render", "s.yaml", "--block-size", "abc"],
            "mixdown: error: Invalid value for '--block-size': must be a whole number (see mixdown render --help)",
        ),
    ]
    (project / "s.yaml").write_text(HEAD + TRACK)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda a: run(*a, cwd=project), [args for args, _ in cases]))
    for (args, expected), r in zip(cases, results, strict=True):
        assert r.returncode == 2 and r.stderr.strip() == expected, (args, r.stderr)
    assert not (project / "o.wav").exists()
    helptext = run("auto", "--help", cwd=project).stdout
    assert "[0..10 s]" in helptext


def test_sidechain_ducking_options_checked_against_the_compressor():
    from mixdown.cli.auto import check_sidechain_options
    from mixdown.errors import OptionError

    check_sidechain_options(attack=0.3, release=0.8, duck_depth=None, dialogue_level=-23)
    with pytest.raises(OptionError, match=r"--duck-attack 5: with --duck-mode sidechain it must be between 0 and 1 s"):
        check_sidechain_options(attack=5, release=0.8, duck_depth=None, dialogue_level=-23)
    with pytest.raises(OptionError, match=r"--duck-release 0: with --duck-mode sidechain"):
        check_sidechain_options(attack=0.3, release=0, duck_depth=None, dialogue_level=-23)
    with pytest.raises(OptionError, match=r"--dialogue-level -30 with a duck of up to 60 dB"):
        check_sidechain_options(attack=0.3, release=0.8, duck_depth=60, dialogue_level=-30)


def test_placements_are_checked_as_options():
    from mixdown.cli.auto import check_placement
    from mixdown.errors import OptionError

    check_placement("--music", "bed.wav@00:00:02.000", 48000)
    with pytest.raises(OptionError, match=r"--music bed.wav@1e300: '1e300' is more than 48 h"):
        check_placement("--music", "bed.wav@1e300", 48000)
    with pytest.raises(OptionError, match=r"--music bed.wav@-2: the position -2 is before the start"):
        check_placement("--music", "bed.wav@-2", 48000)


def test_timebase_bounds_are_cheap():
    tb = Timebase.from_session_fields(48000, 25, False, None)
    t0 = time.perf_counter()
    for v in ("1e-99999999999", "1e99999999999", "9" * 64 + "s", 1e308):
        try:
            tb.samples(v)
        except SessionError:
            pass
    assert time.perf_counter() - t0 < 0.5
    assert tb.samples("1e-99999999999") == 0
