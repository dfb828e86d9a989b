"""Where questionnaires come from, and where each one stands for this patient.

Sources, in order of preference: the Questionnaire the launch names in `fhirContext`
(a reference or a canonical), the EHR's own active Questionnaires with our library's
canonicals (found by `url` and `status`), then the library bundled with the app. The EHR's
completed QuestionnaireResponses and our drafts and outbox give each one its status:
due, in progress, waiting to be sent, or completed (with the latest score and band).
"""
from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar
from zoneinfo import ZoneInfo

from flask import has_request_context, request

from smart_app import audit, canonicals, drafts, i18n, submission
from smart_app.assignments.model import AssignedTask, parse_task
from smart_app.assignments.reads import (ResolvedQuestionnaires, TaskRead, read_next_appointment, read_open_tasks,
                                         read_recently_closed_tasks, resolve_questionnaires)
from smart_app.fhir import FhirError
from smart_app.outbox import OutboxState
from smart_app.pools import submit_read
from smart_app.questionnaires import QuestionnaireError, build_form
from smart_app.launch.runtime import runtime
from smart_app.questionnaires.library import is_shared, shared, shared_find
from smart_app.questionnaires.model import Form
from smart_app.questionnaires.scoring import Score, has_score, score
from smart_app.questionnaires.translation import has_translation, localize
from smart_app.i18n import current_language

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

# The medication review is filled through its own page (the medications area), not listed here.
EXCLUDED_URLS = frozenset({"http://smart-previsit.example.org/fhir/Questionnaire/medication-review"})
RESPONSE_SEARCH_COUNT = "100"
# The documented bound on the history read: at most this many pages of completed responses, newest
# first (so up to 500 at the requested page size; fewer when the server pages smaller). Forms whose
# latest response lies beyond it are looked up one by one (see _latest_beyond), never shown as due.
RESPONSE_MAX_PAGES = 5
T = TypeVar("T")
EHR_FORM_CACHE_SIZE = 128  # built forms of EHR Questionnaires kept per process (library forms are all kept)


@dataclass(frozen=True)
class CompletedResponse:
    """One completed QuestionnaireResponse on the EHR, summarised."""

    id: str
    authored: str | None
    author: str | None
    score: Score | None
    resource: dict = field(repr=False)


@dataclass
class CatalogEntry:
    """One questionnaire offered for this launch and its status for the patient."""

    key: str  # the URL segment: the Questionnaire's id
    canonical: str  # url|version
    title: str
    source: str  # "launch" | "ehr" | "library"
    resource: dict = field(repr=False)
    requested: bool = False  # named by the launch's fhirContext
    draft: drafts.Draft | None = None
    pending: list[submission.SubmissionOutcome] = field(default_factory=list)
    completed: list[CompletedResponse] = field(default_factory=list)
    history_truncated: bool = False  # older completed responses exist than `completed` holds

    iss: str | None = field(default=None, repr=False)  # the server an EHR copy came from (form cache key)
    assignment: AssignedTask | None = None  # the open SDC Task that asks for this form (earliest due)
    closed_assignment: AssignedTask | None = None  # a Task for this form cancelled or finished elsewhere
    offered: bool = True  # listed on the home and list pages (library forms depend on launch.json `library_forms`)

    @property
    def form(self) -> Form | None:
        """The built form (shared, cached per process; never modify it), or None when unusable."""
        try:
            return self.form_or_raise()
        except QuestionnaireError:
            return None

    def form_or_raise(self) -> Form:
        """The built form, or the QuestionnaireError saying why this questionnaire cannot be shown."""
        return form_for(self.resource, self.iss, current_language())

    @property
    def url(self) -> str:
        """The canonical URL without version."""
        return self.canonical.partition("|")[0]

    def cited_by(self, response: dict) -> bool:
        """Whether a QuestionnaireResponse answers this form: by `url|version`, the bare url, or, for a
        form without `url`, its literal reference (full, as we write it, or relative to the server)."""
        cited = response.get("questionnaire")
        if cited in (self.canonical, self.url):
            return True
        return not self.resource.get("url") and cited == f"Questionnaire/{self.key}"

    @property
    def request_closed(self) -> bool:
        """Only a request the care team has since closed brought this form here: nothing is sent for it."""
        return self.source == "task-closed" and self.assignment is None

    @property
    def status(self) -> str:
        """due | in-progress | sending | not-sent | completed."""
        if self.pending:
            return "not-sent" if self.pending[0].state is OutboxState.FAILED else "sending"
        if self.draft is not None and self.draft.saved_at is not None:
            return "in-progress"
        if self.completed:
            return "completed"
        return "due"

    @property
    def latest(self) -> CompletedResponse | None:
        """The most recent completed response."""
        return self.completed[0] if self.completed else None


def canonical_of(questionnaire: dict, iss: str | None = None) -> str:
    """url|version (or just url) of a Questionnaire.

    A Questionnaire without `url` is named by its literal reference: the full URL on the EHR
    (`{iss}/Questionnaire/{id}`) when the server is known, so responses can cite it and be matched.
    """
    url = questionnaire.get("url")
    if not url:
        relative = f"Questionnaire/{questionnaire.get('id')}"
        return f"{iss.rstrip('/')}/{relative}" if iss else relative
    return f"{url}|{questionnaire['version']}" if questionnaire.get("version") else url


def _key_of(questionnaire: dict) -> str | None:
    """The Questionnaire's id, used in page URLs."""
    rid = questionnaire.get("id")
    return rid if isinstance(rid, str) and rid else None


def shared_find_by_id(key: str) -> dict | None:
    """The bundled Questionnaire this flow offers under page key `key` (read-only), or None."""
    return next((q for q in _library() if q.get("id") == key), None)


def _library() -> list[dict]:
    """Bundled questionnaires this flow offers (the shared, read-only library resources)."""
    return [q for q in shared() if q.get("url") not in EXCLUDED_URLS]


# ------------------------------------------------------------------------------- built forms

_form_lock = threading.Lock()
_library_forms: dict[tuple[int, str | None], Form] = {}  # (id(shared library resource), language) -> Form; the library never changes
_ehr_forms: "OrderedDict[tuple[str, ...], Form]" = OrderedDict()  # LRU, bounded by EHR_FORM_CACHE_SIZE


def _ehr_form_key(iss: str, resource: dict) -> tuple[str, ...]:
    """Identify one version of an EHR Questionnaire: server, id, canonical, and versionId or a content hash."""
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    version_id = meta.get("versionId")
    if isinstance(version_id, str) and version_id:
        version = "v:" + version_id + "|" + str(meta.get("lastUpdated") or "")
    else:
        # The C encoder (Decimals tagged, so 1.0 and "1.0" differ): ~10x faster than fhirjson.dumps.
        text = json.dumps(resource, separators=(",", ":"), default=lambda d: {"$decimal": str(d)})
        version = "h:" + hashlib.sha256(text.encode()).hexdigest()
    return (iss, str(resource.get("id") or ""), canonical_of(resource), version)


def form_for(resource: dict, iss: str | None = None, language: str | None = None) -> Form:
    """The built Form for a Questionnaire, built once per process and shared: never modify it.

    Bundled resources are keyed by identity (they are immutable); EHR copies by `_ehr_form_key`,
    in a bounded LRU. `language` builds the form from its translations (questionnaires/translation.py)
    when it has any in that language; each language is cached apart. Raises QuestionnaireError like
    `build_form` (refusals are not cached).
    """
    shown = language if isinstance(resource, dict) and has_translation(resource, language) else None
    if is_shared(resource):
        with _form_lock:
            cached = _library_forms.get((id(resource), shown))
        if cached is None:
            cached = build_form(localize(resource, shown))
            with _form_lock:
                cached = _library_forms.setdefault((id(resource), shown), cached)
        return cached
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        return build_form(resource)
    key = (*_ehr_form_key(iss or "", resource), shown)
    with _form_lock:
        cached = _ehr_forms.get(key)
        if cached is not None:
            _ehr_forms.move_to_end(key)
            return cached
    form = build_form(localize(resource, shown))
    with _form_lock:
        _ehr_forms[key] = form
        while len(_ehr_forms) > EHR_FORM_CACHE_SIZE:
            _ehr_forms.popitem(last=False)
    return form


def clear_form_cache() -> None:
    """Forget every built form (tests that change a Questionnaire in place between requests)."""
    with _form_lock:
        _library_forms.clear()
        _ehr_forms.clear()


# ------------------------------------------------------------------------------------ reads


def _named_reads(launch: "Launch") -> list[Callable[[], list[dict]]]:
    """One read per Questionnaire the launch's fhirContext names (by reference or by canonical)."""
    reads: list[Callable[[], list[dict]]] = []
    for item in launch.context.fhir_context:
        if item.reference and item.reference.resource_type == "Questionnaire":
            reads.append(lambda rid=item.reference.id: _read_questionnaire(launch, rid))
        elif item.canonical and (item.type in (None, "Questionnaire")):
            reads.append(lambda canonical=item.canonical: _by_canonical(launch, canonical))
        elif item.reference and item.reference.resource_type == "Task":
            reads.append(lambda rid=item.reference.id: _task_questionnaire(launch, rid))
    return reads


def _task_questionnaire(launch: "Launch", rid: str) -> list[dict]:
    """The Questionnaire an SDC Task named in fhirContext asks for (its `questionnaire` input), by canonical."""
    try:
        task = parse_task(launch.fhir.read("Task", rid))
    except (FhirError, ValueError):
        return []
    if task is None or task.questionnaire is None:
        return []
    return _by_canonical(launch, task.questionnaire.text)


def _read_questionnaire(launch: "Launch", rid: str) -> list[dict]:
    """The Questionnaire with this id on the EHR ([] when it cannot be read)."""
    try:
        return [launch.fhir.read("Questionnaire", rid)]
    except FhirError:
        return []


def _by_canonical(launch: "Launch", canonical: str) -> list[dict]:
    """One Questionnaire for a canonical: the EHR's copy when readable, else the bundled one."""
    url, _, version = canonical.partition("|")
    if launch.context.permissions.can_read("Questionnaire"):
        params = [("url", url)] + ([("version", version)] if version else [])
        try:
            matches = launch.fhir.search("Questionnaire", params).matches
        except FhirError:
            matches = []
        if matches:
            return matches[:1]
    bundled = shared_find(canonical)
    return [bundled] if bundled else []


def _ehr_copies(launch: "Launch", urls: Iterable[str]) -> list[dict]:
    """The EHR's active Questionnaires with these canonical URLs (one search, comma = OR)."""
    urls = list(urls)
    if not urls or not launch.context.permissions.can_read("Questionnaire"):
        return []
    try:
        return launch.fhir.search("Questionnaire", [("url", ",".join(urls)), ("status", "active")]).matches
    except FhirError:
        return []


@dataclass(frozen=True)
class ResponseHistory:
    """The patient's completed responses read from the EHR, newest first, and whether older ones exist."""

    responses: list[dict] = field(default_factory=list)
    truncated: bool = False


def _only_patients(found: Iterable[dict], patient_id: str) -> list[dict]:
    """Defence in depth: only this patient's responses, whatever the server returned, newest first."""
    mine = [r for r in found if (r.get("subject") or {}).get("reference") == f"Patient/{patient_id}"]
    # authored has seconds at best: two sends in one second are told apart by the server's lastUpdated.
    return sorted(mine, key=lambda r: (r.get("authored") or "", (r.get("meta") or {}).get("lastUpdated") or ""),
                  reverse=True)


def completed_responses(launch: "Launch") -> ResponseHistory:
    """The patient's completed QuestionnaireResponses on the EHR, newest first (server sort and count).

    Reads at most RESPONSE_MAX_PAGES pages; `truncated` says older responses were left unread.
    Empty when the launch may not read responses or the search fails.
    """
    ctx = launch.context
    if not ctx.patient_id or not ctx.permissions.can_read("QuestionnaireResponse"):
        return ResponseHistory()
    try:
        found = launch.fhir.search("QuestionnaireResponse", [
            ("subject", f"Patient/{ctx.patient_id}"), ("status", "completed"), ("_sort", "-authored"),
            ("_count", RESPONSE_SEARCH_COUNT)], max_pages=RESPONSE_MAX_PAGES)
    except FhirError:
        return ResponseHistory()
    return ResponseHistory(_only_patients(found.matches, ctx.patient_id), truncated=found.truncated)


def _latest_beyond(launch: "Launch", entry: "CatalogEntry") -> list[dict]:
    """The newest completed response to this one form, searched by its canonical (for histories cut short).

    Searches by `url|version` and the bare url, so exact-matching servers find it too.
    """
    ctx = launch.context
    url, version = canonicals.split(entry.canonical)
    try:
        found = launch.fhir.search("QuestionnaireResponse", [
            ("subject", f"Patient/{ctx.patient_id}"), ("status", "completed"),
            ("questionnaire", canonicals.search_value(url, [version] if version else [])),
            ("_sort", "-authored"), ("_count", "1")], max_pages=1)
    except FhirError:
        return []
    return _only_patients(found.matches, ctx.patient_id or "")[:1]


def response_score(form: Form, response: dict) -> Score | None:
    """Score a stored response by its answer codings' ordinal values (None for unscored forms).

    A form is scored only when it is a known instrument or computes a score item: ordinals on
    options alone (common in generated forms) never produce a "score" line.
    """
    if not has_score(form):
        return None
    pairs: list[tuple[Any, list]] = []
    stack = list(response.get("item") or [])
    while stack:
        node = stack.pop()
        item = form.by_link_id.get(node.get("linkId"))
        answers = []
        for answer in node.get("answer") or []:
            stack.extend(answer.get("item") or [])
            if "valueCoding" in answer:
                answers.append(("Coding", answer["valueCoding"]))
            elif "valueInteger" in answer:
                answers.append(("Integer", answer["valueInteger"]))
            elif "valueString" in answer:
                answers.append(("String", answer["valueString"]))
            elif "valueDecimal" in answer:
                answers.append(("Decimal", Decimal(str(answer["valueDecimal"]))))
        stack.extend(node.get("item") or [])
        if item is not None:
            pairs.append((item, answers))
    return score(form, pairs)


# One catalog per HTTP request and launch, shared by the threads that copy the request context
# (the home page's task providers run in parallel): keyed weakly by the request object itself.
_per_request: "weakref.WeakKeyDictionary[Any, dict[str, tuple[threading.Lock, list]]]" = weakref.WeakKeyDictionary()
_per_request_lock = threading.Lock()


@dataclass(frozen=True)
class Assignments:
    """What the care team asked for and the visit, read in the catalog's wave.

    `unopenable`: Tasks whose Questionnaire the EHR does not have (shown, never dropped);
    `task_read`: the Task search's outcome (`skipped` says "no-scope" or "failed").
    """

    tasks: tuple[AssignedTask, ...] = ()
    unopenable: tuple[AssignedTask, ...] = ()
    appointment: dict | None = None
    task_read: TaskRead = field(default_factory=TaskRead)
    closed: tuple[AssignedTask, ...] = ()  # the newest finished ones (the clinician's sidebar shows what is done)


@dataclass(frozen=True)
class _Built:
    """One request's catalog and assignments."""

    entries: list[CatalogEntry]
    assignments: Assignments


def catalog(launch: "Launch") -> list[CatalogEntry]:
    """Every questionnaire for this launch with its status, built once per request (single-flight)."""
    return _built(launch).entries


def assignments(launch: "Launch") -> Assignments:
    """The assigned forms and the next visit, from the same single-flight build as `catalog`."""
    return _built(launch).assignments


def _built(launch: "Launch") -> _Built:
    """The request's build (single-flight per request and launch)."""
    if not has_request_context():
        return _build_catalog(launch)
    req = request._get_current_object()  # type: ignore[attr-defined]
    with _per_request_lock:
        slots = _per_request.setdefault(req, {})
        lock, holder = slots.setdefault(launch.handle, (threading.Lock(), []))
    with lock:  # a second thread of the same request waits for the first one's result
        if not holder:
            holder.append(_build_catalog(launch))
        return holder[0]


@dataclass(frozen=True)
class _Wave:
    """What the catalog's one read wave brought back."""

    named: list[dict]
    ehr_copies: list[dict]
    history: ResponseHistory
    task_read: TaskRead
    closed: tuple[AssignedTask, ...]
    appointment: dict | None


def _read_wave(launch: "Launch", meanwhile: Callable[[], T]) -> tuple[_Wave, T]:
    """(named by the launch, EHR copies of the library, completed responses, open Tasks, next
    Appointment) in one wave, and meanwhile().

    The EHR reads run on the read pool while this thread runs `meanwhile` (the store reads,
    which need this request's context), so the store's round trips hide inside the EHR's.
    """
    library_urls = [q["url"] for q in _library()]
    reads: list[Callable[[], list[dict]]] = [lambda: _ehr_copies(launch, library_urls), *_named_reads(launch)]
    launch.fhir  # build the client once, before the threads share it
    today = _today(launch)
    history = submit_read(lambda: completed_responses(launch))
    tasks = submit_read(lambda: read_open_tasks(launch))
    closed = submit_read(lambda: read_recently_closed_tasks(launch))
    appointment = submit_read(lambda: read_next_appointment(launch, today))
    pending = [submit_read(read) for read in reads]
    local = meanwhile()
    results = [future.result() for future in pending]
    return _Wave([r for found in results[1:] for r in found], results[0], history.result(), tasks.result(),
                 closed.result(), appointment.result()), local


def _today(launch: "Launch") -> date:
    """Today in the reader's zone (the appointment search's lower bound)."""
    try:
        zone = i18n.select_zone()
    except RuntimeError:  # no app context: a build outside any request
        zone = "UTC"
    return datetime.now(ZoneInfo(zone)).date()


def _build_catalog(launch: "Launch") -> _Built:
    """Read the sources and the patient's responses in one wave, then give each entry its status."""
    entries: dict[str, CatalogEntry] = {}

    def add(resource: dict, source: str, requested: bool = False, assignment: AssignedTask | None = None) -> None:
        """Add a questionnaire unless one with the same canonical (or id) is already there."""
        key = _key_of(resource)
        canonical = canonical_of(resource, launch.context.iss)
        if key is None or resource.get("url") in EXCLUDED_URLS:
            return
        if any(e.canonical == canonical for e in entries.values()) or key in entries:
            for entry in entries.values():
                if entry.canonical == canonical:
                    entry.requested = entry.requested or requested
                    entry.assignment = entry.assignment or assignment
            return
        entries[key] = CatalogEntry(key=key, canonical=canonical, title=str(resource.get("title") or resource.get("name") or key),
                                    source=source, resource=resource, requested=requested, iss=launch.context.iss,
                                    assignment=assignment)

    def store_reads() -> tuple[list[submission.SubmissionOutcome], dict[str, drafts.Draft | None]]:
        """This person's submissions (newest first) and the drafts of the bundled forms."""
        return submission.submissions(launch), drafts.load_many(launch, map(canonical_of, _library()))

    wave, (known, library_drafts) = _read_wave(launch, store_reads)
    history = wave.history
    tasks = wave.task_read.tasks
    # The Tasks' Questionnaires: one search for all of them (it needs the Tasks, so it follows them).
    every = [*tasks, *wave.closed]
    resolved = (resolve_questionnaires(launch, [t.questionnaire for t in every if t.questionnaire])
                if every else ResolvedQuestionnaires())
    unopenable: list[AssignedTask] = []
    for task in tasks:
        resource = _assigned_questionnaire(task, resolved)
        if resource is None:
            unopenable.append(task)
            audit.event("assignment.questionnaire_missing", handle=launch.handle, task=task.id,
                        reason="search failed" if resolved.failed else "not on the server")
            continue
        add(resource, "task", assignment=task)
    for resource in wave.named:
        add(resource, "launch", requested=True)
    for resource in wave.ehr_copies:
        add(resource, "ehr")
    for resource in _library():
        add(resource, "library")
    # Forms of requests closed elsewhere come last: a library form stays a library form.
    for task in wave.closed:
        resource = _assigned_questionnaire(task, resolved)
        if resource is not None:
            add(resource, "task-closed")
            for entry in entries.values():
                if entry.canonical == canonical_of(resource, launch.context.iss) and entry.assignment is None:
                    entry.closed_assignment = entry.closed_assignment or task

    for entry in entries.values():
        entry.draft = library_drafts[entry.canonical] if entry.canonical in library_drafts else drafts.load(launch, entry.canonical)
        # Only the newest submission counts: a failure later corrected and sent is no longer pending.
        newest = next((s for s in known if s.questionnaire == entry.canonical), None)
        entry.pending = [newest] if newest is not None and newest.state is not OutboxState.SENT else []
        entry.history_truncated = history.truncated
        _add_completed(entry, [r for r in history.responses if entry.cited_by(r)])
    if history.truncated:
        # The history was cut short: a form with no response among the newest may still have an
        # older one. Ask for each such form's newest response at once rather than call it due.
        unseen = [e for e in entries.values() if not e.completed]
        found = [submit_read(lambda entry=entry: _latest_beyond(launch, entry)) for entry in unseen]
        for entry, future in zip(unseen, found):
            _add_completed(entry, [r for r in future.result() if entry.cited_by(r)])
    _mark_offered(entries.values(), assigned=bool(tasks), choice=runtime().settings.library_forms)
    ordered = sorted(entries.values(), key=lambda e: (e.assignment is None, not e.requested, e.title.lower()))
    return _Built(ordered, Assignments(tasks=tasks, unopenable=tuple(unopenable), appointment=wave.appointment,
                                       task_read=wave.task_read, closed=wave.closed))


def _assigned_questionnaire(task: AssignedTask, resolved: ResolvedQuestionnaires) -> dict | None:
    """The Questionnaire a Task names: the EHR's copy, else our bundled copy of that canonical; None when missing."""
    if task.questionnaire is None:
        return None
    found = resolved.found.get(task.questionnaire.text)
    if found is not None:
        return found
    bundled = shared_find(task.questionnaire.text)
    if bundled is not None and (task.questionnaire.version is None or bundled.get("version") == task.questionnaire.version):
        return bundled
    return None


def _mark_offered(entries: Iterable[CatalogEntry], *, assigned: bool, choice: str) -> None:
    """Library forms (bundled, or the EHR's copies of them) are offered per launch.json `library_forms`;
    one the person already started, sent or completed stays listed, so nothing they did disappears."""
    library_on = choice == "always" or (choice == "when-nothing-assigned" and not assigned)
    for entry in entries:
        if entry.source == "task-closed" or (entry.source in ("library", "ehr") and entry.assignment is None
                                             and not library_on):
            entry.offered = bool(entry.completed or entry.pending or (entry.draft is not None and entry.draft.saved_at))


def _add_completed(entry: CatalogEntry, responses: list[dict]) -> None:
    """Append these completed responses (newest first) to the entry, scored with its form."""
    form = entry.form if responses else None
    entry.completed.extend(_summarise(form, response) for response in responses)


def _summarise(form: Form | None, response: dict) -> CompletedResponse:
    """One completed response, scored with the form when there is one."""
    return CompletedResponse(id=str(response.get("id")), authored=response.get("authored"),
                             author=(response.get("author") or {}).get("reference"),
                             score=response_score(form, response) if form else None, resource=response)


def completed_response(launch: "Launch", entry: CatalogEntry, response_id: str) -> CompletedResponse | None:
    """One completed response of this patient to this form: from the history read, or, when that
    was cut short, read by id (an old response stays reachable); None when it is not one."""
    found = next((c for c in entry.completed if c.id == response_id), None)
    if found is not None or not entry.history_truncated:
        return found
    try:
        resource = launch.fhir.read("QuestionnaireResponse", response_id)
    except (FhirError, ValueError):
        return None
    mine = _only_patients([resource], launch.context.patient_id or "")
    if not mine or resource.get("status") != "completed" or not entry.cited_by(resource):
        return None
    return _summarise(entry.form, resource)


def entry_for(launch: "Launch", key: str) -> CatalogEntry | None:
    """The catalog entry with this key, or None."""
    return next((e for e in catalog(launch) if e.key == key), None)
