"""SMART Pre-Visit: a SMART on FHIR app; `create_app` builds the Flask application."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "smart_previsit",
    "SESSION_COOKIE_SECURE": True,  # Chromium accepts Secure cookies on http://localhost too
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "None",  # the app runs in cross-site EHR iframes
    "SESSION_COOKIE_PARTITIONED": True,  # CHIPS: a per-EHR cookie jar where third-party cookies are blocked
    "DISCOVERY_TTL": 600,
    "IDLE_TIMEOUT": 1800,
    "MAX_LAUNCH_AGE": 12 * 3600,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "COURIER_INTERVAL": 0,  # seconds between server-side deliveries of pending submissions; 0 = off
    "CLAIM_TTL": 30.0,  # seconds a sender's claim on a submission lasts between renewals
    "DRAFT_RETENTION": 30 * 24 * 3600,  # drafts (and unsent answers' rescue copies) are kept this long since last saved
    "DRAFT_MIRROR_INTERVAL": 20,  # seconds: while typing, a draft's EHR copy is written at most this often
    "DRAFT_CLOCK": None,  # the drafts' clock (None: time.time); tests inject one
    "SUBMISSION_RETENTION": 30 * 24 * 3600,  # submissions (sent or not) are kept this long since last changed
    "LAUNCH_RATE_LIMIT": 30,  # /launch requests per client address per LAUNCH_RATE_WINDOW, per instance
    "LAUNCH_RATE_WINDOW": 60,
    "PENDING_PER_BROWSER": 5,  # unfinished sign-ins kept per browser (the oldest goes first)
    "PENDING_PER_ADDRESS": 100,  # unfinished sign-ins per client address (more are refused until some finish or expire)
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config, server-side sessions and store, security, blueprints, error pages.

    `test_config` may carry `INSTANCE_PATH` and either `REGISTRATION` (a launch.json dict) or
    `CONFIG_PATH`; otherwise env SMART_APP_CONFIG or ./launch.json is read.
    """
    from smart_app.audit import events as audit
    from smart_app.ehr.client import add_exchange_listener
    from smart_app import i18n, safety, wording
    from smart_app.web import health
    from smart_app.delivery import courier
    from smart_app.config import default_config_path, load_settings, parse_settings
    from smart_app.launch.runtime import init_runtime
    from smart_app.forms.resource_extraction import extraction_scopes
    from smart_app.web.security import init_security, init_sessions, trusted_hosts
    from smart_app.database import default_url, make_engine, migrate
    from smart_app.store import LaunchStore, fernet_from_keys, hmac_key_from, make_session_backend
    from smart_app.delivery.rows import EXTENSION as ROWS, SubmissionRows
    from smart_app.web import assets
    from smart_app import delivery
    from smart_app.forms import catalog

    test_config = dict(test_config or {})
    app = Flask(__name__, instance_path=test_config.get("INSTANCE_PATH") or instance_path(),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(DEFAULTS)
    app.config["SESSION_REDIS_URL"] = os.environ.get("SESSION_REDIS_URL")
    app.config["CONFIG_PATH"] = default_config_path()
    app.config["DATABASE_URL"] = os.environ.get("SMART_APP_DATABASE_URL")
    app.config.update(test_config)
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)  # keys, sessions, launches: this user only
    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or os.environ.get("SMART_APP_SECRET_KEY") or _dev_secret(app.instance_path)

    if "REGISTRATION" in app.config:
        settings = parse_settings(app.config["REGISTRATION"], "REGISTRATION")
        registration, source = app.config["REGISTRATION"], "REGISTRATION"
    else:
        settings = load_settings(app.config["CONFIG_PATH"])
        # after load_settings: the file is known to be valid JSON
        registration, source = json.loads(Path(app.config["CONFIG_PATH"]).read_text(encoding="utf-8")), app.config["CONFIG_PATH"]
    safety.init_app(app, registration, source)
    i18n.init_app(app, registration, source)  # language and time zone of each page (Flask-Babel)

    if app.config.get("APP_HOSTS") is None:
        app.config["APP_HOSTS"] = trusted_hosts((settings.redirect_uri, settings.launch_uri, settings.jwks_uri),
                                                    os.environ.get("SMART_APP_TRUSTED_HOSTS"))
    engine = make_engine(app.config["DATABASE_URL"] or default_url(app.instance_path))
    migrate(engine)
    fernet = fernet_from_keys(app.config.get("STORE_KEY") or os.environ.get("SMART_APP_STORE_KEY"),
                              app.config["SECRET_KEY"], app.instance_path)
    hmac_key = hmac_key_from(app.config.get("STORE_HMAC_KEY") or os.environ.get("SMART_APP_STORE_HMAC_KEY"),
                             app.config["SECRET_KEY"])
    store = LaunchStore(engine, fernet, hmac_key)
    init_sessions(app, make_session_backend(app.config["SESSION_REDIS_URL"], store))
    init_runtime(app, settings, store, config_path=None if "REGISTRATION" in app.config else app.config["CONFIG_PATH"],
                 extraction_scopes=extraction_scopes())
    app.extensions[ROWS] = SubmissionRows(store, claim_ttl=float(app.config["CLAIM_TTL"]))
    app.extensions[catalog.STANDING] = delivery.standing  # the catalog shows drafts and sends; delivery sits above forms
    audit.init_app(app)  # first: every later hook's events carry this request's correlation id
    add_exchange_listener(audit.count_exchange)  # the EHR client reports each exchange; audit imports nothing above it
    init_security(app, settings.frame_ancestors())
    assets.init_app(app)
    health.init_app(app)
    wording.init_app(app)
    courier.init_app(app)

    from smart_app.launch import views as launch_views
    from smart_app.web import assignments, errors, home, medications, questionnaires, submissions, tasks

    app.register_blueprint(errors.bp)
    app.register_blueprint(launch_views.bp)
    app.register_blueprint(home.bp)
    questionnaires.init_app(app)
    medications.init_app(app)
    submissions.init_app(app)  # the receipt and retries of either kind of answers
    tasks.init_app(app)  # the home page's task list, in one place
    assignments.init_app(app)
    return app


def instance_path() -> str:
    """The instance folder (keys, dev secret, filesystem store, effective registration): env SMART_APP_INSTANCE, else ./instance beside the code."""
    return os.environ.get("SMART_APP_INSTANCE") or str(ROOT / "instance")


def _dev_secret(instance_path: str) -> str:
    """A secret generated once into the instance folder, for development runs without env config."""
    from smart_app.instance_files import create_once

    path = Path(instance_path) / "secret.key"
    return create_once(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()
