"""The same PHQ-9 read by a patient, a caregiver and a clinician: each reads words that fit them."""
from __future__ import annotations

import re

from tests.fixtures.e2e import CAREGIVER, PATIENT
from tests.questionnaire_flow.flow import Browser, phq9_answers

MILD = [1, 1, 1, 1, 1, 0, 0, 0, 0]  # 5: mild depression, question 9 "Not at all"


def review_and_receipt(browser: Browser) -> tuple[str, str]:
    """Fill PHQ-9, read the review, send, read the receipt."""
    browser.post_form("phq-9", phq9_answers(MILD))
    review, _ = browser.review("phq-9")
    sid = browser.fill_and_send("phq-9", phq9_answers(MILD))
    return review, browser.get(f"submissions/{sid}").get_data(as_text=True)


def test_a_clinician_saves_to_the_chart_as_the_person_who_entered_the_answers(e2e):
    review, receipt = review_and_receipt(Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT)))
    assert "Check the answers: Patient Health Questionnaire (PHQ-9)" in review
    assert "Save to the chart" in review
    assert "A note saying you entered these for Ana Lúcia Pereira, through this app, and when." in review
    assert "(Mild depression)" in review  # clinicians read bands
    assert "Saved to the chart" in receipt and "QuestionnaireResponse <code>" in receipt
    for page in (review, receipt):
        for patient_words in ("Send to my care team", "came from you", "Sent to your care team", "your care team"):
            assert patient_words not in page


def test_a_patient_reads_a_plain_title_no_band_and_no_record_types(e2e):
    review, receipt = review_and_receipt(Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}")))
    assert "Check your answers: How your mood has been" in review
    assert "Send to my care team" in review and "came from you" in review
    assert "Score: <strong>5</strong> of 27</p>" in review and "Mild depression" not in review
    assert "Sent to your care team" in receipt and "<li>Your answers" in receipt
    # Types and ids live only in the closed "Details for your care team or support" disclosure (issue 14).
    assert '<details class="receipt-details">' in receipt and "<details open" not in receipt
    outside_details = re.sub(r"<details.*?</details>", "", receipt, flags=re.S)
    assert not re.search(r"QuestionnaireResponse|Provenance|Observation|<code>", outside_details)


def test_a_caregiver_reads_answers_about_the_person_they_care_for(e2e):
    review, receipt = review_and_receipt(Browser(e2e.client, e2e.launcher.standalone(login=CAREGIVER)))
    assert "Check your answers about Eli Novak" in review
    assert "Send to Eli Novak&#39;s care team" in review
    assert "these answers about Eli Novak came from you as their caregiver" in review
    assert "Sent to Eli Novak&#39;s care team" in receipt
    assert "Send to my care team" not in review


def test_a_deployment_may_show_bands_to_patients(e2e, tmp_path, client_key_paths):
    from tests.safety_flow.helpers import app_with_safety
    pair = app_with_safety(e2e, tmp_path, client_key_paths, {"patient_bands": True})
    review, _ = review_and_receipt(Browser(pair.client, pair.launcher.standalone(login=f"Patient/{PATIENT}")))
    assert "(Mild depression)" in review


def test_a_clinician_entering_a_positive_question_9_reads_the_flag_not_the_crisis_lines(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    browser.post_form("phq-9", phq9_answers([0] * 8 + [1]))
    review, _ = browser.review("phq-9")
    assert "Safety flag" in review and "Saving these answers also adds a flag to the chart." in review
    assert "9. Thoughts that you would be better off dead, or of hurting yourself in some way: Several days" in review
    assert "If you need help now" not in review and "tel:988" not in review
    assert "A safety flag on the chart, linked to these answers." in review
