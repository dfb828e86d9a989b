"""A patient answers PHQ-9 question 9 "Several days" in the portal; the clinician's 400 px sidebar shows the flag first."""
from __future__ import annotations

import pytest

from tests.browser.actions import (answer_phq9, narrow_sidebar, open_chart, open_portal_app, open_questionnaire,
                                   stored_responses)
from tests.fixtures.browser import BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
PATIENT = "pat-sam"
PLAIN_PHQ9 = "How your mood has been"
Q9_SEVERAL_DAYS = [0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_patient_is_told_who_to_call_and_the_clinician_sees_the_flag_first(browser_stack: BrowserStack, new_context) -> None:
    before = {qr["id"] for qr in stored_responses(browser_stack, PATIENT, "phq-9")}
    page = new_context().new_page()
    open_portal_app(page, browser_stack, f"Patient/{PATIENT}")
    open_questionnaire(page, PLAIN_PHQ9)
    answer_phq9(page, Q9_SEVERAL_DAYS)
    page.get_by_role("button", name="Review my answers").click()
    message = page.locator(".safety-message")
    message.wait_for()
    page.wait_for_load_state()  # the whole review page, not just the message's start, before reading it
    assert message.get_by_text("No one reads these answers right away.").is_visible()
    assert message.get_by_role("link", name="Call or text 988, the Suicide and Crisis Lifeline").get_attribute("href") == "tel:988"
    assert message.locator(".configure-me").is_visible()
    axe_audit(page, "review with the safety message")
    screenshot(page, "safety-review")
    page.get_by_role("button", name="Send to my care team").click()
    page.get_by_role("status").filter(has_text="Sent to your care team").wait_for()
    page.wait_for_load_state()  # the whole receipt, before looking for what is below its first line
    assert page.locator(".safety-message").get_by_role("link", name="Call 911 for an emergency").is_visible()
    axe_audit(page, "receipt with the safety message")
    [latest] = [qr for qr in stored_responses(browser_stack, PATIENT, "phq-9") if qr["id"] not in before]
    assert latest["status"] == "completed"
    flags = [f for f in browser_stack.resources("Flag") if f["subject"]["reference"] == f"Patient/{PATIENT}"]
    assert any(e["valueReference"]["reference"] == f"QuestionnaireResponse/{latest['id']}"
               for f in flags for e in f.get("extension") or [])

    chart = new_context().new_page()
    frame = open_chart(chart, browser_stack, PATIENT)
    narrow_sidebar(chart, frame, 400)
    flags_box = frame.locator(".safety-flags")
    flags_box.wait_for()
    assert "Thoughts of self-harm" in flags_box.inner_text() and "Several days" in flags_box.inner_text()
    first_section = frame.locator("main section").first
    assert first_section.get_attribute("class") == "safety-flags"  # shown before anything else
    assert frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    axe_audit(frame, "clinician sidebar with a safety flag")
    screenshot(chart, "sidebar-safety-flag")
