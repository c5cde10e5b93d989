"""Delivery specs: loudness target, tolerance, true-peak ceiling, gating.

Each preset is what the platform or broadcaster publishes; ``mixdown targets``
prints them. Custom targets come from ``--lufs X --true-peak Y``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import TargetError


@dataclass(frozen=True)
class Target:
    """A loudness delivery spec.

    Attributes
    ----------
    name : str
    integrated_lufs : float
        Target programme (or dialogue-gated) loudness, LUFS/LKFS.
    tolerance_lu : float
        Allowed deviation, +/- LU.
    true_peak_dbtp : float
        Maximum true peak, dBTP.
    gating : str
        ``program`` (BS.1770 integrated over everything) or ``dialogue`` (integrated
        over the speech regions only, e.g. Netflix's dialogue-gated loudness).
    max_lra_lu : float, optional
        Upper limit of the loudness range where the spec sets one.
    lossy_true_peak_dbtp : float, optional
        Ceiling used for lossy encodings, leaving headroom for codec overshoot.
    reference : str
        Where the numbers come from.
    """

    name: str
    integrated_lufs: float
    tolerance_lu: float
    true_peak_dbtp: float
    gating: str = "program"
    max_lra_lu: float | None = None
    lossy_true_peak_dbtp: float | None = None
    reference: str = ""

    def to_json(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("ebu-r128", -23.0, 0.2, -1.0, reference="EBU R 128 (2023); tolerance as for file delivery"),
        Target("atsc-a85", -24.0, 2.0, -2.0, reference="ATSC A/85:2013 (US broadcast)"),
        Target("netflix", -27.0, 2.0, -2.0, gating="dialogue",
               reference="Netflix sound mix specifications: -27 LKFS dialogue-gated, -2 dBTP"),
        Target("apple-podcasts", -16.0, 1.0, -1.0, reference="Apple Podcasts audio requirements"),
        Target("spotify", -14.0, 1.0, -1.0, reference="Spotify loudness normalisation reference"),
        Target("youtube", -14.0, 1.0, -1.0, reference="YouTube playback normalisation reference"),
        Target("podcast", -16.0, 1.0, -1.0, reference="common podcast practice (AES TD1008 range)"),
        Target("aes-streaming", -18.0, 1.0, -1.0, reference="AES TD1008 streaming distribution recommendation"),
    )
}


def get_target(name: str | None = None, *, lufs: float | None = None, true_peak: float | None = None,
               tolerance: float | None = None) -> Target:
    """A preset by name, optionally overridden, or a custom target from numbers.

    Raises
    ------
    TargetError
        For an unknown preset or a custom target missing its loudness.
    """
    if name is not None:
        base = PRESETS.get(name)
        if base is None:
            raise TargetError(f"unknown target {name!r} (known: {', '.join(PRESETS)}; or --lufs X --true-peak Y)")
    else:
        if lufs is None:
            raise TargetError("give a --target preset or a custom --lufs (and --true-peak)")
        base = Target("custom", lufs, 0.5, -1.0, reference="custom")
    changes = {}
    if lufs is not None:
        changes["integrated_lufs"] = float(lufs)
    if true_peak is not None:
        changes["true_peak_dbtp"] = float(true_peak)
    if tolerance is not None:
        changes["tolerance_lu"] = float(tolerance)
    if changes and name is not None:
        changes["name"] = f"{name} (custom)"
    if not -70 < changes.get("integrated_lufs", base.integrated_lufs) < 0:
        raise TargetError("target loudness must be between -70 and 0 LUFS")
    if changes.get("true_peak_dbtp", base.true_peak_dbtp) > 0:
        raise TargetError("true-peak ceiling must be at or below 0 dBTP")
    from dataclasses import replace

    return replace(base, **changes) if changes else base
