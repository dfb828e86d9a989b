"""Small builders of FHIR medication records for the medication-review tests."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
DATA = Path(__file__).parent / "data"
ORAL = {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]}


def load(name: str) -> dict[str, Any]:
    """A public example fixture from tests/medications/data."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def rx_concept(code: str, display: str | None, text: str | None = None) -> dict[str, Any]:
    """An RxNorm CodeableConcept."""
    coding: dict[str, Any] = {"system": RXNORM, "code": code}
    if display:
        coding["display"] = display
    concept: dict[str, Any] = {"coding": [coding]}
    if text:
        concept["text"] = text
    return concept


def request(rid: str, medication: dict[str, Any], status: str = "active", intent: str = "order", **extra: Any) -> dict[str, Any]:
    """A MedicationRequest; ``medication`` holds medicationCodeableConcept or medicationReference."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": intent,
            "subject": {"reference": "Patient/p1"}, **medication, **extra}


def statement(sid: str, medication: dict[str, Any], status: str = "active", **extra: Any) -> dict[str, Any]:
    """A MedicationStatement."""
    return {"resourceType": "MedicationStatement", "id": sid, "status": status,
            "subject": {"reference": "Patient/p1"}, **medication, **extra}


def medication(mid: str, concept: dict[str, Any]) -> dict[str, Any]:
    """A Medication resource (as included by _include=MedicationRequest:medication)."""
    return {"resourceType": "Medication", "id": mid, "code": concept}
