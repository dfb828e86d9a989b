"""Fixtures for the sandbox FHIR API: a seeded store, token grants, a fault queue and a test client."""
from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sandbox.contracts import AccessGrant, PlannedFault
from sandbox.fhir.api import create_fhir_blueprint
from sandbox.fhir.store import FhirStore
from sandbox.seed import seed

TODAY = date(2026, 1, 15)
QUESTIONNAIRE_URL = "http://example.org/fhir//Questionnaire/phq-2"  # the `//` is deliberate
OAUTH_URIS = {"authorize": "http://127.0.0.1:9090/auth/authorize", "token": "http://127.0.0.1:9090/auth/token"}


def _grant(scopes: str, patient: str | None = None, **kw: Any) -> AccessGrant:
    """An unexpired grant with space-separated scopes."""
    return AccessGrant(client_id="app", scopes=frozenset(scopes.split()), patient=patient,
                       expires_at=time.time() + 3600, **kw)


# Bearer token -> what it grants: the sandbox's own contract with its authorization server.
GRANTS: dict[str, AccessGrant] = {
    "ana-all": _grant("launch/patient openid fhirUser patient/*.cruds", "pat-ana", launch_id="L-ana"),
    "ana-v1-read": _grant("patient/*.read", "pat-ana"),
    "ana-v1-write": _grant("patient/*.read patient/*.write", "pat-ana"),
    "ana-obs-rs": _grant("patient/Observation.rs patient/Patient.rs", "pat-ana"),
    "ana-obs-c": _grant("patient/Observation.c", "pat-ana"),
    "ana-meds": _grant("patient/MedicationRequest.rs", "pat-ana"),
    "ana-meds-and-medication": _grant("patient/MedicationRequest.rs patient/Medication.rs", "pat-ana"),
    "ana-vitals-only": _grant("patient/Observation.rs?category=vital-signs", "pat-ana"),
    "ana-questionnaire": _grant("patient/Questionnaire.rs", "pat-ana"),
    "ben-all": _grant("patient/*.cruds", "pat-ben", launch_id="L-ben"),
    "no-patient": _grant("patient/*.cruds"),
    "clinician": _grant("openid fhirUser user/*.cruds", fhir_user="Practitioner/prac-lee", launch_id="L-doc"),
    "clinician-read": _grant("user/*.rs", fhir_user="Practitioner/prac-lee"),
    "expired": AccessGrant(client_id="app", scopes=frozenset({"user/*.cruds"}), expires_at=time.time() - 5),
}


class QueuedFaults:
    """A FaultPlan that hands out planned faults in order (the contract's take semantics)."""

    def __init__(self) -> None:
        """Start with nothing planned."""
        self.planned: list[PlannedFault] = []
        self.seen: list[str | None] = []  # the interaction named by each take()

    def plan(self, fault: PlannedFault) -> None:
        """Queue a fault."""
        self.planned.append(fault)

    def take(self, *, is_write: bool, launch_id: str | None, interaction: str | None = None) -> PlannedFault | None:
        """Consume one use of the first fault that applies to this request."""
        self.seen.append(interaction)
        for fault in self.planned:
            if fault.writes_only and not is_write:
                continue
            if fault.launch_id not in (None, launch_id):
                continue
            if fault.kind == "stale_update" and interaction not in (None, "update"):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.planned.remove(fault)
            return fault
        return None


@pytest.fixture
def questionnaire_dir(tmp_path: Path) -> Path:
    """A folder with one bundled-style Questionnaire whose canonical URL contains `//`."""
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "phq-2.json").write_text(json.dumps({
        "resourceType": "Questionnaire", "id": "phq-2", "url": QUESTIONNAIRE_URL, "version": "2.0.0",
        "status": "active", "name": "PHQ2", "title": "PHQ-2",
        "item": [{"linkId": "q1", "text": "Little interest?", "type": "choice"}]}))
    (folder / "broken.json").write_text("{not json")
    return folder


@pytest.fixture
def store(tmp_path: Path, questionnaire_dir: Path) -> FhirStore:
    """A seeded store in a temporary SQLite file."""
    s = FhirStore(tmp_path / "fhir.db")
    seed(s, questionnaire_dir=questionnaire_dir, today=TODAY)
    yield s
    s.close()


@pytest.fixture
def faults() -> QueuedFaults:
    """The fault queue the API consults."""
    return QueuedFaults()


@pytest.fixture
def app(store: FhirStore, faults: QueuedFaults) -> Flask:
    """A Flask app with only the FHIR blueprint mounted."""
    flask_app = Flask("sandbox-fhir-test")
    flask_app.config.update(TESTING=True, SANDBOX_OAUTH_URIS=OAUTH_URIS)
    flask_app.register_blueprint(create_fhir_blueprint(store, GRANTS.get, faults))
    return flask_app


@pytest.fixture
def client(app: Flask):
    """The Flask test client."""
    return app.test_client()


def auth(token: str, **extra: str) -> dict[str, str]:
    """Request headers carrying a bearer token."""
    return {"Authorization": f"Bearer {token}", **extra}


def entries(bundle: dict[str, Any], mode: str = "match") -> list[dict[str, Any]]:
    """Resources of a searchset Bundle with the given search mode."""
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    """Ids of a searchset Bundle's resources with the given search mode."""
    return [r["id"] for r in entries(bundle, mode)]
