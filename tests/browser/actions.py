"""What a person does in the browser: open a chart or the portal, sign in, answer, send.

Each helper clicks real links and buttons (no URL shortcuts past the launch) and waits for
the page the app or the sandbox shows next.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from tests.fixtures.browser import BrowserStack

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

APP_HOME = re.compile(r"^http://localhost:\d+/l/[A-Za-z0-9_-]+/$")
RECEIPT = re.compile(r"/l/[A-Za-z0-9_-]+/submissions/[^/]+$")
HANDLE = re.compile(r"/l/([A-Za-z0-9_-]+)/")
PHQ9_ITEMS = 9
PHQ9_POINTS = ("Not at all", "Several days", "More than half the days", "Nearly every day")  # 0..3 points
APP_FRAME = "iframe[name=smart-app]"


def handle_of(url: str) -> str:
    """The app's launch handle in a page URL."""
    match = HANDLE.search(url)
    assert match, f"no launch handle in {url}"
    return match.group(1)


def app_frame(page: "Page") -> "Frame":
    """The EHR shell's sidebar iframe, as a Frame."""
    frame = page.frame(name="smart-app")
    assert frame is not None, "the chart has no app iframe"
    return frame


def approve(target: "Page | Frame") -> None:
    """Allow every requested scope on the sandbox's approval screen."""
    target.get_by_role("button", name="Allow").click()


def open_chart(page: "Page", stack: BrowserStack, patient: str, questionnaire: str | None = None) -> "Frame":
    """Open a patient's chart; approve in the sidebar and wait for the app's home page there."""
    params = {"questionnaire": questionnaire} if questionnaire else {}
    page.goto(stack.chart_url(patient, **params))
    frame = app_frame(page)
    approve(frame)
    frame.wait_for_url(APP_HOME)
    return frame


def sign_in(target: "Page | Frame", who: str) -> None:
    """Choose a person on the sandbox's sign-in page (there are no passwords)."""
    target.locator(f"input[name=user][value='{who}']").check()
    target.get_by_role("button", name="Sign in").click()


def open_portal_app(page: "Page", stack: BrowserStack, who: str) -> None:
    """Portal → "Prepare for your visit" → sign in as `who` → allow → the app's home page."""
    page.goto(f"{stack.sandbox_url}/portal")
    page.get_by_role("link", name="Prepare for your visit").click()
    sign_in(page, who)
    approve(page)
    page.wait_for_url(APP_HOME)


def open_questionnaire(target: "Page | Frame", title: str) -> None:
    """From the app's home page: the questionnaire list, then the named form."""
    target.get_by_role("link", name=re.compile("questionnaire", re.I)).first.click()
    # Wait for the next page (the form itself, or the list linking to it) before looking at it.
    target.get_by_role("heading", name=title).or_(target.get_by_role("link", name=title)).first.wait_for()
    if target.get_by_role("heading", name=title).count():
        return  # the home task went straight to the form the EHR asked for
    target.get_by_role("link", name=title).click()
    target.get_by_role("heading", name=title).wait_for()


def answer_phq9(target: "Page | Frame", points: Sequence[int]) -> None:
    """Tick one answer per PHQ-9 item by its visible label (0..3 points each)."""
    assert len(points) == PHQ9_ITEMS
    for number, value in enumerate(points, start=1):
        group = target.locator(f"fieldset.q-options:has(legend:has-text('{number}.'))").first
        group.get_by_label(PHQ9_POINTS[value], exact=True).check()


def review_and_send(target: "Page | Frame") -> None:
    """Review my answers → Send to my care team → wait for the receipt."""
    target.get_by_role("button", name="Review my answers").click()
    target.get_by_role("heading", name=re.compile("^Check your answers")).wait_for()
    target.get_by_role("button", name="Send to my care team").click()
    target.wait_for_url(RECEIPT)
