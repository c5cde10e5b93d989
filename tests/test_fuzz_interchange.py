"""Fuzzed timelines: every mutation of a valid FCP7 XML, FCPXML, EDL or OTIO file imports or fails as a user error.

Seeds are tone timelines written from templates (``mixdown.interchange.testing``)
and the example session exported to each format. Mutations change the XML tree
(elements dropped or doubled, text and attributes replaced with numbers, NaN,
huge values, unicode, broken rationals), the EDL's lines and fields, the OTIO
JSON tree, and the raw text (truncation, stray characters, entity tricks). The
outcome of importing — and, for a timeline that imports, of compiling the session's
render graph — must be a session or a :class:`~mixdown.errors.MixdownError` that
names the file in one line: never another exception.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _mutate import LEAKS, TEXTS, TIMES, HypothesisChooser, RandomChooser, mutate_tree
from mixdown.errors import MixdownError, MixdownWarning
from mixdown.interchange import export_timeline, import_timeline
from mixdown.interchange.testing import tone_timeline
from mixdown.render.graph import check
from mixdown.session import load_session

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "podcast" / "session.yaml"

XML_VALUES = ["", " ", "0", "-1", "1", "25", "30", "24000/1001", "1/0s", "0/1s", "-5/1s", "1/3s", "abc", "NaN", "nan",
              "inf", "-inf", "1e400", "99999999999999999999999999", "-99999999999999999999", "3.5", "1,5", "TRUE",
              "FALSE", "true", "é", "\u202e", "file:///nonexistent.wav", "file://localhost/%ZZ", "http://x/y.wav",
              "01:00:60:00", "00:00:00;00", "99:99:99:99", "DF", "NDF", "1001/30000s", "100/2400s",
              "18446744073709551617", "1" * 400, "0x10", "audio", "video", "stereo", "2", "-0", "1/1000000000s",
              "1000000000/1s", "9e99s"]
ENTITY_BOMB = ('<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>")
EXTERNAL = '<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/hostname">]>'


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """(format, suffix, text) of valid timelines, with their media in the same folder."""
    d = tmp_path_factory.mktemp("timelines")
    out = []
    for fmt, suffix in (("fcp7", ".xml"), ("fcpxml", ".fcpxml"), ("edl", ".edl"), ("otio", ".otio")):
        path, _ = tone_timeline(d / fmt, fmt, records=[0, 30, 80], frame_rate=Fraction(30000, 1001),
                                drop_frame=fmt in ("fcp7", "edl"), start_frame=107892)
        out.append((fmt, suffix, path.read_text(encoding="utf-8"), path.parent))
        path2, _ = tone_timeline(d / f"{fmt}25", fmt, records=[0, 25])
        out.append((fmt, suffix, path2.read_text(encoding="utf-8"), path2.parent))
    example = load_session(EXAMPLE)
    for fmt, suffix in (("fcp7", ".xml"), ("fcpxml", ".fcpxml"), ("edl", ".edl"), ("otio", ".otio")):
        p = d / f"example{suffix}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_timeline(example, p)
        out.append((fmt, suffix, p.read_text(encoding="utf-8"), d))
    return out


def test_seeds_import(seeds, tmp_path):
    for fmt, suffix, text, media in seeds:
        p = media / f"seedcheck{suffix}"
        p.write_text(text, encoding="utf-8")
        session, _ = import_timeline(p, media_root=media)
        assert session.tracks, fmt


def mutate_xml(c, text: str) -> str:
    root = ET.fromstring(text)
    for _ in range(c.integer(1, 4)):
        elements = list(root.iter())
        el = c.choice(elements)
        op = c.choice(["text", "text", "attr", "del_attr", "delete", "duplicate", "empty", "child"])
        if op == "text":
            el.text = c.choice(XML_VALUES + TIMES + TEXTS)
        elif op == "attr" and el.attrib:
            el.set(c.choice(sorted(el.attrib)), c.choice(XML_VALUES + TIMES))
        elif op == "del_attr" and el.attrib:
            del el.attrib[c.choice(sorted(el.attrib))]
        elif op in ("delete", "duplicate") and el is not root:
            parent = next(p for p in root.iter() if el in list(p))
            if op == "delete":
                parent.remove(el)
            else:
                parent.insert(list(parent).index(el), copy.deepcopy(el))
        elif op == "empty":
            el.text = None
            for child in list(el):
                el.remove(child)
        elif op == "child":
            ET.SubElement(el, c.choice([x.tag for x in elements])).text = c.choice(XML_VALUES)
    out = ET.tostring(root, encoding="unicode")
    head = c.choice(['<?xml version="1.0" encoding="UTF-8"?>\n', "", ENTITY_BOMB, EXTERNAL])
    if head in (ENTITY_BOMB, EXTERNAL):
        i = out.find(">", out.find("<name>")) if "<name>" in out else -1
        if i > 0:
            out = out[: i + 1] + c.choice(["&i;", "&ext;"]) + out[i + 1:]
    return head + out


def mutate_edl(c, text: str) -> str:
    lines = text.splitlines()
    for _ in range(c.integer(1, 3)):
        if not lines:
            break
        i = c.integer(0, len(lines) - 1)
        op = c.choice(["field", "field", "delete", "duplicate", "line"])
        if op == "field":
            fields = lines[i].split()
            if fields:
                fields[c.integer(0, len(fields) - 1)] = c.choice(XML_VALUES + TIMES + ["*", "FCM:", "M2", "B", "V"])
                lines[i] = "   ".join(fields)
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines.insert(i, c.choice(["FCM: DROP FRAME", "FCM: NON-DROP FRAME", "TITLE:", "* FROM CLIP NAME:",
                                      "002  AX AA/V C 00:00:00:00 99:99:99:99 00:00:00:00 00:00:01:00",
                                      "M2   AX       000.0                01:00:00:00", "\x00", "é" * 10]))
    return "\n".join(lines) + "\n"


def mutate_otio(c, text: str) -> str:
    tree = json.loads(text)
    return json.dumps(mutate_tree(c, tree, mild=c.choice([True, False])), ensure_ascii=False)


def damage(c, text: str) -> str:
    op = c.choice(["none", "none", "none", "truncate", "insert"])
    if op == "truncate" and text:
        return text[: c.integer(0, len(text) - 1)]
    if op == "insert":
        at = c.integer(0, len(text))
        return text[:at] + c.choice(["<", ">", "&", "\x00", "]]>", "<!--", '"', "é", "{", "}", "[", ","]) + text[at:]
    return text


MUTATE = {"fcp7": mutate_xml, "fcpxml": mutate_xml, "edl": mutate_edl, "otio": mutate_otio}


def assert_timeline_error(exc: Exception, path: Path) -> None:
    assert isinstance(exc, MixdownError), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert exc.file is not None, f"names no file: {msg}"
    assert "\n" not in msg, f"more than one line: {msg!r}"
    for leak in LEAKS:
        assert leak not in msg, f"leaks {leak!r}: {msg}"


def outcome(path: Path, media: Path) -> str:
    try:
        session, _ = import_timeline(path, media_root=media, frame_rate="25" if path.suffix == ".edl" else None)
    except MixdownError as exc:
        assert_timeline_error(exc, path)
        return "error"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixdownWarning)
            check(session)
    except MixdownError as exc:
        assert_timeline_error(exc, path)
        return "graph error"
    return "imported"


def fuzz_one(c, seeds) -> tuple[Path, Path]:
    fmt, suffix, text, media = c.choice(seeds)
    try:
        mutated = MUTATE[fmt](c, text)
    except ET.ParseError:  # pragma: no cover - seeds are valid XML
        mutated = text
    path = media / f"fuzzed{suffix}"
    path.write_text(damage(c, mutated), encoding="utf-8", errors="surrogatepass")
    return path, media


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])


@settings(max_examples=250, **SETTINGS)
@given(data=st.data())
def test_fuzzed_timelines_import_or_fail_as_user_errors(seeds, data):
    outcome(*fuzz_one(HypothesisChooser(data), seeds))


@pytest.mark.slow
@settings(max_examples=4000, **SETTINGS)
@given(data=st.data())
def test_fuzzed_timelines_long_run(seeds, data):
    outcome(*fuzz_one(HypothesisChooser(data), seeds))


def test_entity_bomb_and_external_entities(seeds, tmp_path):
    """A billion-laughs FCP7 file and one with an external entity are refused quickly, as XML errors."""
    text = next(t for fmt, _, t, _ in seeds if fmt == "fcp7")
    body = text.split("?>", 1)[1].replace("<!DOCTYPE xmeml>", "")
    for head, ref in ((ENTITY_BOMB, "&i;"), (EXTERNAL, "&ext;")):
        p = tmp_path / "evil.xml"
        p.write_text(head + body.replace("<name>", "<name>" + ref, 1))
        r = subprocess.run([sys.executable, "-m", "mixdown.cli", "import", str(p), "-o", str(tmp_path / "s.yaml")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(f"mixdown: error: {p}: not valid XML") and r.stderr.count("\n") == 1, r.stderr
        assert not (tmp_path / "s.yaml").exists()


def test_cli_sample_of_mutated_timelines(seeds):
    """A few mutated timelines through `import` as a user runs it: exit 0 or 2, one line on stderr."""
    jobs = []
    for i in range(4):
        path, media = fuzz_one(RandomChooser(100 + i), seeds)
        kept = path.with_name(f"cli{i}{path.suffix}")
        path.rename(kept)
        jobs.append([sys.executable, "-m", "mixdown.cli", "import", str(kept), "-o", str(kept.with_suffix(".yaml")),
                     "--media-root", str(media), "--frame-rate", "25"])
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda cmd: subprocess.run(cmd, capture_output=True, text=True, timeout=120), jobs))
    for r in results:
        assert r.returncode in (0, 2), r.stderr
        if r.returncode == 2:
            assert r.stderr.count("\n") == 1 and r.stderr.startswith("mixdown: error: "), r.stderr
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr
