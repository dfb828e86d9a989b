"""The e2e fixtures launch the real app against the real sandbox, in both launch modes."""
from __future__ import annotations

from smart_app.launch.records import read_launch
from tests.fixtures.e2e import CAREGIVER, CHILD, CLINICIAN, PATIENT


def _context(e2e, handle):
    """The stored launch context of a handle."""
    with e2e.app.app_context():
        from smart_app.launch.runtime import runtime
        return read_launch(runtime().store, handle)["context"]


def test_ehr_launch_brings_the_shell_patient_encounter_and_clinician(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    context = _context(e2e, handle)
    assert context["patient_id"] == PATIENT
    assert context["encounter_id"] == "enc-ana-visit"
    assert "/".join(context["fhir_user"][:2]) == CLINICIAN
    assert e2e.page(handle).status_code == 200


def test_standalone_caregiver_launch_is_for_the_child(e2e):
    handle = e2e.launcher.standalone(login=CAREGIVER)
    context = _context(e2e, handle)
    assert context["patient_id"] == CHILD
    assert "/".join(context["fhir_user"][:2]) == CAREGIVER


def test_unticked_scopes_are_not_granted(e2e):
    handle = e2e.launcher.standalone(exclude_scopes={"patient/Observation.c"})
    scopes = _context(e2e, handle)["granted_scopes"]
    assert "patient/Observation.c" not in scopes and "patient/QuestionnaireResponse.crus" in scopes
