"""Keyboard only: Tab, Space, arrows and Enter complete a questionnaire; focus is always visible and moves in reading order."""
from __future__ import annotations

from typing import Any

import pytest

from tests.browser.actions import answers_of, open_portal_app, settle, stored_responses
from tests.fixtures.browser import BrowserStack

pytestmark = pytest.mark.browser
PATIENT = "pat-ben"
GAD7_PLAIN = "How anxious you have felt"  # patients see plain titles; clinicians the instrument name
POINTS = [1, 0, 2, 3, 0, 1, 0]  # option index per GAD-7 item: Not at all, Several days, More than half..., Nearly every day
CODES = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
MAX_TABS = 120
MIN_RING_PX = 2  # thicker than Chromium's 1px default ring, so a ring that is there is the app's own

# What the focused element is, where it is, and the focus ring drawn for it: on the element itself, or on
# the small wrapper around it (a radio row may draw the ring around the whole row with :has(:focus-visible)).
DESCRIBE_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let ringed = el;
  for (let node = el, up = 0; node && up <= 2; node = node.parentElement, up++) {
    const s = getComputedStyle(node);
    if (s.outlineStyle !== "none" && s.outlineStyle !== "hidden" && parseFloat(s.outlineWidth) > 0) { ringed = node; break; }
  }
  const style = getComputedStyle(ringed);
  const box = el.getBoundingClientRect();
  const label = el.labels && el.labels.length ? el.labels[0].innerText : (el.innerText || el.value || "");
  return {tag: el.tagName.toLowerCase(), type: el.type || "", name: el.name || "", label: label.trim(),
          outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
          boxShadow: style.boxShadow, top: box.top + window.scrollY, left: box.left,
          inViewport: box.bottom > 0 && box.top < window.innerHeight && box.width > 0 && box.height > 0};
}"""


def _assert_focus_visible(focus: dict[str, Any]) -> None:
    """The app's focus ring (a solid outline of 2px or more, static/app.css), on an element scrolled into view."""
    drawn = focus["outlineStyle"] not in ("none", "hidden") and focus["outlineWidth"] >= MIN_RING_PX
    assert drawn, f"no visible focus indicator on {focus}"
    assert focus["inViewport"], f"focused element is off screen: {focus}"


def _tab_to(page, wanted: str, trail: list[dict]) -> dict:
    """Press Tab until an element labelled `wanted` has focus, checking every stop on the way."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focus = page.evaluate(DESCRIBE_FOCUS)
        if focus is None:
            continue
        _assert_focus_visible(focus)
        trail.append(focus)
        if focus["label"] == wanted:
            return focus
    raise AssertionError(f"Tab never reached {wanted!r}; stops: {[f['label'][:30] for f in trail]}")


def _press_and_load(page, key: str) -> None:
    """Press a key that follows a link or submits a form, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def _assert_reading_order(trail: list[dict]) -> None:
    """Each Tab stop is at or below the previous one (a row may go left to right).

    The skip link is left out: it is drawn over the header only while it has focus.
    """
    trail = [f for f in trail if f["label"] != "Skip to content"]
    for before, after in zip(trail, trail[1:]):
        assert after["top"] >= before["top"] - 2, f"focus jumped up from {before['label']!r} to {after['label']!r}"


def test_keyboard_alone_completes_a_questionnaire_with_visible_focus_in_order(browser_stack: BrowserStack, page) -> None:
    open_portal_app(page, browser_stack, f"Patient/{PATIENT}")  # the sandbox's sign-in is not ours to test
    before = {qr["id"] for qr in stored_responses(browser_stack, PATIENT, "gad-7")}

    home: list[dict] = []
    _tab_to(page, "Questionnaires to fill in", home)
    assert home[0]["label"] == "Skip to content", "the skip link is the first Tab stop"
    _assert_reading_order(home)
    _press_and_load(page, "Enter")
    listing: list[dict] = []
    _tab_to(page, GAD7_PLAIN, listing)
    _press_and_load(page, "Enter")
    page.locator("form.questionnaire-form").wait_for()

    form: list[dict] = []
    answered: dict[str, int] = {}
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focus = page.evaluate(DESCRIBE_FOCUS)
        _assert_focus_visible(focus)
        form.append(focus)
        item = focus["name"].split(".")[1] if focus["type"] == "radio" else ""
        if item.startswith("gad7-q") and item not in answered:
            assert focus["label"] == "Not at all", "Tab enters a fresh radio group at its first option"
            choice = POINTS[int(item.removeprefix("gad7-q")) - 1]
            page.keyboard.press("Space" if choice == 0 else "ArrowDown")
            for _ in range(choice - 1):
                page.keyboard.press("ArrowDown")
            answered[item] = choice
            # The answer's live update (questionnaire.js) lands asynchronously and may show things above the
            # focused radio: check the focus once it has landed, so every Tab stop is read on a settled page.
            settle(page)
            checked = page.evaluate(DESCRIBE_FOCUS)
            _assert_focus_visible(checked)
            assert checked["label"] == ["Not at all", "Several days", "More than half the days", "Nearly every day"][choice]
        if focus["label"] == "Review my answers":
            break
    assert len(answered) == len(POINTS), answered
    _assert_reading_order(form)
    _press_and_load(page, "Enter")
    page.get_by_role("heading", name=f"Check your answers: {GAD7_PLAIN}").wait_for()

    review: list[dict] = []
    _tab_to(page, "Send to my care team", review)
    _press_and_load(page, "Enter")
    page.get_by_role("status").filter(has_text="Sent to your care team").wait_for()

    new = [qr for qr in stored_responses(browser_stack, PATIENT, "gad-7") if qr["id"] not in before]
    assert len(new) == 1
    assert [a["valueCoding"]["code"] for n in range(1, 8) for a in answers_of(new[0], f"gad7-q{n}")] == \
        [CODES[p] for p in POINTS]
