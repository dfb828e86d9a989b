"""The sandbox application factory: FHIR store, authorization server, EHR shell and faults."""
from __future__ import annotations

import importlib.util
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response

from .auth.clients import load_extra_clients, load_launch_clients
from .auth.server import SandboxUrls
from .auth.service import SandboxAuth
from .faults import FaultBoard

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_LAUNCH_CONFIG = REPO_DIR / "launch.json"
DEFAULT_CLIENTS_FILE = PACKAGE_DIR / "clients.json"
# The app's bundled questionnaire library, read as data files (the sandbox imports no app code).
QUESTIONNAIRE_DIR = REPO_DIR / "smart_app" / "forms" / "library"


@dataclass
class SandboxState:
    """What views and tests reach through `app.extensions["sandbox"]`."""

    urls: SandboxUrls
    store: Any              # sandbox.fhir.store.FhirStore
    auth: SandboxAuth
    faults: FaultBoard
    app_launch_url: str | None
    launch_config_path: Path


def create_sandbox_app(*, base_url: str = "http://127.0.0.1:9090", launch_config_path: str | None = None,
                       db_path: str | None = None, app_launch_url: str | None = None,
                       auto_approve: bool = False, reset: bool = False) -> Flask:
    """Build the sandbox app; seed the FHIR store on first start (or on reset)."""
    from .fhir.store import FhirStore  # the FHIR package is built alongside; imported when used

    app = Flask(__name__, instance_relative_config=False)
    urls = SandboxUrls(base_url.rstrip("/"))
    config_path = Path(launch_config_path) if launch_config_path else DEFAULT_LAUNCH_CONFIG
    launch_config = _read_launch_config(config_path)
    database = Path(db_path) if db_path else Path(app.instance_path) / "sandbox.sqlite3"
    database.parent.mkdir(parents=True, exist_ok=True)

    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SANDBOX_BASE_URL=urls.base_url,
        SANDBOX_FHIR_BASE=urls.fhir_base,
    )
    store = FhirStore(database)
    if reset:
        store.reset()
    _seed_if_empty(store)

    faults = FaultBoard()
    auth = SandboxAuth(urls, store, faults, auto_approve=auto_approve)
    for client in load_launch_clients(config_path, urls.fhir_base) + load_extra_clients(DEFAULT_CLIENTS_FILE):
        auth.store.add_client(client)
    app.config["SANDBOX_OAUTH_URIS"] = auth.oauth_uris()

    app.extensions["sandbox"] = SandboxState(
        urls=urls,
        store=store,
        auth=auth,
        faults=faults,
        app_launch_url=app_launch_url or launch_config.get("launch_uri"),
        launch_config_path=config_path,
    )
    _register_blueprints(app, store, auth, faults)
    app.after_request(_shell_headers)
    return app


def _read_launch_config(path: Path) -> dict[str, Any]:
    """launch.json as a dict (the registration the app publishes)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def _seed_if_empty(store: Any) -> None:
    """Seed deterministic synthetic data when the store has no patients yet."""
    if importlib.util.find_spec("sandbox.seed") is None:
        log.warning("sandbox.seed is not available; the FHIR store starts empty")
        return
    from .seed import seed

    if not store.all("Patient"):
        seed(store, questionnaire_dir=QUESTIONNAIRE_DIR)
    else:
        _refresh_bundled_questionnaires(store)


def _refresh_bundled_questionnaires(store: Any) -> None:
    """A store kept from an earlier run keeps its data, but serves the app's current bundled forms.

    The app matches its bundled Questionnaires on the EHR by canonical URL; a store seeded before
    a form's new version would otherwise keep serving the old one until `--reset`.
    """
    from .fhir.outcome import FhirError
    from .seed import bundled_questionnaires

    for resource in bundled_questionnaires(QUESTIONNAIRE_DIR):
        try:
            current = store.read("Questionnaire", resource["id"])
        except FhirError:
            store.create(resource)
            continue
        if {k: v for k, v in current.items() if k != "meta"} != resource:
            store.update(resource)
            log.info("sandbox: Questionnaire/%s updated to version %s", resource["id"], resource.get("version"))


def _register_blueprints(app: Flask, store: Any, auth: SandboxAuth, faults: FaultBoard) -> None:
    """Auth, discovery, shell, admin and (when present) the FHIR API."""
    from .auth.views import bp as auth_bp, discovery
    from .shell.views import bp as shell_bp

    app.register_blueprint(discovery)
    app.register_blueprint(auth_bp)
    app.register_blueprint(shell_bp)
    if importlib.util.find_spec("sandbox.fhir.api") is None:
        log.warning("sandbox.fhir.api is not available; /fhir serves discovery only")
        return
    from .fhir.api import create_fhir_blueprint

    app.register_blueprint(create_fhir_blueprint(store, auth.resolve_grant, faults, base_path="/fhir"))


def _shell_headers(response: Response) -> Response:
    """The sandbox's own pages may be framed only by itself; the app sets its own policy."""
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
