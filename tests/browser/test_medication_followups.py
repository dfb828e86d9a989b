"""static/medications.js: a medicine's follow-up questions show only for the answer they belong to.

Without the script every follow-up is in the page (tests/medications/test_templates.py checks that);
here the script runs and hides the ones that do not apply, and the tap targets stay large.
"""
from __future__ import annotations

import pytest

from tests.browser.actions import open_portal_app
from tests.fixtures.browser import PHONE, BrowserStack

pytestmark = pytest.mark.browser


def test_follow_ups_follow_the_chosen_answer(browser_stack: BrowserStack, new_context) -> None:
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, "Patient/pat-chloe")
    page.get_by_role("link", name="Review your medicines").click()
    page.wait_for_url("**/medications/")
    page.wait_for_load_state("domcontentloaded")  # deferred scripts have run by then; is_visible() does not wait
    row = page.locator("fieldset.med-row").first
    how = row.get_by_label("If taking it differently: how do you take it?")
    since = row.get_by_label("If not taking it: since when? (optional)")
    why = row.get_by_role("group", name="why not?")
    side_effects = row.get_by_label("Any side effects? (optional)")

    def shown() -> list[bool]:
        """Which follow-ups are visible: how, since, why, side effects."""
        return [how.is_visible(), since.is_visible(), why.is_visible(), side_effects.is_visible()]

    assert shown() == [False, False, False, True]  # nothing chosen yet: only the question for everyone
    row.get_by_label("Taking it differently", exact=True).check()
    assert shown() == [True, False, False, True]
    row.get_by_label("Not taking it", exact=True).check()
    assert shown() == [False, True, True, True]
    other_words = row.get_by_label("If another reason: what is it? (optional)")
    assert not other_words.is_visible()  # only for "Other reason"
    row.get_by_label("Other reason", exact=True).check()
    assert other_words.is_visible()
    row.get_by_label("Cost", exact=True).check()
    assert not other_words.is_visible()
    row.get_by_label("Taking it as prescribed", exact=True).check()
    assert shown() == [False, False, False, True]

    # The whole status row is the tap target, at least 44 px tall (WCAG 2.5.8 asks 24).
    row.get_by_label("Not sure", exact=True).check()
    choice = row.locator(".choice").first
    box = choice.bounding_box()
    assert box is not None and box["height"] >= 44
    choice.click(position={"x": box["width"] - 10, "y": box["height"] / 2})
    assert row.get_by_label("Taking it as prescribed", exact=True).is_checked()
