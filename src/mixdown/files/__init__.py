"""Files a job writes: the input guard, atomic outputs, temporary names, disk space.

Bottom tier: every layer that writes a file (media, session, interchange, report,
deliver) goes through these, and they import nothing of mixdown but its errors.

- :mod:`.guard`: the inputs of a job; :func:`check_output` for every output, and
  :func:`check_outputs` for every output location before any work starts.
- :mod:`.atomic`: temporary file beside the destination, renamed when complete.
- :mod:`.temp`: temporary names carrying host and pid; stale ones of dead runs removed.
- :mod:`.space`: what a job will write, checked against the free space; a full disk said as such.
"""

from .atomic import atomic_path, publish, reserve, unlink, write_text_atomic
from .guard import JobGuard, Output, check_output, check_outputs, current, job_guard, register
from .space import Need, audio_bytes, check_space, disk_full, human_bytes, is_disk_full
from .temp import clean_stale, make_scratch_dir, scratch_dir, stale, temp_name

__all__ = [
    "JobGuard", "Need", "Output", "atomic_path", "audio_bytes", "check_output", "check_outputs", "check_space",
    "clean_stale", "current", "disk_full", "human_bytes", "is_disk_full", "job_guard", "make_scratch_dir", "publish",
    "register", "reserve", "scratch_dir", "stale", "temp_name", "unlink", "write_text_atomic",
]
