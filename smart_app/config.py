"""Registration (launch.json) and environment -> typed, validated settings.

No I/O happens at import; `load_settings` reads the file when the app is created.
"""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

AUTH_METHODS = ("none", "client_secret_basic", "private_key_jwt")
JWKS_REGISTRATIONS = ("uri", "inline")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# The one placeholder an `iss_template` may hold, and what it may stand for (the public SMART
# launcher's option codes are base64url).
TEMPLATE_CODE = "{code}"
TEMPLATE_CODE_VALUE = re.compile(r"[A-Za-z0-9_-]{1,2048}")
TEMPLATE_CACHE_SIZE = 256  # distinct template-matched iss values remembered per registration


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
    # e.g. "https://launch.smarthealthit.org/v/r4/sim/{code}/fhir": every iss of that shape is this server.
    iss_template: str | None = None
    # How this server was given our public keys for private_key_jwt: our jwks_uri ("uri"), or the
    # JWKS pasted into its registration ("inline": then our assertions carry no `jku`, which would
    # have to match a registered URL; client-confidential-asymmetric.html#request).
    jwks_registration: str = "uri"

    def client_secret(self) -> str | None:
        """Read the client secret from the environment at use time (never stored in config)."""
        return os.environ.get(self.client_secret_env) if self.client_secret_env else None

    @property
    def standalone_launchable(self) -> bool:
        """A concrete iss the start page can link to (template-only entries are opened from their launcher)."""
        return bool(self.iss)


def template_matches(template: str, iss: str) -> bool:
    """True when iss is the template with `{code}` replaced by 1-2048 of [A-Za-z0-9_-] (nothing else may differ)."""
    prefix, _, suffix = template.partition(TEMPLATE_CODE)
    if len(iss) < len(prefix) + len(suffix) or not iss.startswith(prefix) or not iss.endswith(suffix):
        return False
    return TEMPLATE_CODE_VALUE.fullmatch(iss[len(prefix):len(iss) - len(suffix)]) is not None


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
    # When the bundled library forms are offered: always, only when the EHR assigned nothing, or never.
    library_forms: str = "when-nothing-assigned"
    # iss -> the entry it matched through an iss_template (bounded; a cache, never compared)
    _matched: dict[str, FhirServer] = field(default_factory=dict, compare=False, repr=False)
    _matched_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def server_for(self, iss: str | None) -> FhirServer | None:
        """The server registered with exactly this iss (no normalisation), or whose iss_template it fills; else None.

        A template match is returned as the entry with `iss` set to this exact value, so every
        later step (discovery, token, FHIR calls) is pinned to it. Pure string checks: no I/O.
        """
        if not iss:
            return None
        for server in self.fhir_servers:
            if server.iss == iss:
                return server
        with self._matched_lock:
            hit = self._matched.get(iss)
        if hit is not None:
            return hit
        for server in self.fhir_servers:
            if server.iss_template and template_matches(server.iss_template, iss):
                matched = replace(server, iss=iss)
                with self._matched_lock:
                    if len(self._matched) >= TEMPLATE_CACHE_SIZE:
                        self._matched.pop(next(iter(self._matched)))
                    self._matched[iss] = matched
                return matched
        return None

    @property
    def concrete_servers(self) -> tuple[FhirServer, ...]:
        """Entries with a fixed iss (what the start page links to and readiness checks)."""
        return tuple(s for s in self.fhir_servers if s.iss)

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
        if not server.iss:
            continue
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
        library_forms=_library_forms(raw, path),
    )


LIBRARY_FORMS_CHOICES = ("always", "when-nothing-assigned", "never")


def _library_forms(raw: Mapping[str, Any], path: str) -> str:
    """The `library_forms` choice (default: offer the bundled forms only when nothing is assigned)."""
    value = raw.get("library_forms", "when-nothing-assigned")
    if value not in LIBRARY_FORMS_CHOICES:
        raise ConfigError(path, "library_forms", f"must be one of {', '.join(LIBRARY_FORMS_CHOICES)} (got {value!r})")
    return value


def _server(entry: Any, key: str, path: str) -> FhirServer:
    """Validate one fhir_servers entry."""
    if not isinstance(entry, Mapping):
        raise ConfigError(path, key, "must be a JSON object")
    template = _iss_template(entry, key, path)
    iss = entry.get("iss", "") if template else _text(entry, "iss", path, prefix=key)
    if iss and (not isinstance(iss, str) or not is_loopback_http_allowed(iss) or urlsplit(iss).query or urlsplit(iss).fragment):
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
    jwks_registration = entry.get("jwks_registration", "uri")
    if jwks_registration not in JWKS_REGISTRATIONS:
        raise ConfigError(path, f"{key}.jwks_registration", f"must be one of {', '.join(JWKS_REGISTRATIONS)}")
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
        iss_template=template,
        jwks_registration=jwks_registration,
    )


def _iss_template(entry: Mapping[str, Any], key: str, path: str) -> str | None:
    """An optional iss_template: an https (or loopback http) URL whose path holds exactly one `{code}`.

    The origin and the rest of the path are fixed, so a matched iss can only ever point at
    that one server.
    """
    template = entry.get("iss_template")
    if template is None:
        return None
    problem = "must be an https URL (http only for localhost) with exactly one {code} in its path, without query or fragment"
    if not isinstance(template, str) or template.count(TEMPLATE_CODE) != 1:
        raise ConfigError(path, f"{key}.iss_template", problem)
    filled = template.replace(TEMPLATE_CODE, "x")
    parts = urlsplit(filled)
    origin_length = len(f"{parts.scheme}://{parts.netloc}")
    if (not parts.netloc or not is_loopback_http_allowed(filled) or parts.query or parts.fragment
            or template.index(TEMPLATE_CODE) <= origin_length or any(c in template for c in "?#")):
        raise ConfigError(path, f"{key}.iss_template", problem)
    return template


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


def _is_loopback_url(url: Any) -> bool:
    """An absolute http(s) URL on a loopback host."""
    return isinstance(url, str) and (urlsplit(url).hostname or "") in LOOPBACK_HOSTS and urlsplit(url).scheme in ("http", "https")


def _move(url: str, origin: str) -> str:
    """The same URL (path, query) at another origin."""
    target, parts = urlsplit(origin), urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def local_registration(raw: Mapping[str, Any], *, app_origin: str, sandbox_origin: str) -> dict[str, Any]:
    """The registration as the local sandbox pair runs it: every loopback URL moved to the ports in use.

    The app's own URLs (launch_uri, redirect_uris, jwks_uri) on a loopback host move to
    `app_origin`; each fhir_servers entry whose iss is on a loopback host moves to
    `sandbox_origin` (same path), and so do its loopback frame_ancestors. Everything else
    (public servers, templates) is kept as written. Pure: the caller writes and prints it.
    """
    doc = json.loads(json.dumps(raw))  # a deep copy of plain JSON
    for key in ("launch_uri", "jwks_uri"):
        if _is_loopback_url(doc.get(key)):
            doc[key] = _move(doc[key], app_origin)
    if isinstance(doc.get("redirect_uris"), list):
        doc["redirect_uris"] = [_move(u, app_origin) if _is_loopback_url(u) else u for u in doc["redirect_uris"]]
    for server in doc.get("fhir_servers") or ():
        if not isinstance(server, dict) or not _is_loopback_url(server.get("iss")):
            continue
        server["iss"] = _move(server["iss"], sandbox_origin)
        if isinstance(server.get("frame_ancestors"), list):
            server["frame_ancestors"] = [sandbox_origin.rstrip("/") if _is_loopback_url(a) else a
                                         for a in server["frame_ancestors"]]
    return doc


def origin_for(host: str, port: int) -> str:
    """http://host:port as a browser would reach a local listener (a wildcard bind is reached at localhost)."""
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def serving_mismatches(settings: Settings, host: str, port: int) -> list[str]:
    """Why redirect_uris[0] or launch_uri could not reach a plain-http listener on host:port (empty: all fine).

    The paths are always served (the callback is mounted at redirect_uris[0]'s path and
    /launch also at launch_uri's path), so only scheme, host and port can be wrong. A
    wildcard bind serves every host name; a loopback bind serves the loopback names.
    """
    problems = []
    for key, url in (("redirect_uris[0]", settings.redirect_uri), ("launch_uri", settings.launch_uri)):
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme != "http":
            problems.append(f"{key} is {url}: {parts.scheme} needs a TLS proxy in front (say so with --proxy-hops)")
            continue
        url_host = parts.hostname or ""
        same_host = (host in ("0.0.0.0", "::", "") or url_host == host
                     or (url_host in LOOPBACK_HOSTS and host in LOOPBACK_HOSTS))
        if not same_host:
            problems.append(f"{key} is {url}, but the app listens on host {host}")
        if (parts.port or 80) != port:
            problems.append(f"{key} is {url}, but the app listens on port {port}")
    return problems


def callback_path(settings: Settings) -> str:
    """The path the callback is mounted at: redirect_uris[0]'s path."""
    return urlsplit(settings.redirect_uri).path or "/"
