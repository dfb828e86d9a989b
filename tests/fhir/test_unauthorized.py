"""A 401 triggers exactly one token refresh and one retry."""
from __future__ import annotations

import pytest

from smart_app.ehr.client import FhirError, FhirErrorCode
from tests.fhir.conftest import fhir_response, in_sequence


class Refresher:
    """Counts refreshes and hands out a new token each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"fresh-{self.calls}"


def test_401_refreshes_once_and_retries_with_the_new_token(fhir_server, make_client):
    refresher = Refresher()
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_handler(in_sequence(
        fhir_response(None, 401), fhir_response({"resourceType": "Patient", "id": "p1"})))
    make_client(on_unauthorized=refresher).read("Patient", "p1")
    assert refresher.calls == 1
    assert fhir_server.log[1][0].headers["Authorization"] == "Bearer fresh-1"


def test_second_401_is_an_error_without_a_second_refresh(fhir_server, make_client):
    refresher = Refresher()
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(None, 401))
    with pytest.raises(FhirError) as caught:
        make_client(on_unauthorized=refresher).read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.UNAUTHORIZED
    assert refresher.calls == 1
    assert len(fhir_server.log) == 2


def test_401_on_a_plain_post_is_replayed_once_because_nothing_was_done(fhir_server, make_client):
    refresher = Refresher()
    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_handler(in_sequence(
        fhir_response(None, 401),
        fhir_response({"resourceType": "QuestionnaireResponse", "id": "q1"}, 201,
                      {"Location": "http://x/fhir/QuestionnaireResponse/q1/_history/1"})))
    result = make_client(on_unauthorized=refresher).create({"resourceType": "QuestionnaireResponse", "status": "completed"})
    assert result.reference == "QuestionnaireResponse/q1"
    assert result.version_id == "1"
    assert refresher.calls == 1


def test_401_without_refresher_is_an_error_at_once(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(None, 401))
    with pytest.raises(FhirError) as caught:
        make_client().read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.UNAUTHORIZED
    assert len(fhir_server.log) == 1
