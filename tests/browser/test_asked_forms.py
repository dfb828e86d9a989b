"""The clinician's 400 px sidebar: the forms asked of the patient, asking for another (no JavaScript needed
for the picker) and cancelling it, each page passing axe and fitting without sideways scrolling."""
from __future__ import annotations

import re

import pytest

from tests.browser.actions import narrow_sidebar, open_chart
from tests.fixtures.browser import BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
PATIENT = "pat-sam"
ORDER_SYSTEM = "http://smart-previsit.example.org/fhir/sid/questionnaire-order"


def _ours(stack: BrowserStack) -> list[dict]:
    """The Tasks the app created for the patient."""
    return [t for t in stack.resources("Task") if t.get("for", {}).get("reference") == f"Patient/{PATIENT}"
            and any(i.get("system") == ORDER_SYSTEM for i in t.get("identifier") or [])]


def _fits(frame) -> bool:
    """No sideways scrolling in the sidebar."""
    return frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_clinician_asks_for_a_form_and_cancels_it_in_a_400px_sidebar(browser_stack: BrowserStack, new_context) -> None:
    before = {t["id"] for t in _ours(browser_stack)}
    chart = new_context().new_page()
    frame = open_chart(chart, browser_stack, PATIENT)
    narrow_sidebar(chart, frame, 400)
    asked = frame.locator(".asked-forms")
    asked.wait_for()
    assert asked.get_by_role("heading", name="Forms asked for this visit").is_visible()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", asked.inner_text())  # dates as words, never ISO
    assert _fits(frame)
    axe_audit(frame, "sidebar with the forms asked")
    screenshot(chart, "sidebar-asked-forms")

    frame.get_by_role("link", name="Ask the patient to fill in a form").click()
    frame.wait_for_url(re.compile(r"/ask$"))
    frame.get_by_label("Search the forms by name").fill("GAD")
    frame.get_by_role("button", name="Search").click()
    frame.wait_for_url(re.compile(r"/ask\?q=GAD$"))
    choice = frame.locator("input[name=questionnaire]").first
    choice.check()
    assert _fits(frame)
    axe_audit(frame, "form picker in the sidebar")
    frame.get_by_role("button", name="Ask the patient").click()
    frame.get_by_role("status").filter(has_text="The patient has been asked to fill in").wait_for()
    [new] = [t for t in _ours(browser_stack) if t["id"] not in before]
    assert new["status"] == "requested"
    line = frame.locator(f"#request-{new['id']}")
    assert _fits(frame)
    axe_audit(frame, "sidebar after asking")

    line.get_by_role("button", name="Cancel request").click()
    frame.get_by_role("status").filter(has_text="was cancelled").wait_for()
    assert [t["status"] for t in _ours(browser_stack) if t["id"] == new["id"]] == ["cancelled"]
    screenshot(chart, "sidebar-after-cancel")
