"""Helpers for the safety end-to-end tests: an app with its own `safety` block, and what the sandbox holds."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from flask import Flask

from smart_app import create_app
from smart_app.safety.flags import FLAG_DETAIL
from tests.fixtures.e2e import E2E, Launcher, e2e_registration
from tests.questionnaire_flow.flow import of_submission, stored

NO_REAL_TIME = "No one reads these answers right away."
CONFIGURE_ME = "The people who run this app have not set their own numbers yet."


def app_with_safety(e2e: E2E, tmp_path: Path, client_key_paths: dict[str, str], safety: dict[str, Any]) -> E2E:
    """The same sandbox, with a second app whose launch.json carries this `safety` block."""
    registration = {**e2e_registration(e2e.sandbox.fhir_base), "safety": safety}
    app: Flask = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "app-safety"),
                             "REGISTRATION": registration, "SECRET_KEY": "e2e-secret", **client_key_paths})
    client = app.test_client()
    return E2E(sandbox=e2e.sandbox, app=app, client=client, launcher=Launcher(client, e2e.sandbox),
               new_browser=app.test_client)


def held(sandbox: Any, submission_id: str) -> dict[str, list[dict]]:
    """Everything one submission left in the EHR, Flags included."""
    found = stored(sandbox, submission_id)
    found["Flag"] = of_submission(sandbox.resources("Flag"), submission_id)
    return found


def flag_points_at(flag: dict) -> str | None:
    """The record a Flag's flag-detail extension references."""
    return next((e["valueReference"]["reference"] for e in flag.get("extension") or [] if e.get("url") == FLAG_DETAIL), None)


def audit_events(caplog: Any, name: str) -> list[dict]:
    """Logged audit events with this name."""
    return [e for e in (json.loads(r.getMessage()) for r in caplog.records if r.name == "smart_app.audit.events")
            if e.get("event") == name]


def quiet_audit(caplog: Any) -> None:
    """Capture audit events."""
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
