"""Token revocation when a launch ends (RFC 7009), so the EHR session ends with ours.

Spec: RFC 7009 §2.1 (POST token + token_type_hint, client authenticated as at the token
endpoint) and §2.2 (200 means revoked or already invalid). The refresh token goes first:
revoking it usually ends the whole grant, and it is the longer-lived credential. Best effort
with short timeouts: the launch is already deleted on our side whatever the EHR answers.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, Mapping

import requests
from authlib.common.errors import AuthlibBaseError

from smart_app.audit import events as audit
from smart_app.config import FhirServer
from smart_app.launch.client_auth import oauth_session
from smart_app.launch.discovery import SmartConfiguration
from smart_app.launch.keys import ClientKeys

TIMEOUT = (2.0, 3.0)  # connect, read: ending a session must not hang on a slow EHR


class Revocation(str, Enum):
    """What became of the launch's tokens at the EHR."""

    REVOKED = "revoked"            # every token we held was revoked
    NO_ENDPOINT = "no_endpoint"    # the EHR offers no revocation: its session may stay open until it expires
    FAILED = "failed"              # at least one revocation failed
    NOTHING = "nothing"            # we held no token


def revoke_tokens(server: FhirServer, config: SmartConfiguration, keys: ClientKeys, record: Mapping[str, Any], *,
                  redirect_uri: str, jwks_uri: str | None, ids: Mapping[str, Any]) -> Revocation:
    """Revoke the record's refresh token, then its access token; audit each outcome (never token values)."""
    pairs = [(hint, value) for hint in ("refresh_token", "access_token")
             if isinstance(value := record.get(hint), str) and value]
    if not pairs:
        return Revocation.NOTHING
    if not config.revocation_endpoint:
        audit.event("token.revoke_failed", reason="no_revocation_endpoint", **ids)
        return Revocation.NO_ENDPOINT
    outcome = Revocation.REVOKED
    session = oauth_session(server, config, keys, redirect_uri=redirect_uri, jwks_uri=jwks_uri, timeout=TIMEOUT)
    with session:
        for hint, value in pairs:
            reason = _revoke_one(session, config.revocation_endpoint, server.token_endpoint_auth_method, hint, value)
            if reason is None:
                audit.event("token.revoked", token_type=hint, **ids)
            else:
                audit.event("token.revoke_failed", token_type=hint, reason=reason, **ids)
                outcome = Revocation.FAILED
    return outcome


def _revoke_one(session: Any, endpoint: str, auth_method: str, hint: str, value: str) -> str | None:
    """POST one revocation; None when the server answered 200, else a short token-free reason."""
    try:
        response = session.revoke_token(endpoint, token=value, token_type_hint=hint,
                                        auth=session.client_auth(auth_method), allow_redirects=False)
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        return type(exc).__name__
    return None if response.status_code == 200 else f"HTTP {response.status_code}"
