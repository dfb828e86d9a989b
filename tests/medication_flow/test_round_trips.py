"""Medication reads are one wave: one search per type, Medications included, run in parallel, paged on one server."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qs

import pytest

from tests.fixtures.e2e import E2E, PATIENT
from tests.fixtures.fhir_reads import CAPABILITY, reads_of
from tests.fixtures.overlap import Rendezvous
from tests.medication_flow.helpers import Reviewer


class RequestLog:
    """Counts the HTTP requests the sandbox receives, by method and path."""

    def __init__(self) -> None:
        """Start empty."""
        self.seen: list[tuple[str, str, dict[str, list[str]]]] = []
        self.requests = 0  # HTTP requests, a batch counting once

    def wrap(self, wsgi_app: Callable[..., Any]) -> Callable[..., Any]:
        """A WSGI middleware recording each request before the sandbox answers it."""
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self.requests += 1
            self.seen.extend((method, path, parse_qs(query)) for method, path, query in reads_of(environ))
            return wsgi_app(environ, start_response)
        return app

    def fhir(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        """Only the page's FHIR reads (a batch's entries one by one; not the capability read)."""
        return [r for r in self.seen if r[1].startswith("/fhir") and r[1] != CAPABILITY]

    def clear(self) -> None:
        """Forget what was seen so far."""
        self.seen.clear()
        self.requests = 0


@pytest.fixture
def requests_seen(e2e: E2E) -> RequestLog:
    """Every request the sandbox receives from now on."""
    log = RequestLog()
    e2e.sandbox.app.wsgi_app = log.wrap(e2e.sandbox.app.wsgi_app)
    return log


def test_review_page_reads_requests_with_included_medications_and_statements_in_two_searches(
        e2e: E2E, requests_seen: RequestLog) -> None:
    """Referenced Medications come with the requests (_include), never one request per medication."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    requests_seen.clear()
    body, rows = Reviewer(e2e, handle, e2e.client).open()
    assert "Metformin 500 mg tablet" in rows  # a referenced Medication, resolved
    assert "<p>metformin hydrochloride 500 MG Oral Tablet</p>" in body  # its record name, under "Name in your record"
    fhir = requests_seen.fhir()
    assert sorted((m, p) for m, p, _ in fhir) == [("GET", "/fhir/MedicationRequest"), ("GET", "/fhir/MedicationStatement")]
    request_query = next(q for _, p, q in fhir if p == "/fhir/MedicationRequest")
    # launch.json may read Practitioners (who asked for a form), so the prescribers come with the requests too
    assert request_query["_include"] == ["MedicationRequest:medication", "MedicationRequest:requester"]
    assert request_query["status"] == ["active,on-hold"]


def test_clinician_view_is_one_wave_of_three_searches(e2e: E2E, requests_seen: RequestLog) -> None:
    """The list, the statements and the latest review: three requests, nothing per medicine."""
    handle = e2e.launcher.ehr(patient=PATIENT)
    requests_seen.clear()
    assert e2e.client.get(f"/l/{handle}/medications/clinician").status_code == 200
    paths = sorted(p for _, p, _ in requests_seen.fhir())
    assert paths == ["/fhir/MedicationRequest", "/fhir/MedicationStatement", "/fhir/QuestionnaireResponse"]


def test_once_the_sandbox_is_known_to_batch_the_three_searches_are_one_request(e2e: E2E, requests_seen: RequestLog) -> None:
    """The first page learned the sandbox's CapabilityStatement (it declares batch): the next is one POST."""
    handle = e2e.launcher.ehr(patient=PATIENT)
    assert e2e.client.get(f"/l/{handle}/medications/clinician").status_code == 200
    requests_seen.clear()
    assert e2e.client.get(f"/l/{handle}/medications/clinician").status_code == 200
    assert requests_seen.requests == 1
    assert sorted(p for _, p, _ in requests_seen.fhir()) == [
        "/fhir/MedicationRequest", "/fhir/MedicationStatement", "/fhir/QuestionnaireResponse"]


def test_the_searches_run_in_parallel_not_one_after_another(e2e: E2E) -> None:
    """Both searches are in flight together: the sandbox holds each until the other has arrived."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    together = Rendezvous(2)
    searches = {"/fhir/MedicationRequest", "/fhir/MedicationStatement"}
    e2e.sandbox.app.wsgi_app = together.wsgi(e2e.sandbox.app.wsgi_app, lambda environ: environ["PATH_INFO"] in searches)
    Reviewer(e2e, handle, e2e.client).open()
    assert (together.met, together.missed) == (2, 0)  # one after another, they could never meet


def test_long_lists_are_paged_on_the_same_server_into_one_row_per_medicine(
        e2e: E2E, requests_seen: RequestLog) -> None:
    """More requests than one page holds: the next page is fetched, and every medicine shows once."""
    for n in range(105):
        e2e.sandbox.store.create({
            "resourceType": "MedicationRequest", "id": f"mr-extra-{n}", "status": "active", "intent": "order",
            "subject": {"reference": f"Patient/{PATIENT}"},
            "medicationCodeableConcept": {"text": f"Trial medicine {n:03d}"},
        })
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    requests_seen.clear()
    _, rows = Reviewer(e2e, handle, e2e.client).open()
    assert len(rows) == 9 + 105
    request_pages = [q for _, p, q in requests_seen.fhir() if p == "/fhir/MedicationRequest"]
    assert len(request_pages) == 2
    assert request_pages[1]["_offset"] == ["100"]
