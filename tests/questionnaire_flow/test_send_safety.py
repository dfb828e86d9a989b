"""Write-path safety: edits during a pending send, sends of unknown fate, and drafts per person (review H1, M2, M4)."""
from __future__ import annotations

from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode
from tests.fixtures.e2e import PATIENT, Launcher
from tests.questionnaire_flow.flow import Browser, phq9_answers, stored

NEARLY = "Nearly every day"
NOT_AT_ALL = "Not at all"


def _total(observations: list[dict]) -> list:
    """The PHQ-9 total-score values of a submission's Observations (LOINC 44261-6)."""
    return [o.get("valueInteger", (o.get("valueQuantity") or {}).get("value")) for o in observations
            if any(c.get("code") == "44261-6" for c in (o.get("code") or {}).get("coding") or [])]


def test_answers_changed_while_a_send_is_pending_never_go_out_as_the_old_ones(e2e):
    """H1: the pending answers are what the review shows and sends; the changes wait and go out under a new id."""
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    assert browser.post_form("phq-9", phq9_answers([0] * 9)).status_code == 303
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    first = browser.send("phq-9")
    sid = first.headers["Location"].rsplit("/", 1)[1]
    assert "Not sent yet" in browser.get(f"submissions/{sid}").get_data(as_text=True)

    changed = browser.post_form("phq-9", phq9_answers([3] * 9))
    assert changed.status_code == 303 and changed.headers["Location"].endswith("/questionnaires/phq-9/review")
    html, review_sid = browser.review("phq-9")
    assert review_sid == sid
    assert html.count(NOT_AT_ALL) >= 9 and NEARLY not in html  # the stored answers, not the changed ones
    assert "still being sent" in html and "newer changes are kept" in html

    sent = browser.send("phq-9")
    assert sent.headers["Location"].endswith(f"/submissions/{sid}")
    assert "Sent to your care team" in browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert _total(stored(e2e.sandbox, sid)["Observation"]) == [0]

    # The changes were kept: the form shows them under a new submission, which sends them.
    form = browser.open_form("phq-9").get_data(as_text=True)
    assert form.count('|LA6571-9" checked') == 9  # "Nearly every day" on all nine items
    html, second_sid = browser.review("phq-9")
    assert second_sid != sid and html.count(NEARLY) >= 9
    browser.send("phq-9")
    assert _total(stored(e2e.sandbox, second_sid)["Observation"]) == [27]
    assert _total(stored(e2e.sandbox, sid)["Observation"]) == [0]


def test_a_send_of_unknown_fate_is_resent_under_its_id_and_never_duplicated(e2e, monkeypatch):
    """M2: the EHR commits but its answer is unreadable; sending again keeps the id, so nothing is written twice."""
    real = FhirClient.transaction
    calls = {"n": 0}

    def committed_then_garbled(self, bundle):
        """Commit the first transaction for real, then fail as if its answer could not be parsed."""
        calls["n"] += 1
        reply = real(self, bundle)
        if calls["n"] == 1:
            raise FhirError(FhirErrorCode.BAD_RESPONSE, status=200, method="POST", resource_type="Bundle")
        return reply

    monkeypatch.setattr(FhirClient, "transaction", committed_then_garbled)
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    answers = phq9_answers([1] * 9)
    assert browser.post_form("phq-9", answers).status_code == 303
    first = browser.send("phq-9")
    sid = first.headers["Location"].rsplit("/", 1)[1]
    receipt = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not confirmed" in receipt and "Check my answers" not in receipt

    # The patient presses Review and Send again: the same submission goes again.
    assert browser.post_form("phq-9", answers).status_code == 303
    html, again = browser.review("phq-9")
    assert again == sid
    second = browser.send("phq-9")
    assert second.headers["Location"].endswith(f"/submissions/{sid}")
    found = stored(e2e.sandbox, sid)
    assert [q["status"] for q in found["QuestionnaireResponse"]] == ["completed"]
    assert _total(found["Observation"]) == [9] and len(found["Provenance"]) == 1
    assert len(_total(e2e.sandbox.resources("Observation"))) == 1
    assert "Sent to your care team" in browser.get(f"submissions/{sid}").get_data(as_text=True)


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
