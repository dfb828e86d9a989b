"""The clinician's EHR reads and writes for form requests: the patient's SDC Tasks (every status), the
form picker's Questionnaire search, asking the patient (one conditional create) and cancelling (If-Match).

Reads are declared as plans (smart_app/ehr/reads.py: one wave, a batch where the EHR has one);
failures come back as a flag, never an exception, so the pages still render. Writes return a result from a closed set the view turns into words.
Spec: SDC 4.0 Task Questionnaire (https://hl7.org/fhir/uv/sdc/workflow.html#task); FHIR R4
conditional create and versioned update (https://hl7.org/fhir/R4/http.html#ccreate,
https://hl7.org/fhir/R4/http.html#concurrency); search `:contains` (https://hl7.org/fhir/R4/search.html#string).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from smart_app.audit import events as audit
from smart_app.assignments.names import by_reference, display_name
from smart_app.assignments.model import COMPLETE_QUESTIONNAIRE_TOKEN, AssignedTask, QuestionnaireCanonical, parse_task
from smart_app.assignments.orders import (CancelDecision, Order, cancelled, decide_cancel, identifier_value,
                                          due_before_visit, identifier_search, if_none_exist, new_task,
                                          open_order)
from smart_app.context import FhirReference
from smart_app.ehr.reads import Read, ReadPlan, ReadResults
from smart_app.ehr.client import FhirError, FhirErrorCode, SearchResult
from smart_app.launch.runtime import runtime

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

TASK_PAGE_SIZE = "50"
TASK_PAGES = 3          # a patient's form requests, every status: a few pages at most
PICKER_PAGE_SIZE = "50"  # one page of the EHR's active Questionnaires per search; the picker says when there are more
MAX_SEARCH_TEXT = 100
CANCEL_ATTEMPTS = 3     # re-read and decide again after a 412 at most this many times
ORDER_LOCK = "task-order"  # store lock per order identifier, for servers without conditional create
ORDER_LOCK_SECONDS = 30


def _now() -> str:
    """The current instant as a FHIR instant (UTC; the EHR stores it, nobody reads it raw)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------ reads


@dataclass(frozen=True)
class FormRequests:
    """The patient's form requests as read (`resources` raw, `tasks` parsed), or why none were read."""

    resources: tuple[dict[str, Any], ...] = ()
    tasks: tuple[AssignedTask, ...] = ()
    skipped: str | None = None  # "no-scope" | "failed"
    truncated: bool = False


REQUESTS, VISIT, FORM, USER = "orders.requests", "orders.visit", "orders.form", "orders.user"


def form_requests_plan(launch: "Launch") -> ReadPlan:
    """Every SDC questionnaire Task for the launch's patient, newest first, and the launch's Encounter
    (for the due date), as one wave of reads (smart_app/ehr/reads.py)."""
    ctx = launch.context
    return ReadPlan.of(
        Read.search(REQUESTS, "Task", [("patient", f"Patient/{ctx.patient_id}"), ("code", COMPLETE_QUESTIONNAIRE_TOKEN),
                                       ("_sort", "-authored-on"), ("_count", TASK_PAGE_SIZE)], max_pages=TASK_PAGES)
        if ctx.patient_id and ctx.permissions.can_read("Task") else None,
        Read.resource(VISIT, "Encounter", ctx.encounter_id)
        if ctx.encounter_id and ctx.permissions.can_read("Encounter") else None)


def requester_plan(launch: "Launch") -> ReadPlan:
    """The clinician's own resource (their fhirUser on this server), read with the ask's other reads, so the
    Task says who asked (`requester.display`). A PractitionerRole brings its Practitioner in the same search."""
    ctx = launch.context
    user = ctx.fhir_user
    if user is None or (user.base is not None and user.base.rstrip("/") != ctx.iss.rstrip("/")) \
            or not ctx.permissions.can_read(user.resource_type):
        return ReadPlan()
    if user.resource_type == "PractitionerRole":
        return ReadPlan.of(Read.search(USER, "PractitionerRole", [("_id", user.id),
                                                                   ("_include", "PractitionerRole:practitioner")]))
    return ReadPlan.of(Read.resource(USER, user.resource_type, user.id))


def requester_display(launch: "Launch", found: ReadResults) -> str | None:
    """The clinician's name from their resource, or None when it could not be read or has none."""
    result = found.value(USER) if USER in found else None
    if isinstance(result, SearchResult):
        user = launch.context.fhir_user
        mine = [r for r in result.matches if user is not None and r.get("id") == user.id]
        return display_name(mine[0], by_reference(result.included)) if mine else None
    return display_name(result) if isinstance(result, dict) else None


def form_requests(launch: "Launch", found: ReadResults) -> FormRequests:
    """The patient's form requests from the plan's search (filtered again here to this patient)."""
    ctx = launch.context
    if not ctx.patient_id:
        return FormRequests()
    if not ctx.permissions.can_read("Task"):
        return FormRequests(skipped="no-scope")
    result = found.value(REQUESTS)
    if not isinstance(result, SearchResult):
        return FormRequests(skipped="failed")
    mine = [r for r in result.matches if (r.get("for") or {}).get("reference") in
            (f"Patient/{ctx.patient_id}", f"{ctx.iss.rstrip('/')}/Patient/{ctx.patient_id}")]
    tasks = tuple(t for t in (parse_task(r) for r in mine) if t is not None)
    return FormRequests(tuple(mine), tasks, truncated=result.truncated)


@dataclass(frozen=True)
class FormsOnOffer:
    """What the picker may list besides the EHR's forms: the app's bundled library, and the form urls never
    offered from anywhere (forms.catalog.forms_on_offer() says which; passed in, as forms sit above this layer)."""

    library: tuple[dict[str, Any], ...] = ()
    never: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FormChoice:
    """One form the clinician may ask for: its canonical (`url|version`), title and where it comes from."""

    canonical: str
    title: str
    source: str  # "ehr" | "library"
    description: str | None = None


@dataclass
class PickerResult:
    """The forms matching a search: the EHR's active Questionnaires, then the app's library."""

    ehr: list[FormChoice] = field(default_factory=list)
    library: list[FormChoice] = field(default_factory=list)
    ehr_failed: bool = False
    ehr_unreadable: bool = False
    more: bool = False  # the EHR had more matches than one page


def _choice(questionnaire: dict[str, Any], source: str, offer: FormsOnOffer) -> FormChoice | None:
    """A pickable form; None for one without a canonical url (a Task can only name a form by canonical)
    or one never offered."""
    url = questionnaire.get("url")
    if not isinstance(url, str) or not url or url in offer.never:
        return None
    version = questionnaire.get("version")
    canonical = f"{url}|{version}" if isinstance(version, str) and version else url
    title = questionnaire.get("title") or questionnaire.get("name") or url
    description = questionnaire.get("description")
    return FormChoice(canonical, str(title), source, description if isinstance(description, str) else None)


def _library_choices(text: str, offer: FormsOnOffer) -> list[FormChoice]:
    """The app's own forms whose title or name contains the text (case-insensitive)."""
    wanted = text.casefold()
    found = []
    for questionnaire in offer.library:
        words = f"{questionnaire.get('title') or ''} {questionnaire.get('name') or ''}".casefold()
        choice = _choice(questionnaire, "library", offer)
        if choice is not None and wanted in words:
            found.append(choice)
    return sorted(found, key=lambda c: c.title.casefold())


def find_questionnaires(launch: "Launch", text: str, offer: FormsOnOffer) -> PickerResult:
    """Active Questionnaires on the EHR whose title or name contains `text` (two searches at once), and the library's.

    `title:contains` and `name:contains` cannot be OR-ed in one FHIR search, so both go out together
    on the read pool; an empty text lists the first page of every active Questionnaire.
    """
    text = " ".join(text.split())[:MAX_SEARCH_TEXT]
    result = PickerResult(library=_library_choices(text, offer))
    if not launch.context.permissions.can_read("Questionnaire"):
        result.ehr_unreadable = True
        return result
    base = [("status", "active"), ("_count", PICKER_PAGE_SIZE)]
    queries = [base + [("title:contains", text)], base + [("name:contains", text)]] if text else [base + [("_sort", "title")]]
    plan = ReadPlan.of(*(Read.search(f"picker.{n}", "Questionnaire", q) for n, q in enumerate(queries)))
    outcomes = launch.reads.fetch(plan)  # one wave: a batch, or GETs at once
    seen: dict[str, FormChoice] = {}
    for read in plan:
        found = outcomes.value(read.name)
        if not isinstance(found, SearchResult):
            result.ehr_failed = True
            continue
        result.more = result.more or found.truncated
        for questionnaire in found.matches:
            choice = _choice(questionnaire, "ehr", offer)
            if choice is not None and questionnaire.get("status") == "active":
                seen.setdefault(choice.canonical, choice)
    result.ehr = sorted(seen.values(), key=lambda c: c.title.casefold())
    on_ehr = {c.canonical.partition("|")[0] for c in result.ehr}
    result.library = [c for c in result.library if c.canonical.partition("|")[0] not in on_ehr]
    return result


def choice_plan(launch: "Launch", canonical: str) -> ReadPlan:
    """The read that checks a posted form: the EHR's active Questionnaire with this canonical."""
    wanted = QuestionnaireCanonical.parse(canonical)
    if wanted is None or not launch.context.permissions.can_read("Questionnaire"):
        return ReadPlan()
    params = [("url", wanted.url), ("status", "active")] + ([("version", wanted.version)] if wanted.version else [])
    return ReadPlan.of(Read.search(FORM, "Questionnaire", params))


def choice_for(launch: "Launch", canonical: str, found: ReadResults, offer: FormsOnOffer) -> FormChoice | None:
    """The posted form, checked: an active Questionnaire on the EHR with this canonical, else the library's; else None."""
    wanted = QuestionnaireCanonical.parse(canonical)
    if wanted is None:
        return None
    result = found.value(FORM) if FORM in found else None
    for questionnaire in result.matches if isinstance(result, SearchResult) else []:
        choice = _choice(questionnaire, "ehr", offer)
        if choice is not None and choice.canonical == wanted.text:
            return choice
    return next((c for c in _library_choices("", offer) if c.canonical == wanted.text), None)


# ------------------------------------------------------------------------------------------ writes


class AskOutcome(enum.Enum):
    """What happened when the clinician asked the patient to fill a form."""

    CREATED = "created"
    ALREADY_ASKED = "already-asked"   # an open request for the same form and visit exists (or a double click)
    NOT_ALLOWED = "not-allowed"       # no create scope, not a clinician, or no patient
    UNKNOWN_FORM = "unknown-form"
    FAILED = "failed"


@dataclass(frozen=True)
class AskResult:
    """The outcome, and the Task it is about when there is one."""

    outcome: AskOutcome
    task: AssignedTask | None = None


def may_ask(launch: "Launch") -> bool:
    """A clinician with a patient, a fhirUser (the requester) and a create scope on Task."""
    ctx = launch.context
    return (ctx.user_kind == "clinician" and bool(ctx.patient_id) and ctx.fhir_user is not None
            and ctx.permissions.can_create("Task"))


def may_cancel(launch: "Launch") -> bool:
    """A clinician who may update Tasks (patient/ or user/ scope)."""
    ctx = launch.context
    return ctx.user_kind == "clinician" and ctx.fhir_user is not None and ctx.permissions.can_update("Task")


def ask_patient(launch: "Launch", canonical: str, offer: FormsOnOffer, due: str | None = None) -> AskResult:
    """Create the SDC Task asking this patient to fill the form before this visit: exactly one, however often posted.

    The patient's requests, the visit, the chosen form and the clinician's own resource (for the Task's
    `requester.display`) are read in one wave; an open request for the same order is
    returned as it is. Otherwise the Task is created conditionally on its identifier (If-None-Exist),
    or, where the EHR does not declare conditional create, under an app-wide lock after a search.
    """
    ctx = launch.context
    if not may_ask(launch):
        return AskResult(AskOutcome.NOT_ALLOWED)
    found = launch.reads.fetch(form_requests_plan(launch) + choice_plan(launch, canonical)
                               + requester_plan(launch))  # one wave
    requests, choice = form_requests(launch, found), choice_for(launch, canonical, found, offer)
    visit = found.value(VISIT) if VISIT in found else None
    visit = visit if isinstance(visit, dict) else None
    form = QuestionnaireCanonical.parse(choice.canonical) if choice else None
    if choice is None or form is None or ctx.fhir_user is None or ctx.patient_id is None:
        return AskResult(AskOutcome.UNKNOWN_FORM)
    order = Order(iss=ctx.iss, patient_id=ctx.patient_id, questionnaire=form, title=choice.title, requester=ctx.fhir_user,
                  requester_display=requester_display(launch, found), encounter_id=ctx.encounter_id,
                  due=due or due_before_visit(visit, datetime.now(timezone.utc)))
    existing = open_order(order, requests.resources)
    if existing is not None:
        return AskResult(AskOutcome.ALREADY_ASKED, existing)
    value = identifier_value(order, requests.resources)
    task = new_task(order, value, _now())
    try:
        written = _create_once(launch, task, value)
    except FhirError as error:
        audit.event("task.order_failed", handle=launch.handle, error_code=error.code.value, status=error.status)
        return AskResult(AskOutcome.FAILED)
    parsed = parse_task(written.resource) if written.resource else None
    audit.event("task.ordered", handle=launch.handle, task_id=written.id, created=written.created)
    if not written.created:
        return AskResult(AskOutcome.ALREADY_ASKED, parsed)
    return AskResult(AskOutcome.CREATED, parsed)


@dataclass(frozen=True)
class _Written:
    """A Task create's answer: the id, whether it is new, and the resource when the EHR returned it."""

    id: str | None
    created: bool
    resource: dict[str, Any] | None


def _create_once(launch: "Launch", task: dict[str, Any], value: str) -> _Written:
    """POST the Task at most once for this identifier (If-None-Exist, else a lock and a search)."""
    query = if_none_exist(value)
    try:
        conditional = launch.fhir.supports_conditional_create("Task")
    except FhirError:
        conditional = False
    if conditional:
        result = launch.fhir.create(task, if_none_exist=query)
        return _Written(result.id, result.created, result.resource or ({**task, "id": result.id} if result.id else None))
    store = runtime().store
    key = f"{launch.context.iss}|{value}"
    owner = store.try_lock(ORDER_LOCK, key, ORDER_LOCK_SECONDS)
    if owner is None:  # another post of the same order is creating it right now
        return _Written(None, False, None)
    try:
        found = launch.fhir.search("Task", [identifier_search(value)], max_pages=1).matches
        if found:
            return _Written(found[0].get("id"), False, found[0])
        result = launch.fhir.create(task)
        return _Written(result.id, True, result.resource or ({**task, "id": result.id} if result.id else None))
    finally:
        store.unlock(ORDER_LOCK, key, owner)


class CancelOutcome(enum.Enum):
    """What happened when the clinician cancelled a form request."""

    CANCELLED = "cancelled"
    ALREADY_COMPLETED = "already-completed"
    ALREADY_CLOSED = "already-closed"
    NOT_YOURS = "not-yours"
    NOT_FOUND = "not-found"
    NOT_ALLOWED = "not-allowed"
    NO_VERSION = "no-version"        # the EHR gave no version to guard the update with: nothing is overwritten blind
    KEPT_CHANGING = "kept-changing"  # 412 after every re-read
    FAILED = "failed"


_DECISIONS = {CancelDecision.ALREADY_COMPLETED: CancelOutcome.ALREADY_COMPLETED,
              CancelDecision.ALREADY_CLOSED: CancelOutcome.ALREADY_CLOSED,
              CancelDecision.NOT_REQUESTER: CancelOutcome.NOT_YOURS,
              CancelDecision.NOT_THIS_PATIENT: CancelOutcome.NOT_FOUND,
              CancelDecision.NOT_A_FORM_REQUEST: CancelOutcome.NOT_FOUND}


@dataclass(frozen=True)
class CancelResult:
    """The outcome, the Task as last read or written, and how many 412s were met on the way."""

    outcome: CancelOutcome
    task: AssignedTask | None = None
    conflicts: int = 0


def cancel_request(launch: "Launch", task_id: str) -> CancelResult:
    """Cancel a form request this clinician made: read it, decide, PUT with If-Match; on 412 read again and decide again."""
    ctx = launch.context
    if not may_cancel(launch) or not ctx.patient_id:
        return CancelResult(CancelOutcome.NOT_ALLOWED)
    conflicts = 0
    for _ in range(CANCEL_ATTEMPTS):
        try:
            resource = launch.fhir.read("Task", task_id)
        except (FhirError, ValueError) as error:
            gone = isinstance(error, ValueError) or error.code in (FhirErrorCode.NOT_FOUND, FhirErrorCode.GONE,
                                                                    FhirErrorCode.FORBIDDEN)
            return CancelResult(CancelOutcome.NOT_FOUND if gone else CancelOutcome.FAILED, conflicts=conflicts)
        task = parse_task(resource)
        decision = decide_cancel(resource, patient_id=ctx.patient_id, user=ctx.fhir_user, iss=ctx.iss)
        if decision is not CancelDecision.CANCEL:
            return CancelResult(_DECISIONS[decision], task, conflicts)
        version = task.version_id if task else None
        if not version:
            return CancelResult(CancelOutcome.NO_VERSION, task, conflicts)
        try:
            written = launch.fhir.update(cancelled(resource, _now()), if_match=version)
        except FhirError as error:
            if error.code in (FhirErrorCode.PRECONDITION_FAILED, FhirErrorCode.CONFLICT):
                conflicts += 1
                audit.event("task.cancel_conflict", handle=launch.handle, task_id=task_id, version=version)
                continue
            audit.event("task.cancel_failed", handle=launch.handle, task_id=task_id, error_code=error.code.value)
            return CancelResult(CancelOutcome.FAILED, task, conflicts)
        audit.event("task.cancelled", handle=launch.handle, task_id=task_id, conflicts=conflicts)
        return CancelResult(CancelOutcome.CANCELLED, parse_task(written.resource) if written.resource else task, conflicts)
    return CancelResult(CancelOutcome.KEPT_CHANGING, None, conflicts)


def task_id_of(value: Any) -> str | None:
    """A posted Task id, when it is a valid FHIR id."""
    ref = FhirReference.parse(f"Task/{value}") if isinstance(value, str) else None
    return ref.id if ref else None
