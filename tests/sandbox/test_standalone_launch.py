"""Standalone launches through the sandbox's sign-in, patient picker and approval screens."""
from __future__ import annotations

import re

from joserfc import jwt
from joserfc.jwk import KeySet
import requests

from tests.sandbox.oauth import SmartClient


def _txn(location: str) -> str:
    """The txn query value of a sandbox screen URL."""
    return re.search(r"txn=([^&]+)", location).group(1)


def _id_token_claims(sandbox, id_token: str) -> dict:
    """Verify an id_token with the sandbox JWKS and return its claims."""
    jwks = requests.get(sandbox.base_url + "/auth/jwks", timeout=10).json()
    return jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"]).claims


def _signins(sandbox, kind: str) -> list:
    """Sign-in identities of one kind."""
    from sandbox.auth import people

    return [p for p in people.sign_in_people(sandbox.store) if p.kind == kind]


def test_patient_signs_in_approves_and_gets_their_own_context(sandbox_server):
    client = SmartClient(sandbox_server)
    patient = _signins(sandbox_server, "Patient")[0]
    attempt = client.authorize(scope="launch/patient openid fhirUser patient/Patient.r patient/Observation.rs")
    assert "/auth/login" in attempt.location
    login_page = client.follow(attempt)
    assert patient.ref in login_page.text

    client.submit(attempt, "/auth/login", {"txn": _txn(attempt.location), "user": patient.ref})
    assert "/auth/approve" in attempt.location
    approve_page = client.follow(attempt).text
    assert "Read and search observation records for the patient in context" in approve_page

    client.submit(attempt, "/auth/approve", {
        "txn": _txn(attempt.location), "decision": "approve",
        "scope": ["launch/patient", "openid", "fhirUser", "patient/Patient.r", "patient/Observation.rs"],
    })
    body = client.token(attempt).json()
    assert body["patient"] == patient.id
    assert body["need_patient_banner"] is True
    assert "encounter" not in body
    claims = _id_token_claims(sandbox_server, body["id_token"])
    assert claims["fhirUser"] == f"{sandbox_server.fhir_base}/{patient.ref}"


def test_parent_launches_for_the_child(sandbox_server):
    parent = _signins(sandbox_server, "RelatedPerson")[0]
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=parent.ref, scope="launch/patient openid fhirUser patient/Patient.r")
    body = client.token(attempt).json()
    assert body["patient"] == parent.patient
    assert parent.patient != parent.id
    claims = _id_token_claims(sandbox_server, body["id_token"])
    assert claims["fhirUser"] == f"{sandbox_server.fhir_base}/{parent.ref}"


def test_clinician_standalone_launch_shows_a_patient_picker(sandbox_server):
    clinician = _signins(sandbox_server, "Practitioner")[0]
    chosen = sandbox_server.resources("Patient")[-1]["id"]
    client = SmartClient(sandbox_server)
    attempt = client.authorize(login_hint=clinician.ref, scope="launch/patient openid fhirUser user/Patient.rs")
    assert "/auth/pick" in attempt.location
    assert chosen in client.follow(attempt).text
    client.submit(attempt, "/auth/pick", {"txn": _txn(attempt.location), "patient": chosen})
    assert "/auth/approve" in attempt.location
    client.submit(attempt, "/auth/approve", {"txn": _txn(attempt.location), "decision": "approve",
                                             "scope": ["launch/patient", "openid", "fhirUser", "user/Patient.rs"]})
    body = client.token(attempt).json()
    assert body["patient"] == chosen
    assert _id_token_claims(sandbox_server, body["id_token"])["fhirUser"].endswith(clinician.ref)


def test_sandbox_patient_hint_skips_the_picker(sandbox_server):
    clinician = _signins(sandbox_server, "Practitioner")[0]
    chosen = sandbox_server.resources("Patient")[0]["id"]
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=clinician.ref, sandbox_patient=chosen, scope="launch/patient user/Patient.rs")
    assert client.token(attempt).json()["patient"] == chosen


def test_unticked_scopes_are_not_granted(sandbox_server):
    patient = _signins(sandbox_server, "Patient")[0]
    client = SmartClient(sandbox_server)
    attempt = client.authorize(login_hint=patient.ref,
                               scope="launch/patient offline_access patient/Patient.r patient/Observation.rs")
    client.submit(attempt, "/auth/approve", {"txn": _txn(attempt.location), "decision": "approve",
                                             "scope": ["launch/patient", "patient/Patient.r"]})
    body = client.token(attempt).json()
    assert body["scope"].split() == ["launch/patient", "patient/Patient.r"]
    assert "refresh_token" not in body


def test_scopes_the_client_is_not_registered_for_are_not_granted(sandbox_server):
    patient = _signins(sandbox_server, "Patient")[0]
    client = SmartClient(sandbox_server)
    requested = "launch/patient patient/Patient.r patient/AllergyIntolerance.rs patient/Observation.read patient/Observation.cruds"
    attempt = client.authorize(login_hint=patient.ref, scope=requested)
    page = client.follow(attempt).text
    assert "not registered for" in page and "patient/AllergyIntolerance.rs" in page
    attempt = client.code(login_hint=patient.ref, scope=requested)
    granted = client.token(attempt).json()["scope"].split()
    # v1 .read is within the registered v2 .rs; AllergyIntolerance and Observation .cruds are not registered.
    assert granted == ["launch/patient", "patient/Patient.r", "patient/Observation.read"]


def test_approval_page_escapes_untrusted_text(sandbox_server):
    patient = _signins(sandbox_server, "Patient")[0]
    client = SmartClient(sandbox_server)
    attempt = client.authorize(login_hint=patient.ref, scope="launch/patient <script>alert(1)</script>")
    page = client.follow(attempt).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
