"""At 375 px, the intake's height can be typed in feet and inches: choosing the unit swaps the fields
(CSS only), a wrong number of inches is said as the fields are left, and the page stays axe-clean."""
from __future__ import annotations

import pytest

from tests.browser.actions import INTAKE, open_portal_app
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_choosing_feet_and_inches_shows_two_fields_and_checks_them_live(browser_stack: BrowserStack, new_context) -> None:
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, "Patient/pat-sam")
    page.goto(page.url.split("/l/")[0] + "/l/" + page.url.split("/l/")[1].split("/")[0] + "/questionnaires/previsit-intake")
    page.get_by_role("heading", name=INTAKE).wait_for()
    height = page.locator(".q-height")
    centimetres, feet, inches = height.locator("input[name='q.height.0']"), page.get_by_label("Height: ft"), page.get_by_label("Height: in")
    assert centimetres.is_visible() and not feet.is_visible()

    height.locator("select").select_option("ft-in")
    feet.wait_for(state="visible")
    assert not centimetres.is_visible() and inches.is_visible()
    feet.fill("5")
    inches.fill("12")
    inches.press("Tab")  # leaving the field asks the server, which says what is wrong
    item = page.locator(".q-item:has(.q-height)")
    item.locator(".error", has_text="Enter fewer than 12 inches, for example 7.").wait_for()
    assert page.evaluate(SIDEWAYS) == 0
    height.scroll_into_view_if_needed()
    axe_audit(page, "intake height in feet and inches with a message, 375px")
    screenshot(page, "intake-height-feet-inches-375", full_page=False)

    inches.fill("10")
    inches.press("Tab")
    item.locator(".error").wait_for(state="detached")
    assert feet.input_value() == "5" and inches.input_value() == "10"
