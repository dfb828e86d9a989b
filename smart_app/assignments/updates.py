"""Pure builders of the Task updates the patient's side writes: in progress on first save, completed on send.

Spec: SDC 4.0 workflow (https://hl7.org/fhir/uv/sdc/workflow.html#task): the filler sets the
Task in progress, then completed with an `output` of type `questionnaire-response` referencing
the QuestionnaireResponse. Each update is a PUT guarded by If-Match on the version just read
(https://hl7.org/fhir/R4/http.html#concurrency), so a Task changed elsewhere is never overwritten.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from smart_app.assignments.model import FINISHED_STATUSES, OPEN_STATUSES, OUTPUT_RESPONSE, SDC_TASK_CODE_SYSTEM


def _without_server_fields(task: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without `meta` (the server owns versionId and lastUpdated)."""
    body = copy.deepcopy(dict(task))
    body.pop("meta", None)
    return body


def in_progress(task: Mapping[str, Any], when: str) -> dict[str, Any] | None:
    """The Task set `in-progress` (start of execution recorded), or None when it is not open or already in progress."""
    if task.get("status") not in OPEN_STATUSES or task.get("status") == "in-progress":
        return None
    body = _without_server_fields(task)
    body["status"] = "in-progress"
    period = dict(body.get("executionPeriod") or {})
    period.setdefault("start", when)
    body["executionPeriod"] = period
    body["lastModified"] = when
    return body


def response_output(response_reference: str, identifier_system: str, submission_id: str) -> dict[str, Any]:
    """The SDC output naming the QuestionnaireResponse, with our submission identifier so a re-read can tell it is ours."""
    return {"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": OUTPUT_RESPONSE}]},
            "valueReference": {"reference": response_reference,
                               "type": "QuestionnaireResponse",
                               "identifier": {"system": identifier_system, "value": submission_id}}}


def completed(task: Mapping[str, Any], *, response_reference: str, identifier_system: str, submission_id: str,
              when: str) -> dict[str, Any]:
    """The Task `completed`, its output the response (other outputs kept), execution ended `when`.

    Raises ValueError for a Task that is already finished: nothing is ever written against a
    cancelled, rejected, failed, completed or entered-in-error Task.
    """
    if task.get("status") in FINISHED_STATUSES:
        raise ValueError(f"a {task.get('status')} Task is not completed again")
    body = _without_server_fields(task)
    body["status"] = "completed"
    outputs = [o for o in body.get("output") or [] if not _is_response_output(o)]
    body["output"] = [*outputs, response_output(response_reference, identifier_system, submission_id)]
    period = dict(body.get("executionPeriod") or {})
    period.setdefault("start", when)
    period["end"] = when
    body["executionPeriod"] = period
    body["lastModified"] = when
    return body


def completed_by(task: Mapping[str, Any], identifier_system: str, submission_id: str) -> bool:
    """True when the Task is completed with an output carrying this submission's identifier (our own commit)."""
    if task.get("status") != "completed":
        return False
    for output in task.get("output") or []:
        if _is_response_output(output):
            identifier = (output.get("valueReference") or {}).get("identifier") or {}
            if identifier.get("system") == identifier_system and identifier.get("value") == submission_id:
                return True
    return False


def put_entry(task: Mapping[str, Any], version_id: str | None, full_url: str) -> dict[str, Any]:
    """A transaction entry updating the Task, guarded by If-Match on the version read."""
    request: dict[str, Any] = {"method": "PUT", "url": f"Task/{task['id']}"}
    if version_id:
        request["ifMatch"] = f'W/"{version_id}"'
    return {"fullUrl": full_url, "resource": dict(task), "request": request}


def closed_elsewhere(task: Mapping[str, Any], identifier_system: str, submission_id: str) -> bool:
    """The Task was finished by someone else (cancelled, rejected, completed by another response...)."""
    return task.get("status") in FINISHED_STATUSES and not completed_by(task, identifier_system, submission_id)


def _is_response_output(output: Any) -> bool:
    """An output of type `questionnaire-response`."""
    if not isinstance(output, Mapping):
        return False
    return any(isinstance(c, Mapping) and c.get("code") == OUTPUT_RESPONSE
               for c in ((output.get("type") or {}).get("coding") or []))


__all__ = ["FINISHED_STATUSES", "closed_elsewhere", "completed", "completed_by", "in_progress", "put_entry", "response_output"]
