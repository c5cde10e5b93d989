"""The ``mixdown`` command: parse, validate first, call the library, show progress.

Exit codes: 0 success; 2 a user error (bad session, missing or unreadable media,
bad option), printed as one line on stderr; 3 a compliance check failed; 1 an
internal error. Heavy modules are imported inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

app = typer.Typer(
    name="mixdown",
    help="Audio post-production for video: sessions in, balanced and loudness-compliant mixes out.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

FORMATS = ("wav24", "wav16", "wav32f", "flac")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"mixdown: error: {message}", err=True)
    raise typer.Exit(code)


def _progress(label: str, enabled: bool):
    """A rich progress bar on stderr (hidden when not a terminal or when JSON is asked for)."""
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    return Progress(f"[bold]{label}", BarColumn(), "{task.percentage:>5.1f}%", TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


def _callback(bar: Any):
    if bar is None:
        return None
    task = bar.add_task("render", total=1)

    def cb(done: int, total: int) -> None:
        bar.update(task, total=max(total, 1), completed=done)

    return cb


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if x is None else fmt.format(x)


@app.command()
def render(
    session: Path = typer.Argument(..., help="session file (.yaml or .json) or editor timeline (.xml .fcpxml .edl .otio)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="output file (default: <session>.wav beside it)"),
    format: str = typer.Option("wav24", "--format", help="wav24 | wav16 | wav32f | flac"),
    # 65536 = render.engine.DEFAULT_BLOCK, written out so that --help need not import the engine
    block_size: int = typer.Option(65536, "--block-size", help="frames per block (memory, not output, depends on it)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
) -> None:
    """Render a session's master to an audio file."""
    from .analysis.loudness import LoudnessMeter
    from .media.write import AudioWriter
    from .render.engine import Renderer
    from .render.graph import check
    from .render.sink import BackgroundSink

    if format not in FORMATS:
        _fail(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    if block_size < 1:
        _fail("--block-size must be a positive number of frames")
    s = _open(session, media_root=None)
    if output is None and s.deliverables:
        from .deliver.cli_commands import print_report, run_deliverables

        rep = run_deliverables(s, block_size=block_size, show_progress=not as_json)
        print_report(rep, as_json=as_json)
        raise typer.Exit(0 if rep.compliant else 3)
    graph = check(s)
    out = output or session.with_suffix(".flac" if format == "flac" else ".wav")
    protect = set(graph.source_paths) | {session.resolve()}
    meter = LoudnessMeter(graph.sample_rate, graph.channels, layout=s.layout)
    t0 = time.perf_counter()
    with _progress("rendering", not as_json) as bar:
        cb = _callback(bar)
        with AudioWriter(out, sample_rate=graph.sample_rate, channels=graph.channels, format=format,
                         protect=protect) as writer:
            with BackgroundSink(writer.write, meter.process) as sink:
                for _, block, _ in Renderer(graph, block_size=block_size).blocks(progress=cb):
                    sink.put(block)
    elapsed = time.perf_counter() - t0
    res = meter.result()
    summary = {
        "output": str(out),
        "format": format,
        "sample_rate": graph.sample_rate,
        "channels": graph.channels,
        "duration_s": graph.length / graph.sample_rate,
        "render_seconds": round(elapsed, 3),
        "realtime_factor": round(graph.length / graph.sample_rate / elapsed, 1) if elapsed > 0 else None,
        "measured": _measure_keys(str(out), res),
    }
    if report is not None:
        from .report import build_report

        build_report(s, mix=out).write(report, protect=list(protect))
        summary["report"] = str(report)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(
            f"wrote {out} ({summary['duration_s']:.2f} s, {graph.sample_rate} Hz, {graph.channels} ch, {format}) "
            f"in {elapsed:.2f} s; integrated {_num(res.integrated_lufs)} LUFS, true peak {_num(res.true_peak_dbtp)} dBTP"
        )


def _measure_keys(file: str, res: Any) -> dict[str, Any]:
    data = {"file": file}
    data.update(res.to_json())
    return data


@app.command()
def measure(
    files: list[Path] = typer.Argument(..., help="audio or video files (anything FFmpeg reads)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (a list when several)"),
) -> None:
    """Measure loudness (BS.1770 / EBU R128): integrated, range, true peak, maxima."""
    from .analysis.measure import measure_file

    results = [_measure_keys(str(f), measure_file(f)) for f in files]
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Loudness (EBU R128 / ITU-R BS.1770)")
    for col in ("file", "duration s", "integrated LUFS", "LRA LU", "true peak dBTP", "sample peak dBFS",
                "M max LUFS", "S max LUFS"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in results:
        table.add_row(r["file"], _num(r["duration_s"], "{:.2f}"), _num(r["integrated_lufs"]),
                      _num(r["loudness_range_lu"]), _num(r["true_peak_dbtp"]), _num(r["sample_peak_dbfs"]),
                      _num(r["momentary_max_lufs"]), _num(r["short_term_max_lufs"]))
    Console().print(table)


ROLE_FLAGS = ("--dialogue", "--music", "--sfx", "--ambience")


def _expand_role_flags(argv: list[str]) -> list[str]:
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


@app.command()
def targets(as_json: bool = typer.Option(False, "--json", help="print the presets as JSON")) -> None:
    """List the delivery presets: loudness target, tolerance, true-peak ceiling, gating."""
    from .deliver.targets import PRESETS

    if as_json:
        typer.echo(json.dumps([t.to_json() for t in PRESETS.values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Delivery targets")
    for col in ("name", "loudness", "tolerance", "true peak", "gating", "reference"):
        table.add_column(col)
    for t in PRESETS.values():
        table.add_row(t.name, f"{t.integrated_lufs:g} LUFS", f"±{t.tolerance_lu:g} LU", f"{t.true_peak_dbtp:g} dBTP",
                      t.gating, t.reference)
    Console().print(table)


@app.command()
def auto(
    session: Optional[Path] = typer.Argument(None, help="an existing session or editor timeline (instead of files)"),
    media_root: Optional[Path] = typer.Option(None, "--media-root", help="where a timeline's media live"),
    dialogue: list[str] = typer.Option([], "--dialogue", help="dialogue file(s); file@time places it on the timeline"),
    music: list[str] = typer.Option([], "--music", help="music file(s)"),
    sfx: list[str] = typer.Option([], "--sfx", help="effects file(s)"),
    ambience: list[str] = typer.Option([], "--ambience", help="ambience file(s)"),
    video: Optional[Path] = typer.Option(None, "--video", help="video whose audio is the dialogue when no --dialogue is given"),
    target: Optional[str] = typer.Option(None, "--target", help="delivery preset (see `mixdown targets`)"),
    lufs: Optional[float] = typer.Option(None, "--lufs", help="custom target loudness, LUFS"),
    true_peak: Optional[float] = typer.Option(None, "--true-peak", help="custom true-peak ceiling, dBTP"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="mix file (.wav or .flac)"),
    format: Optional[str] = typer.Option(None, "--format", help="wav24 | wav16 | wav32f | flac (default from -o)"),
    stems: Optional[Path] = typer.Option(None, "--stems", help="folder for one 24-bit WAV per role"),
    save_session: Optional[Path] = typer.Option(None, "--save-session", help="write the decided session here"),
    as_json: bool = typer.Option(False, "--json", help="print the summary and decision list as JSON"),
    duck_depth: Optional[float] = typer.Option(None, "--duck-depth", help="fixed duck depth, dB (default: from --duck-under)"),
    duck_under: float = typer.Option(18.0, "--duck-under", help="music sits this many LU under the dialogue while people speak"),
    duck_roles: str = typer.Option("music,ambience", "--duck-roles", help="roles that duck under speech"),
    duck_mode: str = typer.Option("keyframes", "--duck-mode", help="keyframes | sidechain"),
    attack: float = typer.Option(0.3, "--attack", help="duck fade-down, s"),
    release: float = typer.Option(0.8, "--release", help="duck fade-up, s"),
    lookahead: float = typer.Option(0.35, "--lookahead", help="the fade down starts this long before speech, s"),
    hold: float = typer.Option(1.5, "--hold", help="pauses shorter than this keep the music down, s"),
    min_duck: float = typer.Option(0.6, "--min-duck", help="shortest duck, s"),
    no_level: bool = typer.Option(False, "--no-level", help="leave dialogue gains and chains alone"),
    dialogue_level: float = typer.Option(-23.0, "--dialogue-level", help="dialogue level before the master stage, LUFS"),
    music_lu: float = typer.Option(-6.0, "--music-lu", help="music against dialogue between speech, LU"),
    sfx_lu: float = typer.Option(-5.0, "--sfx-lu", help="effects against dialogue, LU"),
    ambience_lu: float = typer.Option(-18.0, "--ambience-lu", help="ambience against dialogue, LU"),
    max_limiting: float = typer.Option(6.0, "--max-limiting", help="most limiter gain reduction accepted to reach the target, dB"),
    vad: str = typer.Option("silero", "--vad", help="speech detector: silero | energy"),
    cleanup: str = typer.Option("screen", "--cleanup", help="screen (measure noisy dialogue only) | full | off"),
    report: Optional[Path] = typer.Option(None, "--report", help="also write an HTML report with plots"),
    sample_rate: int = typer.Option(48000, "--sample-rate", help="session rate when building from files, Hz"),
) -> None:
    """Balance, duck, level and normalise: one command from raw tracks to a delivery-ready mix."""
    from .auto.balance import BalanceParams
    from .auto.build import session_from_files
    from .auto.ducking import DuckParams
    from .auto.leveling import LevelingParams
    from .auto.loudness import MasterParams
    from .auto.run import AutoOptions, run_auto
    from .deliver.targets import get_target
    from .session import save_session as write_session

    tgt = get_target(target, lufs=lufs, true_peak=true_peak)
    if output is None and stems is None and save_session is None:
        _fail("nothing to write: give -o OUT (and/or --stems DIR, --save-session S.yaml)")
    fmt = format
    video_out = output is not None and output.suffix.lower() in VIDEO_SUFFIXES
    if video_out and video is None:
        _fail(f"-o {output}: writing a video needs --video SOURCE (whose picture is copied)")
    if output is not None and not video_out:
        ext = output.suffix.lower()
        if ext not in (".wav", ".flac"):
            _fail(f"-o {output}: the mix is written as .wav or .flac, or into a video (.mp4 .mov .mkv .m4v .webm)")
        fmt = fmt or ("flac" if ext == ".flac" else "wav24")
    if fmt is not None and fmt not in FORMATS:
        _fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if duck_mode not in ("keyframes", "sidechain"):
        _fail("--duck-mode must be keyframes or sidechain")
    if vad not in ("silero", "energy"):
        _fail("--vad must be silero or energy")
    if cleanup not in ("screen", "full", "off"):
        _fail("--cleanup must be screen, full or off")
    roles = tuple(r.strip() for r in duck_roles.split(",") if r.strip())
    for r in roles:
        if r not in ("music", "sfx", "ambience", "other", "dialogue"):
            _fail(f"--duck-roles: unknown role {r!r}")
    if session is not None:
        if dialogue or music or sfx or ambience or (video and not video_out):
            _fail("give either a SESSION or files (--dialogue/--music/--sfx/--ambience/--video), not both")
        s = _open(session, media_root=media_root)
    else:
        dlg = list(dialogue)
        if not dlg and video is not None:
            dlg = [str(video)]
        s = session_from_files(dialogue=dlg, music=music, sfx=sfx, ambience=ambience, sample_rate=sample_rate)
    opts = AutoOptions(
        target=tgt,
        duck=DuckParams(depth_db=duck_depth, under_lu=duck_under, attack_s=attack, release_s=release,
                        lookahead_s=lookahead, hold_s=hold, min_duck_s=min_duck),
        duck_roles=roles, duck_under_lu={"music": duck_under, "ambience": duck_under + 6},
        duck_mode=duck_mode,
        leveling=LevelingParams(reference_lufs=dialogue_level), level=not no_level,
        balance=BalanceParams(relative_lu={"music": music_lu, "sfx": sfx_lu, "ambience": ambience_lu, "other": None}),
        master=MasterParams(max_limiting_db=max_limiting),
        vad_method=vad, cleanup_mode=cleanup,
    )
    import tempfile

    with tempfile.TemporaryDirectory(prefix=".mixdown-", dir=(output.parent if output else Path.cwd())) as tmp:
        mix_path = Path(tmp) / "mix.wav" if video_out else output
        with _progress("mixing", not as_json) as bar:
            res = run_auto(s, opts, output=mix_path, format="wav32f" if video_out else (fmt or "wav24"),
                           stems_dir=stems, progress=_callback(bar))
        summary = res.to_json(tgt)
        if video_out:
            from .deliver.cli_commands import deliver_video_after_auto

            vrep = deliver_video_after_auto(mix_path, video, output, target=tgt,
                                            speech=res.analysis.all_speech if tgt.gating == "dialogue" else None)
            summary["output"] = str(output)
            summary["video"] = vrep.to_json() if hasattr(vrep, "to_json") else str(vrep)
            if not getattr(vrep, "compliant", True):
                res.compliant = False
                res.problems += list(getattr(vrep, "problems", []) or ["the video's audio misses the target"])
    if save_session is not None:
        write_session(res.session, save_session)
        summary["session"] = str(save_session)
    if report is not None:
        from .report import build_report

        build_report(res.session, mix=output, decisions=res.decisions, analysis=res.analysis, target=tgt).write(
            report, protect=[p for p in (session,) if p is not None])
        summary["report"] = str(report)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        m = res.measured
        typer.echo(f"wrote {output}: {_num(m.integrated_lufs, '{:.2f}')} LUFS integrated"
                   f"{' (dialogue-gated ' + _num(res.dialogue_gated_lufs, '{:.2f}') + ')' if tgt.gating == 'dialogue' else ''}, "
                   f"true peak {_num(m.true_peak_dbtp, '{:.2f}')} dBTP, LRA {_num(m.loudness_range_lu)} LU "
                   f"(target {tgt.name}: {tgt.integrated_lufs:g} LUFS, {tgt.true_peak_dbtp:g} dBTP)")
        for role, path in res.stems.items():
            typer.echo(f"stem {role}: {path}")
        typer.echo(f"{len(res.decisions)} decisions; --json lists them")
    for p in res.problems:
        typer.echo(f"mixdown: warning: {p}", err=True)
    if not res.compliant:
        raise typer.Exit(3)


def _open(path: Path, *, media_root: Optional[Path]) -> Any:
    """A session file, or an editor timeline imported on the fly (its import notes on stderr)."""
    from .interchange import open_session

    s, report = open_session(path, media_root=media_root)
    if report is not None:
        for item in report.items:
            if item.severity in ("dropped", "approximated", "warning"):
                where = f" ({item.where})" if item.where else ""
                typer.echo(f"mixdown: note: {item.severity} {item.what}{where}: {item.detail}", err=True)
    return s


@app.command("import")
def import_(
    timeline: Path = typer.Argument(..., help="FCP7 XML (Premiere/Resolve), FCPXML, CMX 3600 EDL or .otio"),
    output: Path = typer.Option(..., "-o", "--output", help="session file to write (.yaml or .json)"),
    media_root: Optional[Path] = typer.Option(None, "--media-root", help="folder to find media whose paths moved"),
    role: list[str] = typer.Option([], "--role", help="TRACK=ROLE, overriding the role inferred from names"),
    frame_rate: Optional[str] = typer.Option(None, "--frame-rate", help="frame rate of an EDL (EDLs do not say)"),
    sequence: Optional[str] = typer.Option(None, "--sequence", help="which sequence, when the file has several"),
    sample_rate: int = typer.Option(48000, "--sample-rate", help="session sample rate, Hz"),
    as_json: bool = typer.Option(False, "--json", help="print the import report as JSON"),
) -> None:
    """Import an editor's timeline as a session, listing everything it could not carry."""
    from .interchange import import_timeline
    from .session import save_session

    roles: dict[str, str] = {}
    for spec in role:
        track, sep, r = spec.partition("=")
        if not sep or not track or r not in ("dialogue", "music", "sfx", "ambience", "other"):
            _fail(f"--role {spec!r}: write TRACK=ROLE with ROLE one of dialogue, music, sfx, ambience, other")
        roles[track] = r
    if output.suffix.lower() not in (".yaml", ".yml", ".json"):
        _fail(f"-o {output}: a session is written as .yaml or .json")
    session, report = import_timeline(timeline, media_root=media_root, roles=roles or None, sample_rate=sample_rate,
                                      frame_rate=frame_rate, sequence=sequence)
    save_session(session, output)
    if as_json:
        typer.echo(json.dumps({"session": str(output), "report": report.to_dict()}, indent=2))
    else:
        typer.echo(report.to_text())
        typer.echo(f"wrote {output}: {len(session.tracks)} tracks, {sum(len(t.clips) for t in session.tracks)} clips")


@app.command("export")
def export_(
    session: Path = typer.Argument(..., help="session (or timeline) to export"),
    output: Path = typer.Option(..., "-o", "--output", help="timeline: .xml (FCP7/Premiere), .fcpxml, .otio or .edl"),
) -> None:
    """Write a session as an editor's timeline, with its gain keyframes (ducks, leveling) in place."""
    from .interchange import export_timeline

    s = _open(session, media_root=None)
    for note in export_timeline(s, output):
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {output}")


@app.command("report")
def report_(
    source: Path = typer.Argument(..., help="a session (or timeline), or the JSON that `auto --json` printed"),
    output: Path = typer.Option(..., "-o", "--output", help="the HTML page to write (self-contained)"),
    mix: Optional[Path] = typer.Option(None, "--mix", help="the rendered mix to measure and plot"),
    target: Optional[str] = typer.Option(None, "--target", help="draw this delivery target's band"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report's data as JSON here"),
) -> None:
    """Write one HTML page with the loudness curve, tracks, speech, gain curves, spectra and decisions."""
    from .deliver.targets import get_target
    from .report import build_report, report_from_result

    tgt = get_target(target) if target else None
    if source.suffix.lower() == ".json":
        try:
            is_result = "decisions" in json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            is_result = False
    else:
        is_result = False
    if is_result:
        rep = report_from_result(source, mix=mix, **({"target": tgt} if tgt else {}))
    else:
        rep = build_report(_open(source, media_root=None), mix=mix, target=tgt)
    rep.write(output, json_path=json_out, protect=[source] + ([mix] if mix else []))
    typer.echo(f"wrote {output}" + (f" and {json_out}" if json_out else ""))


@app.command()
def sync(
    reference: Path = typer.Argument(..., help="the camera's (or any reference) recording"),
    external: Path = typer.Argument(..., help="the external recording to align (lavalier, recorder)"),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate", help="rate of the reported offset, Hz"),
    max_offset: Optional[float] = typer.Option(None, "--max-offset", help="largest offset searched, s"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Find where an external recording sits against a reference, to the sample (or refuse)."""
    from .auto.sync import sync_files

    res = sync_files(reference, external, sample_rate=sample_rate, max_offset_s=max_offset)
    data = res.to_json()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in data.items()))


def _register_delivery() -> None:
    from .deliver.cli_commands import check_command, deliver_command

    app.command("check")(check_command)
    app.command("deliver")(deliver_command)


_register_delivery()


@app.command()
def processors() -> None:
    """List the processors a chain can use, with their parameters."""
    from .dsp.base import load_all

    for kind, cls in sorted(load_all().items()):
        typer.echo(f"{kind}:{' (sidechain)' if cls.SIDECHAIN else ''}")
        for name, p in cls.PARAMS.items():
            rng = f" [{p.min:g}..{p.max:g}]" if p.min is not None and p.max is not None else ""
            choices = f" ({'|'.join(p.choices)})" if p.choices else ""
            typer.echo(f"  {name} = {p.default!r}{' ' + p.unit if p.unit else ''}{rng}{choices}  {p.doc}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every error into an exit code and one line."""
    import gc

    from .errors import MixdownError

    # A render allocates a few arrays per block and no reference cycles worth
    # collecting; the default gen-0 threshold (700) ran full collections that cost
    # ~3 % of a long render's CPU.
    gc.set_threshold(100_000, 50, 1000)
    argv = _expand_role_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        rc = app(args=argv, standalone_mode=False)
        # without standalone mode, click hands typer.Exit's code back instead of exiting
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except MixdownError as exc:
        typer.echo(f"mixdown: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("mixdown: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into exit 1
        # usage errors of the (vendored) click inside typer: let them print themselves
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        if os.environ.get("MIXDOWN_DEBUG"):
            raise
        typer.echo(f"mixdown: internal error: {type(exc).__name__}: {exc} (set MIXDOWN_DEBUG=1 for a traceback)",
                   err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
