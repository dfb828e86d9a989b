"""Patient flow: the portal's "Prepare for your visit" does a standalone launch; intake and medicines reach the record."""
from __future__ import annotations

import pytest

from tests.browser.actions import (INTAKE, answers_of, open_medicines, open_portal_app, open_questionnaire, fill_intake,
                                   review_and_send, review_medicines, send_medicines, stored_responses)
from tests.fixtures.browser import DESKTOP, PHONE, BrowserStack, axe_audit, screenshot, screenshot_strip

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "patient"), [(PHONE, "pat-chloe"), (DESKTOP, "pat-fatima")], ids=["375", "1280"])
def test_patient_prepares_for_the_visit_from_the_portal(browser_stack: BrowserStack, new_context, width, patient) -> None:
    page = new_context(width).new_page()
    size = width["width"]
    open_portal_app(page, browser_stack, f"Patient/{patient}", audit_as=f"{size}px")
    assert page.get_by_text("You are using this app as the patient").is_visible()
    assert page.locator(".patient-banner").is_visible()  # standalone: no EHR around it, so the app shows whose record
    axe_audit(page, f"app home, portal launch, {size}px")
    screenshot(page, f"home-{size}")
    flow = [screenshot(page, f"flow-home-{size}", full_page=False)]  # what fits on the screen, for the README strip

    reason = f"Follow-up for my inhaler ({size})"
    open_questionnaire(page, INTAKE)
    fill_intake(page, reason)
    axe_audit(page, f"intake form, {size}px")
    screenshot(page, f"questionnaire-{size}")
    page.evaluate("window.scrollTo(0, 0)")
    flow.append(screenshot(page, f"flow-questionnaire-{size}", full_page=False))
    review_and_send(page, audit_as=f"{size}px")
    assert page.get_by_role("status").filter(has_text="Sent to your care team").is_visible()
    axe_audit(page, f"intake receipt, {size}px")
    screenshot(page, f"receipt-{size}")
    flow.append(screenshot(page, f"flow-receipt-{size}", full_page=False))
    intake = stored_responses(browser_stack, patient, "previsit-intake")
    assert [a.get("valueString") for qr in intake for a in answers_of(qr, "reason")] == [reason]
    assert intake[0]["status"] == "completed" and intake[0]["author"]["reference"] == f"Patient/{patient}"

    page.get_by_role("link", name="Back to the start").click()
    open_medicines(page)
    rows = page.locator("fieldset.med-row").count()
    assert rows >= 1
    answers = ["Not taking it"] + ["Taking it as prescribed"] * (rows - 1)
    review_medicines(page, answers)
    page.locator("fieldset.med-row").first.get_by_label("Side effects", exact=True).check()
    axe_audit(page, f"medication review, {size}px")
    screenshot(page, f"medication-review-{size}")
    send_medicines(page, audit_as=f"{size}px")
    assert page.get_by_role("status").filter(has_text="Sent to your care team").is_visible()
    axe_audit(page, f"medication receipt, {size}px")
    screenshot(page, f"medication-receipt-{size}")
    reviews = stored_responses(browser_stack, patient, "medication-review")
    assert len(reviews) == 1 and reviews[0]["status"] == "completed"
    screenshot_strip(page, flow, f"portal-flow-{size}")
