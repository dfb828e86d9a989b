"""The medication review at 375 px: the shortcut and count work, the page stays short and never scrolls sideways."""
from __future__ import annotations

import re

import pytest

from tests.browser.actions import open_medicines, open_portal_app
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
PAGE_HEIGHT = "() => document.documentElement.scrollHeight"
LIST_HEIGHT = "() => [...document.querySelectorAll('fieldset.med-row')].reduce((sum, row) => sum + row.offsetHeight, 0)"
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_the_review_fits_a_phone_and_all_as_prescribed_answers_every_medicine(browser_stack: BrowserStack,
                                                                             new_context) -> None:
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, "Patient/pat-ana")
    open_medicines(page)
    rows = page.locator("fieldset.med-row")
    total = rows.count()
    assert total >= 5
    opened, list_opened = page.evaluate(PAGE_HEIGHT), page.evaluate(LIST_HEIGHT)
    assert page.evaluate(SIDEWAYS) == 0
    assert page.locator("#med-count").inner_text() == f"0 of {total} medicines reviewed"

    rows.first.get_by_label("Not taking it", exact=True).check()  # the count follows the answers as they are chosen
    page.locator("#med-count", has_text=f"1 of {total} medicines reviewed").wait_for()
    # The shortcut posts the form and the page comes back: wait for it to load (medications.js folds the
    # answered rows then; the count is above the rows, so seeing it does not mean the rows are there).
    with page.expect_navigation():
        page.get_by_role("button", name="I take all of these as prescribed").click()
    page.locator("#med-count", has_text=f"{total} of {total} medicines reviewed").wait_for()
    assert rows.first.get_by_label("Not taking it", exact=True).is_checked()  # the exception is kept
    assert all(rows.nth(i).get_by_label("Taking it as prescribed", exact=True).is_checked() for i in range(1, total))
    answered, list_answered = page.evaluate(PAGE_HEIGHT), page.evaluate(LIST_HEIGHT)
    assert page.evaluate(SIDEWAYS) == 0
    axe_audit(page, "medication review after 'all as prescribed', 375px")
    screenshot(page, "medication-review-all-as-prescribed-375")
    print(f"\nmedication review at 375px, {total} medicines: page {opened}px on opening, {answered}px once answered; "
          f"the list {list_opened}px -> {list_answered}px")
    # Medicines taken as prescribed fold their details away (measured: the list 6190px -> 4311px for 9).
    assert answered < opened and list_answered < 0.75 * list_opened, (list_opened, list_answered)
    assert list_answered / total < 0.6 * PHONE["height"], (list_answered, total)

    rows.first.get_by_label("Cost", exact=True).check()  # why the exception is not taken
    page.get_by_role("button", name="Continue", exact=True).click()
    page.get_by_role("heading", name=re.compile("^Check your answers")).wait_for()
