"""Step 1-3 of the launch: pick the server, discover it, and build the authorization request.

Spec: app-launch.html#step-1-register ... #step-3-app-requests-authorization
(response_type, client_id, redirect_uri, launch, scope, state, aud, code_challenge,
code_challenge_method; authorize-post when advertised).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from smart_app.config import FhirServer, Settings
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.launch.client_auth import oauth_session
from smart_app.launch.discovery import SmartConfiguration
from smart_app.launch.keys import ClientKeys
from smart_app.launch.scopes import requested_scope
from smart_app.store import LaunchStore

PENDING = "pending"
PENDING_TTL = 600  # seconds a user has to finish signing in at the EHR
MAX_GET_URL = 2000  # beyond this, prefer POST when the server allows it


@dataclass(frozen=True)
class PendingLimits:
    """Bounds on unfinished sign-ins (settings PENDING_PER_BROWSER, PENDING_PER_ADDRESS)."""

    per_browser: int = 5
    per_address: int = 100


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser: a GET URL, or a form POST of `params` to `endpoint`."""

    method: str
    url: str
    endpoint: str
    params: tuple[tuple[str, str], ...]
    state: str


def check_pkce(config: SmartConfiguration) -> None:
    """Refuse servers that list challenge methods without S256 (PKCE S256 is mandatory)."""
    methods = config.code_challenge_methods_supported
    if methods is not None and "S256" not in methods:
        raise LaunchError(LaunchErrorCode.PKCE_UNSUPPORTED, "S256 not listed", iss=config.iss)


def check_auth_method(server: FhirServer, config: SmartConfiguration) -> None:
    """Refuse before the user signs in when the server says it won't accept our confidential auth method.

    Public clients are not checked: servers signal them with the `client-public` capability,
    and many omit `none` from token_endpoint_auth_methods_supported.
    """
    method = server.token_endpoint_auth_method
    listed = config.token_endpoint_auth_methods_supported
    if method != "none" and listed and method not in listed:
        raise LaunchError(LaunchErrorCode.AUTH_METHOD_UNSUPPORTED, method, iss=config.iss)


def begin_authorization(
    *, settings: Settings, server: FhirServer, config: SmartConfiguration, keys: ClientKeys,
    store: LaunchStore, browser_id: str, launch: str | None, address: str = "",
    limits: PendingLimits = PendingLimits(), extra_scopes: Sequence[str] = (),
) -> AuthorizationRequest:
    """Create and store the pending authorization (state, PKCE verifier, nonce) and build the request.

    `extra_scopes` are asked for beside the registration's (the bundled forms' extraction needs them:
    Runtime.extraction_scopes).

    Unauthenticated requests cannot grow durable state: a pending authorization is small, lives
    PENDING_TTL, and there are at most `limits.per_browser` per browser (the oldest goes) and
    `limits.per_address` per client address (more are refused until some finish or expire).
    """
    check_pkce(config)
    check_auth_method(server, config)
    state = secrets.token_urlsafe(32)  # 256 bits
    verifier = secrets.token_urlsafe(64)  # 86 chars from the unreserved set (RFC 7636 4.1)
    scope = requested_scope(" ".join([server.scope or settings.scope, *extra_scopes]),
                            ehr_launch=launch is not None, v2=config.uses_v2_scopes)
    nonce = secrets.token_urlsafe(32) if "openid" in scope.split() else None
    extra: dict[str, str] = {"aud": server.iss}
    if launch is not None:
        extra["launch"] = launch
    if nonce:
        extra["nonce"] = nonce
    session = oauth_session(server, config, keys, redirect_uri=settings.redirect_uri, jwks_uri=settings.jwks_uri, timeout=(3.05, 10))
    with session:
        url, _ = session.create_authorization_url(
            config.authorization_endpoint, state=state, code_verifier=verifier, scope=scope, **extra
        )
    stored = store.put_bounded(PENDING, state, {
        "iss": server.iss, "browser": browser_id, "verifier": verifier, "nonce": nonce,
        "mode": "ehr" if launch is not None else "standalone", "scope": scope,
        "launch": launch, "created": time.time(),
    }, PENDING_TTL, group=browser_id, keep_per_group=limits.per_browser, address=address or None,
        max_per_address=limits.per_address)
    if not stored:
        raise LaunchError(LaunchErrorCode.TOO_MANY_LAUNCHES, iss=server.iss)
    parts = urlsplit(url)
    endpoint = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    # The endpoint's own query (if any) must survive a POST, so keep all pairs together.
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    method = "POST" if len(url) > MAX_GET_URL and config.supports_authorize_post else "GET"
    return AuthorizationRequest(method=method, url=url, endpoint=endpoint, params=params, state=state)
