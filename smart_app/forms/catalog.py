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
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol, Sequence

from flask import current_app

from smart_app.assignments import reads as assignment_reads
from smart_app.assignments.model import AssignedTask, parse_task
from smart_app.assignments.ordering import FormsOnOffer
from smart_app.audit import events as audit
from smart_app.ehr import canonicals
from smart_app.ehr.reads import Read, ReadPlan, ReadResults
from smart_app.ehr.client import DEFAULT_MAX_PAGES, FhirError, SearchResult
from smart_app.forms import QuestionnaireError, build_form
from smart_app.forms.library import is_shared, shared, shared_find
from smart_app.forms.model import Form
from smart_app.forms.scoring import Score, has_score, score
from smart_app.forms.translation import has_translation, localize
from smart_app.i18n import current_language
from smart_app.launch.runtime import runtime

if TYPE_CHECKING:
    from smart_app.delivery.drafts import Draft
    from smart_app.delivery.submission import SubmissionOutcome
    from smart_app.launch.session import Launch

# The medication review is filled through its own page (the medications area), not listed here.
EXCLUDED_URLS = frozenset({"http://smart-previsit.example.org/fhir/Questionnaire/medication-review"})
RESPONSE_SEARCH_COUNT = "100"
# The documented bound on the history read: at most this many pages of completed responses, newest
# first (so up to 500 at the requested page size; fewer when the server pages smaller). Forms whose
# latest response lies beyond it are looked up in one more wave (see _latest_beyond_plan), never shown as due.
RESPONSE_MAX_PAGES = 5
EHR_FORM_CACHE_SIZE = 128  # built forms of EHR Questionnaires kept per process (library forms are all kept)


@dataclass(frozen=True)
class Standing:
    """Where one form stands in delivery for this person: its saved draft and its newest submission not yet sent."""

    draft: "Draft | None" = None
    pending: "SubmissionOutcome | None" = None


class StandingReader(Protocol):
    """Reads the Standing of several forms (by canonical) for the launch's person, from the app's store.

    Delivery owns drafts and submissions and sits above forms, so create_app hands its reader in
    (app.extensions[STANDING]: smart_app.delivery.standing).
    """

    def __call__(self, launch: "Launch", canonicals: Sequence[str]) -> Mapping[str, Standing]: ...


STANDING = "smart_app.forms.catalog.standing"


@dataclass(frozen=True)
class CompletedResponse:
    """One completed QuestionnaireResponse on the EHR, summarised."""

    id: str
    authored: str | None
    author: str | None
    score: Score | None
    resource: dict[str, Any] = field(repr=False)


@dataclass
class CatalogEntry:
    """One questionnaire offered for this launch and its status for the patient."""

    key: str  # the URL segment: the Questionnaire's id
    canonical: str  # url|version
    title: str
    source: str  # "launch" | "ehr" | "library"
    resource: dict[str, Any] = field(repr=False)
    requested: bool = False  # named by the launch's fhirContext
    draft: "Draft | None" = None
    pending: "list[SubmissionOutcome]" = field(default_factory=list)
    completed: list[CompletedResponse] = field(default_factory=list)
    history_truncated: bool = False  # older completed responses exist than `completed` holds

    iss: str | None = field(default=None, repr=False)  # the server an EHR copy came from (form cache key)
    assignment: AssignedTask | None = None  # the open SDC Task that asks for this form (earliest due)
    closed_assignment: AssignedTask | None = None  # a Task for this form cancelled or finished elsewhere
    offered: bool = True  # listed on the home and list pages (library forms depend on launch.json `library_forms`)

    @property
    def request_closed(self) -> bool:
        """Only a request the care team has since closed brought this form here: nothing is sent for it."""
        return self.source == "task-closed" and self.assignment is None


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

    def cited_by(self, response: dict[str, Any]) -> bool:
        """Whether a QuestionnaireResponse answers this form: by `url|version`, the bare url, or, for a
        form without `url`, its literal reference (full, as we write it, or relative to the server)."""
        cited = response.get("questionnaire")
        if cited in (self.canonical, self.url):
            return True
        return not self.resource.get("url") and cited == f"Questionnaire/{self.key}"

    @property
    def status(self) -> str:
        """due | in-progress | sending | not-sent | completed."""
        if self.pending:
            return "not-sent" if self.pending[0].failed else "sending"
        if self.draft is not None and self.draft.saved_at is not None:
            return "in-progress"
        if self.completed:
            return "completed"
        return "due"

    @property
    def latest(self) -> CompletedResponse | None:
        """The most recent completed response."""
        return self.completed[0] if self.completed else None


def canonical_of(questionnaire: dict[str, Any], iss: str | None = None) -> str:
    """url|version (or just url) of a Questionnaire.

    A Questionnaire without `url` is named by its literal reference: the full URL on the EHR
    (`{iss}/Questionnaire/{id}`) when the server is known, so responses can cite it and be matched.
    """
    url = questionnaire.get("url")
    if not url:
        relative = f"Questionnaire/{questionnaire.get('id')}"
        return f"{iss.rstrip('/')}/{relative}" if iss else relative
    return f"{url}|{questionnaire['version']}" if questionnaire.get("version") else url


def _key_of(questionnaire: dict[str, Any]) -> str | None:
    """The Questionnaire's id, used in page URLs."""
    rid = questionnaire.get("id")
    return rid if isinstance(rid, str) and rid else None


def shared_find_by_id(key: str) -> dict[str, Any] | None:
    """The bundled Questionnaire this flow offers under page key `key` (read-only), or None."""
    return next((q for q in _library() if q.get("id") == key), None)


def _library() -> list[dict[str, Any]]:
    """Bundled questionnaires this flow offers (the shared, read-only library resources)."""
    return [q for q in shared() if q.get("url") not in EXCLUDED_URLS]


def forms_on_offer() -> FormsOnOffer:
    """What the clinician's form picker may list besides the EHR's forms: the bundled library, minus what is never offered."""
    return FormsOnOffer(library=tuple(_library()), never=EXCLUDED_URLS)


# ------------------------------------------------------------------------------- built forms

_form_lock = threading.Lock()
_library_forms: dict[tuple[int, str | None], Form] = {}  # (id(shared library resource), language) -> Form; the library never changes
_ehr_forms: "OrderedDict[tuple[str, ...], Form]" = OrderedDict()  # LRU, bounded by EHR_FORM_CACHE_SIZE


def _ehr_form_key(iss: str, resource: dict[str, Any]) -> tuple[str, ...]:
    """Identify one version of an EHR Questionnaire: server, id, canonical, and versionId or a content hash."""
    meta = resource.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    version_id = meta.get("versionId")
    if isinstance(version_id, str) and version_id:
        version = "v:" + version_id + "|" + str(meta.get("lastUpdated") or "")
    else:
        # The C encoder (Decimals tagged, so 1.0 and "1.0" differ): ~10x faster than fhirjson.dumps.
        text = json.dumps(resource, separators=(",", ":"), default=lambda d: {"$decimal": str(d)})
        version = "h:" + hashlib.sha256(text.encode()).hexdigest()
    return (iss, str(resource.get("id") or ""), canonical_of(resource), version)


def form_for(resource: dict[str, Any], iss: str | None = None, language: str | None = None) -> Form:
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
    key = (*_ehr_form_key(iss or "", resource), shown or "")
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


EHR_COPIES, HISTORY, NAMED = "catalog.ehr-copies", "catalog.history", "catalog.named"


def catalog_plan(launch: "Launch") -> ReadPlan:
    """The EHR reads the catalog needs, as data: the EHR's copies of the library (one search, comma = OR),
    the completed-response history (newest first, within RESPONSE_MAX_PAGES), and each Questionnaire
    the launch's fhirContext names (by reference, or by canonical when Questionnaires may be read).
    Made once per request (a page asks for it with its wave, then again to build the catalog)."""
    return launch.reads.built("catalog.plan", lambda: _catalog_plan(launch))


def _catalog_plan(launch: "Launch") -> ReadPlan:
    """catalog_plan, made."""
    ctx = launch.context
    can_read_questionnaires = ctx.permissions.can_read("Questionnaire")
    urls = [q["url"] for q in _library()]
    reads: list[Read | None] = [
        Read.search(EHR_COPIES, "Questionnaire", [("url", ",".join(urls)), ("status", "active")], max_pages=DEFAULT_MAX_PAGES)
        if urls and can_read_questionnaires else None,
        Read.search(HISTORY, "QuestionnaireResponse", [
            ("subject", f"Patient/{ctx.patient_id}"), ("status", "completed"), ("_sort", "-authored"),
            ("_count", RESPONSE_SEARCH_COUNT)], max_pages=RESPONSE_MAX_PAGES)
        if ctx.patient_id and ctx.permissions.can_read("QuestionnaireResponse") else None,
    ]
    for n, item in enumerate(ctx.fhir_context):
        if item.reference and item.reference.resource_type == "Questionnaire":
            reads.append(Read.resource(f"{NAMED}.{n}", "Questionnaire", item.reference.id))
        elif item.canonical and item.type in (None, "Questionnaire") and can_read_questionnaires:
            url, _, version = item.canonical.partition("|")
            reads.append(Read.search(f"{NAMED}.{n}", "Questionnaire", [("url", url)] + ([("version", version)] if version else [])))
        elif item.reference and item.reference.resource_type == "Task" and not assignment_reads.searches_tasks(launch):
            # With Task searches in the wave the named Task comes with them (read once; _named_task_resources).
            reads.append(Read.resource(f"{NAMED}.{n}", "Task", item.reference.id))
    return ReadPlan.of(*reads) + assignment_reads.plan(launch)


def _named_task_resources(launch: "Launch", found: ReadResults) -> list[tuple[int, dict[str, Any]]]:
    """The Tasks the launch's fhirContext names, each read once: from the wave's Task searches (open, and the
    newest closed) when it is among them, else by id now (older than those, another code or patient, or the
    searches failed): one more read, only then."""
    wanted = {n: item.reference.id for n, item in enumerate(launch.context.fhir_context)
              if item.reference and item.reference.resource_type == "Task"}
    if not wanted:
        return []
    searched = assignment_reads.searched_tasks(found)
    named: dict[int, Any] = {n: found.value(f"{NAMED}.{n}") or searched.get(task_id) for n, task_id in wanted.items()}
    missing = ReadPlan(tuple(Read.resource(f"{NAMED}.{n}", "Task", wanted[n]) for n, value in named.items() if value is None))
    if len(missing):
        later = launch.reads.fetch(missing)
        named.update({read_n: later.value(f"{NAMED}.{read_n}") for read_n in (int(r.name.rsplit(".", 1)[1]) for r in missing)})
    return [(n, value) for n, value in sorted(named.items()) if isinstance(value, dict)]


def _named_tasks(resources: Iterable[dict[str, Any]]) -> list[AssignedTask]:
    """The SDC Tasks among the named ones that ask for a form (their Questionnaires are resolved with the assigned ones)."""
    return [task for task in map(parse_task, resources) if task is not None and task.questionnaire is not None]


def sources_plan(launch: "Launch") -> ReadPlan:
    """The catalog's reads without the response history: enough to name the forms (a receipt's link)."""
    return ReadPlan(tuple(read for read in catalog_plan(launch) if read.name != HISTORY))


def key_for(launch: "Launch", canonical: str | None) -> str | None:
    """The page key the catalog gives the form with this canonical (same sources, same precedence), or None."""
    resource = source_for(launch, canonical)
    return _key_of(resource) if resource is not None else None


def source_for(launch: "Launch", canonical: str | None) -> dict[str, Any] | None:
    """The Questionnaire the catalog offers under this canonical (same sources, same precedence), or None:
    a receipt names the form in the reader's language from it."""
    found = launch.reads.fetch(sources_plan(launch))
    copies = found.value(EHR_COPIES)
    for resource in [*_named(launch, found), *(copies.matches if isinstance(copies, SearchResult) else []), *_library()]:
        key = _key_of(resource)
        if key is not None and resource.get("url") not in EXCLUDED_URLS and canonical_of(resource, launch.context.iss) == canonical:
            return resource
    return None


def _named(launch: "Launch", found: ReadResults) -> list[dict[str, Any]]:
    """The Questionnaires the launch's fhirContext names: the EHR's (first match of a canonical), else the
    bundled one for a canonical; an unreadable reference is left out."""
    named: list[dict[str, Any]] = []
    for n, item in enumerate(launch.context.fhir_context):
        result = found.value(f"{NAMED}.{n}")
        if item.reference and item.reference.resource_type == "Questionnaire":
            named.extend([result] if isinstance(result, dict) else [])
        elif item.canonical and item.type in (None, "Questionnaire"):
            matches = result.matches if isinstance(result, SearchResult) else []
            bundled = shared_find(item.canonical)
            named.extend(matches[:1] if matches else [bundled] if bundled else [])
    return named


@dataclass(frozen=True)
class ResponseHistory:
    """The patient's completed responses read from the EHR, newest first, and whether older ones exist."""

    responses: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


def _only_patients(found: Iterable[dict[str, Any]], patient_id: str) -> list[dict[str, Any]]:
    """Defence in depth: only this patient's responses, whatever the server returned, newest first."""
    mine = [r for r in found if (r.get("subject") or {}).get("reference") == f"Patient/{patient_id}"]
    # authored has seconds at best: two sends in one second are told apart by the server's lastUpdated.
    return sorted(mine, key=lambda r: (r.get("authored") or "", (r.get("meta") or {}).get("lastUpdated") or ""),
                  reverse=True)


def completed_responses(launch: "Launch", found: ReadResults) -> ResponseHistory:
    """The patient's completed QuestionnaireResponses from the history read, newest first.

    `truncated` says older responses were left unread (RESPONSE_MAX_PAGES). Empty when the launch may
    not read responses or the search failed.
    """
    result = found.value(HISTORY)
    if not isinstance(result, SearchResult):
        return ResponseHistory()
    return ResponseHistory(_only_patients(result.matches, launch.context.patient_id or ""), truncated=result.truncated)


def _latest_beyond_plan(launch: "Launch", entries: list["CatalogEntry"]) -> ReadPlan:
    """For a history cut short: the newest completed response to each of these forms, searched by its
    canonical (`url|version` and the bare url, so exact-matching servers find it too), all in one wave."""
    patient = launch.context.patient_id
    reads = []
    for entry in entries:
        url, version = canonicals.split(entry.canonical)
        reads.append(Read.search(f"catalog.beyond.{entry.key}", "QuestionnaireResponse", [
            ("subject", f"Patient/{patient}"), ("status", "completed"),
            ("questionnaire", canonicals.search_value(url, [version] if version else [])),
            ("_sort", "-authored"), ("_count", "1")]))
    return ReadPlan(tuple(reads))


def response_score(form: Form, response: dict[str, Any]) -> Score | None:
    """Score a stored response by its answer codings' ordinal values (None for unscored forms).

    A form is scored only when it is a known instrument or computes a score item: ordinals on
    options alone (common in generated forms) never produce a "score" line.
    """
    if not has_score(form):
        return None
    pairs: list[tuple[Any, list[Any]]] = []
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


@dataclass(frozen=True)
class Assignments:
    """What the care team asked for and the visit, read in the catalog's wave.

    `unopenable`: Tasks whose Questionnaire the EHR does not have (shown, never dropped);
    `task_read`: the Task search's outcome (`skipped` says "no-scope" or "failed").
    """

    tasks: tuple[AssignedTask, ...] = ()
    unopenable: tuple[AssignedTask, ...] = ()
    appointment: dict[str, Any] | None = None
    task_read: assignment_reads.TaskRead = field(default_factory=assignment_reads.TaskRead)
    closed: tuple[AssignedTask, ...] = ()  # the newest finished ones (the clinician's sidebar shows what is done)
    named: dict[str, Any] | None = None  # the Task the launch's fhirContext names, as read (the landing decides on it)


@dataclass(frozen=True)
class _Built:
    """One request's catalog and assignments."""

    entries: list[CatalogEntry]
    assignments: Assignments


def catalog(launch: "Launch") -> list[CatalogEntry]:
    """Every questionnaire for this launch with its status, built once per request (`Launch.reads`)."""
    return launch.reads.built("catalog", lambda: _build_catalog(launch)).entries


def assignments(launch: "Launch") -> Assignments:
    """The assigned forms and the next visit, from the same once-per-request build as `catalog`."""
    return launch.reads.built("catalog", lambda: _build_catalog(launch)).assignments


def _build_catalog(launch: "Launch") -> _Built:
    """Read the sources and the patient's responses in one wave, then give each entry its status."""
    entries: dict[str, CatalogEntry] = {}

    def add(resource: dict[str, Any], source: str, requested: bool = False, assignment: AssignedTask | None = None) -> None:
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

    found = launch.reads.fetch(catalog_plan(launch))
    task_read = assignment_reads.open_tasks(launch, found)
    closed = assignment_reads.recently_closed_tasks(launch, found)
    tasks = task_read.tasks
    named_resources = _named_task_resources(launch, found)
    named_tasks = _named_tasks(resource for _, resource in named_resources)
    landing = next((resource for n, resource in named_resources
                    if launch.context.fhir_context[n].effective_role == "launch"), None)
    every = [*tasks, *closed, *named_tasks]
    # The Tasks' Questionnaires: one search for all of them (it needs the Tasks, so it follows them).
    resolved = (assignment_reads.resolve_questionnaires(launch, [t.questionnaire for t in every if t.questionnaire])
                if every else assignment_reads.ResolvedQuestionnaires())
    unopenable: list[AssignedTask] = []
    for task in tasks:
        resource = _assigned_questionnaire(task, resolved)
        if resource is None:
            unopenable.append(task)
            audit.event("assignment.questionnaire_missing", handle=launch.handle, task=task.id,
                        reason="search failed" if resolved.failed else "not on the server")
            continue
        add(resource, "task", assignment=task)
    history = completed_responses(launch, found)
    copies = found.value(EHR_COPIES)
    for resource in _named(launch, found):
        add(resource, "launch", requested=True)
    for task in named_tasks:
        resource = _assigned_questionnaire(task, resolved)
        if resource is not None:
            add(resource, "launch", requested=True)
    for resource in copies.matches if isinstance(copies, SearchResult) else []:
        add(resource, "ehr")
    for resource in _library():
        add(resource, "library")
    # Forms of requests closed elsewhere come last: a library form stays a library form.
    for task in closed:
        resource = _assigned_questionnaire(task, resolved)
        if resource is not None:
            add(resource, "task-closed")
            for entry in entries.values():
                if entry.canonical == canonical_of(resource, launch.context.iss) and entry.assignment is None:
                    entry.closed_assignment = entry.closed_assignment or task

    read_standing: StandingReader = current_app.extensions[STANDING]
    standing = read_standing(launch, [e.canonical for e in entries.values()])
    for entry in entries.values():
        stands = standing.get(entry.canonical) or Standing()
        entry.draft = stands.draft
        entry.pending = [stands.pending] if stands.pending is not None else []
        entry.history_truncated = history.truncated
        _add_completed(entry, [r for r in history.responses if entry.cited_by(r)])
    if history.truncated:
        # The history was cut short: a form with no response among the newest may still have an
        # older one. Ask for each such form's newest response at once rather than call it due.
        unseen = [e for e in entries.values() if not e.completed]
        beyond = launch.reads.fetch(_latest_beyond_plan(launch, unseen))
        for entry in unseen:
            result = beyond.value(f"catalog.beyond.{entry.key}")
            matches = _only_patients(result.matches, launch.context.patient_id or "")[:1] if isinstance(result, SearchResult) else []
            _add_completed(entry, [r for r in matches if entry.cited_by(r)])
    _mark_offered(entries.values(), assigned=bool(tasks), choice=runtime().settings.library_forms)
    ordered = sorted(entries.values(), key=lambda e: (e.assignment is None, not e.requested, e.title.lower()))
    return _Built(ordered, Assignments(tasks=tasks, unopenable=tuple(unopenable),
                                       appointment=assignment_reads.next_appointment(launch, found),
                                       task_read=task_read, closed=closed,
                                       named=landing))


def _assigned_questionnaire(task: AssignedTask, resolved: "assignment_reads.ResolvedQuestionnaires") -> dict[str, Any] | None:
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


def _add_completed(entry: CatalogEntry, responses: list[dict[str, Any]]) -> None:
    """Append these completed responses (newest first) to the entry, scored with its form."""
    form = entry.form if responses else None
    entry.completed.extend(_summarise(form, response) for response in responses)


def _summarise(form: Form | None, response: dict[str, Any]) -> CompletedResponse:
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
