"""The person who signed in must be the launch's patient, or a caregiver the EHR shows is linked to them."""
from __future__ import annotations

from datetime import date

import pytest

from smart_app.context import FhirReference
from smart_app.launch.user import link_problem
from tests.fixtures.fake_ehr import id_token, token_response

ISS = "https://ehr.example/fhir"
TODAY = date(2026, 12, 3)


def related(patient: str = "Patient/a", **extra) -> dict:
    """A RelatedPerson rp1 linked to `patient`."""
    return {"resourceType": "RelatedPerson", "id": "rp1", "patient": {"reference": patient}, **extra}


@pytest.mark.parametrize("user, resource, problem", [
    (FhirReference("Patient", "a"), None, None),
    (FhirReference("Patient", "b"), None, "patient is not the user"),
    (FhirReference("Patient", "a", "https://other.example/fhir"), None, "user on another server"),
    (FhirReference("Practitioner", "dr1"), None, None),
    (FhirReference("RelatedPerson", "rp1"), related(), None),
    (FhirReference("RelatedPerson", "rp1"), related(f"{ISS}/Patient/a"), None),
    (FhirReference("RelatedPerson", "rp1"), None, "related person unreadable"),
    (FhirReference("RelatedPerson", "rp1"), related("Patient/b"), "related person not linked"),
    (FhirReference("RelatedPerson", "rp1"), related(active=False), "related person inactive"),
    (FhirReference("RelatedPerson", "rp1"), related(period={"end": "2026-12-02"}), "link ended"),
    (FhirReference("RelatedPerson", "rp1"), related(period={"end": "2026-12-03"}), None),
    (FhirReference("RelatedPerson", "rp1"), related(period={"start": "2026-12-04"}), "link not started"),
    (FhirReference("RelatedPerson", "rp1"), {**related(), "id": "rp2"}, "related person unreadable"),
])
def test_who_may_act_for_the_patient(user, resource, problem):
    assert link_problem(user, "a", ISS, resource, TODAY) == problem


def _launch_as(launcher, fake_ehr, fhir_user: str, patient: str = "p1"):
    """A standalone launch whose id_token names fhir_user and whose token carries `patient`."""
    auth = launcher.authorize(launch=None)
    token = token_response(patient=patient)
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud=auth.params["client_id"],
                                 nonce=auth.params["nonce"], fhirUser=fhir_user)
    fake_ehr.serve_token_once(token)
    return launcher.callback(auth.state), token


def test_a_patient_signed_in_as_another_patient_is_refused(launcher, fake_ehr, audit_log, client):
    response, _ = _launch_as(launcher, fake_ehr, "Patient/p2", patient="p1")
    assert response.status_code == 403
    assert "USER_NOT_FOR_PATIENT" in response.get_data(as_text=True)
    assert any("callback.user_refused" in r.getMessage() and "Patient/p2" in r.getMessage() for r in audit_log.records)
    assert not any("callback.ok" in r.getMessage() for r in audit_log.records)


def test_a_patient_launching_for_themselves_is_let_in(launcher, fake_ehr):
    response, _ = _launch_as(launcher, fake_ehr, "Patient/p1", patient="p1")
    assert response.status_code == 303


def test_a_caregiver_the_ehr_links_to_the_patient_is_let_in(launcher, fake_ehr):
    fake_ehr.serve_resource({"resourceType": "RelatedPerson", "id": "rp1", "active": True,
                             "patient": {"reference": "Patient/p1"}})
    response, _ = _launch_as(launcher, fake_ehr, "RelatedPerson/rp1", patient="p1")
    assert response.status_code == 303


def test_a_caregiver_linked_to_another_child_is_refused(launcher, fake_ehr):
    fake_ehr.serve_resource({"resourceType": "RelatedPerson", "id": "rp1", "patient": {"reference": "Patient/other-child"}})
    response, _ = _launch_as(launcher, fake_ehr, "RelatedPerson/rp1", patient="p1")
    assert response.status_code == 403
    assert "USER_NOT_FOR_PATIENT" in response.get_data(as_text=True)


def test_a_caregiver_the_ehr_will_not_show_is_refused(launcher, fake_ehr):
    fake_ehr.server.expect_request("/fhir/RelatedPerson/rp1").respond_with_json(
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}, status=403)
    response, _ = _launch_as(launcher, fake_ehr, "RelatedPerson/rp1", patient="p1")
    assert response.status_code == 403
    assert "USER_NOT_FOR_PATIENT" in response.get_data(as_text=True)


def test_a_refused_sign_in_revokes_the_tokens_it_received(launcher, fake_ehr):
    fake_ehr.serve_discovery(revocation_endpoint=fake_ehr.origin + "/auth/revoke")
    fake_ehr.server.expect_request("/auth/revoke", method="POST").respond_with_data("")
    response, token = _launch_as(launcher, fake_ehr, "Patient/p2", patient="p1")
    assert response.status_code == 403
    revoked = [fake_ehr.form(r) for r in fake_ehr.requests() if r.path == "/auth/revoke"]
    assert [(f["token_type_hint"], f["token"]) for f in revoked] == [
        ("refresh_token", token["refresh_token"]), ("access_token", token["access_token"])]
