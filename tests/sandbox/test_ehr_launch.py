"""An EHR launch from the shell yields the right code redirect, token response and id_token."""
from __future__ import annotations

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.sandbox.oauth import CLIENT_ID, SmartClient, query_of


def _launch_from_shell(sandbox, patient_id: str, **query) -> dict[str, str]:
    """Follow the shell's launch link and return the iss/launch the app would receive."""
    response = requests.get(f"{sandbox.base_url}/ehr/launch/{patient_id}", params=query,
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return query_of(response.headers["Location"])


def test_shell_launch_link_carries_iss_and_an_opaque_launch_bound_to_the_patient(sandbox_server):
    patient = sandbox_server.first("Patient")
    launch_params = _launch_from_shell(sandbox_server, patient["id"])
    assert launch_params["iss"] == sandbox_server.fhir_base
    launch = sandbox_server.auth.store.get_launch(launch_params["launch"])
    assert launch is not None and launch.patient == patient["id"]
    assert patient["id"] not in launch_params["launch"]


def test_ehr_launch_token_response_has_context_and_a_verifiable_id_token(sandbox_server):
    encounter = sandbox_server.first("Encounter", lambda e: e.get("status") == "in-progress")
    patient_id = encounter["subject"]["reference"].split("/")[1]
    launch_params = _launch_from_shell(sandbox_server, patient_id)
    client = SmartClient(sandbox_server)
    attempt = client.code(launch=launch_params["launch"], scope="launch openid fhirUser offline_access patient/Patient.r")

    callback = attempt.callback
    assert callback["state"] == attempt.params["state"]
    assert callback["iss"] == sandbox_server.fhir_base

    response = client.token(attempt)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["patient"] == patient_id
    assert body["encounter"] == encounter["id"]
    assert body["need_patient_banner"] is True  # /ehr/launch opens the app alone: no chart shows the patient
    assert body["smart_style_url"] == sandbox_server.base_url + "/smart-style.json"
    assert set(body["scope"].split()) == {"launch", "openid", "fhirUser", "offline_access", "patient/Patient.r"}
    assert body["expires_in"] > 0 and body["refresh_token"]
    assert "fhirContext" not in body

    jwks = requests.get(sandbox_server.base_url + "/auth/jwks", timeout=10).json()
    token = jwt.decode(body["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    claims = token.claims
    assert claims["iss"] == sandbox_server.fhir_base
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == attempt.params["nonce"]
    launch = sandbox_server.auth.store.get_launch(launch_params["launch"])
    assert claims["fhirUser"] == f"{sandbox_server.fhir_base}/{launch.practitioner}"
    assert launch.practitioner.startswith("Practitioner/")


def test_ehr_launch_with_a_questionnaire_returns_fhir_context(sandbox_server):
    patient = sandbox_server.first("Patient")
    launch_params = _launch_from_shell(sandbox_server, patient["id"], questionnaire="Questionnaire/phq-9")
    client = SmartClient(sandbox_server)
    attempt = client.code(launch=launch_params["launch"], scope="launch openid fhirUser patient/Patient.r")
    body = client.token(attempt).json()
    assert body["fhirContext"] == [{"reference": "Questionnaire/phq-9"}]
    assert "refresh_token" not in body  # neither offline_access nor online_access was asked for


def test_authorize_post_is_accepted(sandbox_server):
    patient = sandbox_server.first("Patient")
    launch_params = _launch_from_shell(sandbox_server, patient["id"])
    client = SmartClient(sandbox_server)
    attempt = client.authorize("POST", launch=launch_params["launch"], scope="launch patient/Patient.r",
                               sandbox_approve="all")
    assert "code" in attempt.callback
    assert client.token(attempt).json()["patient"] == patient["id"]


def test_auto_approve_sandbox_issues_a_code_without_any_screen(sandbox_factory):
    sandbox = sandbox_factory(auto_approve=True)
    patient = sandbox.first("Patient")
    launch_params = _launch_from_shell(sandbox, patient["id"])
    attempt = SmartClient(sandbox).authorize(launch=launch_params["launch"], scope="launch patient/Patient.r")
    assert "code" in attempt.callback


def test_a_canonical_questionnaire_becomes_a_canonical_fhir_context(sandbox_server):
    launch = sandbox_server.new_launch(patient=sandbox_server.first("Patient")["id"],
                                       questionnaire="http://example.org/Questionnaire/phq-9|1.0")
    assert launch.fhir_context() == [{"canonical": "http://example.org/Questionnaire/phq-9|1.0",
                                      "type": "Questionnaire"}]


def test_stale_launches_are_forgotten(sandbox_server):
    from sandbox.auth import storage

    old = sandbox_server.new_launch(patient=sandbox_server.first("Patient")["id"])
    old.created_at -= storage.LAUNCH_LIFETIME + 1
    fresh = sandbox_server.new_launch(patient=sandbox_server.first("Patient")["id"])
    assert sandbox_server.auth.store.get_launch(old.launch_id) is None
    assert sandbox_server.auth.store.get_launch(fresh.launch_id) is fresh
    assert old.launch_id not in sandbox_server.auth.store._launches
