"""PHQ-9 reacts as it is answered (JavaScript on), and works as before without JavaScript.

With JavaScript the server evaluates every change (the page is never reloaded), so "how difficult"
appears as soon as any answer is above 0 and the total updates live; without JavaScript the
question appears after "Save and continue", as it always did. Both send the same answers.
"""
from __future__ import annotations

import re

import pytest

from tests.browser.actions import (PHQ9_POINTS, answer_phq9, answers_of, open_portal_app, open_questionnaire, settle,
                                   stored_responses)
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit

pytestmark = pytest.mark.browser
PLAIN_PHQ9 = "How your mood has been"
DIFFICULTY = re.compile("how difficult", re.I)


def _difficulty(page):
    """The "how difficult" question's group."""
    return page.get_by_role("radiogroup", name=DIFFICULTY)


def _first_item(page):
    """PHQ-9's first question."""
    return page.locator("fieldset.q-options:has(legend:has-text('1.'))").first


def test_with_javascript_how_difficult_appears_at_once_and_the_total_updates_live(browser_stack: BrowserStack,
                                                                                   new_context) -> None:
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, "Patient/pat-ana")
    open_questionnaire(page, PLAIN_PHQ9)
    page.evaluate("window.__same_page = true")  # gone if anything reloads the page
    total = page.locator("output.q-pending, .q-calculated output").first
    assert _difficulty(page).count() == 0 or not _difficulty(page).is_visible()
    assert page.locator("#q-score").inner_text() == ""  # no total before one can be computed
    assert re.search(r"\d", total.inner_text()) is None

    _first_item(page).get_by_label(PHQ9_POINTS[2], exact=True).check()
    _difficulty(page).wait_for(state="visible")
    page.locator("#q-score", has_text="Score: 2 of 27").wait_for()
    assert total.inner_text() == "2"
    assert "difficult" in page.locator("#q-live").inner_text()  # announced to screen readers
    axe_audit(page, "PHQ-9 after a live update, 375px")

    answer_phq9(page, [2, 1, 0, 0, 0, 0, 0, 0, 0])
    page.locator("#q-score", has_text="Score: 3 of 27").wait_for()
    _first_item(page).get_by_label(PHQ9_POINTS[0], exact=True).check()
    page.locator("#q-score", has_text="Score: 1 of 27").wait_for()
    assert _difficulty(page).is_visible()  # item 2 still scores
    _difficulty(page).get_by_label("Somewhat difficult").check()
    settle(page)  # this answer's own live save is done ("Draft saved" was already shown by the earlier ones)
    page.locator("#q-draft-status", has_text="Draft saved").wait_for()
    assert page.evaluate("window.__same_page") is True

    page.get_by_role("button", name="Review my answers").click()
    page.get_by_role("heading", name=re.compile("^Check your answers")).wait_for()
    page.get_by_role("button", name="Send to my care team").click()
    page.get_by_role("status").filter(has_text="Sent").first.wait_for()
    [sent] = [qr for qr in stored_responses(browser_stack, "pat-ana", "phq-9") if qr["status"] == "completed"
              and answers_of(qr, "phq9-difficulty")]
    assert answers_of(sent, "phq9-difficulty")[0]["valueCoding"]["display"] == "Somewhat difficult"


def test_without_javascript_the_form_works_as_before(browser_stack: BrowserStack, chromium) -> None:
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        open_portal_app(page, browser_stack, "Patient/pat-ben")
        open_questionnaire(page, PLAIN_PHQ9)
        _first_item(page).get_by_label(PHQ9_POINTS[1], exact=True).check()
        assert not _difficulty(page).is_visible()  # nothing is evaluated until the form is posted
        page.get_by_role("button", name="Save and continue").click()
        _difficulty(page).wait_for(state="visible")
        page.wait_for_load_state()  # the page the save came back with, whole, before reading the rest of it
        assert "Score: 1 of 27" in page.locator("#q-score").inner_text()
        assert page.locator("#q-draft-status").is_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_after_a_failed_submit_focus_is_on_the_error_summary(browser_stack: BrowserStack, chromium, javascript) -> None:
    context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        open_portal_app(page, browser_stack, "Patient/pat-fatima")
        open_questionnaire(page, PLAIN_PHQ9)
        page.get_by_role("button", name="Review my answers").click()
        page.locator(".error-summary:focus").wait_for()
        assert page.get_by_text("Draft saved").count() == 0  # nothing was answered, so nothing was saved
    finally:
        context.close()
