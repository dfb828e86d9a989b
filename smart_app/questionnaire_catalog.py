"""Where questionnaires come from, and where each one stands for this patient.

Sources, in order of preference: the Questionnaire the launch names in `fhirContext`
(a reference or a canonical), the EHR's own active Questionnaires with our library's
canonicals (found by `url` and `status`), then the library bundled with the app. The EHR's
completed QuestionnaireResponses and our drafts and outbox give each one its status:
due, in progress, waiting to be sent, or completed (with the latest score and band).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from flask import g

from smart_app import drafts, submission
from smart_app.fhir import FhirError
from smart_app.outbox import OutboxState
from smart_app.questionnaires import QuestionnaireError, build_form, load_library
from smart_app.questionnaires.model import Form
from smart_app.questionnaires.scoring import Score, score

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

# The medication review is filled through its own page (the medications area), not listed here.
EXCLUDED_URLS = frozenset({"http://smart-previsit.example.org/fhir/Questionnaire/medication-review"})
RESPONSE_SEARCH_COUNT = "100"


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

    @property
    def url(self) -> str:
        """The canonical URL without version."""
        return self.canonical.partition("|")[0]

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


def canonical_of(questionnaire: dict) -> str:
    """url|version (or just url) of a Questionnaire."""
    url = questionnaire.get("url") or f"Questionnaire/{questionnaire.get('id')}"
    return f"{url}|{questionnaire['version']}" if questionnaire.get("version") else url


def _key_of(questionnaire: dict) -> str | None:
    """The Questionnaire's id, used in page URLs."""
    rid = questionnaire.get("id")
    return rid if isinstance(rid, str) and rid else None


def _library() -> list[dict]:
    """Bundled questionnaires this flow offers."""
    return [q for q in load_library() if q.get("url") not in EXCLUDED_URLS]


def _launch_named(launch: "Launch") -> list[dict]:
    """Questionnaires named by fhirContext: read by reference, or by canonical (EHR, then library)."""
    found: list[dict] = []
    for item in launch.context.fhir_context:
        if item.reference and item.reference.resource_type == "Questionnaire":
            try:
                found.append(launch.fhir.read("Questionnaire", item.reference.id))
            except FhirError:
                continue
        elif item.canonical and (item.type in (None, "Questionnaire")):
            found.extend(_by_canonical(launch, item.canonical))
    return found


def _by_canonical(launch: "Launch", canonical: str) -> list[dict]:
    """One Questionnaire for a canonical: the EHR's copy when readable, else the bundled one."""
    from smart_app.questionnaires import find

    url, _, version = canonical.partition("|")
    if launch.context.permissions.can_read("Questionnaire"):
        params = [("url", url)] + ([("version", version)] if version else [])
        try:
            matches = launch.fhir.search("Questionnaire", params).matches
        except FhirError:
            matches = []
        if matches:
            return matches[:1]
    bundled = find(canonical)
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


def completed_responses(launch: "Launch") -> list[dict]:
    """The patient's completed QuestionnaireResponses on the EHR, newest first ([] when not readable)."""
    ctx = launch.context
    if not ctx.patient_id or not ctx.permissions.can_read("QuestionnaireResponse"):
        return []
    try:
        found = launch.fhir.search("QuestionnaireResponse", [
            ("subject", f"Patient/{ctx.patient_id}"), ("status", "completed"), ("_sort", "-authored"),
            ("_count", RESPONSE_SEARCH_COUNT)], max_pages=1).matches
    except FhirError:
        return []
    # Defence in depth: only this patient's responses, whatever the server returned.
    mine = [r for r in found if (r.get("subject") or {}).get("reference") == f"Patient/{ctx.patient_id}"]
    return sorted(mine, key=lambda r: r.get("authored") or "", reverse=True)


def response_score(form: Form, response: dict) -> Score | None:
    """Score a stored response by its answer codings' ordinal values (None for unscored forms)."""
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


def catalog(launch: "Launch") -> list[CatalogEntry]:
    """Every questionnaire for this launch with its status (computed once per request)."""
    cache = g.setdefault("_questionnaire_catalog", {})
    if launch.handle in cache:
        return cache[launch.handle]
    entries: dict[str, CatalogEntry] = {}

    def add(resource: dict, source: str, requested: bool = False) -> None:
        """Add a questionnaire unless one with the same canonical (or id) is already there."""
        key = _key_of(resource)
        canonical = canonical_of(resource)
        if key is None or resource.get("url") in EXCLUDED_URLS:
            return
        if any(e.canonical == canonical for e in entries.values()) or key in entries:
            for entry in entries.values():
                if entry.canonical == canonical:
                    entry.requested = entry.requested or requested
            return
        entries[key] = CatalogEntry(key=key, canonical=canonical, title=str(resource.get("title") or resource.get("name") or key),
                                    source=source, resource=resource, requested=requested)

    for resource in _launch_named(launch):
        add(resource, "launch", requested=True)
    library = _library()
    for resource in _ehr_copies(launch, [q["url"] for q in library]):
        add(resource, "ehr")
    for resource in library:
        add(resource, "library")

    known = submission.submissions(launch)  # newest first
    responses = completed_responses(launch)
    for entry in entries.values():
        entry.draft = drafts.load(launch, entry.canonical)
        # Only the newest submission counts: a failure later corrected and sent is no longer pending.
        newest = next((s for s in known if s.questionnaire == entry.canonical), None)
        entry.pending = [newest] if newest is not None and newest.state is not OutboxState.SENT else []
        try:
            form = build_form(entry.resource)
        except QuestionnaireError:
            form = None
        for response in responses:
            if response.get("questionnaire") not in (entry.canonical, entry.url):
                continue
            entry.completed.append(CompletedResponse(
                id=str(response.get("id")), authored=response.get("authored"),
                author=(response.get("author") or {}).get("reference"),
                score=response_score(form, response) if form else None, resource=response))
    ordered = sorted(entries.values(), key=lambda e: (not e.requested, e.title.lower()))
    cache[launch.handle] = ordered
    return ordered


def entry_for(launch: "Launch", key: str) -> CatalogEntry | None:
    """The catalog entry with this key, or None."""
    return next((e for e in catalog(launch) if e.key == key), None)
