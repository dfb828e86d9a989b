"""The sandbox's patient picker: practitioners may pick anyone, a caregiver only linked patients, a patient only themselves."""
from __future__ import annotations

import re

from sandbox.auth import people
from tests.sandbox.oauth import SmartClient


def _txn(location: str) -> str:
    """The txn query value of a sandbox screen URL."""
    return re.search(r"txn=([^&]+)", location).group(1)


def _signed_in(sandbox, kind: str):
    """An authorization attempt signed in as the first identity of `kind`, with its client and person."""
    person = next(p for p in people.sign_in_people(sandbox.store) if p.kind == kind)
    client = SmartClient(sandbox)
    attempt = client.authorize(login_hint=person.ref, scope="launch/patient openid fhirUser patient/Patient.r")
    return client, attempt, person


def _someone_else(sandbox, not_id: str) -> str:
    """A patient id other than not_id."""
    return next(p["id"] for p in sandbox.resources("Patient") if p["id"] != not_id)


def test_a_patient_cannot_pick_another_patient(sandbox_server):
    client, attempt, person = _signed_in(sandbox_server, "Patient")
    txn = _txn(attempt.location)
    other = _someone_else(sandbox_server, person.id)
    client.submit(attempt, "/auth/pick", {"txn": txn, "patient": other})
    assert attempt.response.status_code == 403
    page = client.http.get(sandbox_server.base_url + "/auth/pick", params={"txn": txn}, timeout=10).text
    assert other not in page and person.id in page


def test_a_caregiver_cannot_pick_a_child_they_are_not_linked_to(sandbox_server):
    client, attempt, person = _signed_in(sandbox_server, "RelatedPerson")
    other = _someone_else(sandbox_server, person.patient)
    txn = _txn(attempt.location)
    client.submit(attempt, "/auth/pick", {"txn": txn, "patient": other})
    assert attempt.response.status_code == 403
    client.submit(attempt, "/auth/approve", {"txn": txn, "decision": "approve", "scope": ["launch/patient", "openid"]})
    assert client.token(attempt).json()["patient"] == person.patient


def test_a_caregiver_may_pick_their_linked_patient(sandbox_server):
    client, attempt, person = _signed_in(sandbox_server, "RelatedPerson")
    txn = _txn(attempt.location)
    client.submit(attempt, "/auth/pick", {"txn": txn, "patient": person.patient})
    assert attempt.response.status_code == 302
    client.submit(attempt, "/auth/approve", {"txn": txn, "decision": "approve",
                                             "scope": ["launch/patient", "openid", "fhirUser", "patient/Patient.r"]})
    assert client.token(attempt).json()["patient"] == person.patient


def test_a_practitioner_may_pick_any_patient(sandbox_server):
    client, attempt, _ = _signed_in(sandbox_server, "Practitioner")
    chosen = sandbox_server.resources("Patient")[-1]["id"]
    client.submit(attempt, "/auth/pick", {"txn": _txn(attempt.location), "patient": chosen})
    assert attempt.response.status_code == 302
    assert "/auth/approve" in attempt.location
