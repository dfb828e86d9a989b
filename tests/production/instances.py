"""Real app instances on loopback threads, and a `requests` browser that speaks to them like a test client.

Each instance is its own `create_app()` object with its own instance folder; what they share is
only what production instances share: the database, the Redis URL and the secret keys from the environment.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import requests
from flask import Flask

from sandbox import serve_in_thread
from sandbox.serve import ServerHandle
from smart_app import create_app

TIMEOUT = 30


class HttpResponse:
    """A `requests` response with the test-client surface the shared helpers use."""

    def __init__(self, response: requests.Response) -> None:
        """Wrap one response."""
        self._response = response
        self.status_code = response.status_code
        self.headers = response.headers

    def get_data(self, as_text: bool = False) -> Any:
        """The body, as text or bytes."""
        return self._response.text if as_text else self._response.content


class LoopbackBrowser(requests.Session):
    """A browser that sends `Secure` cookies over plain http to loopback, as Chromium does for localhost.

    http.cookiejar never returns Secure cookies over http, and requests copies the jar per request
    (dropping any custom policy), so the flag is cleared just before each request is prepared.
    """

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare as usual, with every cookie sendable over http."""
        for cookie in self.cookies:
            cookie.secure = False
        return super().prepare_request(request)


def loopback_browser() -> requests.Session:
    """A fresh browser (cookie jar) for loopback instances; ignores proxy settings."""
    session = LoopbackBrowser()
    session.trust_env = False
    return session


class HttpAppClient:
    """Talks to one running instance over real HTTP with a shared browser; never follows redirects."""

    def __init__(self, base_url: str, browser: requests.Session) -> None:
        """Bind to an instance's base URL and a browser (cookie jar)."""
        self.base_url = base_url
        self.browser = browser

    def get(self, path: str, query_string: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> HttpResponse:
        """GET a path on this instance."""
        return HttpResponse(self.browser.get(self.base_url + path, params=query_string, headers=headers,
                                             allow_redirects=False, timeout=TIMEOUT))

    def post(self, path: str, data: Mapping[str, Any] | None = None) -> HttpResponse:
        """POST a form to this instance."""
        return HttpResponse(self.browser.post(self.base_url + path, data=data, allow_redirects=False, timeout=TIMEOUT))


@dataclass
class Instance:
    """One running app instance."""

    app: Flask
    server: ServerHandle

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return self.server.url

    def client(self, browser: requests.Session) -> HttpAppClient:
        """A client for this instance using `browser`'s cookies."""
        return HttpAppClient(self.url, browser)


def start_instance(folder: Path, registration: Mapping[str, Any], *, redis_url: str | None,
                   keys: Mapping[str, str], secret: str = "shared-production-secret",
                   database_url: str | None = None) -> Instance:
    """Create a separate app object and serve it on a free 127.0.0.1 port (its own database unless one is shared)."""
    app = create_app({"INSTANCE_PATH": str(folder), "REGISTRATION": dict(registration), "SECRET_KEY": secret,
                      "SESSION_REDIS_URL": redis_url, "DATABASE_URL": database_url, **keys})
    return Instance(app=app, server=serve_in_thread(app, "127.0.0.1", 0))
