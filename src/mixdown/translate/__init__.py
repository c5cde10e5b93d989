"""Playback translation: what phones, earbuds, laptops, TVs and cars do to a mix.

Device models are data (``devices.yaml``, representative curves: see that file);
:func:`translate_file` streams a mix through them, writing previews and measuring
translation QC per device. Sits beside ``mixdown.render``: it imports only
``dsp``, ``analysis`` and ``media``.
"""

from __future__ import annotations

from .downmix import matrix as downmix_matrix
from .models import DeviceModel, devices, load_devices, resolve
from .preview import (
    TranslationResult,
    format_result,
    reports_from_array,
    translate_file,
)
from .qc import DeviceReport, Measure

__all__ = [
    "DeviceModel", "DeviceReport", "Measure", "TranslationResult", "devices", "downmix_matrix", "format_result",
    "load_devices", "reports_from_array", "resolve", "translate_file",
]
