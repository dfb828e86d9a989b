"""Every write is checked against the R4 structure first: an invalid resource is refused before any request."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from smart_app.ehr.validation import InvalidResource, Problem, ProblemKind, check_outgoing, problems
from tests.fhir.conftest import fhir_response

VALID_QR = {"resourceType": "QuestionnaireResponse", "status": "completed",
            "item": [{"linkId": "weight", "answer": [{"valueDecimal": Decimal("70.50")}]}]}


def _transaction(resource: dict) -> dict:
    """A one-entry transaction creating `resource`."""
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": "urn:uuid:0f0e6d1c-0000-5000-8000-000000000001", "resource": resource,
                       "request": {"method": "POST", "url": resource["resourceType"]}}]}


@pytest.mark.parametrize("write", ["create", "update", "transaction"])
def test_an_invalid_resource_is_refused_before_any_request(fhir_server, make_client, write):
    invalid = {"resourceType": "Observation", "id": "o1", "code": {"text": "Body weight"},
               "valueQuantity": {"value": Decimal("70.50")}}  # no status: 1..1 in R4
    client = make_client()
    with pytest.raises(InvalidResource) as raised:
        if write == "create":
            client.create(invalid, if_none_exist="identifier=s|1")
        elif write == "update":
            client.update(invalid, if_match="1")
        else:
            client.transaction(_transaction(invalid))
    assert fhir_server.log == []
    prefix = "Bundle.entry[0].resource" if write == "transaction" else "Observation"
    assert raised.value.problems == (Problem(f"{prefix}.status", ProblemKind.REQUIRED),)


@pytest.mark.parametrize("resource,expected", [
    ({"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "a", "item": [{"text": "x"}]}]},
     Problem("QuestionnaireResponse.item[0].item[0].linkId", ProblemKind.REQUIRED)),
    ({**VALID_QR, "authored": "yesterday"}, Problem("QuestionnaireResponse.authored", ProblemKind.BAD_VALUE)),
    ({**VALID_QR, "answers": []}, Problem("QuestionnaireResponse.answers", ProblemKind.UNKNOWN_ELEMENT)),
    ({**VALID_QR, "subject": [{"reference": "Patient/p1"}]}, Problem("QuestionnaireResponse.subject", ProblemKind.WRONG_TYPE)),
    ({"resourceType": "Provenance", "target": [{"reference": "Observation/o1"}], "agent": [{"who": {"display": "app"}}]},
     Problem("Provenance.recorded", ProblemKind.REQUIRED)),
    ({"resourceType": "Task", "status": "requested", "intent": "proposal", "for": "Patient/p1"},
     Problem("Task.for", ProblemKind.WRONG_TYPE)),
    ({"resourceType": "Flag", "status": "active", "code": {"text": "Self-harm"}},
     Problem("Flag.subject", ProblemKind.REQUIRED)),
    ({"resourceType": "Encounter", "status": "finished"}, Problem("Encounter.class", ProblemKind.REQUIRED)),
    ({"resourceType": "Questionaire"}, Problem("resourceType", ProblemKind.UNKNOWN_TYPE)),
    (_transaction({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueSting": "a"}),
     Problem("Bundle.entry[0].resource.valueSting", ProblemKind.UNKNOWN_ELEMENT)),
])
def test_each_problem_names_the_element_and_what_is_wrong(resource, expected):
    assert expected in problems(resource)


def test_the_check_judges_a_copy_and_the_exact_json_is_what_is_sent(fhir_server, make_client):
    resource = copy.deepcopy(VALID_QR)
    assert problems(resource) == ()
    sent: list[bytes] = []
    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_handler(
        lambda request: sent.append(request.get_data()) or _created(fhir_server))
    make_client().create(resource)
    assert resource == VALID_QR and isinstance(resource["item"][0]["answer"][0]["valueDecimal"], Decimal)
    assert b'"valueDecimal":70.50' in sent[0]


def test_the_refusal_names_paths_and_kinds_never_values():
    secret = "my neighbour hurts me"
    resource = {"resourceType": "QuestionnaireResponse", "status": "completed",
                "item": [{"linkId": "q1", "answer": [{"valueString": secret, "valueStrin": secret}]}],
                "authored": secret}
    with pytest.raises(InvalidResource) as raised:
        check_outgoing(resource)
    assert secret not in str(raised.value)
    assert "QuestionnaireResponse.item[0].answer[0].valueStrin: unknown-element" in str(raised.value)


def _created(server):
    """A 201 for the create."""
    return fhir_response({"resourceType": "QuestionnaireResponse", "id": "q1"}, status=201,
                         headers={"Location": server.url_for("/fhir/QuestionnaireResponse/q1/_history/1")})
