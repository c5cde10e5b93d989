"""Deliverables: every output a session lists, from one render.

:func:`render_deliverables` renders the session **once** and writes everything the
session's ``deliverables`` list asks for; :func:`deliver_file` does the same from a
mix that is already rendered (``mixdown auto ... -o out.mp4``).

How
---
1. **One render.** The session is rendered with the master stage that ``auto``
   wrote (its ``auto-loudness`` gain and ``auto-limiter``) taken out of the master
   chain; the master's output (the rest of its chain and its fader) -- the
   *premaster* -- goes to a temporary float file and is measured once per output
   layout. The role stems the deliverables need (post-fader, aligned with the
   master, multiplied by the master fader so they follow its fades) go to
   temporary float files in the same pass, and so does the speech detection for
   dialogue-gated specs (on the dialogue stem; on the mix when no track has the
   dialogue role).
2. **One master stage per spec.** Deliverables that share a spec -- target,
   channel layout, true-peak ceiling -- share a master stage: the premaster
   (downmixed when the deliverable asks for another layout, e.g. 5.1 -> stereo with
   the ITU coefficients) through a static loudness gain and a true-peak limiter,
   measured, and run again with a corrected gain if the limiter cost loudness (as
   ``auto`` does; at most ``MasterParams.max_passes`` passes, limiting capped at
   ``max_limiting_db``). The stage costs a read of the premaster, not a render:
   ``youtube`` and ``ebu-r128`` versions of a 60-minute mix cost one render and two
   cheap stages. A deliverable without a target gets the session's own master
   stage (the ``auto`` entries that were taken out), or none.
3. **Encode**, every file of a stage in one read of the stage's output; the video
   deliverables are muxed (see :mod:`mixdown.deliver.mux`).
4. **Verify.** Every lossy file (MP3, AAC, Opus, and the audio of every video) is
   decoded again and measured. If its true peak is over the spec's ceiling (codec
   overshoot) or its loudness is off the target by more than half the spec's
   tolerance (:func:`lossy_retry_lu`), the stage is run again for it -- the limiter
   lowered by the overshoot (plus 0.1 dB), the loudness aimed past the target by
   what the codec took away -- it is encoded again, and the report says so
   (``notes``); after :data:`LOSSY_PASSES` encodes the file is reported as failing.
   Lossy deliverables start from the lossy ceiling
   (:func:`~mixdown.deliver.formats.lossy_ceiling`: 1 dB under the spec's, -2 dBTP
   for the -1 dBTP specs), so overshoot corrections are rare; level corrections
   happen with tight specs (R128's +-0.2 LU) or codecs that change the level (LAME
   encodes mono 0.45 dB low). Lossless files are measured while they are written
   (the same samples).

Stems and M&E
-------------
Stems are the strips feeding the master grouped by role (a bus without a role
takes its inputs' role if they agree, else ``other``); M&E is music + sfx +
ambience (``roles`` overrides either). They are written **at the mix's gain**:
the master fader (with its automation) and the static loudness gain of the mix
they belong to, *without* the limiter and without the master chain's other
processors -- so the stems sum exactly to the premaster times the loudness gain,
i.e. to the mix before its limiter. "The mix" is the stems deliverable's own
``target`` if it has one (its stage is run even if no mix is delivered for it),
else the first mix or video deliverable with a target, else the session's own
master stage gain. A stem louder than full scale is clipped by integer formats;
the report says so (use ``wav32f``). Stems are not checked for compliance (they
are not programme).

Temporary files (raw float32) go next to the first output, in a hidden folder
removed at the end: premaster + one per stem role + one per stage, each
``channels x 4`` bytes per sample (60 min of stereo at 48 kHz: 1.4 GB each).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import MediaError, SessionError
from ..files.temp import make_scratch_dir, missing_folders, remove_empty_folders
from ..master import BLOCK_SIZE, GAIN_ID, LIMITER_ID, MasterParams, layout_name
from ..media.decode import probe
from ..media.write import check_not_protected
from ..render.graph import check
from ..session.model import Deliverable, ProcessorSpec, Session
from .check import decode_blocks
from .context import Delivery, ProgressCounter
from .encoding import encode_group, lossy_retry_lu
from .passes import premaster_from_blocks, premaster_from_graph
from .plan import Item, StageKey, located, resolve_items
from .results import DeliveryReport, OutputReport
from .stemfiles import write_premaster_file, write_stems

__all__ = ["DeliveryReport", "OutputReport", "deliver_file", "lossy_retry_lu", "render_deliverables"]

Progress = Callable[[int, int], None]


def run_outputs(ctx: Delivery) -> None:
    """Stages, encodes, muxes, verification, stems: everything after the premaster."""
    groups: dict[StageKey, list[Item]] = {}
    for it in ctx.items:
        if it.kind in ("mix", "video"):
            groups.setdefault(it.key, []).append(it)
    for key, items in groups.items():
        encode_group(ctx, items)
        st = ctx.stages[key]
        if st.output is not None:  # encoded and verified: only its gain is needed from here on
            st.output.delete()
            st.output = None
    for it in ctx.items:
        if it.kind in ("stems", "me"):
            write_stems(ctx, it)
        elif it.kind == "premaster":
            write_premaster_file(ctx, it)


def _strip_auto(session: Session) -> tuple[Session, list[ProcessorSpec]]:
    """A copy without ``auto``'s master stage, and that stage's (enabled) entries."""
    s = session.copy_session()
    auto = [p for p in s.master.chain if p.id in (GAIN_ID, LIMITER_ID) and not p.bypass]
    s.master.chain = [p for p in s.master.chain if p.id not in (GAIN_ID, LIMITER_ID)]
    return s, auto


def _work_dir(items: list[Item], fallback: Path) -> tuple[Path, list[Path]]:
    """The scratch folder (beside the first output), and the output folders created for the job."""
    first = items[0].path if items else fallback
    folder = first if items and items[0].kind == "stems" else first.parent
    made: list[Path] = []
    for want in [it.path if it.kind == "stems" else it.path.parent for it in items] + [folder]:
        missing = missing_folders(want)
        want.mkdir(parents=True, exist_ok=True)  # every output's folder, before any work
        made += [p for p in missing if p not in made]
    return make_scratch_dir(folder, "deliver"), made


@contextlib.contextmanager
def _scratch(ctx: Delivery, made: list[Path]) -> Iterator[Delivery]:
    """Scratch files and folder removed at the end; the output folders made for the job too, on failure."""
    try:
        yield ctx
    except BaseException:
        _clean(ctx)
        remove_empty_folders(made)
        raise
    finally:
        _clean(ctx)


def _clean(ctx: Delivery) -> None:
    ctx.cleanup()
    shutil.rmtree(ctx.work, ignore_errors=True)


def _video_finder(graph: Any) -> Callable[[], Path | None]:
    """The first clip source with a video stream (probed once, on first use)."""
    cache: list[Path | None] = []

    def find() -> Path | None:
        if not cache:
            found = None
            for node in (c for strip in graph.strips.values() for c in strip.clips):
                with contextlib.suppress(MediaError):
                    if probe(node.path).has_video:
                        found = node.path
                        break
            cache.append(found)
        return cache[0]

    return find


def render_deliverables(session: Session, *, deliverables: list[Deliverable] | None = None,
                        progress: Progress | None = None, block_size: int = BLOCK_SIZE,
                        master: MasterParams | None = None, vad_method: str = "silero",
                        observe: Any = None) -> DeliveryReport:
    """Render the session once and write every deliverable it lists.

    Parameters
    ----------
    session : Session
    deliverables : list of Deliverable, optional
        Instead of ``session.deliverables``.
    progress : callable, optional
        ``progress(done, total)`` in sample frames of work (the total grows when a
        stage or an encode has to be repeated).
    block_size : int
        Frames per block (memory, not output, depends on it).
    master : MasterParams, optional
        Limiter and loudness-loop options (default: ``auto``'s).
    vad_method : str
        Speech detector for dialogue-gated targets.
    observe : callable, optional
        ``observe(graph) -> (taps, consume)``: a measurement riding on the render (see
        :class:`~mixdown.deliver.context.Delivery`); the report's probes.

    Returns
    -------
    DeliveryReport
        ``compliant`` is False when a deliverable misses its target; the files are
        written anyway and the report says why.

    Raises
    ------
    SessionError, MediaError, TargetError
        Before anything is written for a bad deliverable (unknown format or target,
        impossible layout, missing video, two outputs on one path, an output over
        an input); during the render for unreadable media.
    """
    deliverables = list(session.deliverables if deliverables is None else deliverables)
    if not deliverables:
        raise SessionError("the session lists no deliverables", loc=("deliverables",))
    s, auto = _strip_auto(session)
    graph = check(s)
    def base(path: str) -> Path:
        where = session.resolve(path)
        assert isinstance(where, Path)  # a deliverable's path is a string, never audio in memory
        return where

    items = resolve_items(session, deliverables, base=base, channels=graph.channels,
                          find_video=_video_finder(graph))
    protect = set(graph.source_paths) | {it.video for it in items if it.video is not None}
    if session.file is not None:
        protect.add(Path(session.file))
    for it in items:
        try:
            check_not_protected(it.path, protect)
        except MediaError as exc:
            raise located(exc, session, it.loc + ("path",)) from None
    if graph.length <= 0:
        raise SessionError("the session is empty: nothing to deliver")
    t0 = time.perf_counter()
    work, made = _work_dir(items, session.base_dir)
    tb = session.timebase
    ctx = Delivery(sr=graph.sample_rate, channels=graph.channels, layout=session.layout, items=items, work=work,
                   protect=protect, master=master or MasterParams(), vad_method=vad_method, block=block_size,
                   description=Path(session.file).stem if session.file else "",
                   time_reference=tb.frames_to_samples(tb.start_frames), length=graph.length, asis=auto,
                   progress=ProgressCounter(progress, graph.length), observe=observe)
    with _scratch(ctx, made):
        premaster_from_graph(ctx, graph)
        ctx.timing["render"] = time.perf_counter() - t0
        run_outputs(ctx)
    ctx.timing["total"] = time.perf_counter() - t0
    rep = ctx.report()
    if graph.tail_cut is not None:
        rep.warnings.append(graph.tail_cut.message(graph.sample_rate))
    return rep


def deliver_file(mix: str | Path, deliverables: list[Deliverable], *, base_dir: str | Path | None = None,
                 speech: list[tuple[int, int]] | None = None, progress: Progress | None = None,
                 block_size: int = BLOCK_SIZE, master: MasterParams | None = None, vad_method: str = "silero",
                 protect: tuple[str | Path, ...] | list[str | Path] = ()) -> DeliveryReport:
    """Deliver an already rendered mix: normalise, limit, encode, mux and verify.

    For ``mixdown auto ... -o out.mp4``: ``auto`` renders its mix to a temporary
    file, this writes the video (and any other ``mix``/``video`` deliverable) from it.
    The file is the premaster: each target's stage (gain + limiter) runs on it.

    Parameters
    ----------
    mix : path
        A rendered mix (any format :func:`~mixdown.media.decode.open_source` reads).
    deliverables : list of Deliverable
        ``mix`` and ``video`` only (stems need the session).
    base_dir : path, optional
        Folder relative paths are resolved against (default: the current one).
    speech : list of (int, int), optional
        Speech regions of the mix (samples at its rate) for dialogue-gated targets;
        found with the VAD when needed and not given.
    protect : list of path
        Inputs that must not be overwritten (``mix`` always is).

    Returns
    -------
    DeliveryReport
    """
    mix = Path(mix)
    base = Path(base_dir) if base_dir is not None else Path.cwd()

    def resolve(p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else base / q

    info, blocks = decode_blocks(mix)
    if info.channels not in (1, 2, 6):
        raise MediaError(f"{info.channels} channels: mixdown delivers mono, stereo or 5.1 mixes", file=mix)
    for i, d in enumerate(deliverables):
        if d.kind not in ("mix", "video"):
            raise SessionError(f"a {d.kind} deliverable needs the session, not a rendered mix",
                               loc=("deliverables", i, "kind"))
    items = resolve_items(None, list(deliverables), base=resolve, channels=info.channels, find_video=lambda: None)
    prot = {mix, *map(Path, protect)} | {it.video for it in items if it.video is not None}
    for it in items:
        check_not_protected(it.path, prot)
    t0 = time.perf_counter()
    work, made = _work_dir(items, base)
    ctx = Delivery(sr=info.sample_rate, channels=info.channels, layout=layout_name(info.channels), items=items,
                   work=work, protect=prot, master=master or MasterParams(), vad_method=vad_method, block=block_size,
                   description=mix.stem, progress=ProgressCounter(progress, max(info.frames, 1)))
    with _scratch(ctx, made):
        if premaster_from_blocks(ctx, blocks, speech=speech) == 0:
            raise MediaError("the mix is empty", file=mix)
        ctx.timing["read"] = time.perf_counter() - t0
        run_outputs(ctx)
    ctx.timing["total"] = time.perf_counter() - t0
    return ctx.report()
