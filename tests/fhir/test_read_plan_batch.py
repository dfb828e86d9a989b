"""A server that declares `batch` gets a page's reads as one POST; a failed entry fails only its own read."""
from __future__ import annotations

import json

from smart_app.ehr.reads import Read, ReadPlan, run
from smart_app.ehr.client import FhirError, FhirErrorCode
from tests.fhir.conftest import fhir_response, outcome
from tests.fhir.read_plans import capability, patient, searchset

PLAN = ReadPlan.of(Read.resource("patient", "Patient", "p1"), Read.resource("encounter", "Encounter", "e1"),
                   Read.search("history", "QuestionnaireResponse", [("subject", "Patient/p1"), ("status", "completed")]))


def _batch_reply(*entries: dict) -> dict:
    """A batch-response Bundle with these entries."""
    return {"resourceType": "Bundle", "type": "batch-response", "entry": list(entries)}


def test_a_server_declaring_batch_gets_the_whole_plan_as_one_post(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=True)))
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(fhir_response(_batch_reply(
        {"resource": patient("p1"), "response": {"status": "200 OK"}},
        {"resource": {"resourceType": "Encounter", "id": "e1"}, "response": {"status": "200 OK"}},
        {"resource": searchset({"resourceType": "QuestionnaireResponse", "id": "r1"}), "response": {"status": "200 OK"}})))
    client = make_client()
    client.capabilities()  # known, as after the first page
    fhir_server.clear_log()

    found = run(client, PLAN)

    [(request, _)] = fhir_server.log
    assert (request.method, request.path) == ("POST", "/fhir")
    sent = json.loads(request.data)
    assert sent["type"] == "batch"
    assert [(e["request"]["method"], e["request"]["url"]) for e in sent["entry"]] == [
        ("GET", "Patient/p1"), ("GET", "Encounter/e1"), ("GET", "QuestionnaireResponse?subject=Patient%2Fp1&status=completed")]
    assert found["patient"]["id"] == "p1" and found["encounter"]["id"] == "e1"
    assert [r["id"] for r in found["history"].matches] == ["r1"] and not found["history"].truncated


def test_a_failed_batch_entry_is_that_reads_error_only(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=True)))
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(fhir_response(_batch_reply(
        {"resource": patient("p1"), "response": {"status": "200 OK"}},
        {"response": {"status": "404 Not Found", "outcome": outcome({"severity": "error", "code": "not-found"})}},
        {"resource": searchset(), "response": {"status": "200 OK"}})))
    client = make_client()
    client.capabilities()

    found = run(client, PLAN)

    assert found["patient"]["id"] == "p1"
    assert isinstance(found["encounter"], FhirError) and found["encounter"].code is FhirErrorCode.NOT_FOUND
    assert found.error("encounter").resource_type == "Encounter"
    assert found.value("history").matches == [] and found.error("history") is None


def test_a_batch_the_server_refuses_as_a_whole_is_sent_again_as_gets(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=True)))
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(
        fhir_response(outcome({"severity": "error", "code": "not-supported"}), 501))
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(patient("p1")))
    fhir_server.expect_request("/fhir/Encounter/e1").respond_with_response(fhir_response({"resourceType": "Encounter", "id": "e1"}))
    fhir_server.expect_request("/fhir/QuestionnaireResponse").respond_with_response(fhir_response(searchset()))
    client = make_client()
    client.capabilities()

    found = run(client, PLAN)

    assert found["patient"]["id"] == "p1" and found["encounter"]["id"] == "e1" and found["history"].matches == []
