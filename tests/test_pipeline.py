"""The pipeline's contract: a picklable Job in, a picklable JobResult out, outputs measured."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mixdown.analysis.measure import measure_file
from mixdown.pipeline import Job, JobResult, run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "podcast"


def test_job_and_result_are_plain_picklable_data(tmp_path):
    job = Job(mode="render", session=str(EXAMPLE / "session.yaml"), output=str(tmp_path / "mix.wav"))
    assert pickle.loads(pickle.dumps(job)) == job
    res = run(job)
    assert isinstance(res, JobResult)
    back = pickle.loads(pickle.dumps(res))
    assert back.outputs == res.outputs and back.job == job
    mix = res.output("mix")
    # the result's numbers are those of the file written, by the meter `mixdown measure` uses
    m = measure_file(tmp_path / "mix.wav")
    assert mix.measured["integrated_lufs"] == pytest.approx(m.integrated_lufs, abs=1e-9)
    assert res.session["tracks"][0]["name"] == "Host"


def test_auto_job_meets_its_target_and_saves_the_decided_session(tmp_path):
    job = Job(mode="auto", session=str(EXAMPLE / "raw.yaml"), target="podcast", output=str(tmp_path / "mix.wav"),
              save_session=str(tmp_path / "decided.yaml"), options={"vad": "energy"})
    res = run(job)
    assert res.compliant, res.problems
    m = measure_file(tmp_path / "mix.wav")
    assert m.integrated_lufs == pytest.approx(-16.0, abs=1.0) and m.true_peak_dbtp <= -1.0
    assert res.measured["integrated_lufs"] == pytest.approx(m.integrated_lufs, abs=0.01)
    assert {o.kind for o in res.outputs} == {"mix", "session"}
    assert any(d["kind"] == "duck" for d in res.decisions)
    # the decided session renders the same mix
    again = run(Job(mode="render", session=str(tmp_path / "decided.yaml"), output=str(tmp_path / "again.wav")))
    assert again.output("mix").measured["integrated_lufs"] == pytest.approx(m.integrated_lufs, abs=1e-6)


def test_unknown_option_is_a_user_error(tmp_path):
    from mixdown.errors import MixdownError

    with pytest.raises(MixdownError, match="unknown auto option 'duck_undr'"):
        run(Job(mode="auto", session=str(EXAMPLE / "raw.yaml"), target="podcast",
                output=str(tmp_path / "m.wav"), options={"duck_undr": 3}))
