"""The medication review's reads: one read plan of searches (one wave), parsed into review rows.

MedicationRequests come with their referenced Medications in the same request
(`_include=MedicationRequest:medication`), MedicationStatements in a second search, and,
for the clinician, the latest completed review in a third; smart_app/ehr/reads.py runs them as
one batch or in parallel. Further pages follow `next` links only on the same server (https://hl7.org/fhir/R4/search.html#paging), up to MAX_PAGES
pages per search; a list cut short there is flagged (`list_incomplete`), never passed off as whole.
The latest review is searched by every known `url|version` of the review plus the bare url, so
servers that compare canonicals exactly find it too (see ehr/canonicals.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from smart_app.ehr import canonicals
from smart_app.context import Permissions
from smart_app.ehr.reads import Read, ReadPlan, ReadResults, RequestReads
from smart_app.ehr.client import FhirClient, FhirError
from smart_app.medications import MedicationList, build_medication_list, questionnaire_canonical, questionnaire_versions

# https://hl7.org/fhir/R4/valueset-medicationrequest-status.html: the ones a patient still takes.
REQUEST_STATUSES = "active,on-hold"
REQUEST_INTENTS = "order,plan"
# Everything but entered-in-error (and draft, which is not a patient's record yet).
STATEMENT_STATUSES = "active,intended,on-hold,unknown,not-taken,stopped,completed"
PAGE_SIZE = "100"  # large pages keep a typical list to one request per search
# The documented bound per medication search: 20 pages (2,000 records at PAGE_SIZE; fewer when the
# server's pages are smaller). Beyond it the list is shown with a notice that it is incomplete.
MAX_PAGES = 20


class Reader(Protocol):
    """What runs a read plan: a request's `Launch.reads` (each read once per request)."""

    def fetch(self, plan: ReadPlan) -> ReadResults: ...


REQUESTS, STATEMENTS, REVIEW = "medications.requests", "medications.statements", "medications.latest-review"


class MedicationsUnavailable(Exception):
    """The launch may not read the patient's medication requests, so there is no list to review."""


@dataclass(frozen=True)
class MedicationRead:
    """What one wave of reads found: the list, and the latest review when it was asked for."""

    medications: MedicationList
    statements_read: bool
    latest_review: dict[str, Any] | None = None
    latest_review_failed: bool = False
    list_incomplete: bool = False  # a search stopped at MAX_PAGES: more medicines exist than are shown


def request_params(patient_id: str, permissions: Permissions) -> list[tuple[str, str]]:
    """Search parameters for the patient's current MedicationRequests and their Medications."""
    params = [("patient", f"Patient/{patient_id}"), ("status", REQUEST_STATUSES),
              ("intent", REQUEST_INTENTS), ("_count", PAGE_SIZE)]
    if permissions.can_read("Medication"):
        params.append(("_include", "MedicationRequest:medication"))
    if permissions.can_read("Practitioner"):
        params.append(("_include", "MedicationRequest:requester"))
    return params


def statement_params(patient_id: str) -> list[tuple[str, str]]:
    """Search parameters for the patient's MedicationStatements (entered-in-error left out)."""
    return [("patient", f"Patient/{patient_id}"), ("status", STATEMENT_STATUSES), ("_count", PAGE_SIZE)]


def latest_review_read(patient_id: str) -> Read:
    """The newest completed answer to the bundled Medication Review Questionnaire (any version): one page
    of one (a `next` link only means older reviews exist). authored has whole seconds only, so the last
    update breaks ties between reviews sent close together."""
    url = _review_url()
    return Read.search(REVIEW, "QuestionnaireResponse", [
        ("patient", f"Patient/{patient_id}"), ("questionnaire", canonicals.search_value(url, questionnaire_versions())),
        ("status", "completed"), ("_sort", "-authored,-_lastUpdated"), ("_count", "1")])


def medication_plan(patient_id: str, permissions: Permissions, *, with_latest_review: bool = False) -> ReadPlan:
    """The searches the review needs, each paged within MAX_PAGES: requests (with their Medications),
    statements when readable, and the latest review when asked for and readable."""
    if not permissions.can_read("MedicationRequest"):
        return ReadPlan()
    return ReadPlan.of(
        Read.search(REQUESTS, "MedicationRequest", request_params(patient_id, permissions), max_pages=MAX_PAGES),
        Read.search(STATEMENTS, "MedicationStatement", statement_params(patient_id), max_pages=MAX_PAGES)
        if permissions.can_read("MedicationStatement") else None,
        latest_review_read(patient_id) if with_latest_review and permissions.can_read("QuestionnaireResponse") else None)


def latest_review(reader: "Reader | FhirClient", patient_id: str) -> dict[str, Any] | None:
    """The patient's newest completed medication review on the EHR (any version), or None; raises FhirError."""
    found = _reader(reader).fetch(ReadPlan.of(latest_review_read(patient_id)))
    error = found.error(REVIEW)
    if error is not None:
        raise error
    return _first_match(found[REVIEW].matches)


def read_medications(reader: "Reader | FhirClient", patient_id: str, permissions: Permissions, *,
                     with_latest_review: bool = False) -> MedicationRead:
    """Run every read the page needs at once (one plan, no serial chain) and build the review rows.

    Raises MedicationsUnavailable when requests may not be read, FhirError when a needed search fails.
    """
    if not permissions.can_read("MedicationRequest"):
        raise MedicationsUnavailable("MedicationRequest read not granted")
    results = _reader(reader).fetch(medication_plan(patient_id, permissions, with_latest_review=with_latest_review))
    for key in (REQUESTS, STATEMENTS):
        error = results.error(key)
        if error is not None:
            raise error
    statements = results.value(STATEMENTS)
    review = results.get(REVIEW)
    return MedicationRead(
        medications=build_medication_list([*results[REQUESTS], *(statements or [])]),
        statements_read=STATEMENTS in results,
        latest_review=_first_match(review.matches) if review is not None and not isinstance(review, FhirError) else None,
        latest_review_failed=isinstance(review, FhirError),
        list_incomplete=any(getattr(results.value(key), "truncated", False) for key in (REQUESTS, STATEMENTS)),
    )


def _reader(reader: "Reader | FhirClient") -> Reader:
    """A plan runner: the request's reads as given; a bare client (tools, tests) reads with parallel GETs."""
    return RequestReads(lambda: reader, batch=False) if isinstance(reader, FhirClient) else reader


def _first_match(matches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first matched QuestionnaireResponse that answers the medication review, if any."""
    for resource in matches:
        if resource.get("resourceType") == "QuestionnaireResponse" and canonicals.names_form(resource.get("questionnaire"), _review_url()):
            return resource
    return None


def _review_url() -> str:
    """The canonical url (no version) of the bundled medication review."""
    return questionnaire_canonical().partition("|")[0]
