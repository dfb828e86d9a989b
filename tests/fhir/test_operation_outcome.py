"""OperationOutcome issues are parsed into typed issues and mapped to QR linkIds."""
from __future__ import annotations

import pytest

from smart_app.ehr.client import FhirError, FhirErrorCode, OutcomeIssue, parse_operation_outcome
from smart_app.forms.field_errors import issue_link_ids, link_id_for_expression
from tests.fhir.conftest import fhir_response, outcome

QR = {
    "resourceType": "QuestionnaireResponse",
    "item": [
        {"linkId": "demographics", "item": [
            {"linkId": "dob"}, {"linkId": "sex"},
            {"linkId": "weight", "answer": [{"valueDecimal": 7, "item": [{"linkId": "weight-unit"}]}]},
        ]},
        {"linkId": "phq9-1"},
    ],
}


def test_422_maps_to_invalid_with_parsed_issues(fhir_server, make_client):
    body = outcome({
        "severity": "error", "code": "invariant", "diagnostics": "Weight must be > 0",
        "details": {"text": "Out of range"},
        "expression": ["QuestionnaireResponse.item[0].item[2].answer[0].value"],
    })
    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_response(
        fhir_response(body, 422))
    with pytest.raises(FhirError) as caught:
        make_client().create({"resourceType": "QuestionnaireResponse", "status": "completed"})
    error = caught.value
    assert (error.code, error.status) == (FhirErrorCode.INVALID, 422)
    assert error.issues == [OutcomeIssue(
        severity="error", code="invariant", diagnostics="Weight must be > 0", details_text="Out of range",
        expression=("QuestionnaireResponse.item[0].item[2].answer[0].value",))]
    assert issue_link_ids(error.issues[0], QR) == ["weight"]
    assert "Weight must be" not in str(error)  # diagnostics can echo patient data; keep them out of messages


@pytest.mark.parametrize("status, code", [
    (400, FhirErrorCode.INVALID), (403, FhirErrorCode.FORBIDDEN), (404, FhirErrorCode.NOT_FOUND),
    (409, FhirErrorCode.CONFLICT), (410, FhirErrorCode.GONE), (412, FhirErrorCode.PRECONDITION_FAILED),
    (501, FhirErrorCode.NOT_SUPPORTED),
])
def test_status_maps_to_a_closed_error_code(fhir_server, make_client, status, code):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(outcome(), status))
    with pytest.raises(FhirError) as caught:
        make_client().read("Patient", "p1")
    assert caught.value.code is code
    assert len(fhir_server.log) == 1  # none of these is retried


def test_error_body_that_is_not_json_still_gives_a_code(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_data("<html>oops</html>", status=400)
    with pytest.raises(FhirError) as caught:
        make_client().read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.INVALID
    assert caught.value.issues == []


def test_success_body_that_is_not_json_is_a_bad_response(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_data("<html>login</html>", status=200)
    with pytest.raises(FhirError) as caught:
        make_client().read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.BAD_RESPONSE


def test_parse_falls_back_to_deprecated_location_and_ignores_junk():
    issues = parse_operation_outcome(outcome(
        {"severity": "warning", "code": "value", "location": ["QuestionnaireResponse.item[1]"]},
        "not an issue",
        {"code": "required"},
    ))
    assert issues == [
        OutcomeIssue("warning", "value", expression=("QuestionnaireResponse.item[1]",)),
        OutcomeIssue("error", "required"),
    ]
    assert parse_operation_outcome({"resourceType": "Patient"}) == []
    assert parse_operation_outcome(None) == []


@pytest.mark.parametrize("expression, expected", [
    ("QuestionnaireResponse.item[1]", "phq9-1"),
    ("QuestionnaireResponse.item[0].item[1].answer[0].valueCoding", "sex"),
    ("QuestionnaireResponse.item[0].item[2].answer[0].item[0]", "weight-unit"),
    ("item[0].item[0]", "dob"),
    ("QuestionnaireResponse.item.where(linkId='demographics').item.where(linkId='dob')", "dob"),
    ('item.where(linkId = "phq9-1").answer', "phq9-1"),
    ("QuestionnaireResponse.item.where(linkId='not-in-qr')", "not-in-qr"),
    ("Bundle.entry[0].resource.item[1]", "phq9-1"),
    ("Bundle.entry[0].resource.ofType(QuestionnaireResponse).item[0]", "demographics"),
    ("QuestionnaireResponse.item[9]", None),
    ("QuestionnaireResponse.status", None),
    ("Observation.valueQuantity", None),
    ("", None),
])
def test_expression_to_link_id(expression, expected):
    assert link_id_for_expression(expression, QR) == expected


def test_bundle_expression_for_another_entry_is_not_mapped():
    assert link_id_for_expression("Bundle.entry[2].resource.item[1]", QR, entry_index=0) is None
    assert link_id_for_expression("Bundle.entry[0].resource.item[1]", QR, entry_index=0) == "phq9-1"


def test_where_paths_map_without_the_response_but_index_paths_need_it():
    assert link_id_for_expression("item.where(linkId='a').item.where(linkId='b')") == "b"
    assert link_id_for_expression("item[0]") is None


def test_issue_link_ids_deduplicates_across_expressions():
    issue = OutcomeIssue("error", "value", expression=(
        "QuestionnaireResponse.item[1]", "item.where(linkId='phq9-1')", "QuestionnaireResponse.item[0].item[0]"))
    assert issue_link_ids(issue, QR) == ["phq9-1", "dob"]
