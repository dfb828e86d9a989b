"""What a person does in the browser: open a chart or the portal, sign in, answer, send.

Each helper clicks real links and buttons (no URL shortcuts past the launch) and waits for
the page the app or the sandbox shows next.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from tests.fixtures.browser import BrowserStack, axe_audit

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

APP_HOME = re.compile(r"^http://localhost:\d+/l/[A-Za-z0-9_-]+/$")
# A launch whose fhirContext names a form opens that form (or its "already completed" page) instead of home.
APP_LANDING = re.compile(r"^http://localhost:\d+/l/[A-Za-z0-9_-]+/(?:questionnaires/[^/?#]+|open)?$")
RECEIPT = re.compile(r"/l/[A-Za-z0-9_-]+/submissions/[^/]+$")
FORM_PAGE = re.compile(r"/questionnaires/[^/?#]+$")
HANDLE = re.compile(r"/l/([A-Za-z0-9_-]+)/")
PHQ9_ITEMS = 9
PHQ9_POINTS = ("Not at all", "Several days", "More than half the days", "Nearly every day")  # 0..3 points


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


def approve(target: "Page | Frame", remember: bool = False) -> None:
    """Allow every requested scope on the sandbox's approval screen.

    The sandbox is shared by the whole browser session, so by default the approval is not
    remembered: every test sees the screen it expects.
    """
    if not remember:
        target.get_by_label("Remember my choice for this app").uncheck()
    target.get_by_role("button", name="Allow").click()


def open_chart(page: "Page", stack: BrowserStack, patient: str, questionnaire: str | None = None) -> "Frame":
    """Open a patient's chart; approve in the sidebar and wait for the app's home page there (or, when the
    launch names a questionnaire, for that form)."""
    params = {"questionnaire": questionnaire} if questionnaire else {}
    page.goto(stack.chart_url(patient, **params))
    frame = app_frame(page)
    approve(frame)
    frame.wait_for_url(APP_LANDING if questionnaire else APP_HOME)
    return frame


def sign_in(target: "Page | Frame", who: str) -> None:
    """Choose a person on the sandbox's sign-in page (there are no passwords)."""
    target.locator(f"input[name=user][value='{who}']").check()
    target.get_by_role("button", name="Sign in").click()


def open_portal_app(page: "Page", stack: BrowserStack, who: str, audit_as: str | None = None) -> None:
    """Portal → "Prepare for your visit" → sign in as `who` → allow → the app's home page.

    With `audit_as`, axe checks the portal, sign-in and approval pages on the way.
    """
    page.goto(f"{stack.sandbox_url}/portal")
    _audit(page, audit_as, "sandbox portal")
    page.get_by_role("link", name="Prepare for your visit").click()
    page.get_by_role("button", name="Sign in").wait_for()
    _audit(page, audit_as, "sandbox sign-in")
    sign_in(page, who)
    page.get_by_role("button", name="Allow").wait_for()
    _audit(page, audit_as, "sandbox approval")
    approve(page)
    page.wait_for_url(APP_HOME)


def _audit(target: "Page | Frame", audit_as: str | None, what: str) -> None:
    """Run axe on this page when the caller asked for audits."""
    if audit_as is not None:
        axe_audit(target, f"{what}, {audit_as}")


def open_questionnaire(target: "Page | Frame", title: str) -> None:
    """From the app's home page: the questionnaire list, then the named form (already there when the
    launch named it)."""
    if target.url.endswith("/open"):  # the form the launch named was already completed: fill it in again
        target.get_by_role("link", name="Fill in again").click()
        target.wait_for_url(FORM_PAGE)
    elif not re.search(r"/questionnaires/[^/?#]+$", target.url):
        target.get_by_role("link", name=re.compile("questionnaire", re.I)).first.click()
        # The list's entries are headings too, so tell the pages apart by URL, not by heading.
        target.wait_for_url(re.compile(r"/questionnaires/"))
        if not target.url.endswith("/questionnaires/"):  # the task went straight to a form
            target.locator("form.questionnaire-form").wait_for()
            if target.get_by_role("heading", name=title).count() == 0:
                # Another form (e.g. the only one still to do, while this one is in progress): go by the list.
                target.get_by_role("link", name="All questionnaires").click()
                target.wait_for_url(re.compile(r"/questionnaires/$"))
        if target.url.endswith("/questionnaires/"):
            target.get_by_role("link", name=title).click()
            # The form's page, loaded: its deferred questionnaire.js listens before anything is answered
            # (a form element can be in the DOM while the script has not run yet).
            target.wait_for_url(FORM_PAGE)
    target.locator("form.questionnaire-form").wait_for()
    assert target.get_by_role("heading", name=title).count() == 1


_VIEWPORT_AT_MOST = """width => new Promise(resolve => {
    const fits = () => document.documentElement.clientWidth <= width;
    if (fits()) { resolve(true); return; }
    addEventListener("resize", function check() {
        if (fits()) { removeEventListener("resize", check); resolve(true); }
    });
})"""


def narrow_sidebar(chart: "Page", frame: "Frame", width: int) -> None:
    """Make the EHR's sidebar iframe `width` px wide and wait until the app's page has that viewport.

    The app is a cross-site (out-of-process) frame: it learns its new size asynchronously, so a
    measurement taken right after the style change could still see the old, wider viewport.
    """
    chart.locator("iframe[name=smart-app]").evaluate(f"el => {{ el.style.width = '{width}px'; }}")
    # wait_for_function compiles its predicate in the page, which the app's CSP (no unsafe-eval) refuses;
    # evaluate() does not, so the frame itself resolves once a resize brings its viewport down to width.
    frame.evaluate(_VIEWPORT_AT_MOST, width)


def answer_phq9(target: "Page | Frame", points: Sequence[int]) -> None:
    """Tick one answer per PHQ-9 item by its visible label (0..3 points each)."""
    assert len(points) == PHQ9_ITEMS
    for number, value in enumerate(points, start=1):
        group = target.locator(f"fieldset.q-options:has(legend:has-text('{number}.'))").first
        group.get_by_label(PHQ9_POINTS[value], exact=True).check()
    settle(target)


def settle(target: "Page | Frame") -> None:
    """Wait until the page's live saves (questionnaire.js) are done; no wait without JavaScript."""
    target.locator("form.questionnaire-form:not([data-live='pending'])").wait_for()


def review_and_send(target: "Page | Frame", audit_as: str | None = None) -> None:
    """Review my answers → Send to my care team → wait for the receipt (axe on the review with `audit_as`)."""
    target.get_by_role("button", name="Review my answers").click()
    target.get_by_role("heading", name=re.compile("^Check (your|the) answers")).wait_for()
    _audit(target, audit_as, "questionnaire review")
    target.get_by_role("button", name=SEND).click()
    target.wait_for_url(RECEIPT)


INTAKE = "Pre-visit intake"
# The send button by reader: the patient, a caregiver ("Send to Sam's care team"), a clinician.
SEND = re.compile(r"^(Send to my care team|Send to .+ care team|Save to the chart)$")
MEDICATIONS_CANONICAL = "medication-review"


def fill_intake(target: "Page | Frame", reason: str, *, allergy: bool = False) -> None:
    """Answer the pre-visit intake's required questions (the reason for the visit and the allergy check)."""
    target.get_by_label("What is the main reason for your visit?").fill(reason)
    group = target.get_by_role("radiogroup", name=re.compile("new allergy"))
    group.get_by_label("Yes" if allergy else "No", exact=True).check()


def open_medicines(target: "Page | Frame") -> None:
    """Follow "Review your medicines" and wait until the review's first medicine is on screen.

    A locator's count() does not wait, so a count taken right after the click could still see the
    page the link was on.
    """
    target.get_by_role("link", name="Review your medicines").click()
    target.wait_for_url(re.compile(r"/medications/$"))
    target.locator("fieldset.med-row").first.wait_for()
    target.wait_for_load_state("load")  # medications.js has folded what does not apply


def review_medicines(target: "Page | Frame", answers: Sequence[str]) -> None:
    """Answer each medicine on the review form in order, by status label ("Taking it as prescribed", ...)."""
    groups = target.locator("fieldset.med-row")
    assert groups.count() == len(answers), f"{groups.count()} medicines on the list"
    for index, label in enumerate(answers):
        groups.nth(index).get_by_label(label, exact=True).check()


def send_medicines(target: "Page | Frame", audit_as: str | None = None) -> None:
    """Continue → the check page → Send to my care team → the receipt (axe on the check page with `audit_as`)."""
    target.get_by_role("button", name="Continue", exact=True).click()
    target.get_by_role("heading", name=re.compile("^Check (your|the) answers before (sending|saving)$")).wait_for()
    _audit(target, audit_as, "medication check")
    target.get_by_role("button", name=SEND).click()
    target.wait_for_url(RECEIPT)


def stored_responses(stack: BrowserStack, patient: str, questionnaire_slug: str) -> list[dict]:
    """QuestionnaireResponses in the sandbox for a patient and a bundled questionnaire."""
    return [qr for qr in stack.resources("QuestionnaireResponse")
            if qr.get("subject", {}).get("reference") == f"Patient/{patient}"
            and qr.get("questionnaire", "").split("|")[0].endswith(f"/{questionnaire_slug}")]


def answers_of(response: dict, link_id: str) -> list[dict]:
    """Every answer to a linkId anywhere in a QuestionnaireResponse."""
    found: list[dict] = []

    def walk(items: list[dict]) -> None:
        """Depth-first over items and answers' nested items."""
        for item in items:
            if item.get("linkId") == link_id:
                found.extend(item.get("answer") or [])
            walk(item.get("item") or [])
            for answer in item.get("answer") or []:
                walk(answer.get("item") or [])

    walk(response.get("item") or [])
    return found
