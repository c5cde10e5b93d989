"""What the two XML formats (FCP7 XML and FCPXML) share: reading values, building elements, writing the file."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

from ..errors import TimelineError, shown


def parse_root(path: Path) -> ET.Element:
    """The root element of an XML file, or a TimelineError naming the file."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise TimelineError(f"not valid XML: {exc}", file=path) from None


def child_text(el: ET.Element | None, path: str, default: str | None = None) -> str | None:
    """The stripped text of the element at ``path`` under ``el`` (``default`` when absent or empty)."""
    if el is None:
        return default
    found = el.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def number(text: str | None, what: str, default: float | None = None) -> float:
    """A number written in the file, or a TimelineError naming ``what`` (never a silent default).

    With ``default``, a missing or blank value is ``default``; without it, it is an error.
    """
    if default is not None and (text is None or text.strip() == ""):
        return default
    try:
        v = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TimelineError(f"{what} {shown(text)} is not a number") from None
    if not math.isfinite(v):
        raise TimelineError(f"{what} {shown(text)} is not a finite number")
    return v


def exact(text: str, what: str) -> Fraction:
    """A number written in the file, exactly (``29.97`` is 2997/100)."""
    v = number(text, what)
    try:
        return Fraction(text.strip())
    except ValueError:  # float() reads forms Fraction() does not ("1_0", " inf"-like spacing)
        return Fraction(v)


def int_at(el: ET.Element | None, path: str, default: int | None = None) -> int | None:
    """The number at ``path`` under ``el``, rounded to a whole number (``default`` when absent or empty)."""
    t = child_text(el, path)
    if t is None or t == "":
        return default
    return int(round(number(t, f"<{path.rsplit('/', 1)[-1]}>")))


def flag(text: str | None, default: bool = True) -> bool:
    """A boolean written ``TRUE``/``FALSE`` (also ``0``/``NO``); ``default`` when absent."""
    if text is None:
        return default
    return text.strip().upper() not in ("FALSE", "0", "NO")


def whole(text: str | None, what: str, default: int) -> int:
    """A whole number written in the file (``default`` when missing)."""
    v = number(text, what, default)
    if v != int(v):
        raise TimelineError(f"{what} {shown(text)} is not a whole number")
    return int(v)


def sub(parent: ET.Element, tag: str, text: object | None = None, **attrib: str) -> ET.Element:
    """A child element of ``parent`` with attributes in the order given, and optional text."""
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def document(root: ET.Element, doctype: str, *, space: str, gap: str = "") -> str:
    """The file's text: XML declaration, ``<!DOCTYPE doctype>``, ``gap``, the indented tree, a final newline."""
    ET.indent(root, space=space)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {doctype}>\n{gap}'
            + ET.tostring(root, encoding="unicode") + "\n")
