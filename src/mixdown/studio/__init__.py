"""``mixdown studio``: the session as a mixing desk in the browser.

A local server (FastAPI on uvicorn, bound to 127.0.0.1, one token per start) serves
one page and a JSON API over one session: the timeline with waveforms from
precomputed peaks, speech regions and gain curves; keyframe editing; a mixer with
faders, pan, mute, solo, colours and groups; playback of a preview bundle mixed by
Web Audio; meters and the loudness curve; the decision list; Save, Render and
Export. What the page changes is the plain session file.

Modules: :mod:`.state` (the session and its files), :mod:`.app` (the HTTP API),
:mod:`.peaks` (waveform pyramids), :mod:`.preview` (the preview bundle),
:mod:`.analysis` (speech and loudness), :mod:`.jobs` (render jobs),
:mod:`.taper` (the fader law), :mod:`.serve` (start and stop).
"""
