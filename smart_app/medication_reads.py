"""The medication review's reads: one parallel wave of searches, parsed into review rows.

MedicationRequests come with their referenced Medications in the same request
(`_include=MedicationRequest:medication`), MedicationStatements in a parallel search, and,
for the clinician, the latest completed review in a third. FhirClient.search follows `next`
links only on the same server (https://hl7.org/fhir/R4/search.html#paging), up to MAX_PAGES
pages per search; a list cut short there is flagged (`list_incomplete`), never passed off as whole.
The latest review is searched by every known `url|version` of the review plus the bare url, so
servers that compare canonicals exactly find it too (see canonicals.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlencode

from smart_app import canonicals
from smart_app.context import Permissions
from smart_app.fhir import FhirError, SearchResult
from smart_app.medications import MedicationList, build_medication_list, questionnaire_canonical, questionnaire_versions
from smart_app.pools import submit_read

# https://hl7.org/fhir/R4/valueset-medicationrequest-status.html: the ones a patient still takes.
REQUEST_STATUSES = "active,on-hold"
REQUEST_INTENTS = "order,plan"
# Everything but entered-in-error (and draft, which is not a patient's record yet).
STATEMENT_STATUSES = "active,intended,on-hold,unknown,not-taken,stopped,completed"
PAGE_SIZE = "100"  # large pages keep a typical list to one request per search
# The documented bound per medication search: 20 pages (2,000 records at PAGE_SIZE; fewer when the
# server's pages are smaller). Beyond it the list is shown with a notice that it is incomplete.
MAX_PAGES = 20


class SearchClient(Protocol):
    """The part of FhirClient the reads need."""

    def search(self, resource_type: str, params: Any = None, *, max_pages: int | None = None) -> SearchResult: ...
    def read_many(self, paths: list[str]) -> list[dict | FhirError]: ...


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


def latest_review_path(patient_id: str) -> str:
    """A relative search for the newest completed answer to the bundled Medication Review Questionnaire.

    authored has whole seconds only, so the last update breaks ties between reviews sent close together.
    """
    url = _review_url()
    query = urlencode([("patient", f"Patient/{patient_id}"),
                       ("questionnaire", canonicals.search_value(url, questionnaire_versions())),
                       ("status", "completed"), ("_sort", "-authored,-_lastUpdated"), ("_count", "1")])
    return f"QuestionnaireResponse?{query}"


def latest_review(fhir: SearchClient, patient_id: str) -> dict[str, Any] | None:
    """The patient's newest completed medication review on the EHR (any version), or None; raises FhirError."""
    found = fhir.read_many([latest_review_path(patient_id)])[0]
    if isinstance(found, FhirError):
        raise found
    return _first_match(found)


def read_medications(fhir: SearchClient, patient_id: str, permissions: Permissions, *,
                     with_latest_review: bool = False) -> MedicationRead:
    """Run every read the page needs at once (no serial chain) and build the review rows.

    Raises MedicationsUnavailable when requests may not be read, FhirError when a needed search fails.
    """
    if not permissions.can_read("MedicationRequest"):
        raise MedicationsUnavailable("MedicationRequest read not granted")
    tasks: dict[str, Callable[[], Any]] = {
        "requests": lambda: fhir.search("MedicationRequest", request_params(patient_id, permissions),
                                        max_pages=MAX_PAGES),
    }
    if permissions.can_read("MedicationStatement"):
        tasks["statements"] = lambda: fhir.search("MedicationStatement", statement_params(patient_id),
                                                  max_pages=MAX_PAGES)
    if with_latest_review and permissions.can_read("QuestionnaireResponse"):
        # Only the first page: a `next` link here just means older reviews exist.
        tasks["review"] = lambda: fhir.read_many([latest_review_path(patient_id)])[0]
    results = _run_together(tasks)
    for key in ("requests", "statements"):
        if isinstance(results.get(key), FhirError):
            raise results[key]
    resources = [*results["requests"], *results.get("statements", [])]
    review = results.get("review")
    return MedicationRead(
        medications=build_medication_list(resources),
        statements_read="statements" in results,
        latest_review=_first_match(review) if isinstance(review, dict) else None,
        latest_review_failed=isinstance(review, FhirError),
        list_incomplete=any(getattr(results.get(key), "truncated", False) for key in ("requests", "statements")),
    )


def _run_together(tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run the reads in parallel; each slot holds its result or the FhirError it raised."""
    def run(task: Callable[[], Any]) -> Any:
        """One read, returning rather than raising its FhirError."""
        try:
            return task()
        except FhirError as exc:
            return exc

    futures = {key: submit_read(partial(run, task)) for key, task in tasks.items()}
    return {key: future.result() for key, future in futures.items()}


def _first_match(bundle: dict[str, Any]) -> dict[str, Any] | None:
    """The first matched QuestionnaireResponse of a searchset page, if any."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        mode = (entry.get("search") or {}).get("mode", "match") if isinstance(entry, dict) else None
        if (isinstance(resource, dict) and resource.get("resourceType") == "QuestionnaireResponse" and mode == "match"
                and canonicals.names_form(resource.get("questionnaire"), _review_url())):
            return resource
    return None


def _review_url() -> str:
    """The canonical url (no version) of the bundled medication review."""
    return questionnaire_canonical().partition("|")[0]
