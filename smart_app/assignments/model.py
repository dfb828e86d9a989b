"""Pure model of an SDC "complete this Questionnaire" Task: parse, who may see it, when it is due.

Spec: SDC 4.0 (R4) Task Questionnaire profile,
https://hl7.org/fhir/uv/sdc/StructureDefinition-sdc-task.html and the workflow page
https://hl7.org/fhir/uv/sdc/workflow.html#task ; FHIR R4 Task (status codes, restriction.period).
Nothing here does I/O or imports Flask: FHIR JSON comes in, typed values come out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import Enum
from typing import Any, Iterable, Mapping

from smart_app.context import FhirReference

# The SDC "temp" code system: Task.code, Task.input.type and Task.output.type.
SDC_TASK_CODE_SYSTEM = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
COMPLETE_QUESTIONNAIRE = "complete-questionnaire"
INPUT_QUESTIONNAIRE = "questionnaire"
OUTPUT_RESPONSE = "questionnaire-response"
SDC_TASK_PROFILE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-task"
# The search token for Task.code, as sent in `code=`.
COMPLETE_QUESTIONNAIRE_TOKEN = f"{SDC_TASK_CODE_SYSTEM}|{COMPLETE_QUESTIONNAIRE}"

# FHIR R4 Task.status (http://hl7.org/fhir/R4/valueset-task-status.html), split by whether the
# patient still has something to do.
OPEN_STATUSES: tuple[str, ...] = ("requested", "received", "accepted", "in-progress")
CLOSED_STATUSES: tuple[str, ...] = ("draft", "ready", "on-hold", "cancelled", "rejected", "failed",
                                    "completed", "entered-in-error")
# Where the patient's own work is over: nothing more may be written against the Task.
FINISHED_STATUSES: tuple[str, ...] = ("cancelled", "rejected", "failed", "completed", "entered-in-error")

# How close a due date must be to count as "due soon".
DUE_SOON = timedelta(days=3)

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class DueState(Enum):
    """Where an open Task stands against its due date."""

    NO_DUE_DATE = "none"
    LATER = "later"
    DUE_SOON = "soon"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class QuestionnaireCanonical:
    """The Questionnaire a Task asks for: canonical url and optional version (`url|version`)."""

    url: str
    version: str | None = None

    @property
    def text(self) -> str:
        """The canonical as written in FHIR (`url|version` or `url`)."""
        return f"{self.url}|{self.version}" if self.version else self.url

    @classmethod
    def parse(cls, value: Any) -> "QuestionnaireCanonical | None":
        """Split `url|version`; None for anything that is not a non-empty string url."""
        if not isinstance(value, str) or not value.strip():
            return None
        url, _, version = value.strip().partition("|")
        if not url:
            return None
        return cls(url, version or None)


@dataclass(frozen=True)
class AssignedTask:
    """One SDC Task asking the patient to complete a Questionnaire, as read from the EHR."""

    id: str
    version_id: str | None
    status: str
    for_patient: FhirReference | None
    owner: FhirReference | None
    requester: FhirReference | None
    requester_display: str | None
    questionnaire: QuestionnaireCanonical | None
    due_text: str | None
    encounter: FhirReference | None
    based_on: tuple[FhirReference, ...]
    output_response: FhirReference | None
    description: str | None
    authored_on: str | None
    last_modified: str | None
    # The Task as read (its version with it): a send in the same request completes it from this, unread again.
    resource: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def reference(self) -> str:
        """`Task/<id>`."""
        return f"Task/{self.id}"

    @property
    def is_open(self) -> bool:
        """The patient still has this to do (requested, received, accepted or in progress)."""
        return self.status in OPEN_STATUSES

    @property
    def is_finished(self) -> bool:
        """Cancelled, rejected, failed, completed or entered in error: write nothing against it."""
        return self.status in FINISHED_STATUSES

    def due_instant(self, tz: tzinfo) -> datetime | None:
        """The moment the Task is due, aware; a date-only due date means the end of that day in `tz`."""
        return parse_due(self.due_text, tz)

    def due_local_date(self, tz: tzinfo) -> date | None:
        """The calendar day the Task is due, in `tz` (the patient's time zone)."""
        if self.due_text and _DATE.match(self.due_text) and len(self.due_text) == 10:
            return date.fromisoformat(self.due_text)
        instant = self.due_instant(tz)
        return instant.astimezone(tz).date() if instant else None

    def belongs_to(self, *, appointment_id: str | None = None, encounter_id: str | None = None) -> bool:
        """True when the Task's `encounter` or `basedOn` points at this Appointment or Encounter."""
        refs = ([self.encounter] if self.encounter else []) + list(self.based_on)
        for ref in refs:
            if appointment_id and ref.resource_type == "Appointment" and ref.id == appointment_id:
                return True
            if encounter_id and ref.resource_type == "Encounter" and ref.id == encounter_id:
                return True
        return False


def is_questionnaire_task(resource: Any) -> bool:
    """True for a Task whose code is SDC `complete-questionnaire` (the profile's fixed code)."""
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Task":
        return False
    return _has_code(resource.get("code"), COMPLETE_QUESTIONNAIRE)


def parse_task(resource: Any) -> AssignedTask | None:
    """The typed Task, or None when it is not an SDC questionnaire Task with an id and a status."""
    if not is_questionnaire_task(resource):
        return None
    task_id, status = resource.get("id"), resource.get("status")
    if not isinstance(task_id, str) or not task_id or not isinstance(status, str):
        return None
    meta = resource.get("meta") if isinstance(resource.get("meta"), Mapping) else {}
    requester = resource.get("requester") if isinstance(resource.get("requester"), Mapping) else {}
    restriction = resource.get("restriction")
    restriction = restriction if isinstance(restriction, Mapping) else {}
    period = restriction.get("period")
    period = period if isinstance(period, Mapping) else {}
    due = period.get("end")
    description = resource.get("description")
    return AssignedTask(
        id=task_id,
        version_id=_str(meta.get("versionId")),
        status=status,
        for_patient=_ref(resource.get("for")),
        owner=_ref(resource.get("owner")),
        requester=_ref(requester),
        requester_display=_str(requester.get("display")),
        questionnaire=_questionnaire_input(resource.get("input")),
        due_text=due if isinstance(due, str) and due.strip() else None,
        encounter=_ref(resource.get("encounter")),
        based_on=tuple(r for r in (_ref(b) for b in _list(resource.get("basedOn"))) if r),
        output_response=_response_output(resource.get("output")),
        description=description.strip() if isinstance(description, str) and description.strip() else None,
        authored_on=_str(resource.get("authoredOn")),
        last_modified=_str(resource.get("lastModified")),
        resource=resource,
    )


def _points_at(ref: FhirReference | None, resource_type: str, resource_id: str, iss: str) -> bool:
    """`ref` names `resource_type/resource_id` on this server (relative, or absolute under `iss`)."""
    if ref is None or ref.resource_type != resource_type or ref.id != resource_id:
        return False
    return ref.base is None or ref.base.rstrip("/") == iss.rstrip("/")


def visible_to(task: AssignedTask, *, patient_id: str, user: FhirReference | None, iss: str) -> bool:
    """May this launch's person see (and complete) the Task? (issue 10, section 1)

    Open status only; `for` is this patient; `owner` absent, the patient, or the launching user
    (a RelatedPerson proxy, whose link to the patient the launch already checked, sees Tasks owned
    by them or by the patient they act for).
    """
    return task.is_open and addressed_to(task, patient_id=patient_id, user=user, iss=iss)


def addressed_to(task: AssignedTask, *, patient_id: str, user: FhirReference | None, iss: str) -> bool:
    """The Task is for this patient and owned by nobody, the patient or the signed-in person (any status)."""
    if not _points_at(task.for_patient, "Patient", patient_id, iss):
        return False
    owner = task.owner
    if owner is None or _points_at(owner, "Patient", patient_id, iss):
        return True
    return user is not None and _points_at(owner, user.resource_type, user.id, iss)


def assigned_tasks(resources: Iterable[Any], *, patient_id: str, user: FhirReference | None, iss: str,
                   tz: tzinfo = timezone.utc) -> list[AssignedTask]:
    """The Tasks this person should see, earliest due first (no due date last), each once by id."""
    seen: dict[str, AssignedTask] = {}
    for resource in resources:
        task = parse_task(resource)
        if task is not None and task.id not in seen and visible_to(task, patient_id=patient_id, user=user, iss=iss):
            seen[task.id] = task
    far = datetime.max.replace(tzinfo=timezone.utc)

    def key(t: AssignedTask) -> tuple[datetime, str, str]:
        """Due instant, then authored date, then id: a stable order."""
        return (t.due_instant(tz) or far, t.authored_on or "", t.id)

    return sorted(seen.values(), key=key)


def closed_tasks(resources: Iterable[Any], *, patient_id: str, user: FhirReference | None,
                 iss: str) -> list[AssignedTask]:
    """Finished Tasks addressed to this person (cancelled, completed...), each once: so a form whose
    request closed while it was being filled stays reachable, and its answers are never lost."""
    seen: dict[str, AssignedTask] = {}
    for resource in resources:
        task = parse_task(resource)
        if task is not None and task.is_finished and task.id not in seen \
                and addressed_to(task, patient_id=patient_id, user=user, iss=iss):
            seen[task.id] = task
    return list(seen.values())


def due_state(task: AssignedTask, now: datetime, tz: tzinfo, soon: timedelta = DUE_SOON) -> DueState:
    """Overdue once `now` is past the due moment; due soon within `soon` of it; else later.

    A date-only due date lasts to the end of that day in the patient's time zone `tz`.
    """
    due = task.due_instant(tz)
    if due is None:
        return DueState.NO_DUE_DATE
    if now > due:
        return DueState.OVERDUE
    if due - now <= soon:
        return DueState.DUE_SOON
    return DueState.LATER


def parse_due(text: str | None, tz: tzinfo) -> datetime | None:
    """A FHIR dateTime as the aware moment it ends: a date (or year/month) is the end of that period in `tz`."""
    if not text:
        return None
    text = text.strip()
    try:
        if _DATE.match(text):
            parts = [int(p) for p in text.split("-")]
            if len(parts) == 3:
                last = date(parts[0], parts[1], parts[2])
            elif len(parts) == 2:
                nxt = date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
                last = nxt - timedelta(days=1)
            else:
                last = date(parts[0], 12, 31)
            return datetime.combine(last, time(23, 59, 59), tzinfo=tz)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # FHIR requires an offset on a dateTime with a time; without one, read it in the patient's zone.
    return instant if instant.tzinfo else instant.replace(tzinfo=tz)


def _has_code(concept: Any, code: str) -> bool:
    """The CodeableConcept has a coding (SDC temp system, or no system) with this code."""
    if not isinstance(concept, Mapping):
        return False
    for coding in _list(concept.get("coding")):
        if isinstance(coding, Mapping) and coding.get("code") == code \
                and coding.get("system") in (SDC_TASK_CODE_SYSTEM, None):
            return True
    return False


def _questionnaire_input(inputs: Any) -> QuestionnaireCanonical | None:
    """The first `input` of type `questionnaire` with a canonical value."""
    for item in _list(inputs):
        if isinstance(item, Mapping) and _has_code(item.get("type"), INPUT_QUESTIONNAIRE):
            for key in ("valueCanonical", "valueUri", "valueUrl"):
                canonical = QuestionnaireCanonical.parse(item.get(key))
                if canonical:
                    return canonical
    return None


def _response_output(outputs: Any) -> FhirReference | None:
    """The `output` of type `questionnaire-response`, as a reference."""
    for item in _list(outputs):
        if isinstance(item, Mapping) and _has_code(item.get("type"), OUTPUT_RESPONSE):
            ref = _ref(item.get("valueReference"))
            if ref:
                return ref
    return None


def _ref(value: Any) -> FhirReference | None:
    """A Reference's `reference` parsed, or None."""
    return FhirReference.parse(value.get("reference")) if isinstance(value, Mapping) else None


def _list(value: Any) -> list[Any]:
    """The value when it is a list, else empty."""
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None
