"""Every request needs a valid token; scopes are enforced per type and interaction; patient/ scopes pin the compartment."""
from __future__ import annotations

import pytest

from sandbox.fhir.scopes import parse_scope
from tests.sandbox_fhir.conftest import auth, ids

OBS = {"resourceType": "Observation", "status": "final", "code": {"text": "Pain score"},
       "subject": {"reference": "Patient/pat-ana"}, "valueInteger": 3}


def _outcome_codes(response) -> list[str]:
    """Issue codes of an OperationOutcome response."""
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return [i["code"] for i in body["issue"]]


@pytest.mark.parametrize("headers", [{}, auth("nope"), auth("expired"), {"Authorization": "Basic abc"}])
def test_missing_unknown_or_expired_token_is_401_with_bearer_challenge(client, headers):
    response = client.get("/fhir/Patient/pat-ana", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _outcome_codes(response) == ["login"]


def test_unknown_token_challenge_names_invalid_token(client):
    response = client.get("/fhir/Patient/pat-ana", headers=auth("nope"))
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_metadata_needs_no_token(client):
    assert client.get("/fhir/metadata").status_code == 200


@pytest.mark.parametrize("token,method,url,body,expected", [
    ("ana-obs-rs", "get", "/fhir/Condition?patient=pat-ana", None, 403),         # type not granted
    ("ana-obs-rs", "post", "/fhir/Observation", OBS, 403),                      # .rs cannot create
    ("ana-obs-c", "get", "/fhir/Observation?patient=pat-ana", None, 403),       # .c cannot search
    ("ana-obs-c", "get", "/fhir/Observation/obs-ana-weight-1", None, 403),      # .c cannot read
    ("ana-obs-c", "post", "/fhir/Observation", OBS, 201),
    ("ana-v1-read", "post", "/fhir/Observation", OBS, 403),                     # v1 read is not write
    ("ana-v1-read", "get", "/fhir/Observation/obs-ana-weight-1", None, 200),
    ("ana-v1-write", "post", "/fhir/Observation", OBS, 201),
    ("ana-obs-rs", "delete", "/fhir/Observation/obs-ana-weight-1", None, 403),
    ("clinician-read", "delete", "/fhir/Observation/obs-ana-weight-1", None, 403),
])
def test_scopes_are_enforced_per_type_and_interaction(client, token, method, url, body, expected):
    kwargs = {"json": body} if body else {}
    response = getattr(client, method)(url, headers=auth(token), **kwargs)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected == 403:
        assert _outcome_codes(response) == ["forbidden"]


@pytest.mark.parametrize("url", [
    "/fhir/Patient/pat-ben",
    "/fhir/Observation/obs-ben-weight-1",
    "/fhir/MedicationRequest/mr-ben-1",
    "/fhir/Encounter/enc-ben-visit",
    "/fhir/Appointment/appt-ben",
])
def test_reading_another_patients_data_under_patient_scopes_is_403(client, url):
    assert client.get(url, headers=auth("ana-all")).status_code == 403
    assert client.get(url, headers=auth("ben-all")).status_code == 200


@pytest.mark.parametrize("url", [
    "/fhir/Observation?patient=pat-ben",
    "/fhir/Observation?subject=Patient/pat-ben",
    "/fhir/Observation?patient=pat-ana,pat-ben",
    "/fhir/Patient?_id=pat-ben",
    "/fhir/MedicationRequest?subject=http://127.0.0.1:9090/fhir/Patient/pat-ben",
])
def test_search_naming_another_patient_is_403(client, url):
    response = client.get(url, headers=auth("ana-all"))
    assert response.status_code == 403


def test_search_without_patient_is_pinned_to_the_tokens_patient(client):
    body = client.get("/fhir/Observation?code=http://loinc.org|29463-7&_count=100", headers=auth("ana-all")).get_json()
    subjects = {r["subject"]["reference"] for r in [e["resource"] for e in body["entry"]]}
    assert subjects == {"Patient/pat-ana"}
    assert body["total"] == 3
    patients = client.get("/fhir/Patient", headers=auth("ana-all")).get_json()
    assert ids(patients) == ["pat-ana"]


def test_user_scopes_see_every_patient(client):
    body = client.get("/fhir/Observation?code=http://loinc.org|29463-7&_count=100", headers=auth("clinician")).get_json()
    assert len({e["resource"]["subject"]["reference"] for e in body["entry"]}) == 7


def test_writing_into_another_patients_compartment_is_403_and_stores_nothing(client, store):
    before = store.count("Observation")
    other = {**OBS, "subject": {"reference": "Patient/pat-ben"}}
    assert client.post("/fhir/Observation", json=other, headers=auth("ana-all")).status_code == 403
    ben_obs = client.get("/fhir/Observation/obs-ben-weight-1", headers=auth("ben-all")).get_json()
    ben_obs["subject"] = {"reference": "Patient/pat-ana"}
    # Moving Ben's observation into Ana's chart needs access to Ben's record first.
    assert client.put("/fhir/Observation/obs-ben-weight-1", json=ben_obs, headers=auth("ana-all")).status_code == 403
    assert client.delete("/fhir/Observation/obs-ben-weight-1", headers=auth("ana-all")).status_code == 403
    assert store.count("Observation") == before
    assert store.read("Observation", "obs-ben-weight-1")["subject"]["reference"] == "Patient/pat-ben"


def test_patient_scope_without_patient_context_is_403(client):
    assert client.get("/fhir/Observation", headers=auth("no-patient")).status_code == 403


def test_shared_resources_are_readable_under_patient_scopes(client):
    response = client.get("/fhir/Questionnaire/phq-2", headers=auth("ana-questionnaire"))
    assert response.status_code == 200
    assert client.get("/fhir/Medication/med-metformin", headers=auth("ana-all")).status_code == 200
    assert client.get("/fhir/Practitioner/prac-lee", headers=auth("ana-all")).status_code == 200


def test_included_resources_need_their_own_scope(client):
    url = "/fhir/MedicationRequest?patient=pat-ana&_include=MedicationRequest:medication&_count=50"
    without = client.get(url, headers=auth("ana-meds")).get_json()
    with_scope = client.get(url, headers=auth("ana-meds-and-medication")).get_json()
    assert ids(without, "include") == []
    assert sorted(ids(with_scope, "include")) == ["med-atorvastatin", "med-metformin"]


def test_granular_scope_filters_limit_reads_and_searches(client):
    token = auth("ana-vitals-only")
    assert client.get("/fhir/Observation/obs-ana-bp-1", headers=token).status_code == 200
    created = client.post("/fhir/Observation", json=OBS, headers=auth("ana-all")).get_json()
    assert client.get(f"/fhir/Observation/{created['id']}", headers=token).status_code == 403
    body = client.get("/fhir/Observation?_count=100", headers=token).get_json()
    assert created["id"] not in ids(body) and body["total"] == 9


@pytest.mark.parametrize("scope,context,type_,letters", [
    ("patient/Observation.read", "patient", "Observation", "rs"),
    ("patient/Observation.write", "patient", "Observation", "cud"),
    ("user/*.*", "user", "*", "cruds"),
    ("patient/Observation.rs", "patient", "Observation", "rs"),
    ("system/Patient.cruds", "system", "Patient", "cruds"),
    ("patient/QuestionnaireResponse.cu", "patient", "QuestionnaireResponse", "cu"),
    ("user/Observation.rs?category=vital-signs", "user", "Observation", "rs"),
])
def test_scope_parsing_covers_v1_and_v2(scope, context, type_, letters):
    rule = parse_scope(scope)
    assert (rule.context, rule.resource_type, rule.interactions) == (context, type_, frozenset(letters))


@pytest.mark.parametrize("scope", ["openid", "launch/patient", "patient/Observation.sr", "patient/Observation.rr",
                                   "patient/Observation.x", "patient/Observation.read?category=x", "fhirUser"])
def test_non_resource_or_malformed_scopes_grant_nothing(scope):
    assert parse_scope(scope) is None


def test_provenance_belongs_to_the_patient_of_its_targets(client, store):
    for pid in ("ana", "ben"):
        store.create({"resourceType": "Provenance", "id": f"prov-{pid}", "recorded": "2026-01-15T10:00:00Z",
                      "target": [{"reference": f"Observation/obs-{pid}-weight-1"}],
                      "agent": [{"who": {"reference": "Practitioner/prac-kim"}}]})
    body = client.get("/fhir/Provenance", headers=auth("ana-all")).get_json()
    assert ids(body) == ["prov-ana"] and body["total"] == 1
    assert client.get("/fhir/Provenance/prov-ben", headers=auth("ana-all")).status_code == 403
    assert client.get("/fhir/Provenance/prov-ana", headers=auth("ana-all")).status_code == 200


def test_device_is_shared_under_patient_scopes(client, store):
    store.create({"resourceType": "Device", "id": "app-device", "deviceName": [{"name": "SMART Pre-Visit",
                                                                                "type": "user-friendly-name"}]})
    assert client.get("/fhir/Device/app-device", headers=auth("ana-all")).status_code == 200
    assert client.get("/fhir/Device/app-device", headers=auth("ana-obs-rs")).status_code == 403
