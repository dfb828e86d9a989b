"""Two patients in two tabs at once, and a token that expires in the middle of a form."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.actions import (APP_LANDING, PHQ9_POINTS, answer_phq9, answers_of, app_frame, approve, open_chart,
                                   open_questionnaire, stored_responses)
from tests.fixtures.browser import BrowserStack, axe_audit

pytestmark = pytest.mark.browser
PHQ9 = "Patient Health Questionnaire (PHQ-9)"


def _sandbox_launch_id(page) -> str:
    """The sandbox's launch id in the chart iframe's launch URL (to aim faults at this launch only)."""
    src = page.locator("iframe[name=smart-app]").get_attribute("src")
    return parse_qs(urlsplit(src).query)["launch"][0]


def _checked_points(frame) -> list[int]:
    """The points ticked on the PHQ-9 form, item by item (-1 when nothing is ticked)."""
    points = []
    for number in range(1, 10):
        group = frame.locator(f"fieldset.q-options:has(legend:has-text('{number}.'))").first
        ticked = [i for i, label in enumerate(PHQ9_POINTS) if group.get_by_label(label, exact=True).is_checked()]
        points.append(ticked[0] if ticked else -1)
    return points


def _phq9_points(response: dict) -> list[str]:
    """The answer codes of a stored PHQ-9 response, item by item."""
    return [a["valueCoding"]["code"] for n in range(1, 10) for a in answers_of(response, f"phq9-q{n}")]


def test_two_tabs_two_patients_each_submission_lands_on_its_own_patient(browser_stack: BrowserStack, new_context) -> None:
    context = new_context()  # one browser, one cookie jar, two charts open side by side
    first, second = context.new_page(), context.new_page()
    patients = ("pat-dev", "pat-sam")
    frames = []
    for tab, patient in zip((first, second), patients):
        tab.bring_to_front()
        frames.append(open_chart(tab, browser_stack, patient, questionnaire="Questionnaire/phq-9"))
    before = {p: {qr["id"] for qr in stored_responses(browser_stack, p, "phq-9")} for p in patients}
    # Switching tabs brings the tab to the front, as a person would (hidden tabs do not paint, so clicks wait).
    for frame in frames:
        frame.page.bring_to_front()
        open_questionnaire(frame, PHQ9)
    for frame, points in zip(frames, ([3] * 9, [0] * 9)):
        frame.page.bring_to_front()
        answer_phq9(frame, points)
    for frame in frames:  # interleave: both reviews are open before either is sent
        frame.page.bring_to_front()
        frame.get_by_role("button", name="Review my answers").click()
        frame.get_by_role("heading", name=re.compile("^Check the answers")).wait_for()
    for frame in reversed(frames):
        frame.page.bring_to_front()
        frame.get_by_role("button", name="Save to the chart").click()
        frame.get_by_role("status").filter(has_text="Saved to the chart").wait_for()
    for patient, total in zip(patients, (27, 0)):
        new = [qr for qr in stored_responses(browser_stack, patient, "phq-9") if qr["id"] not in before[patient]]
        assert len(new) == 1, patient
        assert new[0]["subject"]["reference"] == f"Patient/{patient}"
        expected = "LA6571-9" if total else "LA6568-5"  # "Nearly every day" / "Not at all"
        assert _phq9_points(new[0]) == [expected] * 9


def test_expired_token_mid_form_refreshes_and_keeps_every_answer(browser_stack: BrowserStack, page) -> None:
    frame = open_chart(page, browser_stack, "pat-eli", questionnaire="Questionnaire/phq-9")
    open_questionnaire(frame, PHQ9)
    answers = [2, 1, 0, 3, 1, 0, 2, 1, 0]
    answer_phq9(frame, answers)
    assert browser_stack.set_fault("expire_token", launch_id=_sandbox_launch_id(page))["affected"] >= 1
    frame.get_by_role("button", name="Review my answers").click()
    frame.get_by_role("heading", name=re.compile("^Check the answers")).wait_for()
    frame.wait_for_load_state()  # the whole review, not just its heading, before counting what it lists
    for label in ("Several days", "More than half the days", "Nearly every day"):
        assert frame.get_by_text(label).count() >= 1
    frame.get_by_role("link", name=re.compile("change", re.I)).first.click()
    frame.locator("form.questionnaire-form").wait_for()
    assert _checked_points(frame) == answers


def test_dead_refresh_token_mid_form_relaunch_keeps_every_answer(browser_stack: BrowserStack, page) -> None:
    frame = open_chart(page, browser_stack, "pat-chloe", questionnaire="Questionnaire/phq-9")
    open_questionnaire(frame, PHQ9)
    answers = [1, 1, 2, 0, 0, 3, 0, 1, 2]
    answer_phq9(frame, answers)
    launch_id = _sandbox_launch_id(page)
    browser_stack.set_fault("expire_token", launch_id=launch_id)
    browser_stack.set_fault("revoke_refresh", launch_id=launch_id)
    frame.get_by_role("button", name="Save and continue").click()
    frame.get_by_role("heading", name="Your access has expired").wait_for()
    frame.get_by_text("REFRESH_FAILED").wait_for()  # visible (on the page the heading is on, once it is all there)
    axe_audit(frame, "relaunch page after the refresh token died")
    with page.expect_navigation():
        page.get_by_role("button", name="Relaunch").click()  # the EHR opens the app again for this patient
    frame = app_frame(page)
    approve(frame)
    frame.wait_for_url(APP_LANDING)  # the relaunch names PHQ-9 again: it opens the form
    open_questionnaire(frame, PHQ9)
    assert _checked_points(frame) == answers
