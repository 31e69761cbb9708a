"""Status badges: the familiar shields.io "flat" look, as an SVG string.

Widths are fitted to the text with Verdana 11px advance widths (the font
shields.io and badgen measure with), so a badge neither clips nor pads its
text whatever the viewer's fonts; ``textLength`` pins the text to that width.
"""

from __future__ import annotations

import unicodedata
from xml.sax.saxutils import escape

BADGE_COLORS: dict[str | None, str] = {
    "up": "#4c1",
    "degraded": "#dfb317",
    "down": "#e05d44",
    "maintenance": "#007ec6",  # shields.io's blue
    None: "#9f9f9f",
}

LABEL_COLOR = "#555"
STYLES = ("flat", "flat-square")
MAX_CHARS = 64  # longer texts are cut, so a hostile page name cannot bloat the badge
ELLIPSIS = "\u2026"
HEIGHT = 20
PADDING = 5  # px each side of a text

# Verdana 11px advance widths (px) of printable ASCII, grouped by width.
_WIDTH_GROUPS: dict[float, str] = {
    3.0: "'il",
    3.8: " fj",
    4.0: ",.",
    4.3: "!t",
    4.6: "I",
    4.7: "r",
    5.0: '"()-/:;J[\\]|',
    5.7: "csz",
    6.0: "?",
    6.1: "L",
    6.3: "F",
    6.5: "kvxy",
    6.6: "aeP",
    6.7: "o",
    6.8: "TY",
    6.85: "bdgpq",
    6.96: "Ehnu",
    7.0: "$*0123456789_`{}",
    7.5: "ASVXZ",
    7.6: "BKR",
    7.7: "C",
    8.0: "&U",
    8.2: "N",
    8.3: "H",
    8.5: "DG",
    8.7: "OQ",
    9.0: "#+<=>^w~",
    9.3: "M",
    10.7: "m",
    10.9: "W",
    11.0: "@",
    11.8: "%",
}
_WIDTHS: dict[str, float] = {c: w for w, chars in _WIDTH_GROUPS.items() for c in chars}
_WIDTHS.update({"\u00b7": 4.0, ELLIPSIS: 11.0})
DEFAULT_WIDTH = 7.0  # any other narrow character: an average Latin letter
WIDE_WIDTH = 11.0  # CJK, emoji and other full-width characters: one em


def _char_width(char: str) -> float:
    width = _WIDTHS.get(char)
    if width is not None:
        return width
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return WIDE_WIDTH
    return DEFAULT_WIDTH


def text_width(text: str) -> int:
    """The rendered width of ``text`` in Verdana 11px, rounded up to whole pixels."""
    return -int(-sum(_char_width(c) for c in text) // 1)


def _xml_allowed(char: str) -> bool:
    code = ord(char)
    if code < 0x20:
        return False  # control characters; tabs and newlines become spaces first
    return not (0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF))


def clean_text(text: str, limit: int = MAX_CHARS) -> str:
    """One line of XML-safe characters, cut to ``limit`` with an ellipsis."""
    text = "".join(
        c for c in text.replace("\t", " ").replace("\r", " ").replace("\n", " ") if _xml_allowed(c)
    ).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + ELLIPSIS
    return text


def render_badge(label: str, message: str, color: str, *, style: str = "flat") -> str:
    """An SVG badge: ``label`` on grey, ``message`` on ``color`` (any CSS colour).

    ``style`` is ``flat`` (subtle gradient, rounded corners) or ``flat-square``.
    """
    if style not in STYLES:
        raise ValueError(f"unknown badge style {style!r}: expected one of {', '.join(STYLES)}")
    label, message = clean_text(label), clean_text(message)
    label_text_w, message_text_w = text_width(label), text_width(message)
    label_w = label_text_w + 2 * PADDING if label else 0
    message_w = message_text_w + 2 * PADDING
    width = label_w + message_w
    title = f"{label}: {message}" if label else message
    fill = _attr(clean_text(color, limit=64) or BADGE_COLORS[None])

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}"'
        f' role="img" aria-label={_attr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    if style == "flat":
        parts += [
            '<linearGradient id="s" x2="0" y2="100%">'
            '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/></linearGradient>',
            f'<clipPath id="r"><rect width="{width}" height="{HEIGHT}" rx="3" fill="#fff"/>'
            "</clipPath>",
            '<g clip-path="url(#r)">',
        ]
    else:
        parts.append('<g shape-rendering="crispEdges">')
    if label_w:
        parts.append(f'<rect width="{label_w}" height="{HEIGHT}" fill="{LABEL_COLOR}"/>')
    parts.append(f'<rect x="{label_w}" width="{message_w}" height="{HEIGHT}" fill={fill}/>')
    if style == "flat":
        parts.append(f'<rect width="{width}" height="{HEIGHT}" fill="url(#s)"/>')
    parts.append(
        '</g><g fill="#fff" text-anchor="middle"'
        ' font-family="Verdana,Geneva,DejaVu Sans,sans-serif"'
        ' text-rendering="geometricPrecision" font-size="110">'
    )
    if label:
        parts.append(_text(label, label_w / 2, label_text_w, shadow=style == "flat"))
    parts.append(_text(message, label_w + message_w / 2, message_text_w, shadow=style == "flat"))
    parts.append("</g></svg>")
    return "".join(parts)


def _attr(value: str) -> str:
    """A double-quoted, escaped XML attribute value."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _text(text: str, center: float, text_w: int, *, shadow: bool) -> str:
    """The text at 10x scale (shields' trick for sub-pixel placement), with its shadow."""
    x, length, body = round(center * 10), text_w * 10, escape(text)
    out = ""
    if shadow:
        out = (
            f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3"'
            f' transform="scale(.1)" textLength="{length}">{body}</text>'
        )
    return out + f'<text x="{x}" y="140" transform="scale(.1)" textLength="{length}">{body}</text>'
