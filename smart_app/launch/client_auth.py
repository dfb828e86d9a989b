"""Client authentication at the token endpoint, the same on code exchange and on refresh.

Spec: app-launch.html#step-5-access-token (public clients send client_id),
client-confidential-symmetric.html (client_secret_basic) and
client-confidential-asymmetric.html (private_key_jwt: RS384/ES384, unique jti, exp <= 5 min).
"""
from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import quote_plus

from authlib.common.urls import add_params_to_qs
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt

from smart_app.config import FhirServer
from smart_app.launch.discovery import SmartConfiguration
from smart_app.launch.keys import ClientKeys

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 240  # seconds; the spec caps it at 300


def oauth_session(
    server: FhirServer, config: SmartConfiguration, keys: ClientKeys, *, redirect_uri: str,
    jwks_uri: str | None, timeout: tuple[float, float],
) -> OAuth2Session:
    """An Authlib OAuth2Session for this server, with its registered client authentication."""
    method = server.token_endpoint_auth_method
    session = OAuth2Session(
        client_id=server.client_id,
        client_secret=server.client_secret() if method == "client_secret_basic" else None,
        token_endpoint_auth_method=method,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=timeout,
    )
    session.trust_env = False  # never pick up a proxy or netrc credentials from the environment
    if method == "private_key_jwt":
        key, alg = keys.signing_key(config.token_endpoint_auth_signing_alg_values_supported)

        def sign(client: Any, http_method: str, uri: str, headers: dict[str, str], body: str) -> tuple[str, dict[str, str], str]:
            """Add a fresh signed client assertion to the token request body."""
            jku = jwks_uri if server.jwks_registration == "uri" else None  # a pasted JWKS has no URL to match
            assertion = client_assertion(server.client_id, config.token_endpoint, key, alg, jku)
            body = add_params_to_qs(body or "", [("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion)])
            return uri, headers, body

        session.register_client_auth_method(("private_key_jwt", sign))
    elif method == "client_secret_basic":
        session.register_client_auth_method(("client_secret_basic", basic_auth))
    return session


def basic_auth(client: Any, http_method: str, uri: str, headers: dict[str, str], body: str) -> tuple[str, dict[str, str], str]:
    """HTTP Basic client authentication, encoded as RFC 6749 §2.3.1 requires.

    Authlib joins the raw client_id and secret; the RFC form-urlencodes each (UTF-8) first,
    so a secret with `:`, `+`, `%` or non-Latin-1 characters still reaches strict servers intact.
    """
    return uri, {**headers, "Authorization": basic_header(client.client_id, client.client_secret or "")}, body


def basic_header(client_id: str, secret: str) -> str:
    """`Basic base64(urlencode(client_id) ":" urlencode(secret))` per RFC 6749 §2.3.1 and Appendix B."""
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def client_assertion(client_id: str, token_endpoint: str, key: Any, alg: str, jku: str | None, now: float | None = None) -> str:
    """A signed JWT asserting our identity to `token_endpoint`, usable once (unique jti)."""
    issued = int(now if now is not None else time.time())
    header = {"alg": alg, "kid": key.kid, "typ": "JWT"}
    if jku:
        header["jku"] = jku
    claims = {"iss": client_id, "sub": client_id, "aud": token_endpoint, "iat": issued,
              "exp": issued + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(24)}
    return jwt.encode(header, claims, key, algorithms=[alg])
