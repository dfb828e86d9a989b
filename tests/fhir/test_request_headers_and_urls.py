"""Every request carries auth, Accept and correlation headers, and URLs are encoded properly."""
from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode
from tests.fhir.conftest import TOKEN, fhir_response

CANONICAL = "http://example.org/fhir/Questionnaire/phq-9|1.0.0"


def test_read_sends_bearer_accept_and_request_id(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(
        fhir_response({"resourceType": "Patient", "id": "p1"}))
    patient = make_client().read("Patient", "p1")
    request, _ = fhir_server.log[0]
    assert patient["id"] == "p1"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/fhir+json"
    assert request.headers["X-Request-ID"] == "cid-1"


def test_token_is_asked_for_on_every_request(fhir_server, make_client):
    tokens = iter(["first", "second"])
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(
        fhir_response({"resourceType": "Patient", "id": "p1"}))
    client = make_client(token=lambda: next(tokens))
    client.read("Patient", "p1")
    client.read("Patient", "p1")
    assert [r.headers["Authorization"] for r, _ in fhir_server.log] == ["Bearer first", "Bearer second"]


def test_search_encodes_canonical_url_with_double_slash_and_pipe(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Questionnaire").respond_with_response(
        fhir_response({"resourceType": "Bundle", "type": "searchset", "entry": []}))
    make_client().search("Questionnaire", {"url": CANONICAL, "_count": 5})
    request, _ = fhir_server.log[0]
    raw = request.query_string.decode()
    assert "url=http%3A%2F%2Fexample.org%2Ffhir%2FQuestionnaire%2Fphq-9%7C1.0.0" in raw
    assert dict(parse_qsl(raw)) == {"url": CANONICAL, "_count": "5"}


def test_search_accepts_repeated_parameters_as_pairs(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Observation").respond_with_response(
        fhir_response({"resourceType": "Bundle", "type": "searchset"}))
    make_client().search("Observation", [("code", "a,b"), ("date", "ge2024-01-01"), ("date", "lt2025-01-01")])
    request, _ = fhir_server.log[0]
    assert parse_qsl(request.query_string.decode()) == [
        ("code", "a,b"), ("date", "ge2024-01-01"), ("date", "lt2025-01-01")]


@pytest.mark.parametrize("resource_type, resource_id", [
    ("Patient", "../Observation/x"),
    ("Patient", "a/b"),
    ("Patient", "p?x=1"),
    ("patient", "p1"),
    ("Patient/../x", "p1"),
    ("Patient", ""),
])
def test_read_refuses_ids_and_types_that_would_change_the_path(fhir_server, make_client, resource_type, resource_id):
    with pytest.raises(ValueError):
        make_client().read(resource_type, resource_id)
    assert fhir_server.log == []


@pytest.mark.parametrize("base", ["ftp://ehr.example/fhir", "http://user:pw@ehr.example/fhir", "/fhir", ""])
def test_client_refuses_base_urls_that_are_not_plain_http(base):
    with pytest.raises(ValueError):
        FhirClient(base, token=lambda: TOKEN)


def test_redirects_are_not_followed(fhir_server, other_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(
        fhir_response(None, 302, {"Location": other_server.url_for("/steal")}))
    with pytest.raises(FhirError) as caught:
        make_client().read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.BAD_RESPONSE
    assert other_server.log == []


def test_vread_reads_a_version_and_checks_the_resource_type(fhir_server, make_client):
    fhir_server.expect_request("/fhir/QuestionnaireResponse/q1/_history/3").respond_with_response(
        fhir_response({"resourceType": "QuestionnaireResponse", "id": "q1", "meta": {"versionId": "3"}}))
    fhir_server.expect_request("/fhir/QuestionnaireResponse/q2/_history/1").respond_with_response(
        fhir_response({"resourceType": "OperationOutcome"}))
    client = make_client()
    assert client.vread("QuestionnaireResponse", "q1", "3")["meta"]["versionId"] == "3"
    with pytest.raises(FhirError) as caught:
        client.vread("QuestionnaireResponse", "q2", "1")
    assert caught.value.code is FhirErrorCode.BAD_RESPONSE
