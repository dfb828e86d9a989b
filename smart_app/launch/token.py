"""Token endpoint calls: code exchange and refresh, with the server's registered client auth.

Spec: app-launch.html#step-5-access-token and #step-7-refresh-token-flow. Both go through
Authlib's OAuth2Session so client authentication is identical on exchange and refresh.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import requests
from authlib.common.errors import AuthlibBaseError

from smart_app.config import FhirServer
from smart_app.errors import LaunchError, LaunchErrorCode, safe_detail
from smart_app.launch.client_auth import oauth_session
from smart_app.launch.discovery import SmartConfiguration
from smart_app.launch.keys import ClientKeys

TIMEOUT = (3.05, 15)
log = logging.getLogger(__name__)


def exchange_code(
    server: FhirServer, config: SmartConfiguration, keys: ClientKeys, *, code: str, code_verifier: str,
    redirect_uri: str, jwks_uri: str | None,
) -> dict[str, Any]:
    """Trade the authorization code (and PKCE verifier) for a token response."""
    session = oauth_session(server, config, keys, redirect_uri=redirect_uri, jwks_uri=jwks_uri, timeout=TIMEOUT)
    try:
        with session:
            token = session.fetch_token(
                config.token_endpoint, grant_type="authorization_code", code=code,
                code_verifier=code_verifier, redirect_uri=redirect_uri, allow_redirects=False,
            )
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        reason = _reason(exc, redact=(code, code_verifier, server.client_secret()))
        log.warning("token exchange with %s refused: %s", server.iss, reason)
        raise LaunchError(LaunchErrorCode.TOKEN_EXCHANGE_FAILED, reason, iss=server.iss) from None
    return validated(token, LaunchErrorCode.TOKEN_EXCHANGE_FAILED, server.iss)


def refresh(
    server: FhirServer, config: SmartConfiguration, keys: ClientKeys, *, refresh_token: str,
    redirect_uri: str, jwks_uri: str | None,
) -> dict[str, Any]:
    """Use the refresh token for a new access token; the caller keeps the old refresh token if none comes back."""
    session = oauth_session(server, config, keys, redirect_uri=redirect_uri, jwks_uri=jwks_uri, timeout=TIMEOUT)
    try:
        with session:
            token = session.refresh_token(config.token_endpoint, refresh_token=refresh_token, allow_redirects=False)
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        reason = _reason(exc, redact=(refresh_token, server.client_secret()))
        log.warning("token refresh with %s refused: %s", server.iss, reason)
        raise LaunchError(LaunchErrorCode.REFRESH_FAILED, reason, iss=server.iss) from None
    token = dict(token)
    # Authlib copies the old refresh token into its result when none came back; make the
    # caller's rule explicit instead of relying on that.
    if token.get("refresh_token") == refresh_token:
        token.pop("refresh_token")
    return validated(token, LaunchErrorCode.REFRESH_FAILED, server.iss)


def validated(token: Mapping[str, Any], code: LaunchErrorCode, iss: str) -> dict[str, Any]:
    """Check the fields every SMART token response must carry (access_token, Bearer type)."""
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise LaunchError(code, "no access_token", iss=iss)
    token_type = token.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise LaunchError(code, "token_type is not Bearer", iss=iss)
    return dict(token)


def _reason(exc: Exception, redact: tuple[str | None, ...] = ()) -> str:
    """Why the token endpoint refused, as the server said it (RFC 6749 5.2 `error: error_description`).

    Printable, length-limited, and with our own code, verifier, refresh token and secret
    removed should the server echo one; otherwise the HTTP status or the exception class.
    """
    error = getattr(exc, "error", None)
    if isinstance(error, str) and error:
        description = getattr(exc, "description", None)
        text = f"{error[:64]}: {description}" if isinstance(description, str) and description else error[:64]
        return safe_detail(text, redact=redact)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        content_type = exc.response.headers.get("Content-Type") or ""
        body = exc.response.text if "json" in content_type or "text/plain" in content_type else ""
        return safe_detail(f"HTTP {exc.response.status_code}" + (f": {body}" if body else ""), redact=redact)
    if isinstance(exc, requests.Timeout):
        return "the token endpoint did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect to the token endpoint"
    return type(exc).__name__
