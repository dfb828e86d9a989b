"""Verification of the OpenID Connect id_token returned with the access token.

Spec: scopes-and-launch-context.html#steps-for-using-an-id-token and OIDC Core 3.1.3.7
(signature from the issuer's JWKS found via its openid-configuration; iss, aud, exp, nonce).
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, cast

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from smart_app.config import is_loopback_http_allowed
from smart_app.ehr.http import BodyRefused, read_body
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.launch.discovery import SmartConfiguration

# RS256 is what OIDC and SMART require servers to support; `none` and HMAC are never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384")
TIMEOUT = (3.05, 10)
DEADLINE = 10.0  # seconds for a whole key or OpenID document, however slowly it trickles
MAX_DOCUMENT_BYTES = 256 * 1024


class JwksCache:
    """Per-URL cache of issuer key sets; refetched once when a token names an unknown key."""

    def __init__(self, ttl: float = 3600.0) -> None:
        """An empty cache whose entries live `ttl` seconds."""
        self.ttl = ttl
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, http: requests.Session, *, refresh: bool = False) -> KeySetSerialization:
        """The JWKS document at url (checked to hold a list of keys; joserfc judges each key)."""
        doc = self.get_document(url, http, refresh=refresh)
        if not isinstance(doc.get("keys"), list):
            raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "issuer JWKS has no keys")
        return cast(KeySetSerialization, doc)

    def get_document(self, url: str, http: requests.Session, *, refresh: bool = False) -> dict[str, Any]:
        """Any issuer JSON document (JWKS or OpenID configuration), cached."""
        with self._lock:
            hit = self._entries.get(url)
        if hit and hit[0] > time.monotonic() and not refresh:
            return hit[1]
        doc = _fetch_json(http, url)
        with self._lock:
            self._entries[url] = (time.monotonic() + self.ttl, doc)
        return doc


def verify_id_token(
    id_token: str, *, config: SmartConfiguration, client_id: str, nonce: str,
    http: requests.Session, jwks_cache: JwksCache, now: float | None = None,
    check_jwks_url: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Return the id_token's claims after checking signature, iss, aud, exp and nonce.

    `config.issuer` is the pinned (registered) issuer; `check_jwks_url` refuses a key URL the
    registration does not allow before it is fetched.
    """
    issuer = config.issuer or config.iss
    try:
        jwks_url = _jwks_url(issuer, config, http, jwks_cache)
        if not is_loopback_http_allowed(jwks_url):
            raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "issuer JWKS is not on https", iss=config.iss)
        if check_jwks_url is not None:
            check_jwks_url(jwks_url)
        keys = KeySet.import_key_set(jwks_cache.get(jwks_url, http))
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        except JoseError:
            # The issuer may have rotated its keys since we cached them.
            keys = KeySet.import_key_set(jwks_cache.get(jwks_url, http, refresh=True))
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        registry = jwt.JWTClaimsRegistry(
            now=int(now if now is not None else time.time()),
            leeway=60,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except LaunchError as exc:
        exc.iss = config.iss
        raise
    except (JoseError, ValueError, TypeError) as exc:
        raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, type(exc).__name__, iss=config.iss) from None
    claims = dict(token.claims)
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "azp", iss=config.iss)
    return claims


def _jwks_url(issuer: str, config: SmartConfiguration, http: requests.Session, cache: JwksCache) -> str:
    """The issuer's jwks_uri: from {issuer}/.well-known/openid-configuration (SMART "steps for
    using an ID token"), else the smart-configuration's jwks_uri for servers without OIDC discovery."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        doc = cache.get_document(url, http)
    except LaunchError:
        doc = {}
    uri = doc.get("jwks_uri") if doc.get("issuer") in (None, issuer) else None
    uri = uri if isinstance(uri, str) and uri else config.jwks_uri
    if not uri:
        raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "issuer publishes no jwks_uri")
    return uri


def _fetch_json(http: requests.Session, url: str) -> dict[str, Any]:
    """GET a JSON object or fail as ID_TOKEN_INVALID (we cannot verify without it)."""
    try:
        with http.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True,
                      headers={"Accept": "application/json"}) as resp:
            resp.raise_for_status()
            doc = json.loads(read_body(resp, max_bytes=MAX_DOCUMENT_BYTES, deadline=time.monotonic() + DEADLINE))
    except (requests.RequestException, BodyRefused, ValueError):
        raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "could not fetch issuer keys") from None
    if not isinstance(doc, dict):
        raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "issuer keys are not JSON")
    return doc
