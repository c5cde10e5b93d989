"""Device previews and translation QC (issue 17): responses measured against the curve
data, QC against constructed mixes with known answers, block-size invariance, the CLI."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import csd, welch

from mixdown.translate import devices, reports_from_array, translate_file
from mixdown.translate.device import DeviceChain
from mixdown.translate.filters import level_db

SR = 48000
REPO = Path(__file__).resolve().parents[1]


def _relative_curve(d):
    c = np.array(d.response_db)
    return c - c[list(d.centres_hz).index(1000)]


def _fitted(d):
    return [i for i, r in enumerate(d.response_db) if r >= d.fit_floor_db]


@pytest.mark.parametrize("name", list(devices()))
def test_response_on_sine_tones_matches_curve(name):
    """Steady sines at each octave centre through the device: level re 1 kHz = the data's curve."""
    d = devices()[name]
    rel = _relative_curve(d)
    t = np.arange(SR * 2) / SR
    levels = []
    for f in d.centres_hz:
        x = np.tile(np.sin(2 * np.pi * f * t).astype(np.float32), (2, 1))
        y = DeviceChain(d, SR, 2, filters_only=True).process(x, 0)
        tail = y[0, SR:]  # settled
        levels.append(20 * np.log10(np.sqrt(2 * np.mean(tail.astype(np.float64) ** 2))))
    levels = np.array(levels)
    measured = levels - levels[list(d.centres_hz).index(1000)]
    for i in _fitted(d):
        assert abs(measured[i] - rel[i]) < 0.1, (d.centres_hz[i], measured[i], rel[i])


def _pink(n, seed=3, channels=2):
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((channels, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[:, 1:] /= np.sqrt(f[1:])
    spec[:, 0] = 0
    x = np.fft.irfft(spec, n=n, axis=1)
    return (0.1 * x / np.std(x)).astype(np.float32)


def _transfer_db(x, y, freqs):
    """H1 estimate |Pxy / Pxx| averaged over a third of an octave around each frequency."""
    f, pxy = csd(x, y, fs=SR, nperseg=1 << 15)
    _, pxx = welch(x, fs=SR, nperseg=1 << 15)
    h = np.abs(pxy / pxx)
    out = []
    for fc in freqs:
        band = (f > fc * 2 ** (-1 / 12)) & (f < fc * 2 ** (1 / 12))
        out.append(20 * np.log10(np.mean(h[band])))
    return np.array(out)


@pytest.mark.parametrize("name", ["phone", "earbuds", "laptop"])
def test_preview_file_has_the_curve_on_pink_noise(tmp_path, name):
    """The written preview of pink noise: transfer function within 1 dB of the curve at octave centres."""
    d = devices()[name]
    x = _pink(SR * 20)
    src = tmp_path / "pink.wav"
    sf.write(src, x.T, SR, subtype="FLOAT")
    translate_file(src, name, out_dir=tmp_path, speech=[])
    y, _ = sf.read(tmp_path / f"{name}.wav", always_2d=True)
    ref = (x[0] + x[1]) / 2 if d.mono else x[0]
    h = _transfer_db(ref, y[:, 0], d.centres_hz)
    rel = _relative_curve(d)
    h -= h[list(d.centres_hz).index(1000)]
    for i in _fitted(d):
        if d.response_db[i] > -15:  # deep in the stop band the estimate is the noise floor's
            assert abs(h[i] - rel[i]) < 1.0, (d.centres_hz[i], h[i], rel[i])


def test_car_and_tv_previews_are_block_size_invariant(tmp_path):
    """Noise chunks, filter states and the TV's compressor: the same bytes for any block size."""
    rng = np.random.default_rng(5)
    x = (0.2 * rng.standard_normal((2, SR * 3)) * np.sin(np.linspace(0, 9, SR * 3)) ** 2).astype(np.float32)
    src = tmp_path / "mix.wav"
    sf.write(src, x.T, SR, subtype="FLOAT")
    digests = []
    for block in (1000, 65536):
        out = tmp_path / f"b{block}"
        out.mkdir()
        translate_file(src, "all", out_dir=out, speech=[(0, SR)], block=block)
        digests.append({p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())})
    assert digests[0] == digests[1] and len(digests[0]) == 5


def _speech_like(n, seed=1):
    """Noise in 1-4 kHz switched on and off like syllables (ground-truth regions: all of it is speech)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    band = sosfilt(butter(4, [300, 4000], btype="bandpass", output="sos", fs=SR), rng.standard_normal(n))
    gate = (np.sin(2 * np.pi * 4 * np.arange(n) / SR) > 0).astype(float)  # 125 ms on, 125 ms off
    return band * gate


def _music_like(n, seed=2):
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    return sosfilt(butter(2, [100, 6000], btype="bandpass", output="sos", fs=SR), rng.standard_normal(n))


def _level(x, db):
    return x * (10 ** (db / 20) / np.sqrt(np.mean(x ** 2)))


def _measure(reports, device, name):
    rep = next(r for r in reports if r.device == device)
    return next(m for m in rep.measures if m.name == name)


def test_music_masking_dialogue_warns_on_the_phone_and_clear_dialogue_passes():
    n = SR * 8
    speech = _level(_speech_like(n), -20)
    for music_db, expect in ((-22, "warn"), (-45, "pass")):
        mix = np.tile(speech + _level(_music_like(n), music_db), (2, 1)).astype(np.float32)
        m = _measure(reports_from_array(mix, SR, "phone", speech=[(0, n)]), "phone", "dialogue_clarity")
        assert m.status == expect, (music_db, m.value)


def test_polarity_inverted_channel_warns_on_mono_fold_down():
    n = SR * 4
    src = _level(_music_like(n), -20)
    rng = np.random.default_rng(9)
    wide = _level(rng.standard_normal(n), -40)  # a little decorrelated content
    ok = np.stack([src + wide, src - wide]).astype(np.float32)
    inverted = np.stack([src + wide, -(src - wide)]).astype(np.float32)
    assert _measure(reports_from_array(ok, SR, "phone", speech=[]), "phone", "mono_loss").status == "pass"
    bad = _measure(reports_from_array(inverted, SR, "phone", speech=[]), "phone", "mono_loss")
    assert bad.status == "warn" and bad.value > 15
    # a stereo device does not fold down: not measured there
    assert _measure(reports_from_array(inverted, SR, "earbuds", speech=[]), "earbuds", "mono_loss").status == "n/a"


def test_lost_content_and_peak_overload():
    n = SR * 2
    t = np.arange(n) / SR
    bass = np.tile(0.5 * np.sin(2 * np.pi * 60 * t), (2, 1)).astype(np.float32)
    lost = _measure(reports_from_array(bass, SR, "phone", speech=[]), "phone", "lost_content")
    assert lost.status == "warn" and lost.value > 99
    # 5.1 with the same full-scale tone in L, C and Ls: the BS.775 downmix sums to 1 + 2 x 0.7071
    tone = 0.9 * np.sin(2 * np.pi * 1000 * t) * np.minimum(1, t / 0.05)  # faded in: no onset transient
    five = np.zeros((6, n), dtype=np.float32)
    five[0] = five[2] = five[4] = tone
    peak = _measure(reports_from_array(five, SR, "earbuds", speech=[]), "earbuds", "peak")
    assert peak.status == "warn"
    at_1k = devices()["earbuds"].response_db[5] + level_db(devices()["earbuds"])
    assert peak.value == pytest.approx(20 * np.log10(0.9 * (1 + 2 * 0.70710678)) + at_1k, abs=0.1)


def _mixdown(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *args], check=False, capture_output=True, text=True, cwd=cwd)


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    x = np.zeros((2, SR), dtype=np.float32)
    src = tmp_path / "mix.wav"
    sf.write(src, x.T, SR)
    for args in (["preview", str(src), "--device", "radio", "-o", str(tmp_path / "p")],
                 ["preview", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "p")],
                 ["preview", str(src), "--dialogue", str(src), "-o", str(tmp_path / "p")],
                 ["check", str(src), "--target", "podcast", "--devices", "phone,radio"]):
        r = _mixdown(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("mixdown: error:"), r.stderr
    assert not (tmp_path / "p" / "phone.wav").exists()


def test_readme_translation_commands_as_written(tmp_path):
    """The README's translation commands, run exactly as written in a folder that sees the examples."""
    import json
    import re
    import shlex

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- translation-commands -->\n```\n(.*?)```", text, re.S).group(1)
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / "out").mkdir()
    t = np.arange(SR) / SR
    sf.write(tmp_path / "mix71.wav", np.tile(0.1 * np.sin(2 * np.pi * 440 * t), (8, 1)).T, SR)
    sf.write(tmp_path / "voice.wav", 0.1 * np.sin(2 * np.pi * 440 * t), SR)
    outs = []
    for line in block.strip().splitlines():
        args = shlex.split(line)
        assert args[0] == "mixdown"
        r = subprocess.run([sys.executable, "-m", "mixdown.cli", *args[1:]], check=False, capture_output=True,
                           text=True, cwd=tmp_path)
        assert r.returncode == 0, (line, r.stderr)
        outs.append(r.stdout)
    assert "translation PASS" in outs[1], outs[1]  # the bundled example's auto mix passes on every device
    previews = tmp_path / "out" / "previews"
    assert sorted(p.name for p in previews.iterdir()) == ["car.wav", "earbuds.wav", "laptop.wav", "phone.wav",
                                                          "tv.wav"]
    assert sf.info(str(previews / "phone.wav")).channels == 1
    tr = json.loads(outs[2])["translation"]
    assert tr["status"] == "pass" and [d["device"] for d in tr["devices"]] == ["phone", "tv", "car"]
    left, _ = sf.read(tmp_path / "out" / "left.wav", always_2d=True)
    assert np.std(left[:, 0]) > 1.5 * np.std(left[:, 1])  # a source at +90 is louder in the left ear
    assert sf.info(str(tmp_path / "out" / "headphones.wav")).channels == 2
