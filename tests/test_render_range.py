"""Renderer.blocks(start=, end=): a range of the timeline, as the studio's preview renders it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from mixdown.render.engine import Renderer
from mixdown.render.graph import check
from mixdown.session import Clip, ProcessorSpec, Session, Track

SR = 48000


@pytest.mark.parametrize("workers", [1, 2])
def test_a_range_of_a_stateless_session_is_the_same_samples(tmp_path, workers):
    rng = np.random.default_rng(3)
    sf.write(tmp_path / "n.wav", (rng.standard_normal((SR * 3, 2)) * 0.1).astype(np.float32), SR, subtype="FLOAT")
    s = Session(sample_rate=SR, tracks=[Track(name=n, clips=[Clip(source="n.wav", start=k * 0.3)], gain_db=-k)
                                        for k, n in enumerate("abc")],
                master={"chain": [ProcessorSpec(type="limiter", ceiling_db=-1.0)]})
    s.base_dir = tmp_path
    g = check(s)
    full = np.concatenate([b for _, b, _ in Renderer(check(s), block_size=4096, workers=workers).blocks()], axis=1)
    a, b = 70001, 110000
    got = list(Renderer(g, block_size=4096, workers=workers).blocks(start=a, end=b))
    assert got[0][0] == a and sum(x.shape[1] for _, x, _ in got) == b - a
    part = np.concatenate([x for _, x, _ in got], axis=1)
    # the limiter starts fresh at `a`: after its lookahead and release the samples are the whole render's
    settle = SR // 2
    np.testing.assert_array_equal(part[:, settle:], full[:, a + settle:b])
