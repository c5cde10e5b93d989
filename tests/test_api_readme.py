"""The README's Python API example, run exactly as written, checked against independent truth."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soxr

import mixdown

ROOT = Path(__file__).resolve().parents[1]


def _readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict:
    os.environ.setdefault("MIXDOWN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        ns: dict = {}
        exec(compile(_readme_block(), "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    return ns


def test_render_is_the_sum_of_the_arrays_at_their_gains_and_starts(example: dict) -> None:
    audio, voice, bed = example["audio"], example["voice"], example["bed"]
    assert audio.dtype == np.float32 and audio.shape[0] == 2
    # a mono source panned centre: -3 dB per side (constant power); the bed at -12 dB from 0 s
    centre = np.float32(np.sqrt(0.5))
    bed_part = bed[0] * np.float32(10 ** (-12 / 20)) * centre
    voice48 = soxr.resample(voice[:, 0].astype(np.float64), 44100, 48000, quality="HQ")
    expected = np.zeros(audio.shape[1])
    expected[: bed.shape[1]] += bed_part
    expected[96000 : 96000 + voice48.size] += voice48 * float(centre)
    assert audio.shape[1] == max(bed.shape[1], 96000 + round(voice.shape[0] * 48000 / 44100))
    np.testing.assert_array_equal(audio[0], audio[1])
    # before the voice enters only the bed sounds: exact up to float32 rounding of the gains
    np.testing.assert_allclose(audio[0, :96000], expected[:96000], atol=1e-6)
    # with the voice: soxr of the whole clip, up to the streaming resampler's float rounding
    np.testing.assert_allclose(audio[0], expected, atol=2e-4)


def test_auto_meets_the_podcast_target_measured_independently(example: dict) -> None:
    result, mixed, loudness = example["result"], example["mixed"], example["loudness"]
    ref = pyloudnorm.Meter(48000).integrated_loudness(mixed.T.astype(np.float64))
    assert loudness.integrated_lufs == pytest.approx(ref, abs=0.1)
    # podcast: -16 LUFS integrated (within the preset's tolerance), true peak under -1 dBTP
    assert result.compliant, result.problems
    assert abs(ref - -16.0) <= 1.0
    assert loudness.true_peak_dbtp <= -1.0 + 0.05
    # what auto measured is what rendering its session gives
    assert result.measured["integrated_lufs"] == pytest.approx(loudness.integrated_lufs, abs=0.05)
    assert {"integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "sample_peak_dbfs"} <= set(result.measured)
    kinds = {d["kind"] for d in result.decisions}
    assert kinds, "auto made no decisions"
    # the caller's arrays are not the session's: changing them afterwards changes nothing
    example["bed"][:] = 0
    np.testing.assert_array_equal(mixdown.render(result.session), mixed)


def test_saving_a_session_with_an_array_is_refused_naming_the_clip(example: dict, tmp_path: Path) -> None:
    with pytest.raises(mixdown.MixdownError, match=r"track 'Host' clip 0 .*array"):
        mixdown.save_session(example["session"], tmp_path / "s.yaml")
    assert not (tmp_path / "s.yaml").exists()
