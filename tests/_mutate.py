"""Mutations of valid documents for the fuzz tests: the tree is changed, then its text.

One implementation serves Hypothesis (``HypothesisChooser`` draws every choice, so
failures shrink) and plain seeded runs for the CLI sample (``RandomChooser``).
Markers left in the tree (``ZZ...ZZ``) become text a YAML dumper would never write:
deep nesting, tags and aliases.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import yaml

#: Field names the mutations add; none is a pydantic union member name (int, str, ...), so a
#: location that contains one of those is a leak of pydantic's internals.
KEYS = ["name", "role", "source", "start", "in", "duration", "gain_db", "fade_in", "fade_out", "automation", "chain",
        "type", "pan", "output", "sends", "bus", "level_db", "clips", "tracks", "buses", "master", "deliverables",
        "kind", "path", "format", "target", "mute", "solo", "stream", "sample_rate", "frame_rate", "drop_frame",
        "start_timecode", "layout", "mixdown", "length", "shape", "threshold_db", "freq_hz", "ratio", "sidechain",
        "bypass", "id", "ceiling_db", "volume", "t", "v", "interp", "é", ""]

NUMBERS = [0, 1, -1, 2, 0.5, -0.0, 1e-300, 1e300, -1e300, 48000, 8000, 384001, 10**30, -(10**30), 2**63,
           float("nan"), float("inf"), float("-inf"), 144, -144, -145, 48.0001, 22000, 30000, 1e9, 3.14159]
TIMES = ["00:00:01:00", "01:00:60:00", "00:60:00:00", "00:00:61.000", "1:99", "00:00:00:25", "00:00:00:99",
         "00:00:01;02", "00:01:00;00", "23:59:59:24", "24:00:00:00", "99:99:99:99", "00:00:01.5", "00:00:01,500",
         "123456s", "-5s", "99999999999999999999999999s", "1e400", "1e-400", "-1e300", "1e99999999999",
         "0.1", "-0", ".5", "5.", "1:2:3", "100:00:00", "00:00:00.000001", "1" * 70, "  2.5  ", "1_000",
         "0x10", "1e", "--1", "1.5.2", "48:00:00.001", "47:59:59.999"]
TEXTS = ["", " ", "é", "日本語", "\u202e", "a" * 300, "master", "dialogue", "music", "stereo", "5.1", "mono",
         "hold", "exp", "linear", "s-curve", "compressor", "highpass", "limiter", "media/host.flac", "tone.wav",
         "/dev/null", "/dev/zero", ".", "..", "nonexistent.wav", "\t", "yes", "null", "~", "NaN", "-.inf",
         "~nobody_at_all/x.wav", "a\x00b", "a/" * 3000, "media", "media/", "tone.wav/x"]
#: Text that replaces a ``ZZTAG<i>ZZ`` marker: tags, aliases, and values the YAML constructor chokes on.
TAGS = ["!!python/object/apply:os.system ['true']", "!!python/object:builtins.object {}",
        "!!python/name:os.system", "!!binary aGVsbG8=", "!!binary '%%%'", "!!set {a, b}", "!!omap [a: 1]",
        "!!pairs [a: 1]", "!custom 5", "!!str 5", "!!int '12'", "!!int 'x'", "!!float '1e5'", "!!timestamp 2001-12-14",
        "2001-12-14", "2001-13-45", "2001-02-30 25:61:61", "1" + "0" * 5000, "&anchor 5",
        "*undefined", "[&x0 [1, 2], *x0]", "{<<: {a: 1}, b: 2}", "? [a, b]\n  : 1", "!!null ''", "!!bool 'maybe'",
        "[" * 40 + "]" * 40, "{" * 40 + "}" * 40]
DEPTHS = [33, 100, 1000, 5000]
OPS = ["delete", "replace", "same_kind", "add_key", "duplicate", "wrap", "marker"]
TEXT_OPS = ["none", "none", "none", "truncate", "insert", "delete_line", "duplicate_line"]
INSERTS = [":", "-", "[", "]", "{", "}", "\t", "'", '"', "&a ", "*a", "!", "%", "\x00", "\ufeff", "é", "\n", "#", "|",
           ">", "? ", ",", "\x85", "\ud7ff", "\\"]


class RandomChooser:
    """Choices from a seeded ``random.Random`` (for the CLI sample)."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def choice(self, seq: list[Any]) -> Any:
        return seq[self.rnd.randrange(len(seq))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rnd.randint(lo, hi)


class HypothesisChooser:
    """Choices drawn from Hypothesis's ``data`` (so a failing example shrinks)."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.data = data
        self.st = st

    def choice(self, seq: list[Any]) -> Any:
        return seq[self.data.draw(self.st.integers(0, len(seq) - 1))]

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))


def slots(tree: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair of a parsed document, depth first."""
    out: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k in list(node):
                out.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                out.append((node, i))
                walk(node[i])

    walk(tree)
    return out


def value(c: Any, depth: int = 0) -> Any:
    """A random value: scalar, small list or small mapping."""
    kind = c.choice(["number", "number", "time", "text", "none", "bool", "list", "dict", "int"])
    if kind == "number":
        return c.choice(NUMBERS)
    if kind == "int":
        return c.integer(-(2**40), 2**40)
    if kind == "time":
        return c.choice(TIMES)
    if kind == "text":
        return c.choice(TEXTS)
    if kind == "none":
        return None
    if kind == "bool":
        return c.choice([True, False])
    if depth >= 2:
        return c.choice(NUMBERS)
    if kind == "list":
        return [value(c, depth + 1) for _ in range(c.integer(0, 3))]
    return {c.choice(KEYS): value(c, depth + 1) for _ in range(c.integer(0, 3))}


def _same_kind(c: Any, old: Any) -> Any:
    if isinstance(old, bool):
        return c.choice([not old, 1, 0, "true", None])
    if isinstance(old, (int, float)):
        return c.choice(NUMBERS + [old * 10**c.integer(1, 30), -old])
    if isinstance(old, str):
        return c.choice(TIMES + TEXTS + [old * 2, old[:-1], old.upper(), old + "x"])
    if isinstance(old, list):
        return [] if not old else old[: c.integer(0, len(old))]
    return value(c)


MILD_OPS = ["same_kind", "same_kind", "replace", "delete"]


def mutate_tree(c: Any, tree: Any, *, mild: bool = False) -> Any:
    """Apply one to four structural mutations to a copy of ``tree`` (one small one when ``mild``).

    Mild mutations mostly keep the document valid YAML of the right shape, so they
    reach the deeper checks (times, ranges, routing, processors, media).
    """
    tree = copy.deepcopy(tree)
    for _ in range(1 if mild else c.integer(1, 4)):
        where = slots(tree)
        if not where:
            return value(c)
        container, key = c.choice(where)
        op = c.choice(MILD_OPS if mild else OPS)
        old = container[key]
        if op == "delete":
            del container[key]
        elif op == "replace":
            container[key] = value(c)
        elif op == "same_kind":
            container[key] = _same_kind(c, old)
        elif op == "add_key" and isinstance(old, dict):
            old[c.choice(KEYS)] = value(c)
        elif op == "duplicate" and isinstance(old, list) and old:
            old.append(copy.deepcopy(c.choice(old)))
        elif op == "wrap":
            container[key] = c.choice([[old], {c.choice(KEYS): old}])
        elif op == "marker":
            container[key] = c.choice([f"ZZDEEP{d}ZZ" for d in DEPTHS] + [f"ZZTAG{i}ZZ" for i in range(len(TAGS))])
        else:
            container[key] = value(c)
    return tree


def to_text(c: Any, tree: Any, *, as_json: bool = False, damage: bool = True) -> str:
    """Dump the tree (YAML or JSON style), replace the markers, then maybe damage the text."""
    if as_json:
        import json

        text = json.dumps(tree, indent=1, ensure_ascii=False)
    else:
        text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=4096)
    for d in DEPTHS:
        text = text.replace(f"ZZDEEP{d}ZZ", "[" * d + "]" * d)
    for i in reversed(range(len(TAGS))):
        text = text.replace(f"ZZTAG{i}ZZ", TAGS[i])
    op = c.choice(TEXT_OPS) if damage else "none"
    if op == "truncate" and text:
        text = text[: c.integer(0, len(text) - 1)]
    elif op == "insert":
        at = c.integer(0, len(text))
        text = text[:at] + c.choice(INSERTS) + text[at:]
    elif op in ("delete_line", "duplicate_line"):
        lines = text.splitlines(keepends=True)
        if lines:
            i = c.integer(0, len(lines) - 1)
            lines[i:i + 1] = [] if op == "delete_line" else [lines[i], lines[i]]
            text = "".join(lines)
    return text


def mutated_text(c: Any, seeds: list[Any]) -> str:
    """A mutated session text from one of ``seeds`` (parsed documents)."""
    mild = c.choice([True, False])
    tree = mutate_tree(c, c.choice(seeds), mild=mild)
    return to_text(c, tree, as_json=c.choice([False, False, False, True]), damage=not mild)


#: What a message must never contain: pydantic's vocabulary and Python's internals.
LEAKS = ("Input should", "instance of", "pydantic", "function-", "[type=", "validation error", "errors.pydantic.dev",
         "Traceback", "<class", "ValidationError", "union_tag", "Value error,", "Assertion failed", "model_type",
         "dict_type", "NoneType", "object at 0x")
UNION_TAGS = {"int", "float", "str", "bool", "list", "dict", "none", "literal", "constrained-str"}


def assert_user_error(exc: Exception, file: Any) -> None:
    """A MixdownError that names ``file`` and a line or a field, in one line of the user's words."""
    from mixdown.errors import MixdownError, format_loc

    assert isinstance(exc, MixdownError), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert exc.file == str(file), f"names {exc.file!r}, not the session: {msg}"
    assert exc.line or exc.loc, f"no line and no field: {msg}"
    assert "\n" not in msg and "\r" not in msg, f"more than one line: {msg!r}"
    assert exc.message.strip(), f"no message: {msg!r}"
    for leak in LEAKS:
        assert leak not in msg, f"leaks {leak!r}: {msg}"
    bad = [p for p in exc.loc if isinstance(p, str) and p in UNION_TAGS]
    assert not bad, f"location {format_loc(exc.loc)} holds pydantic's union members {bad}: {msg}"
