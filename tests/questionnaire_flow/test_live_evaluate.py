"""The evaluate endpoint (JavaScript on): the engine decides, the answers are kept as the draft, only changes come back.

Run against the real sandbox with the Flask client, as questionnaire.js posts: the form's fields,
the fields the person has left (`touched`) and the page's picture (`live_baseline`).
"""
from __future__ import annotations

import re
from html import unescape

from tests.fixtures.e2e import OTHER_PATIENT, PATIENT
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers

_BASELINE = re.compile(r'data-live-baseline="([^"]*)"')
DIFFICULTY = "f-phq9-difficulty-r-0-item"  # the "how difficult" question's container
TOTAL = "f-phq9-total-r-0"  # the total's <output>


def _page(browser: Browser, key: str = "phq-9") -> tuple[str, str]:
    """(CSRF token, the page's live picture) from the fill page."""
    html = browser.open_form(key).get_data(as_text=True)
    match = _BASELINE.search(html)
    assert match, "the fill page carries no live picture"
    return csrf(html), unescape(match.group(1))


def _evaluate(browser: Browser, fields: dict[str, str], token: str, baseline: str, touched: tuple[str, ...] = (),
              key: str = "phq-9"):
    """POST the answers as the script does."""
    return browser.client.post(browser.url(f"questionnaires/{key}/evaluate"),
                               data={**fields, "csrf_token": token, "live_baseline": baseline, "touched": list(touched)})


def _in_progress(e2e) -> list[dict]:
    """The in-progress QuestionnaireResponses the sandbox holds."""
    return [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"]


def test_one_answer_above_zero_shows_how_difficult_and_the_total(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    assert DIFFICULTY in baseline  # hidden on the first render

    response = _evaluate(browser, {"q.phq9-q1.0": phq9_answers([2])["q.phq9-q1.0"]}, token, baseline)
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["show"] == [DIFFICULTY] and body["hide"] == []
    assert body["values"] == {TOTAL: "2"}
    assert body["score"].startswith("Score: 2 of 27") and "1 of 9 questions answered so far" in body["score"]
    assert body["announce"] and "difficult" in body["announce"][0]


def test_only_what_changed_comes_back(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    first = _evaluate(browser, phq9_answers([1, 0, 0, 0, 0, 0, 0, 0, 0]), token, baseline).get_json()
    same = _evaluate(browser, phq9_answers([1, 0, 0, 0, 0, 0, 0, 0, 0]), token, first["baseline"]).get_json()
    assert (same["show"], same["hide"], same["values"], same["score"], same["announce"]) == ([], [], {}, None, [])
    back_to_zero = _evaluate(browser, phq9_answers([0] * 9), token, first["baseline"]).get_json()
    assert back_to_zero["hide"] == [DIFFICULTY] and back_to_zero["values"] == {TOTAL: "0"}


def test_a_malformed_picture_gets_the_whole_picture_back(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, _ = _page(browser)
    body = _evaluate(browser, {}, token, "{not json").get_json()
    assert DIFFICULTY in body["hide"] and TOTAL in body["values"]


def test_messages_come_back_only_for_fields_the_person_has_left(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser, "previsit-intake")
    fields = {"q.weight.0": "7000", "u.weight.0": "http://unitsofmeasure.org|kg", "q.bp-systolic.0_0": "12O"}
    untouched = _evaluate(browser, fields, token, baseline, key="previsit-intake").get_json()
    assert untouched["errors"] == {}
    touched = _evaluate(browser, fields, token, baseline, touched=("q.weight.0",), key="previsit-intake").get_json()
    assert list(touched["errors"]) == ["f-weight-0-0"] and touched["errors"]["f-weight-0-0"]


def test_answers_are_kept_as_the_draft_and_mirrored_once_there_is_one(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    empty = _evaluate(browser, {}, token, baseline).get_json()
    assert empty["draft"]["status"] == "empty" and empty["draft"]["text"] == ""
    assert _in_progress(e2e) == []  # nothing answered: nothing in the EHR

    answered = _evaluate(browser, phq9_answers([3] + [0] * 8), token, baseline).get_json()
    assert answered["draft"]["status"] == "ehr" and answered["draft"]["text"].startswith("Draft saved to the chart")  # a clinician's words
    [draft] = _in_progress(e2e)
    assert [i["linkId"] for i in draft["item"][0]["item"]][:1] == ["phq9-q1"]
    # A reload shows what was typed, from the draft.
    assert 'value="http://loinc.org|LA6571-9" checked' in browser.open_form("phq-9").get_data(as_text=True)


def test_a_hidden_question_keeps_its_typed_answer_until_sending(e2e, e2e_app):
    e2e_app.config["DRAFT_MIRROR_INTERVAL"] = 0  # every pause reaches the EHR copy (coalescing has its own tests)
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    difficulty = {"q.phq9-difficulty.r": "http://loinc.org|LA6572-7"}
    shown = _evaluate(browser, {**phq9_answers([1] + [0] * 8), **difficulty}, token, baseline).get_json()
    hidden = _evaluate(browser, {**phq9_answers([0] * 9), **difficulty}, token, shown["baseline"]).get_json()
    assert DIFFICULTY in hidden["hide"]
    page = browser.open_form("phq-9").get_data(as_text=True)
    assert 'value="http://loinc.org|LA6572-7" checked' in page  # kept in the draft, shown again if it comes back
    [draft] = _in_progress(e2e)
    assert "phq9-difficulty" not in str(draft)  # but a hidden answer is never written


def test_the_endpoint_needs_the_csrf_token_and_the_launch(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    _, baseline = _page(browser)
    refused = browser.client.post(browser.url("questionnaires/phq-9/evaluate"),
                                  data={**phq9_answers([1] * 9), "live_baseline": baseline})
    assert refused.status_code in (400, 403)
    other = Browser(e2e.new_browser(), "")
    other.handle = e2e.launcher.ehr(patient=OTHER_PATIENT, client=other.client)
    token = csrf(other.get("").get_data(as_text=True))
    # Another browser cannot use this launch, even with its own valid token.
    crossed = other.client.post(browser.url("questionnaires/phq-9/evaluate"), data={"csrf_token": token})
    assert crossed.status_code != 200
    assert _in_progress(e2e) == []


def test_an_empty_attempt_creates_nothing_in_the_ehr_and_says_nothing_was_saved(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    response = browser.post_form("phq-9", {}, action="submit")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Draft saved" not in html
    assert re.search(r'class="error-summary"[^>]*autofocus', html)
    assert _in_progress(e2e) == []
