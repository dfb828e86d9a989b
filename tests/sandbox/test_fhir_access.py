"""Tokens from the sandbox's authorization server are enforced by its FHIR API."""
from __future__ import annotations

from tests.sandbox.oauth import SmartClient


def _patient_token(sandbox, scope: str) -> tuple[SmartClient, dict]:
    """A standalone patient launch token for the first patient."""
    patient = sandbox.first("Patient")
    client = SmartClient(sandbox)
    attempt = client.code(login_hint=f"Patient/{patient['id']}", scope=scope)
    return client, client.token(attempt).json()


def test_a_patient_token_cannot_read_another_patient(sandbox_server):
    client, body = _patient_token(sandbox_server, "launch/patient patient/Patient.r patient/Observation.rs")
    other = sandbox_server.first("Patient", lambda p: p["id"] != body["patient"])
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 200
    refused = client.fhir(body["access_token"], f"Patient/{other['id']}")
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_a_resource_type_that_was_not_granted_is_refused(sandbox_server):
    client, body = _patient_token(sandbox_server, "launch/patient patient/Patient.r")
    response = client.fhir(body["access_token"], "Observation", params={"patient": body["patient"]})
    assert response.status_code == 403


def test_an_unticked_write_scope_cannot_write(sandbox_server):
    client, body = _patient_token(sandbox_server, "launch/patient patient/Observation.rs")
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "Body weight"},
                   "subject": {"reference": f"Patient/{body['patient']}"},
                   "valueQuantity": {"value": 70, "unit": "kg"}}
    response = client.fhir(body["access_token"], "Observation", "POST", json=observation,
                           headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 403


def test_no_token_and_a_made_up_token_get_401(sandbox_server):
    client = SmartClient(sandbox_server)
    patient = sandbox_server.first("Patient")
    assert client.http.get(f"{sandbox_server.fhir_base}/Patient/{patient['id']}", timeout=10).status_code == 401
    assert client.fhir("made-up", f"Patient/{patient['id']}").status_code == 401


def test_capability_statement_names_the_sandbox_oauth_endpoints(sandbox_server):
    client = SmartClient(sandbox_server)
    metadata = client.http.get(f"{sandbox_server.fhir_base}/metadata", timeout=10).json()
    text = str(metadata)
    assert sandbox_server.base_url + "/auth/authorize" in text
    assert sandbox_server.base_url + "/auth/token" in text


def test_v1_scopes_are_granted_and_enforced(sandbox_server):
    client, body = _patient_token(sandbox_server, "launch/patient patient/Patient.read patient/Observation.read")
    # Patient is registered read-only (.r), so v1 .read (read + search) is more than the app may have.
    assert body["scope"] == "launch/patient patient/Observation.read"
    assert client.fhir(body["access_token"], "Observation", params={"patient": body["patient"]}).status_code == 200
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 403
