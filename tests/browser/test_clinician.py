"""Clinician flow: the EHR shell's chart launches the app in a cross-site sidebar iframe; PHQ-9 lands in the chart."""
from __future__ import annotations

import re

import pytest

from tests.browser.actions import answer_phq9, app_frame, handle_of, open_chart, open_questionnaire, settle
from tests.fixtures.browser import DESKTOP, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
PATIENT = "pat-ana"
PHQ9 = "Patient Health Questionnaire (PHQ-9)"
PHQ9_TOTAL_LOINC = "44261-6"
ANSWERS = [1, 2, 0, 1, 3, 0, 1, 0, 0]  # total 8: mild


def _phq9_responses(stack: BrowserStack, patient: str) -> list[dict]:
    """PHQ-9 QuestionnaireResponses stored for a patient."""
    return [qr for qr in stack.resources("QuestionnaireResponse")
            if qr.get("subject", {}).get("reference") == f"Patient/{patient}" and "phq-9" in qr.get("questionnaire", "")]


def test_sidebar_app_has_no_second_patient_banner_and_is_cross_site(browser_stack: BrowserStack, page) -> None:
    frame = open_chart(page, browser_stack, PATIENT)
    assert frame.url.startswith("http://localhost:") and page.url.startswith("http://127.0.0.1:")
    assert frame.locator(".patient-banner").count() == 0, "the EHR shows the patient; the app must not repeat it"
    assert "Ana" not in frame.locator("main").inner_text()  # no name anywhere in the sidebar's home page
    assert frame.get_by_text("You are using this app as a clinician").is_visible()
    axe_audit(page, "EHR chart with the app in the sidebar")
    axe_audit(frame, "app home in the EHR sidebar")
    frame.get_by_role("link", name="Medication review").click()
    frame.wait_for_url(re.compile(r"/medications/clinician$"))
    axe_audit(frame, "clinician medication review in the EHR sidebar")


def test_clinician_completes_phq9_and_the_chart_shows_the_response_and_score(browser_stack: BrowserStack, page) -> None:
    before = {qr["id"] for qr in _phq9_responses(browser_stack, PATIENT)}
    frame = open_chart(page, browser_stack, PATIENT, questionnaire="Questionnaire/phq-9")
    open_questionnaire(frame, PHQ9)
    axe_audit(frame, "PHQ-9 form in the EHR sidebar")
    answer_phq9(frame, ANSWERS)
    frame.get_by_role("button", name="Review my answers").click()
    frame.get_by_role("heading", name=f"Check the answers: {PHQ9}").wait_for()  # clinicians read instrument names
    axe_audit(frame, "PHQ-9 review in the EHR sidebar")
    frame.get_by_role("button", name="Save to the chart").click()
    frame.get_by_role("status").filter(has_text="Saved to the chart").wait_for()
    axe_audit(frame, "receipt in the EHR sidebar")

    new = [qr for qr in _phq9_responses(browser_stack, PATIENT) if qr["id"] not in before]
    assert len(new) == 1 and new[0]["status"] == "completed"
    page.get_by_role("link", name="Refresh chart").click()
    responses = page.locator("#questionnaire-responses")
    responses.locator("tr", has_text=new[0]["id"]).wait_for()  # the refreshed chart, not the one before the click
    page.wait_for_load_state()  # ...and all of it (the scores' table is read next)
    assert responses.locator("tr", has_text=new[0]["id"]).count() == 1
    score_row = page.locator("#observations tr", has_text="PHQ-9").filter(has_text=str(sum(ANSWERS)))
    assert score_row.count() >= 1, page.locator("#observations").inner_text()
    scores = [o for o in browser_stack.resources("Observation")
              if any(c.get("code") == PHQ9_TOTAL_LOINC for c in o.get("code", {}).get("coding", []))
              and o.get("subject", {}).get("reference") == f"Patient/{PATIENT}"
              and any(d.get("reference") == f"QuestionnaireResponse/{new[0]['id']}" for d in o.get("derivedFrom", []))]
    assert [o.get("valueQuantity", {}).get("value", o.get("valueInteger")) for o in scores] == [sum(ANSWERS)]


def test_ehr_sidebar_screenshot(browser_stack: BrowserStack, new_context) -> None:
    page = new_context(DESKTOP).new_page()
    frame = open_chart(page, browser_stack, "pat-ben", questionnaire="Questionnaire/phq-9")
    open_questionnaire(frame, PHQ9)
    frame.get_by_label("Several days").first.check()
    settle(frame)  # the live update this answer starts has landed: the capture shows a settled page
    frame.evaluate("window.scrollTo(0, 0)")  # show the app's header and the first questions
    assert handle_of(app_frame(page).url)
    # The app is a cross-site (out-of-process) frame: let it paint twice before the capture, and
    # keep the viewport as it is (a full-page capture resizes it, and the frame can come out blank).
    frame.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    screenshot(page, "ehr-sidebar-phq9-1280", full_page=False)
