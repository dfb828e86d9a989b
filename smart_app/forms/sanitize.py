"""Sanitise Questionnaire rich text (rendering-xhtml, rendering-markdown) with nh3.

The output is the only HTML from a Questionnaire that templates may mark safe; everything
else is escaped by Jinja autoescape.
"""
from __future__ import annotations

import html

import nh3
from markupsafe import Markup

# A small, formatting-only allow-list: no links, images, styles or forms from a Questionnaire.
_TAGS = {"b", "strong", "i", "em", "u", "br", "p", "ul", "ol", "li", "span", "div", "sub", "sup", "small"}
_MAX_RICH_TEXT = 20_000


def sanitize_xhtml(markup: str) -> Markup:
    """Reduce XHTML to harmless formatting tags; no attributes survive. Markup: already safe."""
    return Markup(nh3.clean(markup[:_MAX_RICH_TEXT], tags=_TAGS, attributes={}, url_schemes=set()))


def sanitize_markdown(text: str) -> Markup:
    """Render markdown conservatively: escaped text, paragraphs and line breaks only."""
    # A full markdown renderer is not a dependency; escaping first keeps any embedded HTML inert.
    paragraphs = [p for p in text[:_MAX_RICH_TEXT].split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>" for p in paragraphs
    )
    return Markup(nh3.clean(body, tags=_TAGS, attributes={}, url_schemes=set()))
