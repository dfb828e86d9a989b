"""The process's HTTP connections to FHIR servers, shared by every launch and request.

A FHIR read then reuses a kept-alive connection instead of opening a new TCP (and, against a
real EHR, TLS) connection for every page: those handshakes are round trips too. Sharing is
safe because the session holds no per-launch state: each request carries its own bearer token,
cookies are refused (an EHR's affinity or session cookie must never ride along with another
launch's request), and the environment (~/.netrc, proxy variables) is ignored.
"""
from __future__ import annotations

import os
import threading
from http.cookiejar import Cookie, CookiePolicy
from urllib.request import Request

import requests
from requests.adapters import HTTPAdapter

SERVERS_KEPT = 16  # distinct FHIR servers with pooled connections
CONNECTIONS_PER_SERVER = 64  # above the page and read pools' parallelism, so a busy worker rarely opens extra ones

_session: tuple[int, requests.Session] | None = None
_lock = threading.Lock()


class RefuseAllCookies(CookiePolicy):
    """A cookie policy that never stores a cookie and never sends one."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: Request) -> bool:
        """Never keep a cookie a FHIR server sets."""
        return False

    def return_ok(self, cookie: Cookie, request: Request) -> bool:
        """Never send a stored cookie (there are none)."""
        return False

    def domain_return_ok(self, domain: str, request: Request) -> bool:
        """No domain gets cookies."""
        return False

    def path_return_ok(self, path: str, request: Request) -> bool:
        """No path gets cookies."""
        return False


def shared_session() -> requests.Session:
    """The process's session for FHIR calls, created on first use (a forked worker makes its own)."""
    global _session
    with _lock:
        if _session is None or _session[0] != os.getpid():
            _session = (os.getpid(), _new_session())
        return _session[1]


def _new_session() -> requests.Session:
    """A session with pooled keep-alive connections, no cookies and no environment settings."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(RefuseAllCookies())
    # No transport-level retries: FhirClient decides what may be retried (idempotent requests only).
    adapter = HTTPAdapter(pool_connections=SERVERS_KEPT, pool_maxsize=CONNECTIONS_PER_SERVER, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
