"""Create, conditional create, versioned update with If-Match, delete, vread, headers, Prefer and error outcomes."""
from __future__ import annotations

import pytest

from tests.sandbox_fhir.conftest import auth

ANA = auth("ana-all")


def _obs(**extra) -> dict:
    """A valid Observation for Ana."""
    return {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/pat-ana"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "valueInteger": 4, **extra}


def test_create_returns_201_with_location_etag_and_last_modified(client, store):
    response = client.post("/fhir/Observation", json=_obs(id="client-id"), headers=ANA)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"] != "client-id"  # the server assigns ids on create
    assert response.headers["Location"] == f"http://localhost/fhir/Observation/{body['id']}/_history/1"
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Last-Modified"].endswith("GMT")
    assert response.content_type.startswith("application/fhir+json")
    assert store.read("Observation", body["id"])["valueInteger"] == 4


def test_conditional_create_creates_then_returns_existing_then_rejects_ambiguity(client, store):
    header = {**ANA, "If-None-Exist": "identifier=urn:test|abc"}
    first = client.post("/fhir/Observation", json=_obs(identifier=[{"system": "urn:test", "value": "abc"}]),
                        headers=header)
    assert first.status_code == 201
    again = client.post("/fhir/Observation", json=_obs(identifier=[{"system": "urn:test", "value": "abc"}]),
                        headers=header)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert store.count("Observation", identifier="urn:test|abc") == 1
    store.create({**_obs(identifier=[{"system": "urn:test", "value": "abc"}])})
    ambiguous = client.post("/fhir/Observation", json=_obs(), headers=header)
    assert ambiguous.status_code == 412
    assert store.count("Observation", identifier="urn:test|abc") == 2


def test_conditional_create_only_sees_the_tokens_compartment(client, store):
    ben_only = {**auth("ben-all"), "If-None-Exist": "code=http://loinc.org|29463-7"}
    body = _obs(subject={"reference": "Patient/pat-ben"})
    # Ben has 2 weights; Ana's 3 must not make the condition ambiguous or match.
    assert client.post("/fhir/Observation", json=body, headers=ben_only).status_code == 412
    anas = store.create(_obs())  # Ana already has a 72514-3 pain score; Ben must not see it
    cond = {**auth("ben-all"), "If-None-Exist": "code=http://loinc.org|72514-3"}
    created = client.post("/fhir/Observation", json=body, headers=cond)
    assert created.status_code == 201 and created.get_json()["id"] != anas["id"]


def test_update_with_current_if_match_succeeds_and_stale_is_412(client):
    current = client.get("/fhir/Observation/obs-ana-weight-1", headers=ANA)
    resource = current.get_json()
    resource["valueQuantity"]["value"] = 70.0
    ok = client.put("/fhir/Observation/obs-ana-weight-1", json=resource, headers={**ANA, "If-Match": current.headers["ETag"]})
    assert ok.status_code == 200 and ok.headers["ETag"] == 'W/"2"'
    stale = client.put("/fhir/Observation/obs-ana-weight-1", json=resource, headers={**ANA, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.get_json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Observation/obs-ana-weight-1", headers=ANA).get_json()["meta"]["versionId"] == "2"


def test_vread_returns_each_version(client):
    resource = client.get("/fhir/Patient/pat-ana", headers=ANA).get_json()
    resource["telecom"] = [{"system": "phone", "value": "555-9999"}]
    assert client.put("/fhir/Patient/pat-ana", json=resource, headers=ANA).status_code == 200
    v1 = client.get("/fhir/Patient/pat-ana/_history/1", headers=ANA).get_json()
    v2 = client.get("/fhir/Patient/pat-ana/_history/2", headers=ANA).get_json()
    assert v1["telecom"][0]["value"] == "555-0101" and v2["telecom"][0]["value"] == "555-9999"
    assert client.get("/fhir/Patient/pat-ana/_history/3", headers=ANA).status_code == 404


def test_update_can_create_with_client_id(client):
    response = client.put("/fhir/Observation/my-obs", json=_obs(id="my-obs"), headers=ANA)
    assert response.status_code == 201 and response.get_json()["meta"]["versionId"] == "1"


def test_delete_then_read_is_410(client):
    assert client.delete("/fhir/Observation/obs-ana-bp-1", headers=ANA).status_code == 204
    gone = client.get("/fhir/Observation/obs-ana-bp-1", headers=ANA)
    assert gone.status_code == 410 and gone.get_json()["resourceType"] == "OperationOutcome"
    assert client.delete("/fhir/Observation/never-was", headers=ANA).status_code == 404


@pytest.mark.parametrize("prefer,check", [
    ("return=minimal", lambda r: r.get_data() == b""),
    ("return=representation", lambda r: r.get_json()["resourceType"] == "Observation"),
    ("return=OperationOutcome", lambda r: r.get_json()["issue"][0]["severity"] == "information"),
])
def test_prefer_return(client, prefer, check):
    response = client.post("/fhir/Observation", json=_obs(), headers={**ANA, "Prefer": prefer})
    assert response.status_code == 201 and "Location" in response.headers
    assert check(response)


@pytest.mark.parametrize("method,url,kwargs,status", [
    ("post", "/fhir/Observation", {"data": "{nope", "content_type": "application/fhir+json"}, 400),
    ("post", "/fhir/Observation", {"json": {"resourceType": "Patient"}}, 400),
    ("post", "/fhir/Observation", {"json": ["not", "an", "object"]}, 400),
    ("put", "/fhir/Observation/obs-ana-bp-1", {"json": _obs(id="other")}, 400),
    ("put", "/fhir/Observation/obs-ana-bp-1", {"json": _obs()}, 400),
    ("post", "/fhir/Observation", {"data": "x=1", "content_type": "application/x-www-form-urlencoded"}, 415),
    ("get", "/fhir/Observation/does-not-exist", {}, 404),
    ("patch", "/fhir/Observation/obs-ana-bp-1", {"json": {}}, 405),
    ("delete", "/fhir/Observation", {}, 405),
    ("get", "/fhir/Observation/obs-ana-bp-1/nonsense/extra", {}, 404),
    ("put", "/fhir/Observation/obs-ana-bp-1", {"json": _obs(id="obs-ana-bp-1"), "headers": {"If-Match": "soon"}}, 400),
])
def test_errors_are_operation_outcomes(client, method, url, kwargs, status):
    headers = {**ANA, **kwargs.pop("headers", {})}
    response = getattr(client, method)(url, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("resource,expression", [
    ({"resourceType": "QuestionnaireResponse", "subject": {"reference": "Patient/pat-ana"},
      "item": [{"linkId": "q1"}]}, "QuestionnaireResponse.status"),
    ({"resourceType": "QuestionnaireResponse", "status": "completed", "subject": {"reference": "Patient/pat-ana"},
      "item": [{"linkId": "a", "item": [{"text": "no link"}]}]}, "QuestionnaireResponse.item[0].item[0].linkId"),
    ({"resourceType": "QuestionnaireResponse", "status": "completed", "subject": {"reference": "Patient/pat-ana"},
      "authored": "yesterday"}, "QuestionnaireResponse.authored"),
    ({"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/pat-ana"}},
     "Observation.code"),
    ({"resourceType": "Observation", "code": {"text": "x"}, "subject": {"reference": "Patient/pat-ana"}},
     "Observation.status"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/pat-ana"},
      "valueQuantity": {"value": "70"}}, "Observation.valueQuantity.value"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/pat-ana"},
      "valueSting": "typo"}, "Observation.valueSting"),
    ({"resourceType": "Flag", "status": "active", "code": {"text": "x"}}, "Flag.subject"),
])
def test_structurally_invalid_resources_are_400_with_expression(client, store, resource, expression):
    type_ = resource["resourceType"]
    before = store.count(type_)
    response = client.post(f"/fhir/{type_}", json=resource, headers=ANA)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["resourceType"] == "OperationOutcome"
    expressions = [e for issue in response.get_json()["issue"] for e in issue.get("expression", [])]
    assert expression in expressions
    assert store.count(type_) == before


@pytest.mark.parametrize("resource,expression", [
    ({"resourceType": "QuestionnaireResponse", "status": "done", "subject": {"reference": "Patient/pat-ana"}},
     "QuestionnaireResponse.status"),
    ({"resourceType": "QuestionnaireResponse", "status": "completed", "subject": {"reference": "Patient/pat-ana"},
      "item": [{"linkId": "a", "answer": [{}]}]}, "QuestionnaireResponse.item[0].answer[0]"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/pat-ana"},
      "encounter": {"reference": "Encounter/nowhere"}}, "Observation.encounter.reference"),
])
def test_resources_breaking_business_rules_are_422_with_expression(client, store, resource, expression):
    type_ = resource["resourceType"]
    before = store.count(type_)
    response = client.post(f"/fhir/{type_}", json=resource, headers=ANA)
    assert response.status_code == 422, response.get_data(as_text=True)
    expressions = [e for issue in response.get_json()["issue"] for e in issue.get("expression", [])]
    assert expression in expressions
    assert store.count(type_) == before
