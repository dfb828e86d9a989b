"""While the person types, the draft is current in the app's database on every pause, but its EHR copy
is written at most once per DRAFT_MIRROR_INTERVAL; leaving the page, a section step or "Review my
answers" always brings the EHR copy up to date.

Against the real sandbox, as questionnaire.js posts. Time is an injected clock (DRAFT_CLOCK), never waited for.
"""
from __future__ import annotations

import re
from html import unescape

import pytest

from smart_app.delivery.drafts import mirror_due
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers

_BASELINE = re.compile(r'data-live-baseline="([^"]*)"')
INTERVAL = 20.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        """Start at an arbitrary instant."""
        self.now = 1_000_000.0

    def __call__(self) -> float:
        """The current (fake) time in Unix seconds."""
        return self.now


@pytest.fixture
def clock(e2e_app) -> Clock:
    """The drafts' clock, injected into the app, with the shipped-like interval."""
    fake = Clock()
    e2e_app.config.update(DRAFT_CLOCK=fake, DRAFT_MIRROR_INTERVAL=INTERVAL)
    return fake


def _page(browser: Browser) -> tuple[str, str]:
    """(CSRF token, the page's live picture) from the PHQ-9 fill page."""
    html = browser.open_form("phq-9").get_data(as_text=True)
    return csrf(html), unescape(_BASELINE.search(html).group(1))


def _pause(browser: Browser, token: str, baseline: str, points: list[int], **extra: str) -> dict:
    """One typing pause: POST the answers to the evaluate endpoint as the script does."""
    response = browser.client.post(browser.url("questionnaires/phq-9/evaluate"),
                                   data={**phq9_answers(points), "csrf_token": token, "live_baseline": baseline, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


def _ehr_copy(e2e) -> dict:
    """The one in-progress QuestionnaireResponse the sandbox holds."""
    [draft] = [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"]
    return draft


def _first_answer(response: dict) -> str:
    """The code of the answer to the PHQ-9's first question in a stored response."""
    items = [i for group in response["item"] for i in group.get("item", [])] + response["item"]
    [q1] = [i for i in items if i["linkId"] == "phq9-q1"]
    return q1["answer"][0]["valueCoding"]["code"]


def _checked_first_answer(browser: Browser) -> str | None:
    """The PHQ-9's first answer as the fill page shows it from the app's draft."""
    html = browser.open_form("phq-9").get_data(as_text=True)
    match = re.search(r'name="q\.phq9-q1\.0" value="http://loinc\.org\|([^"]+)" checked', html)
    return match.group(1) if match else None


@pytest.mark.parametrize("mirrored_at,now,coalesce,due", [
    (None, 0.0, True, True),                       # never mirrored: the first answer goes at once
    (100.0, 100.0 + INTERVAL - 0.001, True, False),  # just inside the interval: held
    (100.0, 100.0 + INTERVAL, True, True),         # the interval has passed: mirrored
    (100.0, 100.5, False, True),                   # not while typing (step, review, leaving): always
])
def test_a_save_while_typing_is_mirrored_at_most_once_per_interval(mirrored_at, now, coalesce, due):
    assert mirror_due(mirrored_at, now, INTERVAL, coalesce=coalesce) is due


def test_pauses_within_the_interval_are_kept_in_the_app_and_mirrored_once(e2e, clock):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    assert _pause(browser, token, baseline, [1] + [0] * 8)["draft"]["status"] == "ehr"  # the first answer goes at once
    first = _ehr_copy(e2e)
    for points in ([2] + [0] * 8, [3] + [0] * 8):
        clock.now += 5
        body = _pause(browser, token, baseline, points)
        assert body["draft"]["status"] == "held" and body["draft"]["text"] == "Draft saved. You can come back to it later."
    assert _ehr_copy(e2e)["meta"]["versionId"] == first["meta"]["versionId"]  # no EHR write for those pauses
    assert _checked_first_answer(browser) == "LA6571-9"  # but the app's database holds the latest answer

    clock.now += INTERVAL
    assert _pause(browser, token, baseline, [2] + [0] * 8)["draft"]["status"] == "ehr"
    latest = _ehr_copy(e2e)
    assert latest["meta"]["versionId"] != first["meta"]["versionId"] and _first_answer(latest) == "LA6570-1"


def test_leaving_the_page_mirrors_the_held_answers_at_once(e2e, clock):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    _pause(browser, token, baseline, [1] + [0] * 8)
    clock.now += 1
    assert _pause(browser, token, baseline, [3] + [0] * 8)["draft"]["status"] == "held"
    assert _first_answer(_ehr_copy(e2e)) == "LA6569-3"

    clock.now += 1  # still inside the interval
    assert _pause(browser, token, baseline, [3] + [0] * 8, leaving="1")["draft"]["status"] == "ehr"
    assert _first_answer(_ehr_copy(e2e)) == "LA6571-9"


def test_a_full_save_mirrors_at_once_inside_the_interval(e2e, clock):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    _pause(browser, token, baseline, [1] + [0] * 8)
    clock.now += 1
    response = browser.post_form("phq-9", phq9_answers([3] + [0] * 8), action="continue")
    # an EHR launch: the clinician reads "the chart" (a patient reads "your health record")
    assert response.status_code == 200 and "Draft saved to the chart." in response.get_data(as_text=True)
    assert _first_answer(_ehr_copy(e2e)) == "LA6571-9"


def test_an_unanswered_draft_is_never_mirrored_however_often_it_is_saved(e2e, clock):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token, baseline = _page(browser)
    for extra in ({}, {"leaving": "1"}):
        clock.now += INTERVAL
        response = browser.client.post(browser.url("questionnaires/phq-9/evaluate"),
                                       data={"csrf_token": token, "live_baseline": baseline, **extra})
        assert response.get_json()["draft"]["status"] == "empty"
    assert [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"] == []
