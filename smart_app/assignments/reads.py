"""The EHR reads behind assigned forms and the visit, declared as data for the catalog's one read wave.

`plan(launch)` adds three searches to the catalog's plan: the patient's open SDC Tasks (with their
requesters, `_include=Task:requester`, so a Task without `requester.display` still says who asked), the
newest closed ones (one page) and the next booked Appointment. The Tasks' Questionnaires are
then found in ONE `Questionnaire?url=a,b,c` search (`resolve_questionnaires`), the only read that
follows another, and only when there are Tasks. Failures and missing scopes give an empty
answer that says why, never an exception. Spec: SDC 4.0 Task Questionnaire
(https://hl7.org/fhir/uv/sdc/workflow.html#task), FHIR R4 search (a comma is OR within one parameter).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from smart_app import i18n
from smart_app.assignments.model import (COMPLETE_QUESTIONNAIRE_TOKEN, FINISHED_STATUSES, OPEN_STATUSES, AssignedTask,
                                         QuestionnaireCanonical, assigned_tasks, closed_tasks)
from smart_app.assignments.names import CARE_TEAM_TYPES, with_requester_names
from smart_app.ehr.reads import Read, ReadPlan, ReadResults
from smart_app.ehr.client import SearchResult

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

TASK_PAGES = 3  # open Tasks for one patient: a few pages at most (the server's page size)
APPOINTMENT_STATUSES = "booked,arrived"
RECENT_CLOSED = "20"  # the newest finished Tasks read (one page): a form closed mid-fill stays reachable
OPEN, CLOSED, APPOINTMENT, FORMS = ("assignments.open", "assignments.closed", "assignments.appointment",
                                    "assignments.forms")


@dataclass(frozen=True)
class TaskRead:
    """The Tasks this person may see, or why none were read (`skipped`: "no-scope" | "failed")."""

    tasks: tuple[AssignedTask, ...] = ()
    skipped: str | None = None


def task_scopes_granted(launch: "Launch") -> bool:
    """The launch may read Tasks (patient/Task.rs or v1 patient/Task.read)."""
    return launch.context.permissions.can_read("Task")


def today(launch: "Launch") -> date:
    """Today in the reader's zone (the appointment search's lower bound)."""
    try:
        zone = i18n.select_zone()
    except RuntimeError:  # no app context: a build outside any request
        zone = "UTC"
    return datetime.now(ZoneInfo(zone)).date()


def searches_tasks(launch: "Launch") -> bool:
    """The catalog's wave searches this patient's Tasks (open and newest closed)."""
    return bool(launch.context.patient_id) and task_scopes_granted(launch)


def searched_tasks(found: ReadResults) -> dict[str, dict[str, Any]]:
    """Every Task the wave's Task searches returned, as read, by id (a named Task is found here, not read again)."""
    tasks: dict[str, dict[str, Any]] = {}
    for name in (OPEN, CLOSED):
        result = found.value(name)
        for resource in result.matches if isinstance(result, SearchResult) else []:
            if resource.get("resourceType") == "Task" and isinstance(resource.get("id"), str):
                tasks.setdefault(resource["id"], resource)
    return tasks


def plan(launch: "Launch") -> ReadPlan:
    """The open Tasks, the newest closed ones and the next Appointment, as reads of the catalog's wave."""
    ctx = launch.context
    if not ctx.patient_id:
        return ReadPlan()
    patient = f"Patient/{ctx.patient_id}"
    tasks = searches_tasks(launch)
    # Who asked: a Task written without `requester.display` is named from its requester, brought by the same search.
    names = [("_include", "Task:requester")] if any(ctx.permissions.can_read(t) for t in CARE_TEAM_TYPES) else []
    return ReadPlan.of(
        Read.search(OPEN, "Task", [("patient", patient), ("code", COMPLETE_QUESTIONNAIRE_TOKEN),
                                   ("status", ",".join(OPEN_STATUSES)), *names], max_pages=TASK_PAGES) if tasks else None,
        Read.search(CLOSED, "Task", [("patient", patient), ("code", COMPLETE_QUESTIONNAIRE_TOKEN),
                                     ("status", ",".join(FINISHED_STATUSES)), ("_sort", "-_lastUpdated"),
                                     ("_count", RECENT_CLOSED)]) if tasks else None,
        Read.search(APPOINTMENT, "Appointment", [("patient", patient), ("date", f"ge{today(launch).isoformat()}"),
                                                 ("status", APPOINTMENT_STATUSES), ("_sort", "date"), ("_count", "10")])
        if ctx.permissions.can_read("Appointment") else None)


def open_tasks(launch: "Launch", found: ReadResults) -> TaskRead:
    """The patient's open SDC questionnaire Tasks this person may see (filtered again here)."""
    ctx = launch.context
    if not ctx.patient_id:
        return TaskRead()
    if not task_scopes_granted(launch):
        return TaskRead(skipped="no-scope")
    result = found.value(OPEN)
    if not isinstance(result, SearchResult):
        return TaskRead(skipped="failed")
    tasks = assigned_tasks(result.matches, patient_id=ctx.patient_id, user=ctx.fhir_user, iss=ctx.iss)
    return TaskRead(with_requester_names(tasks, result.included, ctx.iss))


def recently_closed_tasks(launch: "Launch", found: ReadResults) -> tuple[AssignedTask, ...]:
    """The newest finished Tasks addressed to this person: a form whose request was cancelled or completed
    elsewhere while it was being filled keeps its page (the answers stay a draft, the person is told)."""
    ctx = launch.context
    result = found.value(CLOSED)
    if not ctx.patient_id or not isinstance(result, SearchResult):
        return ()
    return tuple(closed_tasks(result.matches, patient_id=ctx.patient_id, user=ctx.fhir_user, iss=ctx.iss))


def next_appointment(launch: "Launch", found: ReadResults) -> dict[str, Any] | None:
    """The patient's next booked (or arrived) Appointment from today on, or None (no scope, none, or failed)."""
    ctx = launch.context
    result = found.value(APPOINTMENT)
    if not ctx.patient_id or not isinstance(result, SearchResult):
        return None
    first_day = today(launch).isoformat()
    mine = [a for a in result.matches if a.get("status") in APPOINTMENT_STATUSES.split(",")
            and isinstance(a.get("start"), str) and a["start"][:10] >= first_day
            and any((p.get("actor") or {}).get("reference") == f"Patient/{ctx.patient_id}"
                    for p in a.get("participant") or [] if isinstance(p, dict))]
    return min(mine, key=lambda a: a["start"]) if mine else None


@dataclass(frozen=True)
class ResolvedQuestionnaires:
    """Questionnaires found for the Tasks' canonicals: `found[canonical text]`, and whether the search failed."""

    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: bool = False


def matches(canonical: QuestionnaireCanonical, questionnaire: dict[str, Any]) -> bool:
    """The Questionnaire is the one a Task names: same url, and same version when the Task gives one."""
    if questionnaire.get("url") != canonical.url:
        return False
    return canonical.version is None or questionnaire.get("version") == canonical.version


def pick(canonical: QuestionnaireCanonical, candidates: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The best match for a canonical: an active one first, then the latest version string."""
    found = [q for q in candidates if matches(canonical, q)]
    found.sort(key=lambda q: (q.get("status") == "active", str(q.get("version") or "")), reverse=True)
    return found[0] if found else None


def resolve_questionnaires(launch: "Launch", canonicals: Iterable[QuestionnaireCanonical]) -> ResolvedQuestionnaires:
    """Every Task's Questionnaire from the EHR in ONE search (`url=a,b,c`), matched by url and version."""
    wanted = list(dict.fromkeys(canonicals))
    if not wanted:
        return ResolvedQuestionnaires()
    if not launch.context.permissions.can_read("Questionnaire"):
        return ResolvedQuestionnaires(failed=True)
    urls = ",".join(dict.fromkeys(c.url for c in wanted))
    result = launch.reads.fetch(ReadPlan.of(Read.search(FORMS, "Questionnaire", [("url", urls)], max_pages=2))).value(FORMS)
    if not isinstance(result, SearchResult):
        return ResolvedQuestionnaires(failed=True)
    return ResolvedQuestionnaires({c.text: q for c in wanted if (q := pick(c, result.matches)) is not None})
