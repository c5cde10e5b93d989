"""Cleanup processors (denoise, dehum, declick, deesser) on real speech, against independent truth.

Truth is built into each test: the clean recording is known, the noise, hum and
clicks are added at known levels and places, and pauses/speech come from the
clean file (``tests/data/real_audio.json``, or the clean signal's own frame
levels), never from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mixdown.analysis.hum import detect_hum, detect_hum_array, hum_meter, pause_meter
from mixdown.analysis.spectrum import SpectrumMeter, noise_profile
from mixdown.dsp.automation import Envelope
from mixdown.dsp.cleanup import (
    PROFILE_PARAMS,
    Declick,
    DeEsser,
    Dehum,
    Denoise,
    noise_profile_params,
)
from mixdown.errors import SessionError
from mixdown.media import read_audio

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
META = json.loads((DATA / "real_audio.json").read_text())["files"]
SCHEDULES = [[1, 7, 480], [4096], [10000, 3, 1], [480, 4096, 7]]


# ------------------------------------------------------------------------- helpers


def _regions_16k(name: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Speech phrases of a 16 kHz test file (measured once on the clean file) and the pauses around them."""
    speech = [tuple(r) for r in META[name]["speech"]]
    n = META[name]["frames"]
    pauses, prev = [], 0
    for a, b in speech:
        pauses.append((prev, a))
        prev = b
    pauses.append((prev, n))
    return speech, [(a, b) for a, b in pauses if b > a]


def _regions_from_clean(x: np.ndarray, fs: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Speech = 10 ms frames of the clean signal within 35 dB of its loudest; pauses = 100 ms clear of them."""
    from scipy.ndimage import binary_dilation

    hop = fs // 100
    n = x.shape[0] // hop
    lv = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-20)
    act = lv > lv.max() - 35
    near = binary_dilation(act, iterations=10)

    def runs(m: np.ndarray) -> list[tuple[int, int]]:
        e = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
        return [(int(a) * hop, int(b) * hop) for a, b in zip(np.flatnonzero(e == 1), np.flatnonzero(e == -1))]

    return runs(act), runs(~near)


def _load(which: str) -> tuple[np.ndarray, int, list[tuple[int, int]], list[tuple[int, int]]]:
    if which == "host44":
        x, fs = read_audio(ROOT / "examples/podcast/media/host.flac")
        x = x[0, 13 * fs : 28 * fs].astype(np.float64)
        speech, pauses = _regions_from_clean(x, fs)
    else:
        name = f"speech_{which}_16k.flac"
        x, fs = read_audio(DATA / name)
        x = x[0].astype(np.float64)
        speech, pauses = _regions_16k(name)
    return x, fs, speech, pauses


def _rms_db(x: np.ndarray, regions: list[tuple[int, int]]) -> float:
    v = np.concatenate([x[a:b] for a, b in regions]).astype(np.float64)
    return float(10 * np.log10(np.mean(v**2)))


def _si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio, dB (Le Roux et al. 2019)."""
    a = np.dot(est, ref) / np.dot(ref, ref)
    target = a * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


def _one_shot(proc, x: np.ndarray, fs: int) -> np.ndarray:
    """Mono signal through a processor, flushed and with its latency removed."""
    proc.prepare(fs, 8192, 1)
    lat = proc.latency
    padded = np.concatenate([x, np.zeros(lat)]).astype(np.float32)[None]
    out = np.concatenate([proc.process(padded[:, i : i + 8192], i) for i in range(0, padded.shape[1], 8192)], axis=1)
    return out[0, lat : lat + x.shape[0]].astype(np.float64)


def _run(proc, x: np.ndarray, fs: int, schedule: list[int]) -> np.ndarray:
    proc.prepare(fs, 10000, x.shape[0])
    outs, pos, i = [], 0, 0
    while pos < x.shape[1]:
        b = schedule[i % len(schedule)]
        outs.append(proc.process(x[:, pos : pos + b], pos))
        pos += b
        i += 1
    return np.concatenate(outs, axis=1)


def _learned_profile(y: np.ndarray, fs: int, pauses: list[tuple[int, int]]) -> dict[str, float]:
    meter = SpectrumMeter(fs, regions=pauses, keep_frames=True)
    meter.process(y.astype(np.float32)[None], 0)
    learned = noise_profile(meter)
    assert learned is not None
    return noise_profile_params(learned[0])


# ------------------------------------------------------------------ the contract


def _configs(fs: int) -> dict[str, tuple[type, dict]]:
    return {
        "denoise": (Denoise, {"amount_db": 20.0, **noise_profile_params(np.full(30, -45.0))}),
        "dehum": (Dehum, {"freq_hz": 50.0, "harmonics": 6}),
        "declick": (Declick, {"threshold": 6.0}),
        "deesser": (DeEsser, {"threshold_db": -40.0, "freq_hz": 5000.0}),
    }


def _contract_signal(channels: int, n: int, fs: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    x, _ = read_audio(DATA / "speech_host_16k.flac", sample_rate=fs)
    x = np.tile(x[:, 4000 : 4000 + n], (channels, 1)) * np.linspace(1.0, 0.6, channels)[:, None]
    x = x + 0.003 * rng.standard_normal(x.shape)
    x[:, n // 3] += 0.6  # a click
    x[:, n // 3 + 1500] += 0.05  # a faint one, found only at low thresholds
    return x.astype(np.float32)


@pytest.mark.parametrize("kind", ["denoise", "dehum", "declick", "deesser"])
@pytest.mark.parametrize("channels", [1, 2])
def test_any_block_split_equals_one_pass(kind, channels):
    fs = 16000
    cls, params = _configs(fs)[kind]
    x = _contract_signal(channels, 12000, fs)
    ref = _run(cls(**params), x, fs, [x.shape[1]])
    assert ref.shape == x.shape and ref.dtype == np.float32 and np.all(np.isfinite(ref))
    assert not np.array_equal(ref, x), "the configuration must make the processor work"
    for sched in SCHEDULES:
        out = _run(cls(**params), x, fs, sched)
        assert out.tobytes() == ref.tobytes(), f"{kind} blocks {sched}"


@pytest.mark.parametrize("kind,name", [("denoise", "amount_db"), ("denoise", "threshold_db"),
                                       ("deesser", "threshold_db"), ("deesser", "range_db"),
                                       ("declick", "threshold")])
def test_automation_keeps_block_invariance(kind, name):
    fs = 16000
    cls, params = _configs(fs)[kind]
    spec = cls.PARAMS[name]
    base = float(params.get(name, spec.default))
    other = spec.max if kind == "declick" else (base + 6.0 if base + 6.0 <= spec.max else base - 6.0)
    env = Envelope([301, 3000, 5603, 8000], [base, other, other, base], ["linear", "exp", "hold", "linear"],
                   unit=spec.unit)
    x = _contract_signal(2, 12000, fs)

    def make():
        p = cls(**params)
        p.automate(name, env)
        return p

    ref = _run(make(), x, fs, [x.shape[1]])
    assert not np.array_equal(ref, _run(cls(**params), x, fs, [x.shape[1]]))
    for sched in SCHEDULES[:2]:
        assert _run(make(), x, fs, sched).tobytes() == ref.tobytes(), f"{kind}.{name} blocks {sched}"


def test_reported_latency_is_the_delay():
    fs = 48000
    rng = np.random.default_rng(0)
    x = (0.01 * rng.standard_normal((1, 20000))).astype(np.float32)
    # an empty profile removes nothing: the output is the input, late by exactly the latency
    d = Denoise()
    y = _run(d, x, fs, [4096])
    lat = d.latency
    assert lat == 2048 + 2 * 512
    assert np.max(np.abs(y[0, lat:] - x[0, :-lat])) < 1e-6
    assert np.max(np.abs(y[0, :lat])) < 1e-6
    # quiet noise has no clicks: declick returns the very samples, late by its latency
    c = Declick()
    y = _run(c, x, fs, [4096])
    assert c.clicks == 0
    assert np.array_equal(y[0, c.latency :], x[0, : -c.latency])


def test_reset_equals_fresh():
    fs = 16000
    x = _contract_signal(2, 9000, fs)
    for kind, (cls, params) in _configs(fs).items():
        p = cls(**params)
        _run(p, x[:, ::-1].copy(), fs, [1000])
        p.reset()
        again = np.concatenate([p.process(x[:, i : i + 1000], i) for i in range(0, x.shape[1], 1000)], axis=1)
        assert np.array_equal(again, _run(cls(**params), x, fs, [1000])), kind


# ----------------------------------------------------------------------- denoise


@pytest.mark.parametrize("which,colour", [("host", "white"), ("guest", "white"), ("host44", "white"),
                                          ("host44", "pink")])
def test_denoise_on_real_speech(which, colour):
    """Done-when: noise floor in pauses -15 dB or more, speech level within 1 dB, SI-SDR up."""
    x, fs, speech, pauses = _load(which)
    rng = np.random.default_rng(11)
    noise = rng.standard_normal(x.shape[0])
    if colour == "pink":  # -3 dB/octave: white through Kellet's pink filter approximation
        import scipy.signal as sig

        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1, -2.494956002, 2.017265875, -0.522189400]
        noise = sig.lfilter(b, a, noise)
    noise *= 10 ** (-40 / 20) / np.sqrt(np.mean(noise**2))  # -40 dB RMS, known level
    y = x + noise
    p = Denoise(amount_db=24.0, threshold_db=12.0, **_learned_profile(y, fs, pauses))
    out = _one_shot(p, y, fs)
    floor_drop = _rms_db(y, pauses) - _rms_db(out, pauses)
    speech_change = _rms_db(out, speech) - _rms_db(y, speech)
    assert floor_drop >= 15.0, f"noise floor in pauses dropped only {floor_drop:.1f} dB"
    assert abs(speech_change) < 1.0, f"speech level changed {speech_change:+.2f} dB"
    assert abs(_rms_db(out, speech) - _rms_db(x, speech)) < 1.0
    gain = _si_sdr(x, out) - _si_sdr(x, y)
    assert gain >= 3.0, f"SI-SDR improved only {gain:.2f} dB"


def test_denoise_profile_parameters():
    names = PROFILE_PARAMS
    assert len(names) == 30 and names[0] == "noise_25_db" and "noise_1k_db" in names and names[-1] == "noise_20k_db"
    lv = np.full(30, -60.0)
    lv[-3:] = np.nan  # above Nyquist: copies the nearest measured band
    params = noise_profile_params(lv)
    assert params["noise_20k_db"] == -60.0
    with pytest.raises(ValueError):
        noise_profile_params(np.zeros(29))
    with pytest.raises(ValueError):
        Denoise(noise_1k_db=5.0)  # above 0 dB full scale


def test_denoise_learns_what_the_noise_is():
    """The learned profile of white noise has its analytic band levels: 10 log10(2 s^2 / fs * bandwidth)."""
    from mixdown.analysis.spectrum import THIRD_OCTAVE_HZ

    fs = 48000
    s = 0.01
    y = s * np.random.default_rng(2).standard_normal(fs * 4)
    meter = SpectrumMeter(fs, keep_frames=True)
    meter.process(y.astype(np.float32)[None], 0)
    levels, floor = noise_profile(meter, quantile=1.0)
    bw = np.array(THIRD_OCTAVE_HZ) * (2 ** (1 / 6) - 2 ** (-1 / 6))
    expect = 10 * np.log10(2 * s**2 / fs * bw)
    ok = (np.array(THIRD_OCTAVE_HZ) > 200) & (np.array(THIRD_OCTAVE_HZ) < 16000)
    assert np.max(np.abs(levels[ok] - expect[ok])) < 0.5
    assert abs(floor - 20 * np.log10(s)) < 0.3


# ------------------------------------------------------------------------- dehum


def _hum(n: int, fs: int, f0: float, level_db: float, harmonics: int) -> np.ndarray:
    t = np.arange(n) / fs
    ph = np.random.default_rng(4).uniform(0, 2 * np.pi, harmonics)
    return sum(10 ** ((level_db - 2 * (k - 1)) / 20) * np.sqrt(2) * np.sin(2 * np.pi * k * f0 * t + ph[k - 1])
               for k in range(1, harmonics + 1))


@pytest.mark.parametrize("which,f0,level", [("host", 49.93, -45.0), ("guest", 60.04, -50.0),
                                            ("host44", 50.07, -55.0)])
def test_dehum_finds_and_removes_hum_on_real_speech(which, f0, level):
    """Done-when: hum at 50/60 Hz and its harmonics falls by at least 30 dB."""
    x, fs, speech, pauses = _load(which)
    hum = _hum(x.shape[0], fs, f0, level, 8)
    y = (x + hum).astype(np.float32)[None]
    whole, quiet = hum_meter(fs), pause_meter(fs, regions=pauses)
    whole.process(y, 0)
    quiet.process(y, 0)
    found = detect_hum(whole, pauses=quiet)
    assert found is not None and found.mains_hz == round(f0 / 10) * 10
    assert abs(found.fundamental_hz - f0) < 0.01, found
    assert found.harmonics[0] == 1 and found.highest >= 8
    # the notch cascade is linear: the hum's own path through it gives its reduction exactly
    proc = dict(freq_hz=found.fundamental_hz, harmonics=found.highest)
    h_out = _one_shot(Dehum(**proc), hum, fs)
    t = np.arange(x.shape[0]) / fs
    settled = slice(fs, None)  # the notches ring in over ~0.2 s
    for k in range(1, 9):
        ref = np.exp(-2j * np.pi * k * f0 * t[settled])
        drop = 20 * np.log10(abs(hum[settled] @ ref) / abs(h_out[settled] @ ref))
        assert drop >= 30.0, f"harmonic {k}: only {drop:.1f} dB"
    total = 10 * np.log10(np.mean(hum[settled] ** 2) / np.mean(h_out[settled] ** 2))
    assert total >= 30.0
    # the notches take a little of the voice too (most where its harmonics sit near the hum's)
    s_out = _one_shot(Dehum(**proc), x, fs)
    assert abs(_rms_db(s_out, speech) - _rms_db(x, speech)) < 1.5


@pytest.mark.parametrize("name", ["speech_host_16k.flac", "speech_guest_16k.flac", "music_16k.flac"])
def test_no_hum_in_clean_recordings(name):
    x, fs = read_audio(DATA / name)
    assert detect_hum_array(x, fs) is None


def test_notch_response():
    fs = 48000
    t = np.arange(3 * fs) / fs
    p = dict(freq_hz=50.0, harmonics=4, q=30.0)
    hum = np.sin(2 * np.pi * 150.0 * t)
    out = _one_shot(Dehum(**p), hum, fs)
    assert 20 * np.log10(np.std(out[fs:]) / np.std(hum[fs:])) < -60
    tone = np.sin(2 * np.pi * 1000.0 * t)
    out = _one_shot(Dehum(**p), tone, fs)
    assert abs(20 * np.log10(np.std(out[fs:]) / np.std(tone[fs:]))) < 0.05
    d = Dehum(freq_hz=50.0, harmonics=40)
    d.prepare(8000, 256, 1)
    assert max(d.notch_frequencies()) < 0.95 * 4000


def test_dehum_errors():
    with pytest.raises(ValueError):
        Dehum(harmonics=2.5)
    d = Dehum(freq_hz=900.0)
    with pytest.raises(SessionError):
        d.prepare(1000, 64, 1)


# ----------------------------------------------------------------------- declick


@pytest.mark.parametrize("which", ["host", "guest", "host44"])
def test_declick_repairs_clicks_on_real_speech(which):
    x, fs, _, _ = _load(which)
    rng = np.random.default_rng(3)
    n = x.shape[0]
    where = np.sort(rng.choice(np.arange(fs // 10, n - fs // 10, 97), size=int(n / fs * 4), replace=False))
    clicks = np.zeros(n)
    for p in where:  # sharp clicks and short crackles, up to 0.5 ms
        w = int(rng.integers(1, max(2, int(fs * 0.0005))))
        clicks[p : p + w] += rng.choice([-1, 1]) * rng.uniform(0.1, 0.5) * np.exp(-np.arange(w) / max(w / 3, 1)) \
            * rng.choice([-1, 1], size=w)
    y = x + clicks
    d = Declick()
    out = _one_shot(d, y, fs)

    def snr(e: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(x**2) / np.sum(e**2)))

    assert snr(out - x) - snr(y - x) >= 6.0
    # a click counts as repaired when less than a tenth of its energy is left
    left = [p for p in where if np.sum((out[p - 2 : p + 40] - x[p - 2 : p + 40]) ** 2)
            > 0.1 * np.sum(clicks[p - 2 : p + 40] ** 2)]
    assert len(left) <= 0.15 * len(where), f"{len(left)} of {len(where)} clicks left"
    # clean speech is (nearly) untouched
    clean = _one_shot(Declick(), x, fs)
    assert snr(clean - x) >= 35.0


# ----------------------------------------------------------------------- deesser


def _tone(f: float, level_dbfs_rms: float, fs: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    return 10 ** (level_dbfs_rms / 20) * np.sqrt(2) * np.sin(2 * np.pi * f * t)


@pytest.mark.parametrize("range_db,expect", [(12.0, 12.0), (30.0, 15.0)])
def test_deesser_static_curve(range_db, expect):
    """A tone at the band centre, 20 dB over the threshold, ratio 4: -(20 * 3/4) dB, capped by the range."""
    fs = 48000
    x = _tone(6000.0, -10.0, fs)
    out = _one_shot(DeEsser(freq_hz=6000.0, threshold_db=-30.0, ratio=4.0, range_db=range_db), x, fs)
    drop = 20 * np.log10(np.std(x[fs // 2 :]) / np.std(out[fs // 2 :]))
    assert abs(drop - expect) < 0.3


def test_deesser_is_transparent_below_threshold_and_outside_its_band():
    fs = 48000
    d = DeEsser(freq_hz=6000.0, threshold_db=-20.0)
    quiet = _tone(6000.0, -30.0, fs).astype(np.float32)
    assert np.array_equal(d(quiet[None], fs)[0], quiet)
    low = _tone(300.0, -10.0, fs)  # loud, but a low tone hardly reaches the band
    out = _one_shot(DeEsser(freq_hz=6000.0, threshold_db=-30.0, range_db=20.0), low, fs)
    assert abs(20 * np.log10(np.std(out) / np.std(low))) < 0.1


def test_deesser_on_real_speech_touches_only_sibilance():
    import scipy.signal as sig

    from mixdown.dsp.eq import rbj_biquad

    x, fs, speech, _ = _load("host44")
    bright = sig.sosfilt(rbj_biquad("high_shelf", fs, 4000, 10.0, 0.707)[None], x) * 0.7
    out = _one_shot(DeEsser(freq_hz=6500.0, threshold_db=-28.0, ratio=4.0, range_db=10.0), bright, fs)
    lo = sig.butter(4, 1500, fs=fs, output="sos")
    hi = sig.butter(4, [5000, 9000], btype="band", fs=fs, output="sos")
    low_change = _rms_db(sig.sosfilt(lo, out), speech) - _rms_db(sig.sosfilt(lo, bright), speech)
    hi_b, hi_o = sig.sosfilt(hi, bright), sig.sosfilt(hi, out)
    # the loudest 1 % of 5 ms sibilance frames come down, the voice's body does not
    h = int(fs * 0.005)
    m = hi_b.shape[0] // h
    eb = np.mean(hi_b[: m * h].reshape(m, h) ** 2, axis=1)
    eo = np.mean(hi_o[: m * h].reshape(m, h) ** 2, axis=1)
    top = eb >= np.quantile(eb, 0.99)
    assert abs(low_change) < 0.2
    assert 10 * np.log10(eb[top].sum() / eo[top].sum()) >= 4.0


def test_deesser_needs_its_band_below_nyquist():
    with pytest.raises(SessionError):
        DeEsser(freq_hz=9000.0).prepare(16000, 64, 1)


def test_spectrum_meters_are_block_invariant():
    x, fs = read_audio(DATA / "speech_guest_16k.flac")
    hum = _hum(x.shape[1], fs, 60.0, -50.0, 4).astype(np.float32)
    y = np.tile(x + hum, (2, 1))

    def feed(meter, sched):
        pos, i = 0, 0
        while pos < y.shape[1]:
            b = sched[i % len(sched)]
            meter.process(y[:, pos : pos + b], pos)
            pos += b
            i += 1
        return meter

    regions = [(3000, 20000), (30000, 60000)]
    ref = feed(SpectrumMeter(fs, regions=regions, keep_frames=True), [y.shape[1]])
    ref_h = feed(hum_meter(fs), [y.shape[1]])
    for sched in ([1, 7, 480], [4096], [10000, 3, 1]):
        m = feed(SpectrumMeter(fs, regions=regions, keep_frames=True), sched)
        assert m.frames == ref.frames and np.allclose(m.psd(), ref.psd(), rtol=1e-12, atol=0)
        assert np.allclose(m.frame_band_power()[1], ref.frame_band_power()[1], rtol=1e-12, atol=0)
        h = feed(hum_meter(fs), sched)
        assert np.allclose(h.phase_products()[0], ref_h.phase_products()[0], rtol=1e-12, atol=0)
