"""Binaural rendering (issue 17): HRIRs reproduced from the SOFA file itself, interaural
level/time differences, block-size invariance, `mixdown binaural` as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from mixdown.dsp.binaural import PARTITION, Binaural, render_array

SOFA = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")  # Debian's libmysofa1
SR = 48000


def _sofa_pair(azimuth, elevation):
    """The HRIR pair for a measured direction, read from the SOFA file with h5py (not mixdown's copy)."""
    h5py = pytest.importorskip("h5py")
    if not SOFA.is_file():
        pytest.skip("needs Debian's libmysofa1 (apt-get install libmysofa1)")
    with h5py.File(SOFA, "r") as f:
        pos = np.asarray(f["SourcePosition"])
        hit = np.flatnonzero((np.isclose(pos[:, 0], azimuth % 360)) & np.isclose(pos[:, 1], elevation))
        assert len(hit) == 1
        return np.asarray(f["Data.IR"][hit[0]]), int(np.asarray(f["Data.SamplingRate"]).ravel()[0])


@pytest.mark.parametrize(("az", "el"), [(90, 0), (0, 0), (-45, 0), (30, 0), (180, 0), (60, 30)])
def test_impulse_at_a_direction_reproduces_the_sofa_hrir(az, el):
    ir, rate = _sofa_pair(az, el)
    x = np.zeros((1, 4096), np.float32)
    x[0, 0] = 1.0
    y = render_array(x, rate, azimuth=az, elevation=el)
    assert np.max(np.abs(y[:, : ir.shape[1]] - ir)) < 1e-6
    assert np.max(np.abs(y[:, ir.shape[1]:])) < 1e-6


def _ild_itd(y):
    f, pl = welch(y[0], SR, nperseg=4096)
    _, pr = welch(y[1], SR, nperseg=4096)
    band = (f >= 2000) & (f <= 6000)
    ild = 10 * np.log10(pl[band].sum() / pr[band].sum())
    n = y.shape[1]
    # lag of the right ear behind the left: positive when the left ear hears it first
    xc = np.fft.irfft(np.fft.rfft(y[1], 2 * n) * np.conj(np.fft.rfft(y[0], 2 * n)))
    lags = np.concatenate([np.arange(n), np.arange(-n, 0)])
    near = np.abs(lags) < SR // 500  # within 2 ms
    lag = lags[near][np.argmax(np.abs(xc[near]))]
    return ild, lag / SR * 1000


def test_left_source_has_ild_and_itd_and_a_front_source_has_none():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal((1, SR * 2))).astype(np.float32)
    ild, itd = _ild_itd(render_array(noise, SR, azimuth=90))
    assert ild >= 6.0 and 0.4 <= itd <= 0.8, (ild, itd)
    ild, itd = _ild_itd(render_array(noise, SR, azimuth=0))
    assert abs(ild) < 1.0 and abs(itd) < 0.05


@pytest.mark.parametrize("channels", [1, 2, 6, 8])
def test_block_size_invariance(channels):
    rng = np.random.default_rng(channels)
    x = (0.1 * rng.standard_normal((channels, 30000))).astype(np.float32)
    outs = []
    for block in (97, 1024, 4096, 30000):
        b = Binaural(azimuth=40)
        b.prepare(SR, block, channels)
        outs.append(np.concatenate([b.process(x[:, i:i + block], i) for i in range(0, x.shape[1], block)], axis=1))
        assert b.latency == PARTITION
    assert all(o.tobytes() == outs[0].tobytes() for o in outs[1:])


def _mixdown(*args):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *args], check=False, capture_output=True, text=True)


def test_cli_71_file_side_left_is_the_plus_90_hrir(tmp_path):
    ir, rate = _sofa_pair(90, 0)
    x = np.zeros((8, rate), np.float32)
    x[6, 1000] = 0.5  # SL in FFmpeg's 7.1 order FL FR FC LFE BL BR SL SR
    src = tmp_path / "imp71.wav"
    sf.write(src, x.T, rate, subtype="FLOAT")
    r = _mixdown("binaural", str(src), "-o", str(tmp_path / "bin.wav"))
    assert r.returncode == 0, r.stderr
    y, sr = sf.read(tmp_path / "bin.wav", always_2d=True)
    assert sr == rate and y.shape == (rate, 2)
    assert np.max(np.abs(y[1000:1000 + ir.shape[1]].T - 0.5 * ir)) < 2e-6  # 24-bit quantisation
    assert np.max(np.abs(y[:1000])) == 0


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    three = tmp_path / "three.wav"
    sf.write(three, np.zeros((1000, 3), np.float32), SR)
    ok = tmp_path / "ok.wav"
    sf.write(ok, np.zeros((1000, 2), np.float32), SR)
    for args in (["binaural", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o.wav")],
                 ["binaural", str(three), "-o", str(tmp_path / "o.wav")],
                 ["binaural", str(ok), "-o", str(tmp_path / "o.mp3")],
                 ["binaural", str(ok), "-o", str(ok)],
                 ["binaural", str(ok), "--hrtf", str(ok), "-o", str(tmp_path / "o.wav")],
                 ["binaural", str(ok), "--azimuth", "400", "-o", str(tmp_path / "o.wav")]):
        r = _mixdown(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("mixdown: error:"), r.stderr
    assert not (tmp_path / "o.wav").exists()
