"""The fader law: slider position 0..1 <-> gain in dB, decided here and drawn by the page.

Like a console fader: +12 dB at the top, unity at three quarters of the travel,
the upper range spread wide (0.5 dB per step where people mix) and the bottom
compressed down to -inf (-144 dB, the session's floor). Piecewise linear in dB
between these points, so the page can invert it exactly from the table.
"""

from __future__ import annotations

import numpy as np

# (position, dB): console-style marks
POINTS: tuple[tuple[float, float], ...] = (
    (0.0, -144.0), (0.04, -80.0), (0.10, -60.0), (0.20, -40.0), (0.32, -30.0), (0.45, -20.0),
    (0.60, -10.0), (0.68, -5.0), (0.75, 0.0), (0.87, 6.0), (1.0, 12.0),
)
STEPS = 1000                    # slider resolution the page uses
MARKS_DB = (12, 6, 0, -5, -10, -20, -30, -40, -60)


def position_to_db(p: float | np.ndarray) -> float | np.ndarray:
    """Gain of a slider position (0..1), dB."""
    xs, ys = zip(*POINTS, strict=True)
    return np.interp(p, xs, ys)


def db_to_position(db: float | np.ndarray) -> float | np.ndarray:
    """Slider position (0..1) of a gain in dB (clamped to the fader's range)."""
    xs, ys = zip(*POINTS, strict=True)
    return np.interp(db, ys, xs)


def table() -> dict[str, object]:
    """What the page needs: the breakpoints, the slider's steps and the scale marks."""
    return {"points": [list(p) for p in POINTS], "steps": STEPS, "marks_db": list(MARKS_DB),
            "floor_db": POINTS[0][1]}
