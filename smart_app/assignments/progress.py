"""Set an assigned Task `in-progress` on the first save of its form (SDC workflow), guarded by If-Match.

Spec: https://hl7.org/fhir/uv/sdc/workflow.html#task and https://hl7.org/fhir/R4/http.html#concurrency.
A convenience for the care team's work list: it never blocks or fails the save itself.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from smart_app.audit import events as audit
from smart_app.assignments.updates import in_progress
from smart_app.ehr.client import FhirError, FhirErrorCode

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

ATTEMPTS = 2  # a 412 re-reads the Task and decides again, once


def mark_in_progress(launch: "Launch", task_id: str) -> bool:
    """Update the Task to in-progress when it is still requested/received/accepted; True when this call did.

    Without a Task write scope nothing is written (audited). A Task changed meanwhile (412) is read
    again: still open, it is updated against the new version; anything else is left alone.
    """
    ids = {"handle": launch.handle, "task": task_id}
    if not launch.context.permissions.can_update("Task"):
        audit.event("assignment.task_not_updated", reason="no Task write scope", step="in-progress", **ids)
        return False
    for _ in range(ATTEMPTS):
        try:
            current = launch.fhir.read("Task", task_id)
        except FhirError as error:
            audit.event("assignment.task_not_updated", reason=error.code.value, step="in-progress", **ids)
            return False
        when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = in_progress(current, when)
        if body is None:
            return False  # already in progress, or no longer open: nothing to say
        try:
            launch.fhir.update(body, if_match=(current.get("meta") or {}).get("versionId"))
        except FhirError as error:
            if error.code in (FhirErrorCode.PRECONDITION_FAILED, FhirErrorCode.CONFLICT):
                continue
            audit.event("assignment.task_not_updated", reason=error.code.value, step="in-progress", **ids)
            return False
        audit.event("assignment.task_in_progress", **ids)
        return True
    audit.event("assignment.task_not_updated", reason="changed meanwhile", step="in-progress", **ids)
    return False
