"""Roles from names: ``DX 1`` is dialogue, ``MX_theme`` music, ``BG Atmos`` ambience.

Editors name tracks (and clips) after what they hold, in a few well-known
abbreviations. Names are split into words (spaces, punctuation, camelCase and
digits all separate words) and the first word that names a role decides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

from ..session.model import ROLES

ROLE_WORDS: dict[str, frozenset[str]] = {
    "dialogue": frozenset({
        "dialogue", "dialogues", "dialog", "dialogs", "dial", "dia", "dx", "dlg", "vo", "voice", "voices",
        "voiceover", "narration", "narrator", "narr", "interview", "adr", "speech", "host", "guest",
    }),
    "music": frozenset({"music", "mx", "mus", "score", "song", "songs", "soundtrack"}),
    "sfx": frozenset({"sfx", "fx", "effects", "effect", "foley", "hardfx", "hfx"}),
    "ambience": frozenset({
        "ambience", "ambiance", "ambiences", "amb", "ambient", "ambi", "bg", "bgs", "background", "backgrounds",
        "atmos", "atmo", "atmosphere", "atmospheres", "roomtone", "nature",
    }),
}
# two-word names that mean a role only together
_PHRASES: dict[tuple[str, str], str] = {
    ("room", "tone"): "ambience",
    ("sound", "effects"): "sfx",
    ("voice", "over"): "dialogue",
}
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    """Split a name into lower-case words: ``"MX_Theme2"`` -> ``["mx", "theme", "2"]``."""
    return [w.lower() for w in _WORD.findall(name or "")]


def role_from_name(name: str) -> str | None:
    """The role a name announces, or None if it names none."""
    ws = [w for w in words(name) if not w.isdigit()]
    for a, b in pairwise(ws):
        if (a, b) in _PHRASES:
            return _PHRASES[(a, b)]
    for w in ws:
        for role, vocab in ROLE_WORDS.items():
            if w in vocab:
                return role
    return None


def infer_role(track_name: str, clip_names: Iterable[str] = (), hint: str | None = None) -> tuple[str, str]:
    """Guess a track's role.

    Parameters
    ----------
    track_name : str
    clip_names : iterable of str
        Names (or file names) of the clips on the track.
    hint : str, optional
        A role the file states (an FCPXML audio role, or mixdown's own metadata).

    Returns
    -------
    (role, reason)
        One of :data:`mixdown.session.model.ROLES`, and a short reason for the report.
    """
    if hint:
        role = hint if hint in ROLES else role_from_name(hint)
        if role:
            return role, f"role {hint!r} in the file"
    role = role_from_name(track_name)
    if role:
        return role, f"track name {track_name!r}"
    names = list(clip_names)
    votes = Counter(r for r in (role_from_name(n) for n in names) if r)
    if votes:
        role, n = votes.most_common(1)[0]
        return (
            role,
            f"{n} clip name{'s' if n > 1 else ''} such as {next(c for c in names if role_from_name(c) == role)!r}",
        )
    return "other", "no role word in the track or clip names"
