"""Block-size and worker invariance, on sessions built from the processor registry (issue 12).

The promise (DESIGN.md): the output does not depend on how the programme is cut into
blocks nor on how many threads render the tracks. The strategy below builds sessions from
what ``mixdown processors --json`` lists -- every registered processor appears in every
session, with parameters drawn from each parameter's declared range, keyframes on every
parameter marked automatable (and on track and bus fader and pan), pre- and post-fader
sends to buses, buses feeding buses, and sidechains (every ``sidechain: true`` processor
keyed from an earlier track). Each session is rendered in one pass (one block covering
the programme, its latency included -- checked: exactly one block comes out) and then
with workers 1 and 2 at drawn block sizes; the bytes must be equal.

Block sizes: the renderer takes any size from 1 frame; the commands' minimum
(``--block-size``) is 64. Sizes 1-63 are tested here on purpose, on short programmes
(one frame per block is ~0.5 ms of Python per insert, so a few thousand frames cost
seconds), in their own test; nothing is rounded up. The default suite runs a handful of
examples (about a minute in all); the ``slow`` tests run many more, longer programmes.

Only public entry points are used: the session is a YAML file loaded with
:func:`mixdown.session.load_session`, compiled with :func:`mixdown.render.graph.check`,
and rendered with :class:`mixdown.render.engine.Renderer` (all in :func:`render`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixdown.render.engine import Renderer
from mixdown.render.graph import check
from mixdown.session import load_session

SR = 48000
#: Source length, frames (every clip fits inside it).
SOURCE = SR
#: Latency the one-pass block allows on top of the programme; the reference render checks
#: that it really came out as one block.
LATENCY_ROOM = 1 << 15

# Parameters whose declared range is wider than what the processor takes: the registry
# says only "min..max"; these are the documented extra rules (checked by
# test_declared_ranges_are_accepted, so a new hidden rule fails there, not here).
DISCRETE: dict[tuple[str, str], tuple[float, ...]] = {
    ("dehum", "harmonics"): tuple(float(h) for h in range(1, 65)),
    ("highpass", "slope_db_oct"): (12.0, 24.0, 36.0, 48.0),
    ("lowpass", "slope_db_oct"): (12.0, 24.0, 36.0, 48.0),
}
#: Automation that must stay above the declared minimum (a shelf's slope 0 switches to q,
#: which no slope value reaches continuously; refused with that reason).
ABOVE_MIN = {("low_shelf", "slope"), ("high_shelf", "slope")}
#: Known defects, kept out of the random draws and pinned by a strict xfail test each
#: (so the test fails, and this entry must go, when the defect is fixed): (kind, param) ->
#: open interval of values not drawn.
KNOWN_DEFECTS: dict[tuple[str, str], tuple[float, float]] = {
    # denoise with amount_db a hair above 0 (9e-14) and a loud noise profile differs from the
    # one-pass render by ~1e-18 in a few frames: test_denoise_near_zero_amount_is_block_invariant
    ("denoise", "amount_db"): (0.0, 1e-3),
    # a shelf's slope a hair above 0 (2.2e-311, subnormal) makes the coefficients NaN and the whole render
    # non-finite: test_shelf_slope_near_zero_renders_finite_samples
    ("low_shelf", "slope"): (0.0, 1e-3),
    ("high_shelf", "slope"): (0.0, 1e-3),
}
#: Frequencies must also be below the stream's Nyquist frequency (said when refused).
NYQUIST_ROOM = 0.999


def bounds(p: dict[str, Any]) -> tuple[float, float]:
    """A numeric parameter's usable range at ``SR``: the declared one, frequencies below Nyquist."""
    hi = min(p["max"], NYQUIST_ROOM * SR / 2) if p["unit"] == "Hz" else p["max"]
    return p["min"], hi


@cache
def registry() -> dict[str, dict[str, Any]]:
    """``mixdown processors --json``, by kind: the public list of processors and parameter ranges."""
    r = subprocess.run([sys.executable, "-m", "mixdown.cli", "processors", "--json"], capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return {k["kind"]: k for k in json.loads(r.stdout)}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_media(tmp_path_factory.mktemp("blocks"))


def make_media(folder: Path) -> Path:
    """Sources: mono speech-like noise with clicks and hum, stereo tones over noise."""
    rng = np.random.default_rng(12)
    t = np.arange(SOURCE) / SR
    mono = 0.1 * rng.standard_normal(SOURCE) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    mono += 0.05 * np.sin(2 * np.pi * 50 * t) + 0.03 * np.sin(2 * np.pi * 150 * t)
    mono[rng.integers(0, SOURCE, 40)] += 0.8  # clicks, for declick
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 6500 * t)], axis=1)
    stereo += 0.05 * rng.standard_normal((SOURCE, 2))
    sf.write(folder / "mono.wav", mono.astype(np.float32), SR, subtype="FLOAT")
    sf.write(folder / "stereo.wav", stereo.astype(np.float32), SR, subtype="FLOAT")
    return folder


# ---------------------------------------------------------------------------------------
# the strategy

def _floats(kind: str, p: dict[str, Any], *, exclude_min: bool = False) -> st.SearchStrategy[float]:
    values = st.floats(*bounds(p), allow_nan=False, allow_infinity=False, exclude_min=exclude_min)
    if (kind, p["name"]) in KNOWN_DEFECTS:
        lo, hi = KNOWN_DEFECTS[(kind, p["name"])]
        values = values.filter(lambda v: not lo < v < hi)
    return values


def _value(draw: st.DrawFn, kind: str, p: dict[str, Any]) -> Any:
    if p["choices"]:
        return draw(st.sampled_from(p["choices"]))
    if isinstance(p["default"], bool):
        return draw(st.booleans())
    if (kind, p["name"]) in DISCRETE:
        return draw(st.sampled_from(DISCRETE[(kind, p["name"])]))
    return draw(_floats(kind, p))


def _keyframes(draw: st.DrawFn, frames: int, values: st.SearchStrategy[float], *, exp: bool) -> list[list[Any]]:
    """Sorted keyframes inside the programme, some on the same sample (a step)."""
    n = draw(st.integers(1, 4))
    times = sorted(draw(st.lists(st.integers(0, frames), min_size=n, max_size=n)))
    drawn = draw(st.lists(values, min_size=n, max_size=n))
    interps = ["hold", "linear"] + (["exp"] if exp else [])
    out = []
    for t, v in zip(times, drawn, strict=True):
        i = draw(st.sampled_from(interps))
        out.append([f"{t}s", v] if i == "linear" else [f"{t}s", v, i])
    return out


def _insert(draw: st.DrawFn, kind: str, frames: int, keys: list[str]) -> dict[str, Any]:
    spec = registry()[kind]
    out: dict[str, Any] = {"type": kind}
    automation = {}
    for p in spec["params"]:
        if draw(st.integers(0, 3)) > 0:  # most parameters set, some left at their default
            out[p["name"]] = _value(draw, kind, p)
        if p["automatable"] and draw(st.booleans()):
            values = _floats(kind, p, exclude_min=(kind, p["name"]) in ABOVE_MIN)
            # exp is a line in dB, or in log of a positive quantity
            automation[p["name"]] = _keyframes(draw, frames, values, exp=p["unit"] == "dB" or p["min"] > 0)
    if automation:
        out["automation"] = automation
    if spec["sidechain"] and keys and draw(st.integers(0, 3)) > 0:
        out["sidechain"] = draw(st.sampled_from(keys))
    return out


def _strip_moves(draw: st.DrawFn, frames: int) -> dict[str, Any]:
    moves: dict[str, Any] = {}
    if draw(st.booleans()):
        moves["gain_db"] = _keyframes(draw, frames, st.floats(-60.0, 6.0), exp=True)
    if draw(st.booleans()):
        moves["pan"] = _keyframes(draw, frames, st.floats(-1.0, 1.0), exp=False)
    return moves


@st.composite
def sessions(draw: st.DrawFn, *, max_frames: int) -> dict[str, Any]:
    """A session (as YAML data) using every registered processor at least once."""
    frames = draw(st.integers(max_frames // 4, max_frames))
    n_tracks = draw(st.integers(2, 4))
    n_buses = draw(st.integers(1, 3))
    tracks = [f"t{i}" for i in range(n_tracks)]
    buses = [f"b{i}" for i in range(n_buses)]
    kinds = sorted(registry())
    extra = draw(st.lists(st.sampled_from(kinds), max_size=4))
    inserts = draw(st.permutations(kinds)) + extra
    # every insert goes to a strip: tracks, buses or the master (index n_tracks + n_buses)
    where = [draw(st.integers(0, n_tracks + n_buses)) for _ in inserts]
    chains: list[list[dict[str, Any]]] = [[] for _ in range(n_tracks + n_buses + 1)]
    for kind, w in zip(inserts, where, strict=True):
        # a track is keyed by an earlier track (no cycle); a bus or the master by any track
        keys = tracks[:w] if w < n_tracks else tracks
        chains[w].append(_insert(draw, kind, frames, keys))

    def routing(index: int) -> dict[str, Any]:
        # a strip feeds the master or a later bus, and sends to later buses (no cycle)
        later = buses[max(0, index - n_tracks + 1):] if index >= n_tracks else buses
        out: dict[str, Any] = {"gain_db": draw(st.floats(-24, 6)), "pan": draw(st.floats(-1, 1)),
                               "chain": chains[index]}
        if later and draw(st.booleans()):
            out["output"] = draw(st.sampled_from(later))
        # a send may go to the bus the strip also outputs to (each route has its own compensation delay)
        sends = draw(st.lists(st.sampled_from(later), unique=True, max_size=2)) if later else []
        if sends:
            out["sends"] = [{"bus": b, "level_db": draw(st.floats(-30, 0)), "pre_fader": draw(st.booleans())}
                            for b in sends]
        moves = _strip_moves(draw, frames)
        if moves:
            out["automation"] = moves
        return out

    track_data = []
    for i, name in enumerate(tracks):
        clips = []
        for _ in range(draw(st.integers(1, 3))):
            length = draw(st.integers(64, frames))
            start = draw(st.integers(0, frames - length))
            clip: dict[str, Any] = {"source": draw(st.sampled_from(["mono.wav", "stereo.wav"])),
                                    "start": f"{start}s", "in": f"{draw(st.integers(0, SOURCE - length))}s",
                                    "duration": f"{length}s", "gain_db": draw(st.floats(-12, 6))}
            fade = draw(st.integers(0, length // 2))
            if fade:
                clip["fade_in"] = f"{fade}s"
                clip["fade_out"] = {"length": f"{draw(st.integers(0, length - fade))}s",
                                    "shape": draw(st.sampled_from(["linear", "equal-power", "s-curve", "log"]))}
            if draw(st.booleans()):
                clip["automation"] = {"gain_db": _keyframes(draw, length, st.floats(-30.0, 6.0), exp=True)}
            clips.append(clip)
        track_data.append({"name": name, "clips": clips, **routing(i)})
    bus_data = [{"name": name, **routing(n_tracks + j)} for j, name in enumerate(buses)]
    return {"mixdown": 1, "sample_rate": SR, "layout": "stereo", "duration": f"{frames}s",
            "tracks": track_data, "buses": bus_data, "master": {"chain": chains[-1]}}


# ---------------------------------------------------------------------------------------
# rendering, through the public entry points only

def write(folder: Path, data: dict[str, Any], name: str = "session.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def render(path: Path, *, block: int, workers: int) -> tuple[np.ndarray, int]:
    """The master of the session file at ``path``: float32 (channels, frames), and how many blocks came out."""
    graph = check(load_session(path))
    parts = [(pos, blk.copy()) for pos, blk, _ in Renderer(graph, block_size=block, workers=workers).blocks()]
    frames = sum(b.shape[1] for _, b in parts)
    out = np.concatenate([b for _, b in parts], axis=1) if parts else np.zeros((2, 0), np.float32)
    assert [p for p, _ in parts] == list(np.cumsum([0] + [b.shape[1] for _, b in parts[:-1]])), "blocks not contiguous"
    assert out.shape[1] == frames
    return out, len(parts)


def one_pass(path: Path, frames: int) -> np.ndarray:
    ref, n = render(path, block=frames + LATENCY_ROOM, workers=1)
    assert n == 1, f"the reference render came out in {n} blocks, not one"
    assert ref.shape[1] == frames
    return ref


def assert_invariant(folder: Path, data: dict[str, Any], blocks: list[int]) -> None:
    path = write(folder, data)
    frames = int(data["duration"][:-1])
    ref = one_pass(path, frames)
    assert np.isfinite(ref).all(), "the one-pass render is not finite; session:\n" + path.read_text()
    for block, workers in zip(blocks, (1, 2) * len(blocks), strict=False):
        out, _ = render(path, block=block, workers=workers)
        if out.tobytes() != ref.tobytes():
            diff = np.nonzero((out != ref).any(axis=0))[0]
            raise AssertionError(
                f"block {block}, workers {workers}: {diff.size} frames differ from the one-pass render, "
                f"first at frame {diff[0]} (max |diff| {np.abs(out - ref).max():.3g}); session:\n"
                + path.read_text())


# ---------------------------------------------------------------------------------------
# the tests

def test_declared_ranges_are_accepted(media: Path) -> None:
    """Every parameter at its declared min, max and default compiles (the strategy relies on it)."""
    for kind, spec in registry().items():
        for p in spec["params"]:
            if p["choices"] or isinstance(p["default"], bool):
                values = list(p["choices"] or [False, True])
            elif (kind, p["name"]) in DISCRETE:
                values = [min(DISCRETE[(kind, p["name"])]), max(DISCRETE[(kind, p["name"])])]
            else:
                values = [*bounds(p), p["default"]]
            for v in values:
                data = {"mixdown": 1, "sample_rate": SR, "tracks": [
                    {"name": "a", "clips": [{"source": "stereo.wav", "duration": 0.1}],
                     "chain": [{"type": kind, p["name"]: v}]}]}
                check(load_session(write(media, data, "range.yaml")))


def test_every_processor_is_in_every_drawn_session() -> None:
    @given(data=sessions(max_frames=4000))
    @settings(max_examples=5, deadline=None, database=None)
    def drawn(data: dict[str, Any]) -> None:
        strips = data["tracks"] + data["buses"] + [data["master"]]
        used = {i["type"] for s in strips for i in s["chain"]}
        assert used == set(registry())
        for kind in ("denoise", "declick", "reverb", "delay", "compressor"):
            assert kind in used

    drawn()


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="known defect (main at 5e220fb): remove this mark and the KNOWN_DEFECTS entry when fixed")
def test_denoise_near_zero_amount_is_block_invariant(media: Path) -> None:
    """Found by the strategy below; kept out of its draws by KNOWN_DEFECTS."""
    frames = 8663
    data = {"mixdown": 1, "sample_rate": SR, "duration": f"{frames}s", "tracks": [
        {"name": "a", "clips": [{"source": "stereo.wav", "start": "64s", "in": "2717s", "duration": f"{frames - 64}s"}],
         "chain": [{"type": "denoise", "amount_db": 9.14e-14, "noise_10k_db": -16.5}]}]}
    assert_invariant(media, data, [648, 4096])


def test_denoise_with_an_instant_release_is_block_invariant(media: Path) -> None:
    """Found by the strategy (release_ms 2e-89): the closed-form release lost every digit of the gains."""
    data = {"mixdown": 1, "sample_rate": SR, "duration": "4000s", "tracks": [
        {"name": "a", "clips": [{"source": "stereo.wav", "duration": "4000s"}],
         "chain": [{"type": "denoise", "amount_db": 54.7, "release_ms": 2.0757793886451213e-89,
                    "noise_1k_db": -20.0, "noise_4k_db": -30.0}]}]}
    assert_invariant(media, data, [61, 648, 4096])


def test_output_and_send_to_one_bus_with_latency_compensation_is_block_invariant(media: Path) -> None:
    """A track both routed and sent to bus ``b``, delayed to line up with a limiter's lookahead."""
    data = {"mixdown": 1, "sample_rate": SR, "duration": "4000s", "tracks": [
        {"name": "lat", "clips": [{"source": "mono.wav", "duration": "100s"}],
         "chain": [{"type": "limiter", "lookahead_ms": 1.0}], "output": "b"},
        {"name": "x", "clips": [{"source": "stereo.wav", "start": "1000s", "duration": "1000s"}], "output": "b",
         "sends": [{"bus": "b", "level_db": -6}]}], "buses": [{"name": "b"}]}
    assert_invariant(media, data, [64, 1000])


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="known defect (main at 5e220fb): remove this mark and the KNOWN_DEFECTS entries when fixed")
@pytest.mark.parametrize("kind", ["low_shelf", "high_shelf"])
def test_shelf_slope_near_zero_renders_finite_samples(media: Path, kind: str) -> None:
    data = {"mixdown": 1, "sample_rate": SR, "duration": "4800s", "tracks": [
        {"name": "a", "clips": [{"source": "stereo.wav", "duration": "4800s"}],
         "chain": [{"type": kind, "gain_db": 6.0, "slope": 2.225073858507e-311}]}]}
    ref = one_pass(write(media, data), 4800)
    assert np.isfinite(ref).all()


_BLOCKS = st.one_of(st.integers(64, 512), st.integers(513, 8192), st.integers(8193, 40000))


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=sessions(max_frames=24000), blocks=st.lists(_BLOCKS, min_size=2, max_size=2))
def test_any_block_size_and_worker_count_renders_the_one_pass_bytes(media: Path, data: dict[str, Any],
                                                                     blocks: list[int]) -> None:
    assert_invariant(media, data, blocks)


@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=sessions(max_frames=1600), blocks=st.lists(st.integers(1, 63), min_size=2, max_size=2))
def test_blocks_below_the_command_minimum_render_the_same_bytes(media: Path, data: dict[str, Any],
                                                                 blocks: list[int]) -> None:
    assert_invariant(media, data, blocks)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=sessions(max_frames=SOURCE), blocks=st.lists(st.one_of(st.integers(1, 63), _BLOCKS),
                                                         min_size=2, max_size=4))
def test_block_invariance_long(media: Path, data: dict[str, Any], blocks: list[int]) -> None:
    assert_invariant(media, data, blocks)
