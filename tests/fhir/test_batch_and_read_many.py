"""Batch Bundles and parallel reads return one slot per request: a resource or its FhirError."""
from __future__ import annotations

import json
import pytest

from smart_app.ehr.client import FhirError, FhirErrorCode
from tests.fhir.conftest import fhir_response, in_sequence, outcome


def test_batch_sends_one_bundle_and_aligns_results(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(fhir_response({
        "resourceType": "Bundle", "type": "batch-response", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1"}, "response": {"status": "200 OK"}},
            {"response": {"status": "404 Not Found",
                          "outcome": outcome({"severity": "error", "code": "not-found"})}},
            {"resource": {"resourceType": "Bundle", "type": "searchset"}, "response": {"status": "200"}},
        ]}))
    results = make_client().batch([
        ("GET", "Patient/p1"), ("GET", "Encounter/e1"), ("GET", "Observation?patient=p1&code=http://loinc.org|1-8")])
    sent = json.loads(fhir_server.log[0][0].data)
    assert sent == {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/p1"}},
        {"request": {"method": "GET", "url": "Encounter/e1"}},
        {"request": {"method": "GET", "url": "Observation?patient=p1&code=http://loinc.org|1-8"}},
    ]}
    assert results[0]["id"] == "p1"
    assert isinstance(results[1], FhirError)
    assert (results[1].code, results[1].status, results[1].resource_type) == (FhirErrorCode.NOT_FOUND, 404, "Encounter")
    assert results[1].issues[0].code == "not-found"
    assert results[2]["type"] == "searchset"


def test_read_only_batch_is_retried_on_503(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir", method="POST").respond_with_handler(in_sequence(
        fhir_response(None, 503),
        fhir_response({"resourceType": "Bundle", "type": "batch-response",
                       "entry": [{"resource": {"resourceType": "Patient", "id": "p1"}, "response": {"status": "200"}}]})))
    assert make_client().batch([("GET", "Patient/p1")])[0]["id"] == "p1"
    assert len(fhir_server.log) == 2


def test_batch_with_wrong_entry_count_is_a_bad_response(fhir_server, make_client):
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(
        fhir_response({"resourceType": "Bundle", "type": "batch-response", "entry": []}))
    with pytest.raises(FhirError) as caught:
        make_client().batch([("GET", "Patient/p1")])
    assert caught.value.code is FhirErrorCode.BAD_RESPONSE


@pytest.mark.parametrize("path", [
    "http://evil.example/fhir/Patient/1", "//evil.example/Patient/1", "/Patient/1", "Patient/../../x", "patient/1"])
def test_paths_must_be_relative_to_this_server(fhir_server, make_client, path):
    with pytest.raises(ValueError):
        make_client().get(path)
    with pytest.raises(ValueError):
        make_client().batch([("GET", path)])
    assert fhir_server.log == []
