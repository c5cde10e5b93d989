"""One-shot processing (``Processor.__call__``) compensates latency and flushes the lookahead."""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.dsp.base import create, load_all

FS = 48000
N = 4800

#: a click repairer is meant to take an isolated impulse away
REMOVES_IMPULSES = {"declick"}


@pytest.mark.parametrize("kind", sorted(load_all()))
def test_one_shot_keeps_length_and_an_impulse_near_the_end(kind):
    x = np.zeros((2, N), dtype=np.float32)
    x[:, N - 10] = 0.5
    proc = create(kind)
    y = proc(x, FS)
    assert y.shape == x.shape and y.dtype == np.float32
    if kind in REMOVES_IMPULSES:
        return
    # the impulse comes out where it went in (within a filter's few samples), not lost in the latency
    near = np.abs(y[:, N - 14:]).max()
    assert near > 1e-3, f"{kind}: latency {proc.latency}, impulse lost ({near:g})"
    assert np.abs(y[:, : N - 200]).max() < 1e-3 or kind in {"reverb", "delay"} or proc.latency == 0


def test_limiter_one_shot_equals_the_stream_shifted_by_its_latency():
    rng = np.random.default_rng(1)
    x = (0.9 * rng.standard_normal((2, N))).astype(np.float32)
    lim = create("limiter", ceiling_db=-1.0)
    y = lim(x, FS)
    lat = lim.latency
    assert lat > 0
    # independent path: stream the audio and the flush in small blocks, drop the latency by hand
    ref = create("limiter", ceiling_db=-1.0)
    ref.prepare(FS, 256, 2)
    padded = np.concatenate([x, np.zeros((2, lat), np.float32)], axis=1)
    blocks = [ref.process(padded[:, i:i + 256], i) for i in range(0, padded.shape[1], 256)]
    np.testing.assert_array_equal(y, np.concatenate(blocks, axis=1)[:, lat:])
    assert np.abs(y).max() <= 10 ** (-1 / 20) + 1e-6
