"""The launch layer's per-app services (settings, store, caches, keys), kept on app.extensions."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import requests
from flask import Flask, current_app

from smart_app.config import ConfigError, Settings
from smart_app.fhir import TransportBudget
from smart_app.launch.discovery import DiscoveryCache
from smart_app.launch.id_token import JwksCache
from smart_app.launch.keys import ClientKeys, KeyConfigError, KeySource, key_sources_from_env, load_client_keys
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
    rsa_key: KeySource = field(default_factory=KeySource)
    ec_key: KeySource = field(default_factory=KeySource)
    published_keys: tuple[str, ...] = ()
    _keys: ClientKeys | None = None
    _keys_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keys(self) -> ClientKeys:
        """The client signing keys, loaded (or generated) on first use."""
        with self._keys_lock:
            if self._keys is None:
                self._keys = load_client_keys(self.instance_path, rsa=self.rsa_key, ec=self.ec_key,
                                              published=self.published_keys)
            return self._keys

    @staticmethod
    def http() -> requests.Session:
        """A fresh HTTP session for one call; environment proxies and netrc are ignored."""
        session = requests.Session()
        session.trust_env = False
        return session


def init_runtime(app: Flask, settings: Settings, store: LaunchStore) -> Runtime:
    """Create the runtime from app config and attach it to the app.

    Configured client keys (app config paths, else the environment) are loaded now, so a
    missing or broken key stops startup with ConfigError naming the setting.
    """
    rsa_key, ec_key, published = key_sources_from_env(
        os.environ, rsa_path=app.config.get("CLIENT_RS384_KEY_PATH"), ec_path=app.config.get("CLIENT_ES384_KEY_PATH"))
    runtime = Runtime(
        settings=settings,
        store=store,
        instance_path=app.instance_path,
        discovery=DiscoveryCache(ttl=float(app.config["DISCOVERY_TTL"])),
        idle_timeout=int(app.config["IDLE_TIMEOUT"]),
        max_age=int(app.config["MAX_LAUNCH_AGE"]),
        fhir_budget=TransportBudget.from_config(app.config),
        rsa_key=rsa_key,
        ec_key=ec_key,
        published_keys=published,
    )
    # Read the settings at call time, so a reloaded registration pins with its current servers.
    runtime.discovery.pin = lambda config: pin(config, runtime.settings)
    if rsa_key.configured or ec_key.configured or published:
        try:
            runtime.keys  # noqa: B018 - load now: fail at startup, not on the first private_key_jwt launch
        except KeyConfigError as exc:
            raise ConfigError("environment", exc.setting, exc.problem) from None
    app.extensions[EXTENSION] = runtime
    return runtime


def runtime() -> Runtime:
    """The current app's runtime."""
    return current_app.extensions[EXTENSION]
