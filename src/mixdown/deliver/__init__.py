"""Delivery: specs, encoders, deliverables, compliance check.

- :mod:`mixdown.targets` (not here: below the master stage) delivery presets
- :mod:`.formats`       format names, suffixes, bit rates, lossy headroom
- :mod:`.encode`        streaming, atomic encoders for every format (WAV, BWF, FLAC, MP3, AAC, Opus)
- :mod:`.bwf`           Broadcast WAV with loudness in ``bext`` (EBU Tech 3285 v2), writer and reader
- :mod:`.mux`           the mix into a copy of a video (video packets copied, never re-encoded)
- :mod:`.deliverables`  every deliverable of a session from one render, verified after encoding
- :mod:`.check`         ``mixdown check``: measure any file and judge it against a spec

Nothing heavy is imported here; import the module you need.
"""
