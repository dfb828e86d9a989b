"""Write-path safety: edits during a pending send, sends of unknown fate, and drafts per person (review H1, M2, M4)."""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT, Launcher
from tests.questionnaire_flow.flow import Browser, phq9_answers


def test_without_fhiruser_two_people_never_share_a_draft(e2e):
    """M4: no fhirUser on either launch: the clinician in another browser sees none of the patient's answers."""
    no_id = ["openid", "fhirUser"]
    patient = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=no_id))
    saved = patient.post_form("phq-9", phq9_answers([3] * 9), action="continue")
    assert saved.status_code == 200
    baseline = patient.open_form("phq-9").get_data(as_text=True).count("checked")
    assert baseline >= 9

    other = e2e.new_browser()
    clinician = Browser(other, Launcher(other, e2e.sandbox).ehr(patient=PATIENT, exclude_scopes=no_id))
    assert clinician.open_form("phq-9").get_data(as_text=True).count("checked") < baseline - 8

    # The same browser relaunching resumes its own draft.
    again = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=no_id))
    assert again.open_form("phq-9").get_data(as_text=True).count("checked") == baseline


def test_without_fhiruser_a_submission_is_not_visible_to_another_browser(e2e):
    """M4: submissions and their index follow the draft rule: another person's launch gets a 404."""
    no_id = ["openid", "fhirUser"]
    patient = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=no_id))
    sid = patient.fill_and_send("phq-9", phq9_answers([1] * 9))
    assert "Sent to your care team" in patient.get(f"submissions/{sid}").get_data(as_text=True)
    other = e2e.new_browser()
    clinician = Browser(other, Launcher(other, e2e.sandbox).ehr(patient=PATIENT, exclude_scopes=no_id))
    assert clinician.get(f"submissions/{sid}").status_code == 404
