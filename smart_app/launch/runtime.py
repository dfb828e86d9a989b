"""The launch layer's per-app services (settings, store, caches, keys), kept on app.extensions."""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Callable, cast

import requests
from flask import Flask, current_app

from smart_app.config import ConfigError, Settings, callback_path, load_settings
from smart_app.ehr.client import TransportBudget
from smart_app.launch.discovery import DiscoveryCache
from smart_app.launch.id_token import JwksCache
from smart_app.launch.keys import ClientKeys, KeyConfigError, KeySource, key_sources_from_env, load_client_keys
from smart_app.launch.pinning import pin
from smart_app.store import LaunchStore

EXTENSION = "smart_launch"
RELOAD_CHECK = 3.0  # seconds between looks at the registration file's modification time
log = logging.getLogger(__name__)


class Registration:
    """The current Settings, re-read from their file when it changes (looked at every few seconds) or on request.

    A registration given as a dict (tests) never reloads. A file that no longer parses keeps
    the last good settings and says why once on stderr. The callback path cannot move while
    running (the route is mounted at start), so a changed redirect path is refused the same way.
    """

    def __init__(self, settings: Settings, path: str | None = None, check_every: float = RELOAD_CHECK,
                 loader: Callable[[str], Settings] = load_settings) -> None:
        """Start from validated settings; `path` is the file to watch (None: never reload), `loader` reads it."""
        self._settings = settings
        self._path = path
        self._loader = loader
        self._check_every = check_every
        self._next_check = time.monotonic() + check_every
        self._stamp = self._file_stamp()
        self._force = False
        self._lock = threading.Lock()

    def _file_stamp(self) -> tuple[int, int] | None:
        """(mtime_ns, size) of the watched file, or None."""
        try:
            st = os.stat(self._path) if self._path else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st else None

    def request_reload(self) -> None:
        """Re-read the file on the next access (SIGHUP); safe from a signal handler."""
        self._force = True

    def current(self) -> Settings:
        """The settings in force, reloading first when the file changed."""
        if self._path and (self._force or time.monotonic() >= self._next_check):
            with self._lock:
                if self._force or time.monotonic() >= self._next_check:
                    self._force = False
                    self._next_check = time.monotonic() + self._check_every
                    self._reload_if_changed()
        return self._settings

    def _reload_if_changed(self) -> None:
        """Swap in the file's settings when its stamp changed and it is valid."""
        stamp = self._file_stamp()
        if stamp == self._stamp or self._path is None:
            return
        self._stamp = stamp
        try:
            fresh = self._loader(self._path)
        except ConfigError as exc:
            log.warning("smart-app: %s changed but was not applied: %s", self._path, exc)
            return
        if callback_path(fresh) != callback_path(self._settings):
            log.warning("smart-app: %s changed redirect_uris[0]'s path; restart the app to move the callback", self._path)
            return
        self._settings = fresh
        log.warning("smart-app: registration reloaded from %s (%d servers)", self._path, len(fresh.fhir_servers))


@dataclass
class Runtime:
    """Long-lived objects shared by all requests of one app."""

    registration: Registration
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
    # Write scopes the bundled forms' SDC extraction needs, asked for at every launch (create_app passes them in).
    extraction_scopes: tuple[str, ...] = ()
    _keys: ClientKeys | None = None
    _keys_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def settings(self) -> Settings:
        """The registration in force (launch.json reloads on change or SIGHUP)."""
        return self.registration.current()

    @property
    def keys(self) -> ClientKeys:
        """The client signing keys, loaded (or generated) on first use."""
        with self._keys_lock:
            if self._keys is None:
                self._keys = load_client_keys(self.instance_path, rsa=self.rsa_key, ec=self.ec_key,
                                              published=self.published_keys)
            return self._keys

    def standalone_possible(self, iss: str) -> bool:
        """Whether a standalone launch of this iss can work, as far as we know without any I/O.

        Known only from cached discovery: a server listing its capabilities without
        `launch-standalone` is EHR-only; servers not discovered yet get the benefit of the doubt.
        """
        config = self.discovery.peek(iss)
        return config is None or not config.capabilities or "launch-standalone" in config.capabilities

    @staticmethod
    def http() -> requests.Session:
        """A fresh HTTP session for one call; environment proxies and netrc are ignored."""
        session = requests.Session()
        session.trust_env = False
        return session


def init_runtime(app: Flask, settings: Settings, store: LaunchStore, config_path: str | None = None,
                 extraction_scopes: Sequence[str] = ()) -> Runtime:
    """Create the runtime from app config and attach it to the app; `config_path` is watched for changes.

    Configured client keys (app config paths, else the environment) are loaded now, so a
    missing or broken key stops startup with ConfigError naming the setting.
    """
    rsa_key, ec_key, published = key_sources_from_env(
        os.environ, rsa_path=app.config.get("CLIENT_RS384_KEY_PATH"), ec_path=app.config.get("CLIENT_ES384_KEY_PATH"))
    runtime = Runtime(
        registration=Registration(settings, config_path, float(app.config.get("REGISTRATION_CHECK", RELOAD_CHECK))),
        store=store,
        instance_path=app.instance_path,
        discovery=DiscoveryCache(ttl=float(app.config["DISCOVERY_TTL"])),
        idle_timeout=int(app.config["IDLE_TIMEOUT"]),
        max_age=int(app.config["MAX_LAUNCH_AGE"]),
        fhir_budget=TransportBudget.from_config(app.config),
        rsa_key=rsa_key,
        ec_key=ec_key,
        published_keys=published,
        extraction_scopes=tuple(extraction_scopes),
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
    return cast(Runtime, current_app.extensions[EXTENSION])
