"""Automation of every automatable parameter of every processor.

For each one: any block split gives the same bytes (block sizes 1, 7, 64, 4096 and
one pass, and Hypothesis-drawn schedules); a step keyframe changes nothing before
its sample and, once the processor's memory of the old value has faded, gives what
a processor set to the new value gives; and every parameter that cannot move says
why. Then what the issue names, measured against analytic expectations: EQ gain
follows its keyframes in the measured band level, a filter step lands on its
sample (it was 6 samples late at 44.1 kHz), the limiter's peak follows its
automated ceiling, a moving delay time bends the pitch without a click, the
de-esser's and de-hummer's bands follow their automated frequency.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sig
from hypothesis import given, settings
from hypothesis import strategies as st

from mixdown.dsp.automation import Envelope
from mixdown.dsp.base import CONTROL_PERIOD, Processor, control_segments, load_all
from mixdown.dsp.cleanup import PROFILE_PARAMS
from mixdown.dsp.eq import rbj_biquad
from test_dsp_processors import CONFIGS, signal

FS = 48000
REG = load_all()

# -- the cases: every automatable parameter, each with values that make it matter ----------

# configurations that give each parameter something to do (CONFIGS of the contract tests,
# plus the detector, slope and notch settings that make the remaining parameters count)
EXTRA = {
    "high_shelf/slope": {"gain_db": -6.0, "slope": 0.5},
    "low_shelf/slope": {"gain_db": 6.0, "freq_hz": 300.0, "slope": 0.5},
    "dehum": {"freq_hz": 50.0, "harmonics": 6.0, "q": 10.0},
    "deesser": {"freq_hz": 5000.0, "threshold_db": -30.0, "range_db": 30.0, "ratio": 2.0},
}
# a second value for a parameter where the generic rule would not change the output
OTHER = {
    "slope": 1.0,
    "time_ms": 15.0,  # 720 samples: whole samples, so a static delay is the same line
    "ceiling_db": -12.0,
    "range_db": 10.0,
    "amount_db": 40.0,
    "threshold": 4.0,  # declick: finds more of the test signal's clicks
    "max_click_ms": 0.2,  # declick: the test clicks are longer than this
    **{n: -20.0 for n in PROFILE_PARAMS},  # denoise: a band of noise the quiet stretches lie under
}
# automatable parameters the chosen configuration makes irrelevant (documented behaviour)
NO_EFFECT = {
    "eq.band1_gain_db",  # high-pass band: gain unused
    "eq.band8_gain_db",  # notch band: gain unused
    "high_shelf.q", "low_shelf/slope.q", "high_shelf/slope.q",  # a shelf slope S is set: q unused
    "compressor.rms_ms", "deesser/listen.rms_ms",  # the peak detector has no averaging time
    # at 48 kHz the 2048-point STFT has no bin between the 25 and 40 Hz band centres
    "denoise.noise_31_5_db",
}
# automated filters that run in the numba kernel while the static ones use scipy's sosfilt:
# the same recursion, rounded differently (float32 ulps), so "unchanged before the step" is
# checked to within that
KERNEL_VS_SCIPY = {"dehum", "deesser"}
# parameters whose old value lingers in the state for seconds (a reverb's tail): the
# settle comparison is skipped, the other checks run
LONG_MEMORY = {"reverb.room_size", "reverb.damping"}


def _configs() -> dict[str, tuple[str, dict]]:
    out = {}
    for key, params in {**CONFIGS, **EXTRA}.items():
        out[key] = (key.split("/")[0], params)
    return out


def _other(spec, name: str, base: float) -> float:
    if name in OTHER and OTHER[name] != base:
        return float(OTHER[name])
    lo, hi = spec.min, spec.max
    if spec.unit == "Hz":
        v = base * 2.0 if base * 2.0 < 12000.0 else base / 2.0
    elif spec.unit == "dB":
        v = base + 6.0 if base + 6.0 <= hi else base - 6.0
    elif spec.unit == "ms":
        # shorter times: the processor forgets the old value sooner (see the step test)
        v = base / 3.0 if base / 3.0 >= lo and base > 0 else min(hi, base * 3.0 or 5.0)
    elif name.endswith("q"):
        v = base * 1.5
    else:
        v = base + 0.3 * (hi - base) if hi - base >= base - lo else base - 0.3 * (base - lo)
    return float(min(max(v, lo), hi))


def _cases() -> list[tuple[str, str, dict, str, float, float]]:
    cases = []
    for key, (kind, params) in _configs().items():
        cls = REG[kind]
        active = None
        if kind == "eq":
            active = {n.split("_")[0] for n, v in params.items() if n.endswith("_type") and v != "off"}
        for name, spec in cls.PARAMS.items():
            if not spec.automatable or (active is not None and name.split("_")[0] not in active):
                continue
            base = float(params.get(name, spec.default))
            if name == "slope" and base == 0.0:
                continue  # covered by the */slope configurations
            cases.append((key, kind, params, name, base, _other(spec, name, base)))
    return cases


CASES = _cases()
IDS = [f"{c[0]}.{c[3]}" for c in CASES]
ONE_SAMPLE_BANDS = {PROFILE_PARAMS[0], PROFILE_PARAMS[17], PROFILE_PARAMS[-1]}


def test_every_automatable_parameter_has_a_case():
    covered = {(c[1], c[3]) for c in CASES}
    for kind, cls in REG.items():
        for name, spec in cls.PARAMS.items():
            in_use = kind != "eq" or name.split("_")[0] in {"band1", "band3", "band5", "band8"}
            if spec.automatable and in_use:
                assert (kind, name) in covered, f"{kind}.{name} is automatable but untested"


def rich_signal(n: int, channels: int = 2, seed: int = 7) -> np.ndarray:
    """Noise bursts and pauses (signal()), with hum, a sibilant-band tone and clicks: work for every processor."""
    x = signal(channels, n=n, seed=seed).astype(np.float64)
    t = np.arange(n) / FS
    x += sum(0.02 / k * np.sin(2 * np.pi * 50.0 * k * t) for k in range(1, 7))
    x += 0.05 * np.sin(2 * np.pi * 6000.0 * t)
    x[:, 500::1500] += 0.4  # clicks, 1 sample
    x[:, 501::1500] -= 0.3
    return x.astype(np.float32)


def run(p: Processor, x: np.ndarray, block: int) -> np.ndarray:
    p.prepare(FS, max(block, 1), x.shape[0])
    return np.concatenate([p.process(x[:, s : s + block], s) for s in range(0, x.shape[1], block)], axis=1)


def run_schedule(p: Processor, x: np.ndarray, schedule: list[int]) -> np.ndarray:
    p.prepare(FS, max(schedule), x.shape[0])
    outs, pos, i = [], 0, 0
    while pos < x.shape[1]:
        b = schedule[i % len(schedule)]
        outs.append(p.process(x[:, pos : pos + b], pos))
        pos += b
        i += 1
    return np.concatenate(outs, axis=1)


def moving(spec, base: float, other: float, positions=(301, 1500, 2203, 3000, 3000, 4100)) -> Envelope:
    """Ramps, a hold and a jump, off the control grid."""
    shape = "exp" if (spec.unit == "dB" or (base > 0 and other > 0)) else "linear"
    return Envelope(list(positions), [base, other, other, base, other, base],
                    ["linear", shape, "hold", "linear", "linear", "linear"], unit=spec.unit)


def automated(kind: str, params: dict, name: str, env: Envelope) -> Processor:
    p = REG[kind](**params)
    p.automate(name, env)
    return p


def latency_at(p: Processor, fs: int) -> int:
    p.prepare(fs, 1, 2)
    return p.latency


# -- block-size invariance ----------------------------------------------------------------------

@pytest.mark.parametrize("key,kind,params,name,base,other", CASES, ids=IDS)
def test_automation_gives_the_same_bytes_for_any_block_size(key, kind, params, name, base, other):
    spec = REG[kind].PARAMS[name]
    env = moving(spec, base, other)
    x = rich_signal(5000)
    ref = run(automated(kind, params, name, env), x, x.shape[1])
    plain = run(REG[kind](**params), x, x.shape[1])
    changed = not np.array_equal(ref, plain)
    assert changed != (f"{key}.{name}" in NO_EFFECT), f"automating {key}.{name}: changed output = {changed}"
    for block in (4096, 64, 7):
        out = run(automated(kind, params, name, env), x, block)
        assert out.tobytes() == ref.tobytes(), f"{key}.{name} automated, blocks of {block}: bytes differ"
    if name in PROFILE_PARAMS and name not in ONE_SAMPLE_BANDS:
        return  # the 30 profile bands share one code path; blocks of 1 run on three of them
    # blocks of 1 sample (slow in Python): the same kinds of keyframes squeezed into 700
    # samples, and the processor's latency on top so they reach the output
    short_env = moving(spec, base, other, positions=(61, 200, 263, 400, 400, 600))
    short = x[:, : 700 + latency_at(automated(kind, params, name, short_env), FS)]
    ref1 = run(automated(kind, params, name, short_env), short, short.shape[1])
    one = run(automated(kind, params, name, short_env), short, 1)
    assert one.tobytes() == ref1.tobytes(), f"{key}.{name} automated, blocks of 1: bytes differ"


def _all_automated(kind: str, params: dict, x_len: int) -> Processor:
    p = REG[kind](**params)
    for c in CASES:
        if c[1] == kind and c[2] is params:
            p.automate(c[3], moving(REG[kind].PARAMS[c[3]], c[4], c[5]))
    return p


ALL_AT_ONCE = sorted({c[0] for c in CASES})


@settings(max_examples=25, deadline=None)
@given(key=st.sampled_from(ALL_AT_ONCE),
       schedule=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=6))
def test_every_parameter_automated_at_once_is_block_invariant(key, schedule):
    kind, params = _configs()[key]
    x = rich_signal(4500)
    ref = run(_all_automated(kind, params, x.shape[1]), x, x.shape[1])
    out = run_schedule(_all_automated(kind, params, x.shape[1]), x, schedule)
    assert out.tobytes() == ref.tobytes(), f"{key}, every parameter automated, blocks {schedule}"


# -- a step changes nothing before its sample, and then acts as the new value ----------------------

STEP = 6011  # off the 32-sample grid
SETTLE = 24000  # 0.5 s: five time constants of the slowest detector or filter in the cases


@pytest.mark.parametrize("key,kind,params,name,base,other", CASES, ids=IDS)
def test_a_step_acts_from_its_sample_as_the_new_value(key, kind, params, name, base, other):
    if f"{key}.{name}" in NO_EFFECT:
        pytest.skip("documented as having no effect in this configuration")
    n = 60000
    x = rich_signal(n, seed=3)
    env = Envelope([0, STEP], [base, other], ["hold", "hold"], unit=REG[kind].PARAMS[name].unit)
    auto = automated(kind, params, name, env)
    out = run(auto, x, 4096)
    a = run(REG[kind](**params), x, 4096)
    static_b = REG[kind](**{**params, name: other})
    b = run(static_b, x, 4096)
    # nothing before the keyframe moves (whatever the processor's latency or lookahead)
    if kind in KERNEL_VS_SCIPY:
        np.testing.assert_allclose(out[:, :STEP], a[:, :STEP], rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(out[:, :STEP], a[:, :STEP])
    if f"{key}.{name}" in LONG_MEMORY:
        assert not np.array_equal(out[:, STEP:], a[:, STEP:])
        return
    # once the old value is forgotten, the output is that of a processor set to the new value
    # (each aligned by its own latency: an automated declick keeps the longest lookahead)
    la, lb = auto.latency, static_b.latency
    lo = STEP + SETTLE
    m = n - max(la, lb)
    out_c, a_c, b_c = (y[:, lo + lat : m + lat].astype(np.float64) for y, lat in ((out, la), (a, la), (b, lb)))
    differs = float(np.max(np.abs(b_c - a_c)))
    assert differs > 1e-5 * float(np.max(np.abs(b_c))), f"{key}.{name}: {base} and {other} give the same output"
    err = float(np.max(np.abs(out_c - b_c)))
    assert err <= 0.02 * differs, f"{key}.{name}: after the step {err:.3g} from a processor set to {other}" \
                                  f" (which differs from one set to {base} by {differs:.3g})"


# -- parameters that cannot move -------------------------------------------------------------------

STRUCTURAL = {("highpass", "slope_db_oct"), ("lowpass", "slope_db_oct"), ("limiter", "lookahead_ms"),
              ("dehum", "harmonics")}


def test_only_choices_switches_and_structural_counts_are_fixed():
    for kind, cls in REG.items():
        for name, spec in cls.PARAMS.items():
            info = cls.control_rate(name)
            if spec.automatable:
                assert info["rate"] in ("sample", "control", "frame")
                if info["rate"] == "frame":
                    assert cls.FRAME_RATE, f"{kind} has frame-rate parameters but does not say what a frame is"
                continue
            assert spec.fixed, f"{kind}.{name} cannot be automated but does not say why"
            continuous = spec.choices is None and not isinstance(spec.default, bool)
            assert not continuous or (kind, name) in STRUCTURAL, f"{kind}.{name} is continuous but not automatable"
            p = cls()
            with pytest.raises(ValueError, match=rf"^{kind}\.{name} cannot be automated \({spec.fixed}\)"):
                p.automate(name, Envelope([0, 100], [1.0, 2.0]))


def test_automated_shelf_slope_must_stay_above_zero():
    p = REG["low_shelf"](gain_db=6.0)
    with pytest.raises(ValueError, match="low_shelf.slope automation needs values above 0"):
        p.automate("slope", Envelope([0, 100], [0.0, 1.0]))


# -- control segments: a step lands on its sample, a ramp is followed within half a period -------------

def test_control_segments_cut_at_the_grid_and_at_keyframes_and_read_the_middle():
    knots = np.array([1000, 1010, 5000], dtype=np.int64)
    for position, n in ((0, 3000), (990, 40), (1001, 1), (4990, 100)):
        starts, mids = control_segments(knots, position, n)
        ends = np.append(starts[1:], position + n)
        assert starts[0] == position and np.all(ends > starts)
        for a, b, m in zip(starts, ends, mids, strict=True):
            # the whole segment of piece [a, b): grid cell cut by keyframes
            lo = max(a - a % CONTROL_PERIOD, max([k for k in knots if k <= a], default=-10**9))
            hi = min(a - a % CONTROL_PERIOD + CONTROL_PERIOD, min([k for k in knots if k > a], default=10**9))
            assert lo <= a < b <= hi and hi - lo <= CONTROL_PERIOD
            assert m == lo + (hi - lo - 1) // 2
        # every keyframe inside the block starts a piece
        assert set(knots[(knots > position) & (knots < position + n)]) <= set(starts)


def test_a_ramped_coefficient_is_within_half_a_period_of_the_per_sample_value():
    p = REG["bell"]()
    env = Envelope([1000, 9000], [200.0, 8000.0], ["linear", "linear"], unit="Hz")
    p.automate("freq_hz", env)
    p.prepare(FS, 10000, 1)
    bounds, vals = p.control_plan(("freq_hz",), 0, 10000)
    exact = env.evaluate(0, 10000)
    slope = (8000.0 - 200.0) / 8000.0
    for j in range(len(bounds) - 1):
        seg = exact[bounds[j] : bounds[j + 1]]
        assert np.all(np.abs(seg - vals["freq_hz"][j]) <= (CONTROL_PERIOD / 2) * slope + 1e-9)
    # and on average no lag: the values are read at the middle sample of each segment
    # (half a sample early for a segment of even length)
    per_sample = np.repeat(vals["freq_hz"], np.diff(bounds))
    assert abs(float(np.mean(per_sample[1000:9000] - exact[1000:9000]))) <= 0.5 * slope + 1e-9


@pytest.mark.parametrize("fs,k", [(44100, 4410), (48000, 4800), (48000, 4801), (48000, 4831), (48000, 4815)])
@pytest.mark.parametrize("block", [1000, 64, 4410])
def test_a_filter_step_lands_exactly_on_its_keyframe(fs, k, block):
    # at 44.1 kHz a keyframe at 0.1 s (sample 4410, 26 samples into a 32-sample period)
    # used to switch the coefficients 6 samples late, at the next period start
    n = 9000
    x = np.random.default_rng(1).standard_normal((1, n)).astype(np.float32)
    p = REG["bell"](freq_hz=1000.0, gain_db=0.0, q=1.0)
    p.automate("gain_db", Envelope([0, k], [0.0, 12.0], ["hold", "hold"], unit="dB"))
    p.prepare(fs, block, 1)
    y = np.concatenate([p.process(x[:, s : s + block], s) for s in range(0, n, block)], axis=1)
    flat = REG["bell"](freq_hz=1000.0, gain_db=0.0, q=1.0)(x, fs)
    assert int(np.flatnonzero(y[0] != flat[0])[0]) == k
    # from k on: the boosted filter continuing from the flat filter's state (scipy as the oracle)
    sos0 = rbj_biquad("bell", fs, 1000.0, 0.0, 1.0)[None, :]
    _, zi = sig.sosfilt(sos0, x[:, :k].astype(np.float64), axis=-1, zi=np.zeros((1, 1, 2)))
    rest, _ = sig.sosfilt(rbj_biquad("bell", fs, 1000.0, 12.0, 1.0)[None, :], x[:, k:].astype(np.float64),
                          axis=-1, zi=zi)
    np.testing.assert_allclose(y[:, k:], rest, atol=2e-6)


# -- what each parameter does, measured ------------------------------------------------------------

def _level_db(x: np.ndarray) -> float:
    return 10.0 * float(np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


@pytest.mark.parametrize("kind,name,params", [
    ("bell", "gain_db", {"freq_hz": 1000.0, "q": 1.0}),
    ("eq", "band4_gain_db", {"band4_type": "bell", "band4_freq_hz": 1000.0, "band4_q": 1.0,
                             "band1_type": "highpass", "band1_freq_hz": 40.0}),
])
def test_automated_eq_gain_moves_the_band_level_through_the_keyframes(kind, name, params):
    n = FS // 2
    t = np.arange(n) / FS
    x = (0.25 * np.sin(2 * np.pi * 1000.0 * t))[None, :].astype(np.float32)
    keys = [(0, 0.0, "hold"), (4800, 6.0, "hold"), (9600, -12.0, "hold"), (14400, -12.0, "exp"), (24000, 12.0, "hold")]
    env = Envelope([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], unit="dB")
    y = run(automated(kind, params, name, env), x, 4096)
    ref = _level_db(x[:, 1000:4800])
    # the steps: the level 5 ms after each switch is the keyframe's gain
    for a, b, g in ((240, 4800, 0.0), (4800 + 240, 9600, 6.0), (9600 + 240, 14400, -12.0)):
        assert _level_db(y[:, a:b]) - ref == pytest.approx(g, abs=0.05)
    # the ramp (straight in dB, 24 dB over 0.2 s): each 10 ms window reads the gain at its centre
    for c in range(14400 + 960, 24000 - 480, 960):
        want = float(env.evaluate(c, 1)[0])
        assert _level_db(y[:, c - 240 : c + 240]) - ref == pytest.approx(want, abs=0.25)


@pytest.mark.parametrize("true_peak", [False, True])
def test_automated_limiter_ceiling_moves_the_output_peak(true_peak):
    from mixdown.analysis.truepeak import TruePeakDetector

    n = FS
    x = (np.random.default_rng(5).standard_normal((2, n)) * 0.7).astype(np.float32)  # peaks near +10 dBFS
    k = 20011  # the ceiling drops from -3 to -12 dBFS here, and comes back up to -6 at 36000
    env = Envelope([0, k, 36000], [-3.0, -12.0, -6.0], ["hold", "hold", "hold"], unit="dB")
    p = automated("limiter", {"release_ms": 20.0, "true_peak": true_peak}, "ceiling_db", env)
    y = run(p, x, 4096)
    lat = p.latency
    y = y[:, lat:]  # as the engine compensates: output sample i is the input's sample i
    for a, b, c_db in ((0, k, -3.0), (k, 36000, -12.0), (36000, n - lat, -6.0)):
        seg = y[:, a:b]
        peak = 20.0 * np.log10(np.max(np.abs(seg)))
        assert peak <= c_db + 1e-6  # the ceiling holds from the keyframe's sample on
        assert peak > c_db - 0.2  # and the limiter works up to it (the input is far above)
        if true_peak:
            det = TruePeakDetector(FS, 2)
            det.process(seg[:, 100:-100])
            assert 20.0 * np.log10(det.peak()) <= c_db + 0.02


@pytest.mark.parametrize("start_ms,end_ms", [(10.0, 200.0), (200.0, 10.0)])
def test_a_moving_delay_time_bends_the_pitch_without_a_click(start_ms, end_ms):
    # a sine through a delay whose time moves 10 -> 200 ms (or back) over 0.5 s: the wet
    # signal is x(t - D(t)), a sine of frequency f (1 - dD/dt) during the move, and its
    # largest step between samples is the sine's largest step times (1 + |dD/dt|)
    f, amp = 1000.0, 0.5
    n = int(1.2 * FS)
    t = np.arange(n) / FS
    x = (amp * np.sin(2 * np.pi * f * t))[None, :].astype(np.float32)
    t0, t1 = int(0.3 * FS), int(0.8 * FS)
    env = Envelope([t0, t1], [start_ms, end_ms], ["linear", "linear"], unit="ms")
    y = run(automated("delay", {"time_ms": 10.0, "feedback": 0.0, "mix": 1.0}, "time_ms", env), x, 4096)[0]
    rate = (end_ms - start_ms) / 1000.0 / 0.5  # dD/dt
    bound = amp * 2 * np.pi * f / FS * (1 + abs(rate))
    live = slice(int(0.21 * FS), n)  # once the line holds the sine (0.2 s at most)
    steps = np.abs(np.diff(y[live].astype(np.float64)))
    assert steps.max() <= bound * 1.001
    # the bound catches a click: a line whose time is updated once per 512-sample block
    # (what a delay without a moving read does) jumps at every update
    d_blocky = np.round(env.evaluate(0, n)[::512].repeat(512)[:n] * FS / 1000.0).astype(np.int64)
    blocky = x[0, np.maximum(np.arange(n) - d_blocky, 0)].astype(np.float64)
    assert np.abs(np.diff(blocky[live])).max() > 5 * bound
    # the pitch during the move: zero crossings of its middle 0.3 s
    mid = y[t0 + FS // 10 : t1 - FS // 10].astype(np.float64)
    crossings = np.count_nonzero(np.signbit(mid[1:]) != np.signbit(mid[:-1]))
    assert crossings / 2 / (mid.shape[0] / FS) == pytest.approx(f * (1 - rate), rel=0.01)
    # once the time holds (whole samples), the wet signal is the input that many samples ago, exactly
    d = int(round(end_ms * FS / 1000.0))
    np.testing.assert_array_equal(y[t1 + 10 :], x[0, t1 + 10 - d : n - d])


def _tone_level(y: np.ndarray, f: float) -> float:
    t = np.arange(y.shape[-1]) / FS
    c = np.mean(y[0] * np.cos(2 * np.pi * f * t))
    s = np.mean(y[0] * np.sin(2 * np.pi * f * t))
    return 20.0 * np.log10(2.0 * np.hypot(c, s))


def test_automated_deesser_frequency_moves_the_reduced_band():
    n = FS
    t = np.arange(n) / FS
    x = (0.2 * np.sin(2 * np.pi * 4000.0 * t) + 0.2 * np.sin(2 * np.pi * 10000.0 * t))[None, :].astype(np.float32)
    k = n // 2
    env = Envelope([0, k], [4000.0, 10000.0], ["hold", "hold"], unit="Hz")
    params = {"q": 4.0, "threshold_db": -60.0, "ratio": 100.0, "range_db": 12.0}
    y = run(automated("deesser", params, "freq_hz", env), x, 4096)
    first, second = slice(k // 2, k), slice(k + k // 2, n)
    ref = _tone_level(x[:, first], 4000.0)
    # the band is turned down by the full range at its centre, the other tone much less
    assert _tone_level(y[:, first], 4000.0) - ref == pytest.approx(-12.0, abs=0.5)
    assert _tone_level(y[:, first], 10000.0) - ref > -2.0
    assert _tone_level(y[:, second], 10000.0) - ref == pytest.approx(-12.0, abs=0.5)
    assert _tone_level(y[:, second], 4000.0) - ref > -2.0


def test_automated_dehum_frequency_follows_the_hum():
    # a generator's hum moves from 50 to 60 Hz (3 harmonics each); dehum follows it by automation
    n = 2 * FS
    t = np.arange(n) / FS
    k = FS
    f0 = np.where(np.arange(n) < k, 50.0, 60.0)
    phase = 2 * np.pi * np.cumsum(f0) / FS
    hum = sum(0.1 / h * np.sin(h * phase) for h in (1, 2, 3))
    x = hum[None, :].astype(np.float32)
    params = {"harmonics": 3.0, "q": 10.0}
    env = Envelope([0, k], [50.0, 60.0], ["hold", "hold"], unit="Hz")
    y = run(automated("dehum", params, "freq_hz", env), x, 4096)
    static = run(REG["dehum"](freq_hz=50.0, **params), x, 4096)
    first, second = slice(k // 2, k), slice(k + k // 2, n)
    assert _level_db(y[:, first]) - _level_db(x[:, first]) < -30.0
    assert _level_db(y[:, second]) - _level_db(x[:, second]) < -30.0
    # without automation the 60 Hz hum goes through
    assert _level_db(static[:, second]) - _level_db(x[:, second]) > -3.0
    del t


def test_automated_compressor_rms_time_changes_the_detector():
    # a 100 Hz tone: a 0.5 ms RMS window follows each half cycle (the gain ripples at
    # 200 Hz), a 50 ms one reads the steady RMS (a steady gain)
    n = FS
    t = np.arange(n) / FS
    x = (0.5 * np.sin(2 * np.pi * 100.0 * t))[None, :].astype(np.float32)
    k = n // 2
    env = Envelope([0, k], [0.5, 50.0], ["hold", "hold"], unit="ms")
    params = {"detector": "rms", "threshold_db": -30.0, "ratio": 4.0, "attack_ms": 0.0, "release_ms": 1.0,
              "knee_db": 0.0}
    y = run(automated("compressor", params, "rms_ms", env), x, 4096)[0].astype(np.float64)
    gain = np.abs(y) / np.maximum(np.abs(x[0]), 1e-9)
    live = np.abs(x[0]) > 0.1  # where the ratio is well defined
    ripple = [np.ptp(gain[s][live[s]]) for s in (slice(k // 2, k), slice(k + k // 2, n))]
    assert ripple[0] > 0.1 and ripple[1] < 0.01
