"""Pure builders for the clinician's side of an SDC Task: ask the patient to fill a form, and cancel that ask.

Spec: SDC 4.0 Task Questionnaire profile (https://hl7.org/fhir/uv/sdc/StructureDefinition-sdc-task.html:
`code` complete-questionnaire, `focus` omitted, one `input` of type `questionnaire` with
`valueCanonical`, `authoredOn` and `requester` required), FHIR R4 Task (status, intent,
restriction.period) and conditional create (https://hl7.org/fhir/R4/http.html#ccreate).

A double click must make one Task, yet asking again after a cancel must make a new one. So the
identifier is deterministic from the order (server, patient, form, visit, requester) plus a
generation: how many Tasks with that order digest the EHR already holds, all of them finished
(an open one means "already asked", and nothing is created). Two posts that saw the same
Tasks compute the same identifier, and the conditional create keeps one. Nothing here does I/O.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Iterable, Mapping

from smart_app.assignments.model import (COMPLETE_QUESTIONNAIRE, INPUT_QUESTIONNAIRE, SDC_TASK_CODE_SYSTEM,
                                         SDC_TASK_PROFILE, AssignedTask, QuestionnaireCanonical, parse_due,
                                         parse_task)
from smart_app.context import FhirReference
from smart_app.ehr.tokens import token_query

ORDER_IDENTIFIER_SYSTEM = "http://smart-previsit.example.org/fhir/sid/questionnaire-order"
CANCEL_REASON = "Cancelled by the clinician who asked for it"


@dataclass(frozen=True)
class Order:
    """What the clinician asks for: this patient to fill this form, before this visit, by this date."""

    iss: str
    patient_id: str
    questionnaire: QuestionnaireCanonical
    title: str
    requester: FhirReference
    requester_display: str | None = None
    encounter_id: str | None = None
    due: str | None = None  # a FHIR date or dateTime (restriction.period.end)

    @property
    def digest(self) -> str:
        """The order's stable name: the same server, patient, form, visit and requester give the same digest."""
        text = "\n".join((self.iss.rstrip("/"), self.patient_id, self.questionnaire.text, self.encounter_id or "",
                          relative_to(self.requester, self.iss)))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def relative_to(ref: FhirReference, iss: str) -> str:
    """`Type/id` when the reference lives on this server (or is relative), else its absolute URL."""
    if ref.base is None or ref.base.rstrip("/") == iss.rstrip("/"):
        return ref.relative
    return f"{ref.base.rstrip('/')}/{ref.relative}"


def order_values(resources: Iterable[Any]) -> dict[str, str]:
    """Task id -> the value of its identifier in our order system (Tasks without one are left out)."""
    found: dict[str, str] = {}
    for resource in resources:
        if not isinstance(resource, Mapping) or not isinstance(resource.get("id"), str):
            continue
        for ident in resource.get("identifier") or ():
            if isinstance(ident, Mapping) and ident.get("system") == ORDER_IDENTIFIER_SYSTEM \
                    and isinstance(ident.get("value"), str):
                found[resource["id"]] = ident["value"]
    return found


def open_order(order: Order, resources: Iterable[Any]) -> AssignedTask | None:
    """An open Task the EHR already holds for this order (asking again would be a duplicate), or None."""
    resources = list(resources)
    values = order_values(resources)
    for resource in resources:
        task = parse_task(resource)
        if task is not None and task.is_open and values.get(task.id, "").startswith(order.digest + "/"):
            return task
    return None


def identifier_value(order: Order, resources: Iterable[Any]) -> str:
    """`<digest>/<generation>`: the generation counts the Tasks already made for this order (all finished)."""
    generation = sum(1 for value in order_values(resources).values() if value.startswith(order.digest + "/"))
    return f"{order.digest}/{generation}"


def identifier_search(value: str) -> tuple[str, str]:
    """The search parameter that finds the Task with this order identifier (the client encodes it)."""
    return ("identifier", f"{ORDER_IDENTIFIER_SYSTEM}|{value}")


def if_none_exist(value: str) -> str:
    """The If-None-Exist query that makes creating the Task with this identifier idempotent."""
    return token_query("identifier", ORDER_IDENTIFIER_SYSTEM, value)


def new_task(order: Order, value: str, now: str) -> dict[str, Any]:
    """The SDC Task asking the patient (the owner) to complete the Questionnaire; `now` is a FHIR instant."""
    requester: dict[str, Any] = {"reference": relative_to(order.requester, order.iss)}
    if order.requester_display:
        requester["display"] = order.requester_display
    patient = {"reference": f"Patient/{order.patient_id}"}
    task: dict[str, Any] = {
        "resourceType": "Task",
        "meta": {"profile": [SDC_TASK_PROFILE]},
        "identifier": [{"system": ORDER_IDENTIFIER_SYSTEM, "value": value}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": COMPLETE_QUESTIONNAIRE,
                             "display": "Complete Questionnaire"}]},
        "description": order.title,
        "for": patient,
        "authoredOn": now,
        "lastModified": now,
        "requester": requester,
        "owner": dict(patient),
        "input": [{"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": INPUT_QUESTIONNAIRE}]},
                   "valueCanonical": order.questionnaire.text}],
    }
    if order.encounter_id:
        task["encounter"] = {"reference": f"Encounter/{order.encounter_id}"}
    if order.due:
        task["restriction"] = {"period": {"end": order.due}}
    return task


def visit_start(resource: Mapping[str, Any] | None) -> str | None:
    """When a visit begins: an Encounter's `period.start` or an Appointment's `start` (as written, with its offset)."""
    if not isinstance(resource, Mapping):
        return None
    period: Mapping[str, Any] = p if isinstance(p := resource.get("period"), Mapping) else {}
    start = period.get("start") or resource.get("start")
    return start if isinstance(start, str) and start else None


def due_before_visit(resource: Mapping[str, Any] | None, now: datetime) -> str | None:
    """The due date a form asked for this visit gets: the visit's start while it is ahead; once the visit
    has begun (an in-progress encounter), the end of today (`now`'s date); None without a visit start."""
    start = visit_start(resource)
    begins = parse_due(start, timezone.utc) if start else None
    if begins is None:
        return None
    return start if begins > now else now.date().isoformat()


class CancelDecision(Enum):
    """What may be done with a cancel request for one Task, as read now from the EHR."""

    CANCEL = "cancel"
    ALREADY_COMPLETED = "already-completed"
    ALREADY_CLOSED = "already-closed"  # cancelled, rejected, failed or entered in error
    NOT_REQUESTER = "not-requester"
    NOT_THIS_PATIENT = "not-this-patient"
    NOT_A_FORM_REQUEST = "not-a-form-request"


def decide_cancel(resource: Any, *, patient_id: str, user: FhirReference | None, iss: str) -> CancelDecision:
    """Whether this clinician may cancel this Task now: only an unfinished form request they made, for this patient."""
    task = parse_task(resource)
    if task is None:
        return CancelDecision.NOT_A_FORM_REQUEST
    if not _same(task.for_patient, FhirReference("Patient", patient_id), iss):
        return CancelDecision.NOT_THIS_PATIENT
    if user is None or not _same(task.requester, user, iss):
        return CancelDecision.NOT_REQUESTER
    if task.status == "completed":
        return CancelDecision.ALREADY_COMPLETED
    if task.is_finished:
        return CancelDecision.ALREADY_CLOSED
    return CancelDecision.CANCEL


def cancelled(resource: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The Task as read, with status `cancelled`, the reason and `lastModified`: nothing else changes."""
    task = copy.deepcopy(dict(resource))
    task["status"] = "cancelled"
    task["statusReason"] = {"text": CANCEL_REASON}
    task["lastModified"] = now
    return task


def _same(ref: FhirReference | None, other: FhirReference, iss: str) -> bool:
    """Both name the same resource on this server (relative references are on this server)."""
    return ref is not None and relative_to(ref, iss) == relative_to(other, iss)
