"""medication_reads against a faked EHR: which searches are asked, paging only on the same server, failures."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from pytest_httpserver import HTTPServer

from smart_app.context import Permissions
from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode
from smart_app.medications.reads import MedicationsUnavailable, read_medications, request_params

ALL_READS = Permissions(frozenset({"patient/MedicationRequest.rs", "patient/MedicationStatement.rs",
                                   "patient/Medication.rs", "patient/QuestionnaireResponse.rs"}))


def bundle(*resources: dict[str, Any], next_url: str | None = None, include: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """A searchset page."""
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    entries += [{"resource": r, "search": {"mode": "include"}} for r in include]
    links = [{"relation": "next", "url": next_url}] if next_url else []
    return {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}


def request(rid: str, medication: dict[str, Any]) -> dict[str, Any]:
    """An active MedicationRequest for p1."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": "Patient/p1"}, **medication}


def client(server: HTTPServer) -> FhirClient:
    """A FhirClient for the fake server that never sleeps between retries."""
    return FhirClient(server.url_for("/fhir"), token=lambda: "secret-token", sleep=lambda _: None)


@pytest.fixture
def other_server() -> Iterator[HTTPServer]:
    """A second server on another port: another origin the token must never reach."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_referenced_medications_are_resolved_from_the_include(httpserver: HTTPServer) -> None:
    """The _include'd Medication names the row; no Medication read is made."""
    httpserver.expect_request("/fhir/MedicationRequest", query_string={
        "patient": "Patient/p1", "status": "active,on-hold", "intent": "order,plan", "_count": "100",
        "_include": "MedicationRequest:medication"}).respond_with_json(bundle(
            request("r1", {"medicationReference": {"reference": "Medication/m1"}}),
            include=({"resourceType": "Medication", "id": "m1", "code": {"coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "861007", "display": "metformin"}]}},)))
    httpserver.expect_request("/fhir/MedicationStatement").respond_with_json(bundle())
    read = read_medications(client(httpserver), "p1", ALL_READS)
    assert [(r.name, r.rxnorm, r.unresolved) for r in read.medications.current] == [("metformin", "861007", False)]
    assert not any(req.path.startswith("/fhir/Medication/") for req, _ in httpserver.log)


def test_a_next_link_to_another_server_is_refused_and_gets_no_request(httpserver: HTTPServer, other_server: HTTPServer) -> None:
    """Paging stops with OFF_SERVER_LINK rather than sending the token to another origin."""
    elsewhere = other_server.url_for("/fhir/MedicationRequest?page=2")
    httpserver.expect_request("/fhir/MedicationRequest").respond_with_json(
        bundle(request("r1", {"medicationCodeableConcept": {"text": "A"}}), next_url=elsewhere))
    httpserver.expect_request("/fhir/MedicationStatement").respond_with_json(bundle())
    with pytest.raises(FhirError) as caught:
        read_medications(client(httpserver), "p1", ALL_READS)
    assert caught.value.code is FhirErrorCode.OFF_SERVER_LINK
    assert other_server.log == []


def test_a_failed_latest_review_search_still_shows_the_list(httpserver: HTTPServer) -> None:
    """The clinician's list does not depend on the review search; its failure is flagged instead."""
    httpserver.expect_request("/fhir/MedicationRequest").respond_with_json(
        bundle(request("r1", {"medicationCodeableConcept": {"text": "A"}})))
    httpserver.expect_request("/fhir/MedicationStatement").respond_with_json(bundle())
    httpserver.expect_request("/fhir/QuestionnaireResponse").respond_with_json(
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}, status=403)
    read = read_medications(client(httpserver), "p1", ALL_READS, with_latest_review=True)
    assert [r.name for r in read.medications.current] == ["A"]
    assert read.latest_review is None and read.latest_review_failed


def test_a_failed_statement_search_fails_the_page_rather_than_showing_half_a_list(httpserver: HTTPServer) -> None:
    """A review of an incomplete list would mislead: the FhirError goes to the error page."""
    httpserver.expect_request("/fhir/MedicationRequest").respond_with_json(bundle())
    httpserver.expect_request("/fhir/MedicationStatement").respond_with_json({}, status=403)
    with pytest.raises(FhirError) as caught:
        read_medications(client(httpserver), "p1", ALL_READS)
    assert caught.value.code is FhirErrorCode.FORBIDDEN


def test_no_request_read_means_no_search_at_all(httpserver: HTTPServer) -> None:
    """Without MedicationRequest read the caller is told before any request is made."""
    with pytest.raises(MedicationsUnavailable):
        read_medications(client(httpserver), "p1", Permissions(frozenset({"patient/MedicationStatement.rs"})))
    assert httpserver.log == []


@pytest.mark.parametrize(("scopes", "includes"), [
    ({"patient/MedicationRequest.rs"}, []),
    ({"patient/MedicationRequest.rs", "patient/Medication.rs"}, ["MedicationRequest:medication"]),
    ({"patient/MedicationRequest.read", "patient/Medication.read", "user/Practitioner.read"},
     ["MedicationRequest:medication", "MedicationRequest:requester"]),
])
def test_includes_follow_the_grant(scopes: set[str], includes: list[str]) -> None:
    """Only resources the token may read are asked for with _include (v1 and v2 scopes alike)."""
    params = request_params("p1", Permissions(frozenset(scopes)))
    assert [v for k, v in params if k == "_include"] == includes
