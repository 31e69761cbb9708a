"""The badge renderer: valid XML whatever the text, widths fitted to it, both styles."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from shared.badge import BADGE_COLORS, MAX_CHARS, render_badge

SVG = "{http://www.w3.org/2000/svg}"

HOSTILE = [
    "<script>alert(1)</script>",
    'Tom & Jerry\'s "status"',
    "]]><![CDATA[x",
    "<!-- --><?xml version='1.0'?>",
    "&amp; &#0; &lt;",
    "status \U0001f680\U0001f525 page",
    "\u05e1\u05d8\u05d8\u05d5\u05e1 \u0645\u0648\u0642\u0639 \u202emixed\u202c",
    "tab\tnew\nline\rcontrol\x00\x07\x1b",
    "lone \ud800 surrogate \ufffe",
    "\u6f22\u5b57\u30c6\u30b9\u30c8",
    "x" * 10_000,
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    """The visible texts (the shadow copies are aria-hidden)."""
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]


@pytest.mark.parametrize("style", ["flat", "flat-square"])
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_valid_xml_and_reads_back(text: str, style: str) -> None:
    svg = render_badge(text, text, BADGE_COLORS["up"], style=style)
    root = parse(svg)

    assert "<script" not in svg
    assert len(svg) < 4_000  # a 10k-character name is cut, not rendered in full
    label, message = texts(root)
    assert label == message
    assert len(label) <= MAX_CHARS
    assert root.get("aria-label") == f"{label}: {message}"
    assert root.find(f"{SVG}title").text == f"{label}: {message}"  # type: ignore[union-attr]
    if len(text) < 40 and text.isprintable():
        assert label == text.strip()  # short printable texts are shown as given


def test_markup_in_text_is_escaped_not_interpreted() -> None:
    root = parse(render_badge("<b>bold</b>", "a & b", "#4c1"))
    assert root.find(f".//{SVG}b") is None
    assert texts(root) == ["<b>bold</b>", "a & b"]


def test_long_text_is_truncated_with_an_ellipsis() -> None:
    label, _ = texts(parse(render_badge("y" * 500, "up", "#4c1")))
    assert len(label) == MAX_CHARS
    assert label.endswith("\u2026")
    assert label.startswith("y" * (MAX_CHARS - 1))


def test_width_grows_with_the_text() -> None:
    def width(label: str, message: str) -> int:
        return int(parse(render_badge(label, message, "#4c1")).get("width") or 0)

    assert width("status", "up") < width("status page", "up") < width("status page", "up · 99.95%")
    # Verdana is proportional: wide letters take more room than narrow ones.
    assert width("iiiiiiii", "up") < width("WWWWWWWW", "up")
    # characters outside the table still take room (emoji, CJK: about one em each)
    assert width("\U0001f680" * 4, "up") > width("", "up") + 30


def test_rects_fit_the_texts() -> None:
    root = parse(render_badge("api", "up · 100.00%", "#4c1"))
    width = int(root.get("width") or 0)
    rects = root.findall(f".//{SVG}g/{SVG}rect")
    label_rect, message_rect = rects[0], rects[1]
    label_w, message_w = int(label_rect.get("width") or 0), int(message_rect.get("width") or 0)
    assert label_rect.get("fill") == "#555"
    assert message_rect.get("x") == str(label_w)
    assert label_w + message_w == width
    boxes = (label_w, label_w, message_w, message_w)
    for node, box in zip(root.findall(f".//{SVG}text"), boxes, strict=True):
        # text is drawn at 10x scale; it must fit inside its box with padding to spare
        assert 0 < int(node.get("textLength") or 0) / 10 < box


@pytest.mark.parametrize(("status", "color"), list(BADGE_COLORS.items()))
def test_message_rect_has_the_status_colour(status: str | None, color: str) -> None:
    root = parse(render_badge("page", str(status), BADGE_COLORS[status]))
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect")]
    assert color in fills
    assert "#555" in fills


def test_hostile_colour_cannot_break_out_of_the_attribute() -> None:
    root = parse(render_badge("a", "b", '"/><script>x</script>'))
    assert root.find(f".//{SVG}script") is None


def test_flat_has_gradient_and_rounded_corners_flat_square_has_neither() -> None:
    flat = parse(render_badge("build", "passing", "#4c1", style="flat"))
    square = parse(render_badge("build", "passing", "#4c1", style="flat-square"))

    assert flat.find(f"{SVG}linearGradient") is not None
    assert any(r.get("rx") == "3" for r in flat.iter(f"{SVG}rect"))
    assert square.find(f"{SVG}linearGradient") is None
    assert not any(r.get("rx") for r in square.iter(f"{SVG}rect"))
    assert flat.get("width") == square.get("width")
    assert texts(flat) == texts(square) == ["build", "passing"]


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="style"):
        render_badge("a", "b", "#4c1", style="plastic")


def test_accessible_name() -> None:
    root = parse(render_badge("My page", "down · 12.50%", BADGE_COLORS["down"]))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "My page: down · 12.50%"
