"""Channel layouts the meters know, and their BS.1770 channel weights."""

from __future__ import annotations

__all__ = ["DEFAULT_LAYOUT", "LAYOUT_WEIGHTS"]

#: Channel weights G_i of BS.1770 by layout, in channel order. LFE has weight 0
#: (excluded); surround channels 1.41 (+1.5 dB).
#:
#: 7.1 is FFmpeg's ``FL FR FC LFE BL BR SL SR``. BS.1770-4 weighs a channel by its
#: position: 1.41 from 60 to 120 degrees azimuth (below 30 degrees elevation), 1.0
#: elsewhere. The side surrounds (SL SR, +-90 degrees) are inside that range; the
#: back surrounds (BL BR) sit at +-135 to +-150 degrees in the 7.1 of ITU-R BS.2051
#: and get 1.0 -- as libebur128 weighs its M+-135 channels. (FFmpeg's ``ebur128``
#: filter gives every back and side channel 1.41, so it reads back-channel content
#: up to 1.5 dB louder.)
LAYOUT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "mono": (1.0,),
    "stereo": (1.0, 1.0),
    "5.0": (1.0, 1.0, 1.0, 1.41, 1.41),  # L R C Ls Rs
    "5.1": (1.0, 1.0, 1.0, 0.0, 1.41, 1.41),  # L R C LFE Ls Rs
    "7.1": (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41),  # FL FR FC LFE BL BR SL SR
}
DEFAULT_LAYOUT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}
