"""Browser-facing protections: the browser session id, CSRF, and security headers on every response.

The app is framed cross-site by EHRs, so its cookie must be `SameSite=None; Secure;
Partitioned` (CHIPS) and SameSite gives no CSRF protection: every state-changing request
carries a token checked here.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from cachelib import BaseCache
from flask import Flask, Response, abort, current_app, g, request, session
from flask_session.cachelib import CacheLibSessionInterface
from markupsafe import Markup, escape

from smart_app.errors import LaunchError, LaunchErrorCode

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., Any])
# A stored browser session lives PERMANENT_SESSION_LIFETIME past its last write; an unchanged one is
# written again (its expiry moved on) at most once per period, not on every page (bench b: one store
# write per page saved). The period is in the session so any instance knows when it was last renewed.
SESSION_RENEW_SECONDS = 24 * 3600
_RENEWED = "renewed"


class PartitionedSessionInterface(CacheLibSessionInterface):
    """Flask-Session's cachelib interface, adding `Partitioned` (Flask-Session 0.8 omits it).

    The store key is an HMAC of the session id, never the id itself: the id *is* the cookie
    value, so whoever can list the store's keys (a Redis dump, replica or backup) would
    otherwise hold every live browser session. Flask-Session's own `use_signer` would do as
    well, but 0.8 deprecates it (DeprecationWarning, removal announced).
    """

    def _get_store_id(self, sid: str) -> str:
        """`browser:` + HMAC-SHA256(secret key, sid): stable per session, useless as a cookie."""
        secret = current_app.secret_key  # called inside a request (open/save session)
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret or b"")
        if not key:
            raise RuntimeError("SECRET_KEY is required for server-side sessions")
        subkey = hmac.new(key, b"smart-previsit session store id", hashlib.sha256).digest()
        return self.key_prefix + hmac.new(subkey, sid.encode("utf-8"), hashlib.sha256).hexdigest()

    def should_set_storage(self, app: Flask, session: Any) -> bool:
        """Store the session when it changed, or when its expiry was last renewed in an earlier period."""
        period = int(time.time() // SESSION_RENEW_SECONDS)
        if session.get(_RENEWED) != period:
            session[_RENEWED] = period  # marks it modified
        return bool(session.modified)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        """Save as usual, then mark our session cookie Partitioned when configured."""
        super().save_session(app, session, response)
        if not app.config.get("SESSION_COOKIE_PARTITIONED"):
            return
        name = app.config["SESSION_COOKIE_NAME"]
        cookies = response.headers.getlist("Set-Cookie")
        if not any(c.startswith(f"{name}=") for c in cookies):
            return
        response.headers.remove("Set-Cookie")
        for cookie in cookies:
            if cookie.startswith(f"{name}=") and "partitioned" not in cookie.lower():
                cookie += "; Partitioned"
            response.headers.add("Set-Cookie", cookie)


def init_sessions(app: Flask, backend: BaseCache) -> None:
    """Server-side browser sessions (only a browser id and the CSRF secret live there)."""
    app.session_interface = PartitionedSessionInterface(
        app, client=backend, key_prefix="browser:", use_signer=False, permanent=False, sid_length=32,
    )


def csrf_token() -> str:
    """The CSRF token for this browser session, created on first use."""
    token = session.get("csrf")
    if token is None:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_field() -> Markup:
    """A hidden form input carrying the CSRF token (for `{{ csrf_field() }}` in templates)."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token())}">')


def csrf_exempt(view: F) -> F:
    """Mark a view as not needing a CSRF token (only for requests that change nothing of ours)."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def check_csrf() -> None:
    """Reject a state-changing request without a matching token or from a foreign origin."""
    if request.method in _SAFE_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "csrf_exempt", False):
        return
    origin = request.headers.get("Origin")
    # Compare hosts only: behind a TLS-terminating proxy the scheme we see may differ.
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise LaunchError(LaunchErrorCode.CSRF_FAILED, "cross-origin post")
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(expected, sent):
        raise LaunchError(LaunchErrorCode.CSRF_FAILED)


def content_security_policy(frame_ancestors: tuple[str, ...], form_action: str | None) -> str:
    """Self only, no inline code; framing only by the registered EHR origins."""
    ancestors = " ".join(("'self'",) + frame_ancestors)
    forms = "'self'" + (f" {form_action}" if form_action else "")
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
        f"form-action {forms}", f"frame-ancestors {ancestors}",
    ))


class RedactQuerySecrets(logging.Filter):
    """Blank OAuth secrets in logged URLs: `code`, `state`, `launch`, `nonce`, PKCE values and any token."""

    _PATTERN = re.compile(r"([?&](?:code|state|launch|nonce|code_challenge|code_verifier|access_token|refresh_token|id_token)=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place; never drops a record."""
        message = record.getMessage()
        redacted = self._PATTERN.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


GENERATE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
MIN_KEY_BITS = 256


def estimated_bits(secret: str) -> float:
    """A generous entropy estimate: length x log2(size of the character classes used), capped by
    how varied the characters are (so 64 x "a" is not strong)."""
    import math

    pools = ((str.islower, 26), (str.isupper, 26), (str.isdigit, 10))
    pool = sum(size for test, size in pools if any(test(c) for c in secret))
    pool += 33 if any(not c.isalnum() for c in secret) else 0
    per_char = math.log2(pool) if pool > 1 else 0.0
    return min(len(secret) * per_char, len(set(secret)) * 8 * 4)


def weak_key_problem(secret_key: str | None, store_keys: str | None) -> str | None:
    """Why the configured secret or store key is too weak for serving, or None.

    The store key is derived from the secret key when not given, so a guessable secret
    decrypts every stored token offline.
    """
    if secret_key is not None and estimated_bits(secret_key) < MIN_KEY_BITS:
        return ("SMART_APP_SECRET_KEY is too short or too simple: it needs at least 32 bytes of randomness. "
                f"Generate one with: {GENERATE_KEY}")
    for key in (k.strip() for k in (store_keys or "").split(",") if k.strip()):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except ValueError:
            raw = b""
        if len(raw) != 32 or len(set(raw)) < 16:
            return ("SMART_APP_STORE_KEY must be Fernet keys of 32 random bytes. "
                    'Generate one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" '
                    f"or leave it unset and set SMART_APP_SECRET_KEY ({GENERATE_KEY}).")
    return None


def trusted_hosts(urls: tuple[str | None, ...], extra: str | None) -> list[str]:
    """Host names requests may carry: those of our registered URLs (redirect_uris, launch_uri,
    jwks_uri) plus a comma-separated list for proxies and probes (env SMART_APP_TRUSTED_HOSTS).

    Any other Host gets 400 before routing, so no redirect ever reflects a forged Host.
    """
    hosts = [urlsplit(u).hostname or "" for u in urls if u]
    if any(h in ("localhost", "127.0.0.1", "::1") for h in hosts):
        hosts += ["localhost", "127.0.0.1", "::1"]  # a loopback registration is a local run: any loopback name
    hosts += [h.strip() for h in (extra or "").split(",")]
    return sorted({h.lower() for h in hosts if h})


# Probes come from orchestrators and load balancers, addressed by IP: they answer on any Host.
_ANY_HOST_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "static"})


def check_host() -> None:
    """400 for a Host (or forwarded host) the app does not serve; runs before routing redirects are raised."""
    trusted = current_app.config.get("APP_HOSTS")
    if not trusted or request.endpoint in _ANY_HOST_ENDPOINTS:
        return
    host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME") or ""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if name not in trusted:
        abort(400, description="This host name is not served here.")


def install_log_redaction() -> None:
    """Attach the redaction filter to the access loggers of werkzeug and gunicorn (once)."""
    for name in ("werkzeug", "gunicorn.access"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in target.filters):
            target.addFilter(RedactQuerySecrets())


def init_security(app: Flask, frame_ancestors: tuple[str, ...]) -> None:
    """Install host and CSRF checks and security headers on the app (correlation ids: audit.events)."""
    install_log_redaction()
    app.before_request(check_host)
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.after_request
    def security_headers(response: Response) -> Response:
        """Headers every response carries."""
        # Pages of one launch (or one iss) may be framed only by that EHR; elsewhere by any registered EHR.
        ancestors = g.get("frame_ancestors")
        response.headers["Content-Security-Policy"] = content_security_policy(
            frame_ancestors if ancestors is None else ancestors, g.get("form_action"))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if response.mimetype == "text/html" or request.path.startswith("/l/"):
            # Pages may carry patient data: never cache them in shared or browser caches.
            response.headers["Cache-Control"] = "no-store"
        return response
