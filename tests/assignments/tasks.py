"""Builders of SDC Task JSON for the assignment tests (plain data, no fakes of our code)."""
from __future__ import annotations

from typing import Any

from smart_app.assignments.model import COMPLETE_QUESTIONNAIRE, INPUT_QUESTIONNAIRE, SDC_TASK_CODE_SYSTEM

ISS = "https://ehr.example/fhir"


def sdc_task(task_id: str = "t1", *, status: str = "requested", patient: str = "p1", owner: str | None = None,
             questionnaire: str | None = "https://clinic.example/Questionnaire/intake|2",
             due: str | None = "2026-01-14", requester: str | None = "Dr Adeyemi", **extra: Any) -> dict[str, Any]:
    """A Task as an EHR following the SDC Task profile would return it."""
    task: dict[str, Any] = {
        "resourceType": "Task", "id": task_id, "meta": {"versionId": "3"}, "status": status, "intent": "order",
        "code": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": COMPLETE_QUESTIONNAIRE}]},
        "for": {"reference": f"Patient/{patient}"},
        "authoredOn": "2026-01-02",
    }
    if owner:
        task["owner"] = {"reference": owner}
    if requester:
        task["requester"] = {"reference": "Practitioner/dr1", "display": requester}
    if questionnaire:
        task["input"] = [{"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": INPUT_QUESTIONNAIRE}]},
                          "valueCanonical": questionnaire}]
    if due:
        task["restriction"] = {"period": {"end": due}}
    task.update(extra)
    return task
