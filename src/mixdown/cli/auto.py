"""``mixdown auto``: from raw tracks (or a session) to a delivery-ready mix in one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from .app import app
from .common import (
    ALLOW_TRUNCATED_HELP,
    FORMATS,
    VIDEO_SUFFIXES,
    callback,
    check_block_size,
    check_outputs,
    fail,
    media_root_option,
    num,
    number_option,
    open_session,
    out_spec,
    progress,
    protect,
    read_media,
)

if TYPE_CHECKING:  # the session model (pydantic) is imported by the command, not by --help
    from ..session.model import Session

ROLE_FLAGS = ("--dialogue", "--music", "--sfx", "--ambience")


def renamed_option(old: str, new: str, *, flag: bool = False) -> Any:
    """A hidden option under an old name: refused (exit 2) with one line naming the new one.

    Eager, so it is refused before anything else is checked, even when the old
    spelling's value would now be an extra argument (``--json PATH`` as a flag).
    """
    def refuse(value: object) -> None:
        if value not in (None, False):
            fail(f"{old} is now {new}")

    if flag:
        return typer.Option(False, old, hidden=True, is_eager=True, callback=refuse)
    return typer.Option(None, old, hidden=True, is_eager=True, callback=refuse)


def expand_role_flags(argv: list[str]) -> list[str]:
    """Let ``--dialogue a.wav b.wav`` mean ``--dialogue a.wav --dialogue b.wav``."""
    out: list[str] = []
    flag = None
    for arg in argv:
        if arg in ROLE_FLAGS:
            flag = arg
            out.append(arg)
            continue
        if arg.startswith("-"):
            flag = None
            out.append(arg)
            continue
        if flag is not None and out and out[-1] != flag:
            out.append(flag)
        out.append(arg)
    return out


def absolute_paths(summary: dict) -> dict:
    """The files a summary names, as absolute paths: the JSON goes to stdout, so whoever reads it
    (``mixdown report RESULT.json``) cannot know which folder relative paths were relative to."""
    import os

    def fix(p: object) -> object:
        return os.path.abspath(p) if isinstance(p, str) and p else p

    for key in ("output", "session", "report"):
        if key in summary:
            summary[key] = fix(summary[key])
    if isinstance(summary.get("measured"), dict) and "file" in summary["measured"]:
        summary["measured"]["file"] = fix(summary["measured"]["file"])
    if isinstance(summary.get("stems"), dict):
        summary["stems"] = {k: fix(v) for k, v in summary["stems"].items()}
    return summary


def check_sidechain_options(*, attack: float, release: float, duck_depth: float | None, dialogue_level: float) -> None:
    """Refuse options that sidechain ducking would turn into a compressor setting out of its range.

    ``--duck-mode sidechain`` writes a compressor (``attack_ms``, ``release_ms``,
    ``threshold_db`` below the dialogue level by the depth); its ranges are the
    compressor's own, so a value valid for keyframe ducks can be out of range here.
    The error names the options, never the generated field.
    """
    from ..dsp.dynamics import Compressor
    from ..errors import OptionError

    p = Compressor.PARAMS
    for flag, value, param in (("--duck-attack", attack, "attack_ms"), ("--duck-release", release, "release_ms")):
        lo_ms, hi_ms = p[param].min, p[param].max
        assert lo_ms is not None and hi_ms is not None  # the compressor's times are ranged
        lo, hi = lo_ms / 1000, hi_ms / 1000
        if not lo <= value <= hi:
            raise OptionError(f"{flag} {value:g}: with --duck-mode sidechain it must be between {lo:g} and {hi:g} s "
                              "(the compressor's range)")
    # the threshold sits depth x ratio/(ratio - 1) under the dialogue (ratio 10); the computed depth is at most 40 dB
    depth = 40.0 if duck_depth is None else duck_depth
    lowest = p["threshold_db"].min
    assert lowest is not None  # the compressor's threshold is ranged
    if dialogue_level - depth * 10 / 9 < lowest:
        raise OptionError(
            f"--dialogue-level {dialogue_level:g} with a duck of up to {depth:g} dB: sidechain ducking would need a "
            f"compressor threshold below {lowest:g} dBFS; raise --dialogue-level or lower --duck-depth")


def check_placement(flag: str, spec: str, sample_rate: int) -> None:
    """A ``file@time`` placement is a time mixdown accepts, not negative and not beyond the longest programme."""
    from ..auto.build import parse_placed
    from ..errors import OptionError, SessionError
    from ..timebase import Timebase

    _, when = parse_placed(spec)
    try:
        n = Timebase.from_session_fields(sample_rate, 25, False, None).samples(when, position=True)
    except SessionError as exc:
        raise OptionError(f"{flag} {spec}: {exc.message}") from None
    if n < 0:
        raise OptionError(f"{flag} {spec}: the position {when} is before the start of the programme")


@app.command()
def auto(
    session: Optional[Path] = typer.Argument(None, help="an existing session or editor timeline (instead of files)"),
    media_root: Path | None = media_root_option(),
    dialogue: list[str] = typer.Option([], "--dialogue", help="dialogue file(s); file@time places it on the timeline"),
    music: list[str] = typer.Option([], "--music", help="music file(s)"),
    sfx: list[str] = typer.Option([], "--sfx", help="effects file(s)"),
    ambience: list[str] = typer.Option([], "--ambience", help="ambience file(s)"),
    video: Optional[Path] = typer.Option(
        None, "--video", help="video whose audio is the dialogue when no --dialogue is given"
    ),
    target: Optional[str] = typer.Option(None, "--target", help="delivery preset (see `mixdown targets`)"),
    lufs: Optional[float] = number_option(None, "--lufs", help="custom target loudness", min=-60, max=-1, unit="LUFS"),
    true_peak: Optional[float] = number_option(
        None, "--true-peak", help="custom true-peak ceiling", min=-20, max=0, unit="dBTP"
    ),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="mix file (.wav or .flac), or a video (.mp4 .mov .m4v .mkv .webm)"
    ),
    format: Optional[str] = typer.Option(None, "--format", help="wav24 | wav16 | wav32f | flac (default from -o)"),
    codec: Optional[str] = typer.Option(
        None,
        "--codec",
        help="audio codec of a video output: aac | opus | mp3 | flac | pcm "
        "(default: what the container needs: aac for .mp4 .mov .m4v, opus for .webm, "
        "24-bit pcm for .mkv)",
    ),
    stems: Optional[Path] = typer.Option(None, "--stems", help="folder for one WAV per role, at the mix's gain"),
    stems_format: str = typer.Option(
        "wav24", "--stems-format", help="wav24 | wav32f (float keeps peaks the mix's limiter takes down)"
    ),
    premaster: Optional[Path] = typer.Option(
        None,
        "--premaster",
        help="also write the -6 dB premaster for mastering: 24-bit WAV, true peak at -6 dBTP, no limiting",
    ),
    save_session: Optional[Path] = typer.Option(None, "--save-session", help="write the decided session here"),
    as_json: bool = typer.Option(False, "--json", help="print the summary and decision list as JSON"),
    duck_depth: Optional[float] = number_option(
        None, "--duck-depth", help="fixed duck depth (default: from --duck-under)", min=0, max=60, unit="dB"
    ),
    duck_under: float = number_option(
        18.0,
        "--duck-under",
        help="music sits this many LU under the dialogue while people speak",
        min=0,
        max=40,
        unit="LU",
    ),
    duck_roles: str = typer.Option("music,ambience", "--duck-roles", help="roles that duck under speech"),
    duck_mode: str = typer.Option("keyframes", "--duck-mode", help="keyframes | sidechain"),
    duck_sensitivity: float = number_option(
        25.0,
        "--duck-sensitivity",
        help="speech down to this far under its speaker's own level still ducks "
        "the music and gets a ride (other speakers' bleed is told apart "
        "by comparing the mics, not by level)",
        min=6,
        max=60,
        unit="dB",
    ),
    attack: float = number_option(0.3, "--duck-attack", help="duck fade-down", min=0, max=10, unit="s"),
    release: float = number_option(0.8, "--duck-release", help="duck fade-up", min=0, max=10, unit="s"),
    lookahead: float = number_option(
        0.35, "--duck-lookahead", help="the fade down starts this long before speech", min=0, max=5, unit="s"
    ),
    hold: float = number_option(
        1.5, "--duck-hold", help="pauses shorter than this keep the music down", min=0, max=30, unit="s"
    ),
    min_duck: float = number_option(0.6, "--duck-min-length", help="shortest duck", min=0, max=30, unit="s"),
    _attack: str | None = renamed_option("--attack", "--duck-attack"),
    _release: str | None = renamed_option("--release", "--duck-release"),
    _lookahead: str | None = renamed_option("--lookahead", "--duck-lookahead"),
    _hold: str | None = renamed_option("--hold", "--duck-hold"),
    _min_duck: str | None = renamed_option("--min-duck", "--duck-min-length"),
    block_size: int = number_option(
        65536,
        "--block-size",
        help="frames per block (memory, not output, depends on it)",
        min=64,
        max=1048576,
        unit="frames",
    ),
    no_level: bool = typer.Option(False, "--no-level", help="leave dialogue gains and chains alone"),
    assist: bool = typer.Option(False, "--assist", help="the mix assistant's second pass: speakers balanced as "
                                "heard after their chains, the bed dipped in 1-4 kHz under speech (one more "
                                "measuring render)"),
    dialogue_level: float = number_option(
        -23.0, "--dialogue-level", help="dialogue level before the master stage", min=-35, max=-10, unit="LUFS"
    ),
    music_lu: float = number_option(
        -6.0, "--music-lu", help="music against dialogue between speech", min=-60, max=20, unit="LU"
    ),
    sfx_lu: float = number_option(-5.0, "--sfx-lu", help="effects against dialogue", min=-60, max=20, unit="LU"),
    ambience_lu: float = number_option(
        -18.0, "--ambience-lu", help="ambience against dialogue", min=-60, max=20, unit="LU"
    ),
    max_limiting: float = number_option(
        6.0, "--max-limiting", help="most limiter gain reduction accepted to reach the target", min=0, max=24, unit="dB"
    ),
    vad: str = typer.Option("silero", "--vad", help="speech detector: silero | energy"),
    cleanup: str = typer.Option("screen", "--cleanup", help="screen (measure noisy dialogue only) | full | off"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
    sample_rate: int = number_option(
        48000, "--sample-rate", help="session rate when building from files", min=8000, max=384000, unit="Hz"
    ),
    allow_truncated: bool = typer.Option(False, "--allow-truncated", help=ALLOW_TRUNCATED_HELP),
) -> None:
    """Balance, duck, level and normalise: one command from raw tracks to a delivery-ready mix."""
    from ..auto.build import session_from_files
    from ..targets import get_target

    check_block_size(block_size)
    read_media(allow_truncated=allow_truncated)
    tgt = get_target(target, lufs=lufs, true_peak=true_peak)
    if output is None and stems is None and save_session is None and premaster is None:
        fail("nothing to write: give -o OUT (and/or --stems DIR, --premaster P.wav, --save-session S.yaml)")
    fmt = format
    video_out = output is not None and output.suffix.lower() in VIDEO_SUFFIXES
    if video_out and video is None:
        fail(f"-o {output}: writing a video needs --video SOURCE (whose picture is copied)")
    if output is not None and not video_out:
        ext = output.suffix.lower()
        if ext not in (".wav", ".flac"):
            fail(f"-o {output}: the mix is written as .wav or .flac, or into a video (.mp4 .mov .mkv .m4v .webm)")
        fmt = fmt or ("flac" if ext == ".flac" else "wav24")
        from ..deliver.formats import resolve_format

        resolve_format(output, fmt)  # -o mix.flac --format wav24: refused, not a WAV under a .flac name
    if fmt is not None and fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if video_out:
        assert output is not None  # a video output is an -o whose suffix is a video's
        _video_codec(output, codec)  # refused here, naming --codec, before anything is mixed
    if video_out:
        from ..deliver.mux import check_video_copy

        assert video is not None and output is not None  # --video was given with a video -o
        check_video_copy(video, output)  # before anything is mixed
    if codec is not None and not video_out:
        fail(
            "--codec is the audio codec of a video output (-o .mp4 .mov .m4v .mkv .webm); an audio file takes --format"
        )
    if premaster is not None:
        if premaster.suffix.lower() not in (".wav", ".wave"):
            fail(f"--premaster {premaster}: the premaster is a 24-bit WAV; name it .wav")
        if output is not None and premaster.resolve() == output.resolve():
            fail(f"--premaster {premaster}: -o writes that file already")
    if stems_format not in ("wav24", "wav32f"):
        fail(f"--stems-format {stems_format!r} is not wav24 or wav32f")
    if duck_mode not in ("keyframes", "sidechain"):
        fail("--duck-mode must be keyframes or sidechain")
    if vad not in ("silero", "energy"):
        fail("--vad must be silero or energy")
    if cleanup not in ("screen", "full", "off"):
        fail("--cleanup must be screen, full or off")
    roles = tuple(r.strip() for r in duck_roles.split(",") if r.strip())
    for r in roles:
        if r not in ("music", "sfx", "ambience", "other", "dialogue"):
            fail(f"--duck-roles: unknown role {r!r}")
    if duck_mode == "sidechain":
        check_sidechain_options(attack=attack, release=release, duck_depth=duck_depth, dialogue_level=dialogue_level)
    for flag, specs in (("--dialogue", dialogue), ("--music", music), ("--sfx", sfx), ("--ambience", ambience)):
        for spec in specs:
            check_placement(flag, spec, sample_rate)
    if session is not None:
        if dialogue or music or sfx or ambience or (video and not video_out):
            fail("give either a SESSION or files (--dialogue/--music/--sfx/--ambience/--video), not both")
        s = open_session(session, media_root=media_root)
    else:
        dlg = list(dialogue)
        if not dlg and video is not None:
            dlg = [str(video)]
        s = session_from_files(dialogue=dlg, music=music, sfx=sfx, ambience=ambience, sample_rate=sample_rate)
    _check_job(s, video=video, output=output, fmt=fmt, video_out=video_out, stems=stems, save_session=save_session,
               report=report, premaster=premaster)
    from ..pipeline import Job, run

    job = Job(mode="auto", session=str(session) if session is not None else None,
              media_root=str(media_root) if media_root else None, dialogue=tuple(dialogue), music=tuple(music),
              sfx=tuple(sfx), ambience=tuple(ambience), video=str(video) if video else None, target=target,
              lufs=lufs, true_peak=true_peak, output=str(output) if output else None, format=fmt,
              stems=str(stems) if stems else None, premaster=str(premaster) if premaster else None,
              save_session=str(save_session) if save_session else None, report=str(report) if report else None,
              sample_rate=sample_rate, block_size=block_size, options={
                  "duck_depth": duck_depth, "duck_under": duck_under, "duck_roles": roles, "duck_mode": duck_mode,
                  "duck_attack": attack, "duck_release": release, "duck_lookahead": lookahead, "duck_hold": hold,
                  "duck_min_length": min_duck, "level": not no_level, "dialogue_level": dialogue_level,
                  "music_lu": music_lu, "sfx_lu": sfx_lu, "ambience_lu": ambience_lu, "max_limiting": max_limiting,
                  "vad": vad, "cleanup": cleanup, "duck_sensitivity": duck_sensitivity, "stems_format": stems_format,
                  "codec": codec, "assist": assist})
    with progress("mixing", not as_json) as bar:
        res = run(job, progress=callback(bar), session=s)
    if as_json:
        typer.echo(json.dumps(absolute_paths(res.summary), indent=2))
    else:
        _print_summary(res.summary, tgt, output=output, session_file=save_session)
    for p in res.problems:
        typer.echo(f"mixdown: warning: {p.message}", err=True)
    if not res.compliant:
        raise typer.Exit(3)


def _check_job(s: Session, *, video: Optional[Path], output: Optional[Path], fmt: Optional[str], video_out: bool,
               stems: Optional[Path], save_session: Optional[Path], report: Optional[Path],
               premaster: Optional[Path]) -> None:
    """Before any work: every input protected, every output location writable, the disk big enough."""
    from ..files.guard import current
    from ..files.space import check_space
    from ..render.graph import check, stem_taps
    from .space import auto_needs

    guard = current()
    if guard is not None:
        guard.add_session(s)
    protect(video, what="the video")
    stem_files = [out_spec(stems / f"{r}.wav", "--stems", create=True) for r in STEM_ROLES] if stems else []
    check_outputs(out_spec(output, "-o"), out_spec(stems, "--stems", folder=True, create=True), *stem_files,
                  out_spec(save_session, "--save-session"), out_spec(report, "--report"),
                  out_spec(premaster, "--premaster"))
    graph = check(s)
    check_space(auto_needs(graph, output=output, fmt=fmt, stems=stems, video_out=video_out, video=video,
                           roles=len(stem_taps(graph)) if stems is not None else 0))


STEM_ROLES = ("dialogue", "music", "sfx", "ambience", "other")


def _video_codec(output: Path, codec: Optional[str]) -> str:
    """The audio format inside a video output: ``--codec`` checked against the container, or its default."""
    from ..deliver.mux import video_audio_format
    from ..errors import MediaError

    try:
        return video_audio_format(output, codec)
    except MediaError as exc:
        fail(f"--codec {codec}: {exc.message}")


def _print_summary(summary: dict[str, Any], tgt: Any, *, output: Optional[Path], session_file: Optional[Path]) -> None:
    m = summary["measured"]
    what = f"wrote {output}" if output is not None else "mix (measured, not written: no -o)"
    gated = f" (dialogue-gated {num(summary['dialogue_gated_lufs'], '{:.2f}')})" if tgt.gating == "dialogue" else ""
    typer.echo(f"{what}: {num(m.get('integrated_lufs'), '{:.2f}')} LUFS integrated{gated}, "
               f"true peak {num(m.get('true_peak_dbtp'), '{:.2f}')} dBTP, LRA {num(m.get('loudness_range_lu'))} LU "
               f"(target {tgt.name}: {tgt.integrated_lufs:g} LUFS, {tgt.true_peak_dbtp:g} dBTP)")
    stems = summary.get("stems_sum")
    if stems is not None:
        for role, path in summary["stems"].items():
            typer.echo(f"stem {role}: {path}")
        if stems["residual_peak_dbfs"] is not None:
            typer.echo(f"stems at the mix's gain ({stems['gain_db']:+.2f} dB); they sum to the mix up to the limiter "
                       f"(residual peak {stems['residual_peak_dbfs']:.1f} dBFS)")
    pm = summary.get("premaster_file")
    if pm is not None:
        typer.echo(f"premaster {pm['path']}: true peak {num(pm['true_peak_dbtp'], '{:.2f}')} dBTP, "
                   f"sample peak {num(pm['sample_peak_dbfs'], '{:.2f}')} dBFS, 24-bit, no limiting")
    if session_file is not None:
        typer.echo(f"decided session: {session_file}")
    typer.echo(f"{len(summary['decisions'])} decisions; --json lists them")
