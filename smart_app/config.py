"""Registration (launch.json) and environment -> typed, validated settings.

No I/O happens at import; `load_settings` reads the file when the app is created.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

AUTH_METHODS = ("none", "client_secret_basic", "private_key_jwt")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class ConfigError(Exception):
    """A broken registration file; the message names the file, the key and the problem."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = path, key, problem


@dataclass(frozen=True)
class FhirServer:
    """One registered EHR: the exact FHIR base (`iss`) and how we authenticate to it."""

    iss: str
    client_id: str
    name: str = ""
    token_endpoint_auth_method: str = "none"
    client_secret_env: str | None = None
    scope: str | None = None
    frame_ancestors: tuple[str, ...] = ()
    # RFC 9207 / RFC 9700 §4.4: the issuer this server must name, when it is not the FHIR base itself.
    issuer: str | None = None
    # Origins besides the iss's own that may host this server's OAuth endpoints (e.g. a separate auth host).
    allowed_origins: tuple[str, ...] = ()

    @property
    def expected_issuer(self) -> str:
        """The issuer its discovery document and authorization responses must name."""
        return self.issuer or self.iss

    def client_secret(self) -> str | None:
        """Read the client secret from the environment at use time (never stored in config)."""
        return os.environ.get(self.client_secret_env) if self.client_secret_env else None


@dataclass(frozen=True)
class Settings:
    """The app's registration, as read from launch.json."""

    source: str
    client_name: str
    redirect_uri: str
    scope: str
    launch_uri: str | None
    jwks_uri: str | None
    fhir_servers: tuple[FhirServer, ...] = field(default_factory=tuple)

    def server_for(self, iss: str | None) -> FhirServer | None:
        """Return the server registered with exactly this iss (no normalisation), else None."""
        if not iss:
            return None
        for server in self.fhir_servers:
            if server.iss == iss:
                return server
        return None

    def frame_ancestors(self) -> tuple[str, ...]:
        """All EHR origins that may frame the app, in registration order, without repeats."""
        seen: dict[str, None] = {}
        for server in self.fhir_servers:
            for origin in server.frame_ancestors:
                seen.setdefault(origin, None)
        return tuple(seen)


def is_loopback_http_allowed(url: str) -> bool:
    """http:// is allowed only for loopback hosts (the local sandbox); everything else needs https."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def default_config_path() -> str:
    """The registration file: env SMART_APP_CONFIG, else launch.json in the working directory."""
    return os.environ.get("SMART_APP_CONFIG") or str(Path.cwd() / "launch.json")


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a launch.json file; raise ConfigError on any problem."""
    path = str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "file not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(path, "(file)", f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_settings(raw, path)


def parse_settings(raw: Any, path: str = "launch.json") -> Settings:
    """Validate a parsed registration document into Settings."""
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "(top level)", "must be a JSON object")
    client_name = _text(raw, "client_name", path)
    redirect_uris = raw.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris or not all(isinstance(u, str) and u for u in redirect_uris):
        raise ConfigError(path, "redirect_uris", "must be a non-empty list of URLs")
    for i, uri in enumerate(redirect_uris):
        _url(uri, f"redirect_uris[{i}]", path)
    scope = _text(raw, "scope", path)
    launch_uri = _optional_url(raw, "launch_uri", path)
    jwks_uri = _optional_url(raw, "jwks_uri", path)
    servers_raw = raw.get("fhir_servers")
    if not isinstance(servers_raw, list) or not servers_raw:
        raise ConfigError(path, "fhir_servers", "must be a non-empty list")
    servers = tuple(_server(entry, f"fhir_servers[{i}]", path) for i, entry in enumerate(servers_raw))
    seen: set[str] = set()
    for i, server in enumerate(servers):
        if server.iss in seen:
            raise ConfigError(path, f"fhir_servers[{i}].iss", f"duplicate iss {server.iss!r}")
        seen.add(server.iss)
    issuers: set[str] = set()
    for i, server in enumerate(servers):
        if server.expected_issuer in issuers:
            raise ConfigError(path, f"fhir_servers[{i}].issuer", f"issuer {server.expected_issuer!r} is another server's too (mix-up risk)")
        issuers.add(server.expected_issuer)
    return Settings(
        source=path,
        client_name=client_name,
        redirect_uri=redirect_uris[0],
        scope=scope,
        launch_uri=launch_uri,
        jwks_uri=jwks_uri,
        fhir_servers=servers,
    )


def _server(entry: Any, key: str, path: str) -> FhirServer:
    """Validate one fhir_servers entry."""
    if not isinstance(entry, Mapping):
        raise ConfigError(path, key, "must be a JSON object")
    iss = _text(entry, "iss", path, prefix=key)
    if not is_loopback_http_allowed(iss) or urlsplit(iss).query or urlsplit(iss).fragment:
        raise ConfigError(path, f"{key}.iss", "must be an https URL (http only for localhost/127.0.0.1) without query or fragment")
    method = entry.get("token_endpoint_auth_method", "none")
    if method not in AUTH_METHODS:
        raise ConfigError(path, f"{key}.token_endpoint_auth_method", f"must be one of {', '.join(AUTH_METHODS)}")
    secret_env = entry.get("client_secret_env")
    if secret_env is not None and (not isinstance(secret_env, str) or not secret_env):
        raise ConfigError(path, f"{key}.client_secret_env", "must be the name of an environment variable")
    if method == "client_secret_basic" and not secret_env:
        raise ConfigError(path, f"{key}.client_secret_env", "is required for client_secret_basic")
    if "client_secret" in entry:
        raise ConfigError(path, f"{key}.client_secret", "secrets never go in the file; use client_secret_env")
    scope = entry.get("scope")
    if scope is not None and (not isinstance(scope, str) or not scope.strip()):
        raise ConfigError(path, f"{key}.scope", "must be a non-empty string")
    ancestors = entry.get("frame_ancestors", [])
    if not isinstance(ancestors, list) or not all(isinstance(a, str) for a in ancestors):
        raise ConfigError(path, f"{key}.frame_ancestors", "must be a list of origins")
    for j, origin in enumerate(ancestors):
        parts = urlsplit(origin)
        if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigError(path, f"{key}.frame_ancestors[{j}]", "must be an origin like https://ehr.example.org (never *)")
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(path, f"{key}.name", "must be a string")
    issuer = entry.get("issuer")
    if issuer is not None and (not isinstance(issuer, str) or not is_loopback_http_allowed(issuer)):
        raise ConfigError(path, f"{key}.issuer", "must be an https URL (http only for localhost/127.0.0.1)")
    allowed = entry.get("allowed_origins", [])
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise ConfigError(path, f"{key}.allowed_origins", "must be a list of origins")
    for j, origin in enumerate(allowed):
        parts = urlsplit(origin)
        if not is_loopback_http_allowed(origin) or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ConfigError(path, f"{key}.allowed_origins[{j}]", "must be an https origin like https://auth.example.org")
    return FhirServer(
        iss=iss,
        client_id=_text(entry, "client_id", path, prefix=key),
        name=name,
        token_endpoint_auth_method=method,
        client_secret_env=secret_env,
        scope=scope,
        frame_ancestors=tuple(a.rstrip("/") for a in ancestors),
        issuer=issuer,
        allowed_origins=tuple(a.rstrip("/") for a in allowed),
    )


def _text(raw: Mapping[str, Any], key: str, path: str, prefix: str = "") -> str:
    """A required non-empty string."""
    value = raw.get(key)
    full = f"{prefix}.{key}" if prefix else key
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, full, "is required and must be a non-empty string")
    return value


def _url(value: str, key: str, path: str) -> str:
    """An absolute http(s) URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(path, key, "must be an absolute http(s) URL")
    return value


def _optional_url(raw: Mapping[str, Any], key: str, path: str) -> str | None:
    """An optional absolute URL."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(path, key, "must be a URL string")
    return _url(value, key, path)
