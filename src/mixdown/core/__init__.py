"""The bottom tier: pieces shared by analysis, dsp and media, importing nothing of mixdown above.

- :mod:`~mixdown.core.kernels`: the numba kernels (imported lazily: numba costs ~0.5 s)
- :mod:`~mixdown.core.bands`: third-octave band tables, FFT framing, band levels
- :mod:`~mixdown.core.layouts`: BS.1770 channel weights per layout
- :mod:`~mixdown.core.truepeak`: the true-peak interpolator (meter and limiter share it)
- :mod:`~mixdown.core.regions`: half-open sample regions (masks, complements)
"""
