"""Realistic interview material built from the bundled real voices: what real rooms add.

The bundled stems (`examples/podcast/media/host.flac`, `guest.flac`) are studio-clean,
with digital silence wherever the other person talks. Real two-mic recordings are not:
each mic hears its room (pink noise and a little HVAC rumble, 35–45 dB under the
speech), one mic picks up mains hum (50 Hz and harmonics), each mic hears the other
speaker about 20 dB down and a few milliseconds late (bleed), one speaker drifts in
level as they lean away from the mic, and the two speakers sit 8 dB apart. This
module builds such a programme, of any length, from the real voices, plus a
full-level music bed (the bundled music) and a stereo creek-like ambience. It is
deterministic (seeded) and streamed in chunks, so a 2-hour programme costs no more
memory than a 3-minute one.

Used by ``benchmarks/auto_real.py`` and by tests that need noisy, bleeding,
humming dialogue with known ground truth (the speech regions of each speaker are
those of the clean stems, see ``speech_regions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "examples" / "podcast" / "media"
SR = 48000
CHUNK = SR * 30


@dataclass(frozen=True)
class Room:
    """What the room and the mics add (levels in dB relative to full scale unless said)."""

    guest_offset_db: float = -8.0        # the guest sits this far under the host
    noise_db: float = -64.0              # pink room noise, RMS dBFS (~40 dB under the host's speech)
    rumble_db: float = -70.0             # HVAC rumble below 120 Hz, RMS dBFS
    hum_hz: float = 50.0                 # mains frequency of the hum on the guest's mic
    hum_db: float = -52.0                # hum fundamental, RMS dBFS; harmonics fall 3 dB each
    hum_harmonics: int = 8
    bleed_db: float = -20.0              # each mic hears the other speaker this far down
    bleed_delay_ms: tuple[float, float] = (2.6, 3.4)   # host->guest mic, guest->host mic
    drift_db: float = 3.0                # the host's level wanders +-3 dB
    drift_period_s: float = 97.0
    music_lufs: float = -16.0            # a full-level bed
    ambience_db: float = -42.0           # creek-like ambience, RMS dBFS per channel
    seed: int = 20261202


def _voices() -> tuple[np.ndarray, np.ndarray]:
    from mixdown.media.write import read_audio

    host, _ = read_audio(POD / "host.flac", sample_rate=SR)
    guest, _ = read_audio(POD / "guest.flac", sample_rate=SR)
    n = min(host.shape[1], guest.shape[1])
    return host[0, :n].astype(np.float64), guest[0, :n].astype(np.float64)


def _looped(x: np.ndarray, start: int, n: int) -> np.ndarray:
    idx = (np.arange(start, start + n) % x.shape[-1])
    return x[..., idx]


class _Pink:
    """Streaming pink noise: white noise through Kellet's 3-pole approximation, state kept."""

    B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
    A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])

    def __init__(self, rng: np.random.Generator, channels: int) -> None:
        from scipy.signal import lfilter_zi

        self.rng = rng
        self.zi = np.tile(lfilter_zi(self.B, self.A) * 0.0, (channels, 1))
        self.channels = channels

    def __call__(self, n: int, rms_db: float) -> np.ndarray:
        from scipy.signal import lfilter

        w = self.rng.standard_normal((self.channels, n))
        y, self.zi = lfilter(self.B, self.A, w, axis=-1, zi=self.zi)
        # Kellet's filter has unit-ish gain at low frequencies; scale by its measured RMS (0.105 of white)
        return y * (10 ** (rms_db / 20) / 0.105)


class _Lowpassed:
    """Streaming noise below a corner (rumble), state kept."""

    def __init__(self, rng: np.random.Generator, channels: int, corner_hz: float) -> None:
        from scipy.signal import butter

        self.sos = butter(2, corner_hz, fs=SR, output="sos")
        self.zi = np.zeros((self.sos.shape[0], channels, 2))
        self.rng = rng
        self.channels = channels
        self.gain: float | None = None

    def __call__(self, n: int, rms_db: float) -> np.ndarray:
        from scipy.signal import sosfilt

        w = self.rng.standard_normal((self.channels, n))
        y, self.zi = sosfilt(self.sos, w, axis=-1, zi=self.zi)
        if self.gain is None:
            self.gain = 1.0 / max(float(np.sqrt(np.mean(y ** 2))), 1e-12)
        return y * self.gain * 10 ** (rms_db / 20)


def _hum(start: int, n: int, room: Room) -> np.ndarray:
    t = np.arange(start, start + n) / SR
    out = np.zeros(n)
    for k in range(1, room.hum_harmonics + 1):
        amp = np.sqrt(2) * 10 ** ((room.hum_db - 3.0 * (k - 1)) / 20)
        out += amp * np.sin(2 * np.pi * room.hum_hz * k * t + 0.7 * k)
    return out


def _delayed(x: np.ndarray, start: int, n: int, delay: int) -> np.ndarray:
    return _looped(x, start - delay, n)


def build(folder: Path, seconds: float, room: Room = Room()) -> dict[str, Path]:
    """Write host mic, guest mic, music and ambience as 24-bit FLAC at 48 kHz.

    Parameters
    ----------
    folder : Path
        Where the files go (``host.flac``, ``guest.flac``, ``music.flac``, ``ambience.flac``).
    seconds : float
        Programme length.
    room : Room

    Returns
    -------
    dict of str to Path
    """
    import soundfile as sf

    from mixdown.analysis.loudness import measure_array
    from mixdown.media.write import read_audio

    folder.mkdir(parents=True, exist_ok=True)
    total = int(round(seconds * SR))
    host, guest = _voices()
    guest = guest * 10 ** (room.guest_offset_db / 20) * _level_ratio(host, guest)
    music, _ = read_audio(POD / "music.ogg", sample_rate=SR)
    m_lufs = measure_array(music, SR).integrated_lufs
    music = music.astype(np.float64) * 10 ** ((room.music_lufs - m_lufs) / 20)
    rng = np.random.default_rng(room.seed)
    pinks = {k: _Pink(rng, 1) for k in ("host", "guest")}
    rumble = {k: _Lowpassed(rng, 1, 120.0) for k in ("host", "guest")}
    amb_noise = _Pink(rng, 2)
    amb_mod = _Lowpassed(rng, 2, 3.0)
    bleed = 10 ** (room.bleed_db / 20)
    d_hg, d_gh = (int(round(ms * SR / 1000)) for ms in room.bleed_delay_ms)
    paths = {k: folder / f"{k}.flac" for k in ("host", "guest", "music", "ambience")}
    files = {k: sf.SoundFile(p, "w", samplerate=SR, channels=2 if k in ("music", "ambience") else 1,
                             subtype="PCM_24") for k, p in paths.items()}
    try:
        for start in range(0, total, CHUNK):
            n = min(CHUNK, total - start)
            t = np.arange(start, start + n) / SR
            drift = 10 ** (room.drift_db * np.sin(2 * np.pi * t / room.drift_period_s) / 20)
            h = _looped(host, start, n) * drift
            g = _looped(guest, start, n)
            host_mic = (h + bleed * _delayed(guest, start, n, d_gh)
                        + pinks["host"](n, room.noise_db)[0] + rumble["host"](n, room.rumble_db)[0])
            guest_mic = (g + bleed * _delayed(host, start, n, d_hg) * _looped(drift, 0, n)
                         + pinks["guest"](n, room.noise_db)[0] + rumble["guest"](n, room.rumble_db)[0]
                         + _hum(start, n, room))
            # a creek: bright pink noise whose level wanders quickly (ripples) around its mean
            amb = amb_noise(n, room.ambience_db) * (1.0 + 0.5 * np.tanh(amb_mod(n, 0.0)))
            files["host"].write(np.clip(host_mic, -1, 1).astype(np.float32))
            files["guest"].write(np.clip(guest_mic, -1, 1).astype(np.float32))
            files["music"].write(np.clip(_looped(music, start, n), -1, 1).T.astype(np.float32))
            files["ambience"].write(np.clip(amb, -1, 1).T.astype(np.float32))
    finally:
        for f in files.values():
            f.close()
    return paths


def _level_ratio(host: np.ndarray, guest: np.ndarray) -> float:
    """Gain that brings the guest's speech to the host's (so the offset alone sets them apart)."""
    from mixdown.analysis.loudness import measure_array

    lh = measure_array(host[None, :], SR).integrated_lufs
    lg = measure_array(guest[None, :], SR).integrated_lufs
    return float(10 ** ((lh - lg) / 20))


def speech_regions(seconds: float) -> dict[str, list[tuple[int, int]]]:
    """Ground truth: each speaker's speech, in samples at 48 kHz, from the clean stems' phrases."""
    import json

    conv = json.loads((ROOT / "examples" / "podcast" / "conversation.json").read_text())
    period = 77.5
    out: dict[str, list[tuple[int, int]]] = {"host": [], "guest": []}
    total = int(round(seconds * SR))
    loops = int(np.ceil(seconds / period))
    for k in range(loops):
        for u in conv["utterances"]:
            who = u["speaker"]
            a = int(round((u["speech"][0] + k * period) * SR))
            b = int(round((u["speech"][1] + k * period) * SR))
            if a < total:
                out[who].append((a, min(b, total)))
    return out
