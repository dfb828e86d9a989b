"""Client registrations: the app's launch.json plus developers' own sandbox/clients.json."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from .models import AUTH_METHODS, Client

log = logging.getLogger(__name__)

# Documented in sandbox/README.md: used when a client_secret_basic client names no env var,
# or the named variable is unset. It is a sandbox; never reuse it anywhere real.
DEFAULT_DEV_SECRET = "sandbox-dev-secret"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ClientConfigError(ValueError):
    """A registration file is unreadable or has an invalid entry."""


def load_launch_clients(path: Path, fhir_base: str) -> list[Client]:
    """Clients from launch.json: every fhir_servers entry whose iss is this sandbox's FHIR base.

    When the sandbox runs on another loopback port than launch.json names (a port override),
    loopback entries with the same path are registered too, so the app still has a client.
    """
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ClientConfigError(f"{path}: expected a JSON object")
    servers = data.get("fhir_servers") or []
    exact = [s for s in servers if isinstance(s, dict) and s.get("iss") == fhir_base]
    chosen = exact or [s for s in servers if isinstance(s, dict) and _same_loopback_path(s.get("iss"), fhir_base)]
    clients = []
    for server in chosen:
        entry = {
            "client_id": server.get("client_id"),
            # The app's name (what the approval page asks about), not the server entry's label.
            "client_name": data.get("client_name") or server.get("name") or "",
            "redirect_uris": data.get("redirect_uris"),
            "scope": server.get("scope") or data.get("scope", ""),
            "token_endpoint_auth_method": server.get("token_endpoint_auth_method", "none"),
            "client_secret_env": server.get("client_secret_env"),
            "jwks_uri": data.get("jwks_uri"),
            "jwks": data.get("jwks"),
        }
        clients.append(client_from_entry(entry, source=str(path)))
    return clients


def load_extra_clients(path: Path) -> list[Client]:
    """Developers' own clients from sandbox/clients.json (a JSON list of RFC 7591-style entries)."""
    if not path.exists():
        return []
    data = _read_json(path)
    if not isinstance(data, list):
        raise ClientConfigError(f"{path}: expected a JSON list of clients")
    return [client_from_entry(entry, source=str(path)) for entry in data]


def client_from_entry(entry: dict, *, source: str = "client entry") -> Client:
    """Validate one registration entry into a Client."""
    if not isinstance(entry, dict):
        raise ClientConfigError(f"{source}: each client must be an object")
    client_id = entry.get("client_id")
    redirect_uris = entry.get("redirect_uris")
    method = entry.get("token_endpoint_auth_method", "none")
    if not isinstance(client_id, str) or not client_id:
        raise ClientConfigError(f"{source}: client_id is required")
    if not isinstance(redirect_uris, list) or not all(isinstance(u, str) for u in redirect_uris) or not redirect_uris:
        raise ClientConfigError(f"{source}: {client_id}: redirect_uris must be a non-empty list of strings")
    if method not in AUTH_METHODS:
        raise ClientConfigError(f"{source}: {client_id}: token_endpoint_auth_method must be one of {AUTH_METHODS}")
    secret = None
    if method == "client_secret_basic":
        env_name = entry.get("client_secret_env")
        secret = os.environ.get(env_name) if env_name else None
        if not secret:
            log.info("client %s uses the sandbox default dev secret", client_id)
            secret = DEFAULT_DEV_SECRET
    if method == "private_key_jwt" and not (entry.get("jwks_uri") or entry.get("jwks")):
        raise ClientConfigError(f"{source}: {client_id}: private_key_jwt needs jwks_uri or jwks")
    return Client(
        client_id=client_id,
        redirect_uris=list(redirect_uris),
        scope=str(entry.get("scope", "")),
        token_endpoint_auth_method=method,
        client_secret=secret,
        jwks_uri=entry.get("jwks_uri"),
        jwks=entry.get("jwks"),
        name=str(entry.get("client_name", "")),
    )


def _read_json(path: Path) -> object:
    """Parse a JSON file, naming the file in the error."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClientConfigError(f"{path}: {exc}") from exc


def _same_loopback_path(iss: object, fhir_base: str) -> bool:
    """Both URLs are on loopback hosts with the same scheme and path (ports may differ)."""
    if not isinstance(iss, str):
        return False
    a, b = urlsplit(iss), urlsplit(fhir_base)
    return a.hostname in _LOOPBACK and b.hostname in _LOOPBACK and a.scheme == b.scheme and a.path == b.path
