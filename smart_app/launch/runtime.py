"""The launch layer's per-app services (settings, store, caches, keys), kept on app.extensions."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import requests
from flask import Flask, current_app

from smart_app.config import Settings
from smart_app.fhir import TransportBudget
from smart_app.launch.discovery import DiscoveryCache
from smart_app.launch.id_token import JwksCache
from smart_app.launch.keys import ClientKeys, load_client_keys
from smart_app.launch.pinning import pin
from smart_app.store import LaunchStore

EXTENSION = "smart_launch"


@dataclass
class Runtime:
    """Long-lived objects shared by all requests of one app."""

    settings: Settings
    store: LaunchStore
    instance_path: str
    discovery: DiscoveryCache
    jwks: JwksCache = field(default_factory=JwksCache)
    idle_timeout: int = 1800
    max_age: int = 12 * 3600
    fhir_budget: TransportBudget = field(default_factory=TransportBudget)
    rsa_key_path: str | None = None
    ec_key_path: str | None = None
    _keys: ClientKeys | None = None
    _keys_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keys(self) -> ClientKeys:
        """The client signing keys, loaded (or generated) on first use."""
        with self._keys_lock:
            if self._keys is None:
                self._keys = load_client_keys(self.instance_path, self.rsa_key_path, self.ec_key_path)
            return self._keys

    @staticmethod
    def http() -> requests.Session:
        """A fresh HTTP session for one call; environment proxies and netrc are ignored."""
        session = requests.Session()
        session.trust_env = False
        return session


def init_runtime(app: Flask, settings: Settings, store: LaunchStore) -> Runtime:
    """Create the runtime from app config and attach it to the app."""
    runtime = Runtime(
        settings=settings,
        store=store,
        instance_path=app.instance_path,
        discovery=DiscoveryCache(ttl=float(app.config["DISCOVERY_TTL"])),
        idle_timeout=int(app.config["IDLE_TIMEOUT"]),
        max_age=int(app.config["MAX_LAUNCH_AGE"]),
        fhir_budget=TransportBudget.from_config(app.config),
        rsa_key_path=app.config.get("CLIENT_RS384_KEY_PATH"),
        ec_key_path=app.config.get("CLIENT_ES384_KEY_PATH"),
    )
    # Read the settings at call time, so a reloaded registration pins with its current servers.
    runtime.discovery.pin = lambda config: pin(config, runtime.settings)
    app.extensions[EXTENSION] = runtime
    return runtime


def runtime() -> Runtime:
    """The current app's runtime."""
    return current_app.extensions[EXTENSION]
