"""Markdown (CommonMark) to HTML for what the public sees; raw HTML is never passed on.

Messages, descriptions and postmortems are stored and returned as written;
only the feeds (and HTML pages) render them, here. markdown-it-py escapes
every raw HTML tag and refuses ``javascript:``-style links.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": False})


def render(text: str | None) -> str:
    """The HTML of ``text`` (empty for none)."""
    return _MD.render(text) if text else ""
