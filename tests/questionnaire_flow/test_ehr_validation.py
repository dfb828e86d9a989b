"""A 422 from the EHR's own validation: the OperationOutcome lands next to the question it names."""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, stored

REFERRAL = {
    "resourceType": "Questionnaire", "id": "referral-check", "status": "active",
    "url": "http://example.org/fhir/Questionnaire/referral-check", "version": "1",
    "title": "Referral check",
    "item": [{"linkId": "referrer", "type": "reference", "text": "Who referred you?", "required": True}],
}


def test_an_operation_outcome_issue_is_shown_next_to_its_question_and_nothing_is_stored(e2e):
    e2e.sandbox.store.create(dict(REFERRAL))
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/referral-check"))
    sid = browser.fill_and_send("referral-check", {"q.referrer.r": "Practitioner/no-such-person"})

    receipt = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not sent." in receipt and "did not accept some answers" in receipt
    assert stored(e2e.sandbox, sid)["QuestionnaireResponse"] == []
    assert "Not sent: your answers need a look" in browser.get("questionnaires/").get_data(as_text=True)
    form = browser.open_form("referral-check").get_data(as_text=True)
    error_block = form[form.index('id="f-referrer-r-0-error"'):]
    assert "Practitioner/no-such-person does not exist" in error_block[:400]
    assert "Practitioner/no-such-person" in form  # what was typed is still there

    # Corrected answers go out under a new submission id, exactly once.
    fixed = browser.fill_and_send("referral-check", {"q.referrer.r": "Practitioner/prac-lee"})
    assert fixed != sid
    [qr] = stored(e2e.sandbox, fixed)["QuestionnaireResponse"]
    assert qr["item"][0]["answer"] == [{"valueReference": {"reference": "Practitioner/prac-lee"}}]
    listing = browser.get("questionnaires/").get_data(as_text=True)
    assert "Not sent" not in listing and "Completed" in listing  # the corrected send supersedes the failure
