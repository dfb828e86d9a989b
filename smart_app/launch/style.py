"""The EHR's style hints (`smart_style_url`) turned into safe CSS custom properties.

Spec: app-launch.html#styling. Only colours, a font-family list and simple dimensions are
used; each value is checked so the EHR's JSON can never inject CSS.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Collection, Iterable, Mapping

import requests

from smart_app.config import is_loopback_http_allowed
from smart_app.ehr.http import BodyRefused, read_body
from smart_app.ehr.origins import origin_of

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FONT = re.compile(r"^[A-Za-z0-9 ,'\"-]{1,120}$")
_DIM = re.compile(r"^\d{1,3}(?:\.\d{1,2})?(?:px|em|rem|%)?$")
PROPERTIES = {
    "color_background": ("--sp-bg", _COLOR), "color_error": ("--sp-error", _COLOR),
    "color_highlight": ("--sp-highlight", _COLOR), "color_modal_backdrop": ("--sp-backdrop", _COLOR),
    "color_success": ("--sp-success", _COLOR), "color_text": ("--sp-text", _COLOR),
    "font_family_body": ("--sp-font-body", _FONT), "font_family_heading": ("--sp-font-heading", _FONT),
    "dim_border_radius": ("--sp-radius", _DIM), "dim_font_size": ("--sp-font-size", _DIM),
    "dim_spacing_size": ("--sp-spacing", _DIM),
}
TTL = 600.0
TIMEOUT = (2, 3)  # connect, read: the style sheet must never hold a page up
MAX_BYTES = 16 * 1024  # a style document is a dozen short values
DEADLINE = 5.0  # seconds for the whole document, however slowly it trickles
MAX_CACHED = 256  # URLs; the oldest entry goes first
NO_HINTS = "/* no style hints */\n"
# WCAG 2.2 AA (1.4.3): an EHR colour is used only when text in it stays readable on the app's surfaces.
MIN_CONTRAST = 4.5
_APP_SURFACES = ("#ffffff", "#f3f6fa")  # button text on the highlight, and .notice boxes (static/app.css)
_DEFAULT_BG = "#ffffff"

_cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
_guard = threading.Lock()


def css_from_style(style: Mapping[str, Any]) -> str:
    """CSS variables for the valid entries of a SMART style document; invalid ones are skipped."""
    lines = []
    for key, (prop, pattern) in PROPERTIES.items():
        value = style.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key.startswith("dim_"):
            value = f"{value}px"
        if isinstance(value, str) and pattern.match(value):
            lines.append(f"  {prop}: {value};")
    lines = [line for line in lines if line.split(":")[0].strip() not in _unreadable(style)]
    return ":root {\n" + "\n".join(lines) + "\n}\n" if lines else "/* no usable style hints */\n"


def _unreadable(style: Mapping[str, Any]) -> set[str]:
    """CSS properties to leave at the app's defaults because the EHR's colours would fail AA contrast."""
    def colour(key: str) -> str | None:
        """The valid colour as #rrggbb; translucent ones cannot be judged and count as unreadable."""
        value = style.get(key)
        if not isinstance(value, str) or not _COLOR.match(value):
            return None
        if len(value) == 4:
            return "#" + "".join(c * 2 for c in value[1:])
        return value if len(value) == 7 else "translucent"

    background = colour("color_background") or _DEFAULT_BG
    dropped = {"--sp-bg"} if background == "translucent" else set()
    background = _DEFAULT_BG if dropped else background
    for key, prop in (("color_text", "--sp-text"), ("color_highlight", "--sp-highlight"),
                      ("color_error", "--sp-error"), ("color_success", "--sp-success")):
        value = colour(key)
        surfaces = (background,) + (_APP_SURFACES if key in ("color_text", "color_highlight") else ())
        if value == "translucent" or (value and min(_contrast(value, s) for s in surfaces) < MIN_CONTRAST):
            dropped.add(prop)
    return dropped


def _contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def allowed_style_origins(iss: str, frame_ancestors: Iterable[str]) -> frozenset[tuple[str, str, int]]:
    """Origins a launch's style URL may be on: the iss's own, and that EHR's registered frame ancestors."""
    origins = {origin_of(url) for url in (iss, *frame_ancestors)}
    return frozenset(o for o in origins if o is not None)


def style_sheet(url: str | None, http: Callable[[], requests.Session], allowed: Collection[tuple[str, str, int]]) -> str:
    """CSS for a launch's style URL (cached per URL); our own style when absent, off-EHR, unreachable or too big.

    The URL comes from the token response, so it is fetched server-side only when it is on
    the launching EHR's own origins (`allowed`, from `allowed_style_origins`): anything else
    would let a token response make this server request arbitrary hosts, including its own.
    """
    if not url or origin_of(url) not in allowed or not is_loopback_http_allowed(url):
        return NO_HINTS
    now = time.monotonic()
    with _guard:
        hit = _cache.get(url)
    if hit and hit[0] > now:
        return hit[1]
    css = css_from_style(_fetch(url, http))
    with _guard:
        _cache[url] = (now + TTL, css)
        _cache.move_to_end(url)
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)  # the least recently stored URL
    return css


def _fetch(url: str, http: Callable[[], requests.Session]) -> dict[str, Any]:
    """GET a style document with a short timeout and a size cap; {} on any failure."""
    try:
        with http() as session, session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True,
                                            headers={"Accept": "application/json"}) as resp:
            if resp.status_code != 200:
                return {}
            body = read_body(resp, max_bytes=MAX_BYTES, deadline=time.monotonic() + DEADLINE)
    except (requests.RequestException, BodyRefused):
        return {}
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
