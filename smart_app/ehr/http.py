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
import time
from http.cookiejar import Cookie, CookiePolicy
from typing import Callable
from urllib.request import Request

import requests
import urllib3
from requests.adapters import HTTPAdapter

SERVERS_KEPT = 16  # distinct FHIR servers with pooled connections
CONNECTIONS_PER_SERVER = 64  # above the page and read pools' parallelism, so a busy worker rarely opens extra ones

_session: requests.Session | None = None
_lock = threading.Lock()


def _forget_in_child() -> None:
    """In a forked child: drop the parent's session and lock (os.register_at_fork, below).

    The parent's pooled sockets are shared with the parent after a fork; a response read by
    both would be corrupted, so a child opens its own connections. The lock is new too: another
    thread may have held the parent's at the moment of the fork.
    """
    global _session, _lock
    _session = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


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


READ_CHUNK = 64 * 1024


class BodyRefused(Exception):
    """An EHR's response body broke a budget: `reason` is "too_large" or "too_slow"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_body(response: requests.Response, *, max_bytes: int, deadline: float,
              clock: Callable[[], float] = time.monotonic) -> bytes:
    """Read a streamed (`stream=True`) body whole, within `max_bytes` decoded bytes and before `deadline` on `clock`.

    Each read returns what has arrived (at most READ_CHUNK), so a trickle meets the deadline
    after a few bytes, not when a socket read finally times out. A refused body's connection is
    dropped; network failures surface as requests.ConnectionError.
    """
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    chunks: list[bytes] = []
    size = 0
    try:
        if declared > max_bytes:
            raise BodyRefused("too_large")
        while True:
            if clock() > deadline:
                raise BodyRefused("too_slow")
            chunk = response.raw.read1(READ_CHUNK, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise BodyRefused("too_large")
            chunks.append(chunk)
    except BodyRefused:
        response.close()  # the rest of that body must not be read back into the pool
        raise
    except (OSError, ValueError, urllib3.exceptions.HTTPError) as exc:
        response.close()
        raise requests.ConnectionError(type(exc).__name__) from None


def shared_session() -> requests.Session:
    """The process's session for FHIR calls, created on first use (a forked worker starts without one)."""
    global _session
    with _lock:
        if _session is None:
            _session = _new_session()
        return _session


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
