"""A first send, which completes the draft kept on the EHR by a PUT (answered 200), says "saved", never "already there"."""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, phq9_answers


def test_first_send_of_a_draft_kept_on_the_ehr_says_saved_not_already_there(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    assert browser.post_form("phq-9", phq9_answers([0, 1, 0, 1, 0, 1, 0, 1, 0]), action="save").status_code in (200, 303)
    drafts = [qr for qr in e2e.sandbox.resources("QuestionnaireResponse") if qr.get("status") == "in-progress"]
    assert drafts, "the draft should be kept on the EHR (the sandbox grants QuestionnaireResponse writes)"
    sid = browser.fill_and_send("phq-9", phq9_answers([0, 1, 0, 1, 0, 1, 0, 1, 0]))
    page = browser.get(f"submissions/{sid}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "already there" not in html
