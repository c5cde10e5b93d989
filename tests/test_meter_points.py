"""Meter points inside strips: on the timeline's clock behind latent inserts (issue 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mixdown.auto.analyse import Analysis
from mixdown.auto.cleanup import measure_cleanup
from mixdown.media import write_audio
from mixdown.render.engine import Renderer, render_array
from mixdown.render.graph import check
from mixdown.session.model import ProcessorSpec, Session

FS = 48000


def _session(tmp_path: Path, x: np.ndarray, chain: list[dict] | None = None, **track) -> Session:
    path = tmp_path / "t.wav"
    write_audio(path, x.astype(np.float32), FS)
    return Session.model_validate({
        "mixdown": 2, "sample_rate": FS, "layout": "mono",
        "tracks": [{"name": "T", "role": "dialogue", "clips": [{"source": str(path), "start": 0}],
                    "chain": chain or [], **track}],
    }, context={"base": tmp_path})


def _bursts(n: int, regions: list[tuple[int, int]], loud: float, quiet: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = quiet * rng.standard_normal(n)
    for a, b in regions:
        x[a:b] = loud * rng.standard_normal(b - a)
    return x[None, :]


def test_cleanup_measures_behind_declick_on_the_timeline(tmp_path):
    """Speech RMS measured behind a planned declick (latency ~1158 samples) is the speech's, not 24 ms late."""
    n = 4 * FS
    speech = [(FS // 2 + k * 9600, FS // 2 + k * 9600 + 2400) for k in range(12)]  # 50 ms words
    x = _bursts(n, speech, 0.1, 0.001)
    s = _session(tmp_path, x)
    a = Analysis(levels={}, speech={"T": speech}, all_speech=speech, length=n, sample_rate=FS)
    truth = 10 * np.log10(np.mean(np.concatenate([x[0, p:q] for p, q in speech]).astype(np.float64) ** 2))
    plain = measure_cleanup(s, a)["T"]
    behind = measure_cleanup(s, a, before={"T": [ProcessorSpec(type="declick", id="auto-declick", threshold=8.0)]})["T"]
    assert abs(plain.speech_rms_db - truth) < 0.05
    # 1158 samples late, half of each 50 ms word would be the quiet floor: -3 dB
    assert abs(behind.speech_rms_db - truth) < 0.2


def test_meter_points_line_up_behind_a_latent_insert(tmp_path):
    n = FS
    x = np.zeros((1, n), dtype=np.float32)
    x[0, 1000] = 0.5
    s = _session(tmp_path, x, chain=[{"type": "limiter", "ceiling_db": -1.0}, {"type": "gain", "gain_db": -6.0}],
                 gain_db=-3.0)
    graph = check(s)
    lat = graph.strips["T"].latency
    assert lat > 0
    seen: dict[object, list[tuple[int, np.ndarray]]] = {}
    points = ["input", 0, 1, "pre", "post"]
    meters = {("T", p): (lambda pos, b, p=p: seen.setdefault(p, []).append((pos, b.copy()))) for p in points}
    for _ in Renderer(graph, block_size=700, meters=meters, workers=1).blocks():
        pass
    for p in points:
        pos = [q for q, _ in seen[p]]
        got = np.concatenate([b for _, b in seen[p]], axis=1)
        assert pos[0] == 0 and got.shape[1] == n, p  # every timeline sample once, from 0
        assert int(np.argmax(np.abs(got[0]))) == 1000, p  # the impulse where the timeline has it
    peak = {p: float(np.abs(np.concatenate([b for _, b in seen[p]], axis=1)).max()) for p in points}
    assert peak["input"] == np.float32(0.5)
    assert abs(20 * np.log10(peak[1] / peak[0]) + 6.0) < 1e-4
    assert peak["pre"] == peak[1]


def test_fader_automation_acts_on_its_own_timeline_behind_a_latent_insert(tmp_path):
    """A fader step at 0.5 s mutes what plays after 0.5 s, not what plays after 0.5 s minus the limiter's lookahead."""
    n = FS
    x = (0.1 * np.ones((1, n))).astype(np.float32)
    auto = {"gain_db": [[0.0, 0.0, "hold"], [0.5, -144.0, "hold"]]}
    s = _session(tmp_path, x, chain=[{"type": "limiter", "ceiling_db": -1.0}], automation=auto)
    assert check(s).strips["T"].latency > 0
    y = render_array(s)
    step = FS // 2
    assert np.all(np.abs(y[:, step - 100:step]) > 0.05)  # still open just before the keyframe
    assert np.all(y[:, step:step + 100] == 0.0)
