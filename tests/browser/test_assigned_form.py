"""A parent, in the portal, sees the child's visit and the form the care team asked for first, and sends it."""
from __future__ import annotations

import pytest

from tests.browser.actions import open_portal_app, review_and_send, stored_responses
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
CHILD = "pat-eli"


def test_a_proxy_sees_the_visit_and_the_assigned_form_first_and_completes_it(browser_stack: BrowserStack,
                                                                            new_context) -> None:
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, "RelatedPerson/rp-marta")
    panel = page.locator(".visit-panel")
    heading = panel.locator("h2").inner_text()
    assert heading.startswith("Your visit: ") and heading.endswith(", with Dr Samir Ortiz")
    assert panel.get_by_text("Dr Samir Ortiz asked you to fill this in by").is_visible()
    axe_audit(page, "home with the visit and an assigned form, 375px")
    screenshot(page, "home-assigned-form-375")

    panel.get_by_role("link", name="Child asthma check").click()
    page.locator("form.questionnaire-form").wait_for()
    page.get_by_label("In the last 4 weeks, how many nights did the child cough or wheeze?").fill("2")
    page.locator("fieldset:has-text('reliever inhaler')").get_by_label("No").check()
    review_and_send(page)
    [response] = [qr for qr in stored_responses(browser_stack, CHILD, "child-asthma-check") if qr["status"] == "completed"]
    [task] = [t for t in browser_stack.resources("Task") if t["id"] == "task-eli-asthma"]
    assert task["status"] == "completed"
    assert task["output"][0]["valueReference"]["reference"] == f"QuestionnaireResponse/{response['id']}"
