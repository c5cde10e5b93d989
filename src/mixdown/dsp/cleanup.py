"""Dialogue cleanup: broadband noise reduction, hum removal, click repair, de-essing.

Four processors, streaming and block-invariant like every processor:

``denoise``
    Spectral gating against a noise profile that is *data in the session*: 30
    third-octave band levels (``noise_25_db`` .. ``noise_20k_db``, dB re mean
    square 1, see :mod:`mixdown.analysis.spectrum`), measured by ``auto`` in the
    pauses between words. Streaming STFT on the absolute sample clock (frame ``j``
    starts at ``j * hop``), sqrt-Hann analysis and synthesis windows, 75 % overlap,
    overlap-add. To keep random noise peaks from opening single bins for a frame
    (the "warble" or musical noise of naive spectral subtraction), the power that
    is compared with the profile is smoothed over 5 frames (centred: 2 frames of
    lookahead) and 3 bins; the gain then opens fully on components ``threshold_db``
    above the profile, reaches ``-amount_db`` 6 dB lower, and closes no faster
    than ``release_ms``. Latency: ``nfft + 2 * hop`` samples (3072 at 44.1/48 kHz, 768 at 16 kHz).
``dehum``
    A cascade of narrow notches (RBJ cookbook, one biquad each, ``scipy.signal.sosfilt``
    with carried state) at the fundamental ``freq_hz`` and its ``harmonics - 1``
    overtones below 0.95 x Nyquist. Constant Q, so a small error in the fundamental
    costs every harmonic the same depth. Latency 0.
``declick``
    Detects clicks as outliers of the residual of a linear-prediction (AR) model
    fitted to each 20 ms frame, and repairs them by least-squares AR
    interpolation (Vaseghi & Rayner; Godsill & Rayner, *Digital Audio
    Restoration*, 1998) over the few samples of each click. Latency
    ``frame + lookahead`` (about 25 ms).
``deesser``
    Split-band compressor: a band-pass around ``freq_hz`` is split off
    (``band = BP(x)``, ``rest = x - band``, so nothing changes while no gain is
    applied), its level drives a compressor (threshold, ratio, at most
    ``range_db``), and only the band is turned down: ``y = rest + g * band``.
    Latency 0.

The gate/expander for room noise between words is :class:`mixdown.dsp.dynamics.Gate`.
The processors live in :mod:`~mixdown.dsp.denoise`, :mod:`~mixdown.dsp.bands` (dehum,
de-esser) and :mod:`~mixdown.dsp.declick`; this module gathers them.
"""

from __future__ import annotations

from .bands import DeEsser, Dehum
from .declick import Declick
from .denoise import PROFILE_FLOOR_DB, PROFILE_PARAMS, Denoise, noise_profile_params

__all__ = ["PROFILE_FLOOR_DB", "PROFILE_PARAMS", "DeEsser", "Declick", "Dehum", "Denoise", "noise_profile_params"]
