"""Discovery of a FHIR server's SMART endpoints and capabilities, cached per iss.

Spec: app-launch.html#retrieve-well-knownsmart-configuration and conformance.html
(`.well-known/smart-configuration`); falls back to the CapabilityStatement oauth-uris
extension (conformance.html#declaring-support-for-oauth2-endpoints) for older servers.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from smart_app.config import LOOPBACK_HOSTS, is_loopback_http_allowed
from smart_app.errors import DiscoveryError, LaunchError, LaunchErrorCode

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
TIMEOUT = (3.05, 10)
MAX_CACHED = 1024  # servers remembered at once: iss_template entries make the set of iss values open-ended


@dataclass(frozen=True)
class SmartConfiguration:
    """The parts of a server's SMART configuration that drive our choices."""

    iss: str
    authorization_endpoint: str
    token_endpoint: str
    issuer: str | None = None
    jwks_uri: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    capabilities: frozenset[str] = frozenset()
    code_challenge_methods_supported: tuple[str, ...] | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = ()
    from_capability_statement: bool = False
    # RFC 9207: the server always puts `iss` on its authorization responses, so one without it is forged.
    authorization_response_iss_parameter_supported: bool = False

    @property
    def uses_v2_scopes(self) -> bool:
        """SMART v2 scope syntax only when the server says it understands it."""
        return "permission-v2" in self.capabilities

    @property
    def supports_authorize_post(self) -> bool:
        """The server accepts the authorize request as a form POST."""
        return "authorize-post" in self.capabilities

    def to_record(self) -> dict[str, Any]:
        """JSON-safe form, for the cache."""
        return {k: (sorted(v) if isinstance(v, frozenset) else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}


class DiscoveryCache:
    """Per-iss cache of SmartConfiguration with a TTL, so repeat launches need no discovery round trip."""

    def __init__(self, ttl: float = 600.0, pin: Callable[[SmartConfiguration], SmartConfiguration] | None = None) -> None:
        """An empty cache whose entries live `ttl` seconds; `pin` checks each document before it is cached or used."""
        self.ttl = ttl
        self.pin = pin
        self._entries: dict[str, tuple[float, SmartConfiguration]] = {}
        self._lock = threading.Lock()

    def get(self, iss: str, http: requests.Session | Callable[[], requests.Session]) -> SmartConfiguration:
        """Return the cached configuration for iss, discovering it when absent or stale.

        `http` is a session (the caller closes it) or a factory, whose session is opened
        only on a cache miss and closed here.
        """
        with self._lock:
            hit = self._entries.get(iss)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        if isinstance(http, requests.Session):
            config = discover(iss, http)
        else:
            with http() as session:
                config = discover(iss, session)
        if self.pin is not None:
            config = self.pin(config)
        with self._lock:
            self._entries.pop(iss, None)
            while len(self._entries) >= MAX_CACHED:  # oldest first (insertion order)
                self._entries.pop(next(iter(self._entries)))
            self._entries[iss] = (time.monotonic() + self.ttl, config)
        return config

    def peek(self, iss: str) -> SmartConfiguration | None:
        """The cached configuration, if fresh; never any I/O."""
        with self._lock:
            hit = self._entries.get(iss)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def forget(self, iss: str) -> None:
        """Drop a cached entry (e.g. after the server rejected our request)."""
        with self._lock:
            self._entries.pop(iss, None)


@dataclass(frozen=True)
class Fetched:
    """One discovery GET: the JSON object it returned (or None) and what happened, as evidence."""

    url: str
    body: dict[str, Any] | None
    evidence: str  # e.g. "404", "timed out", "could not connect", "not JSON"
    kind: str  # "answered" | "timeout" | "unreachable" (connection failed or 5xx)


def discover(iss: str, http: requests.Session) -> SmartConfiguration:
    """Fetch {iss}/.well-known/smart-configuration, else the CapabilityStatement extension.

    A failure names each step and its evidence, and says whether the server was unreachable,
    too slow, or answered without SMART endpoints (DiscoveryError.kind).
    """
    base = iss.rstrip("/") + "/"
    smart = _get_json(http, urljoin(base, ".well-known/smart-configuration"))
    doc = smart.body
    if doc is not None and doc.get("authorization_endpoint") and doc.get("token_endpoint"):
        return parse_smart_configuration(iss, doc)
    if doc is not None:
        smart = Fetched(smart.url, doc, "no authorization_endpoint and token_endpoint", "answered")
    metadata = _get_json(http, urljoin(base, "metadata"))
    if metadata.body is not None:
        uris = _oauth_uris(metadata.body)
        if uris.get("authorize") and uris.get("token"):
            return _checked(SmartConfiguration(
                iss=iss,
                authorization_endpoint=urljoin(base, uris["authorize"]),
                token_endpoint=urljoin(base, uris["token"]),
                revocation_endpoint=urljoin(base, uris["revoke"]) if uris.get("revoke") else None,
                from_capability_statement=True,
            ))
        metadata = Fetched(metadata.url, metadata.body, "no oauth-uris extension", "answered")
    raise DiscoveryError(_failure_kind(smart, metadata),
                         f"no SMART configuration at {smart.url} ({smart.evidence}) "
                         f"and no OAuth URIs in {metadata.url} ({metadata.evidence})", iss=iss)


def _failure_kind(*steps: Fetched) -> str:
    """not_smart when anything answered; else timeout when a step timed out; else unreachable."""
    kinds = {step.kind for step in steps}
    if "answered" in kinds:
        return "not_smart"
    return "timeout" if "timeout" in kinds else "unreachable"


def parse_smart_configuration(iss: str, doc: Mapping[str, Any]) -> SmartConfiguration:
    """Validate a smart-configuration document, resolving relative URLs against the FHIR base."""
    base = iss.rstrip("/") + "/"

    def url(key: str) -> str | None:
        value = doc.get(key)
        return urljoin(base, value) if isinstance(value, str) and value else None

    def strings(key: str) -> tuple[str, ...]:
        value = doc.get(key)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    methods = doc.get("code_challenge_methods_supported")
    authorize, token = url("authorization_endpoint"), url("token_endpoint")
    if not authorize or not token:
        raise LaunchError(LaunchErrorCode.DISCOVERY_FAILED, "endpoints missing", iss=iss)
    return _checked(SmartConfiguration(
        iss=iss,
        authorization_endpoint=authorize,
        token_endpoint=token,
        issuer=doc.get("issuer") if isinstance(doc.get("issuer"), str) else None,
        jwks_uri=url("jwks_uri"),
        revocation_endpoint=url("revocation_endpoint"),
        introspection_endpoint=url("introspection_endpoint"),
        capabilities=frozenset(strings("capabilities")),
        code_challenge_methods_supported=strings("code_challenge_methods_supported") if isinstance(methods, list) else None,
        token_endpoint_auth_methods_supported=strings("token_endpoint_auth_methods_supported"),
        token_endpoint_auth_signing_alg_values_supported=strings("token_endpoint_auth_signing_alg_values_supported"),
        authorization_response_iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
    ))


def _checked(config: SmartConfiguration) -> SmartConfiguration:
    """Refuse endpoints that would carry codes or tokens over plain http.

    http is tolerated only for the local sandbox: a loopback endpoint of a loopback iss. An
    https EHR pointing at a loopback http endpoint would send codes and secrets in the clear
    to whatever listens on the app's own host.
    """
    local_iss = (urlsplit(config.iss).hostname or "") in LOOPBACK_HOSTS
    for endpoint in (config.authorization_endpoint, config.token_endpoint, config.jwks_uri, config.revocation_endpoint):
        if not endpoint or urlsplit(endpoint).scheme == "https":
            continue
        if not (local_iss and is_loopback_http_allowed(endpoint)):
            raise LaunchError(LaunchErrorCode.INSECURE_ENDPOINT, "endpoint is not https", iss=config.iss)
    return config


def _get_json(http: requests.Session, url: str) -> Fetched:
    """GET a JSON object with short timeouts; on any network, status or parse failure, the evidence why."""
    try:
        resp = http.get(url, headers={"Accept": "application/json, application/fhir+json"}, timeout=TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        return Fetched(url, None, "timed out", "timeout")
    except requests.RequestException:
        return Fetched(url, None, "could not connect", "unreachable")
    if resp.status_code != 200:
        return Fetched(url, None, str(resp.status_code), "unreachable" if resp.status_code >= 500 else "answered")
    try:
        body = resp.json()
    except ValueError:
        return Fetched(url, None, "200 but not JSON", "answered")
    if not isinstance(body, dict):
        return Fetched(url, None, "200 but not a JSON object", "answered")
    return Fetched(url, body, "200", "answered")


def _oauth_uris(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The oauth-uris extension's authorize/token/revoke values from a CapabilityStatement."""
    found: dict[str, str] = {}
    for rest in metadata.get("rest") or ():
        security = rest.get("security") if isinstance(rest, Mapping) else None
        for ext in (security or {}).get("extension") or ():
            if isinstance(ext, Mapping) and ext.get("url") == OAUTH_URIS:
                for sub in ext.get("extension") or ():
                    if isinstance(sub, Mapping) and isinstance(sub.get("valueUri"), str):
                        found[sub.get("url", "")] = sub["valueUri"]
    return found
