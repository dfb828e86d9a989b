"""Static files: versioned URLs cached for a year, CSS and JS gzipped.

`url_for('static', filename=...)` carries `v`, the first 12 hex digits of the file's SHA-256. A request
whose `v` is the file's current version may be cached for a year (`immutable`): a changed file gets a
new URL, so nobody is served a stale copy. Any other request (no `v`, an old `v`) keeps Flask's default
(revalidate with the ETag).

Only static text is compressed, never pages: a page carries the CSRF token and a person's answers
beside text a request can influence, which is what a compression side channel (BREACH) needs.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
COMPRESSIBLE = frozenset({"text/css", "text/javascript", "application/javascript"})
VERSION_DIGITS = 12


class StaticVersions:
    """The version of each static file, recomputed only when its modification time changes."""

    def __init__(self, folder: str) -> None:
        """Bind to the app's static folder."""
        self.folder = folder
        self._seen: dict[str, tuple[float, str, bytes]] = {}  # filename -> (mtime, version, gzipped body)

    def _entry(self, filename: str) -> tuple[str, bytes] | None:
        """(version, gzipped bytes) of one file, or None when it is not a file in the folder."""
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        seen = self._seen.get(filename)
        if seen is None or seen[0] != mtime:
            body = Path(path).read_bytes()
            seen = (mtime, hashlib.sha256(body).hexdigest()[:VERSION_DIGITS], gzip.compress(body, 9, mtime=0))
            self._seen[filename] = seen
        return seen[1], seen[2]

    def version(self, filename: str) -> str | None:
        """The file's current version, or None."""
        entry = self._entry(filename)
        return entry[0] if entry else None

    def gzipped(self, filename: str) -> bytes | None:
        """The file's content, gzipped (computed once per version)."""
        entry = self._entry(filename)
        return entry[1] if entry else None


def init_app(app: Flask) -> None:
    """Version static URLs; cache a request for the current version for a year; gzip CSS and JS."""
    versions = StaticVersions(app.static_folder or "")

    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        """Every static URL names the version of the file it points at."""
        if endpoint == "static" and "v" not in values and "filename" in values:
            version = versions.version(values["filename"])
            if version is not None:
                values["v"] = version

    def static(filename: str) -> Response:
        """Flask's own static file response (what its static view serves), marked as varying by encoding for CSS and JS."""
        response = app.send_static_file(filename)
        if response.mimetype in COMPRESSIBLE:
            response.vary.add("Accept-Encoding")  # the same URL has a gzipped twin
        return response

    def serve_gzipped(filename: str) -> Response | None:
        """The gzipped copy of a CSS or JS file, as a conditional response; None when it does not apply."""
        mimetype = mimetypes.guess_type(filename)[0]
        if mimetype not in COMPRESSIBLE or "gzip" not in request.accept_encodings or request.range is not None:
            return None
        body = versions.gzipped(filename)
        if body is None:
            return None
        response = Response(body, mimetype=mimetype)
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        response.set_etag(f"{versions.version(filename)}-gzip")
        response.cache_control.no_cache = True  # revalidate unless the URL's version says otherwise (below)
        response.make_conditional(request)  # 304 when the browser's copy has this tag
        return response

    def static_view(filename: str) -> Response:
        """Static files: gzipped CSS and JS when accepted, else Flask's own."""
        return serve_gzipped(filename) or static(filename)

    app.view_functions["static"] = static_view

    @app.after_request
    def cache_current_versions(response: Response) -> Response:
        """A request for a file's current version may be cached for a year: a new version has a new URL."""
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        if request.args.get("v") and request.args.get("v") == versions.version(filename):
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        return response
