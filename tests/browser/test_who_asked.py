"""What a person reads about who asked: the clinician asks for a clinic form from the sidebar, the patient's
home page names that clinician ("Dr. Morgan Lee asked you to fill this in by ..."); while the patient
types, the EHR copy of the draft is written once and then held (the page says "Draft saved"), and the
tab going to the background brings it up to date; after sending, the receipt's "What was saved" says
the request is marked as done. Runs last for its patient (the
file sorts after the other browser tests that use Chloé)."""
from __future__ import annotations

import re

import pytest

from tests.browser.actions import open_chart, open_portal_app, review_and_send
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
PATIENT = "pat-chloe"
ORDER_SYSTEM = "http://smart-previsit.example.org/fhir/sid/questionnaire-order"
FORM = "Sore throat follow-up"


def _asked(stack: BrowserStack) -> list[dict]:
    """The open Tasks the app created for the patient."""
    return [t for t in stack.resources("Task") if t.get("for", {}).get("reference") == f"Patient/{PATIENT}"
            and t["status"] == "requested" and any(i.get("system") == ORDER_SYSTEM for i in t.get("identifier") or [])]


def test_the_patient_reads_who_asked_and_the_receipt_says_the_request_is_done(browser_stack: BrowserStack,
                                                                               new_context) -> None:
    chart = new_context().new_page()
    frame = open_chart(chart, browser_stack, PATIENT)
    frame.get_by_role("link", name="Ask the patient to fill in a form").click()
    frame.wait_for_url(re.compile(r"/ask$"))
    frame.get_by_label("Search the forms by name").fill("Sore throat")
    frame.get_by_role("button", name="Search").click()
    frame.wait_for_url(re.compile(r"/ask\?q=Sore\+throat$"))
    frame.get_by_role("radio", name=re.compile(FORM)).check()
    frame.get_by_role("button", name="Ask the patient").click()
    frame.get_by_role("status").filter(has_text="The patient has been asked to fill in").wait_for()
    [task] = _asked(browser_stack)
    assert task["requester"] == {"reference": "Practitioner/prac-lee", "display": "Dr. Morgan Lee"}

    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, f"Patient/{PATIENT}")
    panel = page.locator(".visit-panel")
    panel.wait_for()
    assert panel.get_by_text(re.compile(r"^Dr\. Morgan Lee asked you to fill this in")).is_visible()
    assert "Your care team asked you" not in panel.inner_text()
    axe_audit(page, "home naming who asked, 375px")
    screenshot(page, "home-who-asked-375")

    panel.get_by_role("link", name=FORM).click()
    page.locator("form.questionnaire-form[data-live]").wait_for()  # questionnaire.js listens: typing starts a live save
    _typing_is_kept_and_leaving_mirrors_it(browser_stack, page)
    page.get_by_label("Better").check()
    review_and_send(page)
    saved = page.locator("section[aria-labelledby=saved-heading]")
    saved.wait_for()
    assert saved.get_by_text("Dr. Morgan Lee's request is marked as done").is_visible()
    axe_audit(page, "receipt with the request marked as done, 375px")
    screenshot(page, "receipt-request-done-375")
    assert [t["status"] for t in browser_stack.resources("Task") if t["id"] == task["id"]] == ["completed"]


def _ehr_note(stack: BrowserStack) -> str | None:
    """The note in the patient's in-progress draft of the form on the EHR (None without one)."""
    drafts = [r for r in stack.resources("QuestionnaireResponse") if r["status"] == "in-progress"
              and r["subject"]["reference"] == f"Patient/{PATIENT}" and "sore-throat" in r.get("questionnaire", "")]
    notes = [a["valueString"] for d in drafts for i in d.get("item", []) if i["linkId"] == "notes" for a in i["answer"]]
    return notes[-1] if notes else None


def _settled(page) -> None:
    """Wait until the live save the typing started has come back (a shared CI machine may take its time)."""
    page.locator("form.questionnaire-form[data-live=idle]").wait_for(timeout=60_000)


def _typing_is_kept_and_leaving_mirrors_it(stack: BrowserStack, page) -> None:
    """While typing, the EHR copy is written once and then held; leaving the page brings it up to date."""
    interval = stack.app.config["DRAFT_MIRROR_INTERVAL"]
    stack.app.config["DRAFT_MIRROR_INTERVAL"] = 3600  # every pause after the first is held for the EHR
    try:
        status = page.locator("#q-draft-status")
        notes = page.get_by_label("Anything else you want us to know?")
        notes.fill("Sore")
        _settled(page)
        assert status.get_attribute("data-status") == "ehr" and _ehr_note(stack) == "Sore"
        notes.fill("Sore at night")
        _settled(page)
        assert status.get_attribute("data-status") == "held"
        assert status.inner_text() == "Draft saved. You can come back to it later."
        assert _ehr_note(stack) == "Sore"  # the database has it; the EHR copy waits
        # The tab goes to the background (a phone may end it there): the script's leaving post, the same one
        # pagehide sends, brings the EHR copy up to date at once.
        with page.expect_response(lambda r: r.url.endswith("/evaluate") and r.request.method == "POST", timeout=60_000):
            page.evaluate("""() => {
                Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
                document.dispatchEvent(new Event("visibilitychange"));
            }""")
        assert _ehr_note(stack) == "Sore at night"
        page.evaluate("() => { delete document.visibilityState; }")
    finally:
        stack.app.config["DRAFT_MIRROR_INTERVAL"] = interval
