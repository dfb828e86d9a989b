"""Static files: the page links each one by a content version; that URL is cached for a year; CSS and JS are gzipped.
Pages themselves are never compressed (they carry the CSRF token beside request-influenced text: BREACH)."""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static"


def _linked(client) -> dict[str, str]:
    """filename -> the versioned URL the page links it by."""
    html = client.get("/").get_data(as_text=True)
    return {urlsplit(url).path.rsplit("/", 1)[-1]: url for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html)}


def test_pages_link_static_files_by_the_version_of_their_content(client):
    linked = _linked(client)
    assert {"app.css", "app.js"} <= set(linked)
    for name, url in linked.items():
        version = parse_qs(urlsplit(url).query)["v"][0]
        assert version == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def test_the_current_version_is_cacheable_for_a_year_and_any_other_is_revalidated(client):
    url = _linked(client)["app.css"].replace("&amp;", "&")
    current = client.get(url)
    current.close()
    assert current.status_code == 200
    assert current.cache_control.max_age == 365 * 24 * 3600 and current.cache_control.immutable and current.cache_control.public
    for stale in ("/static/app.css?v=000000000000", "/static/app.css"):
        response = client.get(stale)
        response.close()  # only its headers matter here
        assert response.status_code == 200 and not response.cache_control.immutable
        assert response.cache_control.max_age in (None, 0)


@pytest.mark.parametrize("name", ["app.css", "questionnaire.js"])
def test_css_and_js_are_gzipped_when_the_browser_accepts_it_and_plain_otherwise(client, name):
    plain = (STATIC / name).read_bytes()
    zipped = client.get(f"/static/{name}", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain and len(zipped.get_data()) < len(plain)
    as_is = client.get(f"/static/{name}")
    body = as_is.get_data()
    as_is.close()  # the test client leaves Flask's file open until the response is closed
    assert "Content-Encoding" not in as_is.headers and body == plain
    assert as_is.headers["ETag"] != zipped.headers["ETag"]  # two representations, two tags


def test_a_revalidation_of_the_gzipped_copy_gets_not_modified(client):
    first = client.get("/static/app.css", headers={"Accept-Encoding": "gzip"})
    again = client.get("/static/app.css", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_pages_are_never_compressed(client):
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and "Content-Encoding" not in page.headers
