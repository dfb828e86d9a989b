"""Inputs for write-back builder tests: a PHQ-9-like response with two extracted Observations."""
from __future__ import annotations

import pytest

SYSTEM = "https://previsit.example/fhir/submission"
SUBMISSION = "3f2b8c1e-submission"
RECORDED = "2026-03-01T09:30:00Z"
DEVICE = {"resourceType": "Device", "deviceName": [{"name": "SMART Pre-Visit", "type": "user-friendly-name"}],
          "version": [{"value": "0.1.0"}]}


def qr() -> dict:
    """A completed QR as the questionnaire module hands it over."""
    return {"resourceType": "QuestionnaireResponse", "status": "completed",
            "questionnaire": "http://previsit.example/Questionnaire/phq-9|1.0.0",
            "authored": RECORDED, "item": [{"linkId": "phq9-1", "answer": [{"valueInteger": 2}]}]}


def obs(code: str, value: float, **extra) -> dict:
    """An extracted Observation with a LOINC code."""
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value}, **extra}


@pytest.fixture
def build_args() -> dict:
    """Keyword arguments for build_submission_bundle; tests tweak copies."""
    return dict(
        questionnaire_response=qr(),
        observations=[obs("44261-6", 12), obs("29463-7", 70.5, derivedFrom=[{"reference": "QuestionnaireResponse/placeholder"}])],
        submission_id=SUBMISSION,
        identifier_system=SYSTEM,
        patient_ref="Patient/p1",
        encounter_ref="Encounter/e1",
        author_ref="Patient/p1",
        app_device=DEVICE,
        recorded=RECORDED,
    )
