"""At 375 px with JavaScript on, typing a brand next to its listed generic shows the duplicate hint
without posting, in the polite live region under the field; it goes when the name no longer matches."""
from __future__ import annotations

import pytest

from tests.browser.actions import open_medicines, open_portal_app
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
HINT = "You already have Ibuprofen 200 mg tablet on your list. Is this the same medicine?"


def test_typing_advil_next_to_a_listed_ibuprofen_shows_the_hint_as_you_type(browser_stack: BrowserStack,
                                                                           new_context) -> None:
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, "Patient/pat-ana")
    open_medicines(page)
    url = page.url
    name = page.locator("#add-0-name")
    region = page.locator("#add-0-duplicate")
    assert region.get_attribute("aria-live") == "polite"

    name.fill("Advil")  # typing, not leaving the field: the hint comes after a pause, with no page load
    region.locator(".med-duplicate-hint", has_text=HINT).wait_for()
    assert page.url == url
    assert name.get_attribute("aria-describedby") == "add-0-duplicate"
    assert page.evaluate(SIDEWAYS) == 0
    region.scroll_into_view_if_needed()
    axe_audit(page, "medication review with a duplicate hint, 375px")
    screenshot(page, "medication-duplicate-hint-375", full_page=False)

    name.fill("Vitamin D3")
    name.press("Tab")  # leaving the field asks at once
    region.locator(".med-duplicate-hint").wait_for(state="detached")
    assert name.get_attribute("aria-describedby") is None

    name.fill("Advil")
    region.locator(".med-duplicate-hint", has_text=HINT).wait_for()
    page.get_by_role("button", name="Add a medicine").click()  # a hint never blocks adding
    page.locator("#add-1-name").wait_for()
    assert page.locator("#add-0-name").input_value() == "Advil"
    assert page.locator("#add-0-duplicate .med-duplicate-hint").inner_text() == HINT
