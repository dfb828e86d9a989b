"""Discovery pinned to the registration: the issuer and every OAuth endpoint a server may name.

A registered EHR is trusted for its own patients, not for where our codes, verifiers and
tokens go. Its discovery document is therefore checked against launch.json before anything
is sent anywhere: the `issuer` must be the one registered for it (RFC 9207 §2.4, RFC 9700
§4.4 mix-up defence: never another registered server's), and the endpoints must be https on
the iss's own origin or an origin listed for that server (no blind SSRF through discovery).
"""
from __future__ import annotations

from dataclasses import replace

from smart_app.audit import events as audit
from smart_app.config import FhirServer, Settings, is_loopback_http_allowed
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.launch.discovery import SmartConfiguration
from smart_app.ehr.origins import Origin, origin_of

# The fields of a discovery document that say where requests go, in the order they are checked.
ENDPOINT_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint")


def allowed_origins(server: FhirServer) -> frozenset[Origin]:
    """The iss's origin plus the origins launch.json lists for this server."""
    found = {origin_of(server.iss), *(origin_of(o) for o in server.allowed_origins)}
    return frozenset(o for o in found if o is not None)


def refuse(server: FhirServer, field: str, why: str) -> LaunchError:
    """Audit the refusal (naming the field, never its value) and return the error to raise."""
    audit.event("discovery.refused", iss=server.iss, field=field, reason=why)
    return LaunchError(LaunchErrorCode.DISCOVERY_REFUSED, f"{field}: {why}", iss=server.iss)


def check_url(server: FhirServer, field: str, url: str) -> None:
    """One URL from discovery: https (loopback http only for a loopback-http iss) on an allowed origin."""
    origin = origin_of(url)
    if origin is None:
        raise refuse(server, field, "not an absolute URL")
    local = server.iss.startswith("http://") and is_loopback_http_allowed(server.iss)
    if origin[0] != "https" and not (local and is_loopback_http_allowed(url)):
        raise refuse(server, field, "not https")
    if origin not in allowed_origins(server):
        raise refuse(server, field, "off the registered origin")


def pin(config: SmartConfiguration, settings: Settings) -> SmartConfiguration:
    """The configuration with its issuer checked and set to the registered one, or DISCOVERY_REFUSED."""
    server = settings.server_for(config.iss)
    if server is None:
        raise LaunchError(LaunchErrorCode.UNKNOWN_ISSUER)
    expected = server.expected_issuer
    # `server` may be a template entry filled with this iss (config.Settings.server_for): not "another" server.
    others = {issuer for s in settings.fhir_servers if s is not server and replace(s, iss=server.iss) != server
              for issuer in (s.expected_issuer, s.iss)}
    if config.issuer is not None:
        if config.issuer in others:
            raise refuse(server, "issuer", "another registered server's issuer")
        if config.issuer != expected:
            raise refuse(server, "issuer", "not the registered issuer")
    check_url(server, "issuer", expected)
    for field in ENDPOINT_FIELDS:
        url = getattr(config, field)
        if url:
            check_url(server, field, url)
    return replace(config, issuer=expected)
