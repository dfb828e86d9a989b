"""A 187-item tabbed form (the Australian MBS 715 health check, tests/forms_corpus/) filled one section at a time.

Each step shows one tab and the list of all sections with their state; moving between steps
saves the section just shown and keeps every other answer; the send writes them all.
"""
from __future__ import annotations

import re

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.corpus import corpus_form, fields
from tests.questionnaire_flow.flow import Browser, csrf, stored

LAST_CHECK = "48d34fc9-f10e-4ddd-9aba-8948ce5bffb5"  # step 1: date of last health check
CONSENT_DATE = "6dcb36ba-8ce1-471a-bd5a-98c63791b4f3"  # step 2: the one required question
NAME = "2f028ea2-1d0b-4ddb-b1aa-f44c46586e94"  # step 3
LANGUAGE = "3d46c42b-a10f-4805-ad9f-ae9510bdbc4f"  # step 3: choice from a SNOMED value set no one here can expand
RELATIONSHIP = "747f2cde-47b3-4042-a028-5f39d1e98671"  # step 3: open-choice, same situation
MEDICARE = "fdf213a6-be81-4945-986e-6d6c3abed757"  # step 3


def _answers(questionnaire: dict, values: dict) -> dict:
    """Form fields for {linkId: value}."""
    return fields(questionnaire, values)


def _post(browser: Browser, key: str, step: int, data: dict, action: str):
    """POST one step of the form, after loading that step for a CSRF token."""
    page = browser.get(f"questionnaires/{key}?step={step}").get_data(as_text=True)
    return browser.client.post(browser.url(f"questionnaires/{key}"),
                               data={**data, "step": str(step), "action": action, "csrf_token": csrf(page)})


def _items(qr: dict) -> dict[str, list]:
    """Answers by linkId, anywhere in a response."""
    found, stack = {}, list(qr.get("item") or [])
    while stack:
        node = stack.pop()
        if node.get("answer"):
            found[node["linkId"]] = node["answer"]
        stack.extend(node.get("item") or [])
    return found


def test_the_health_check_is_filled_one_section_at_a_time_and_sent_whole(e2e):
    questionnaire = corpus_form("aehrc-715-health-check")
    key = questionnaire["id"]
    e2e.sandbox.store.create(dict(questionnaire))
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{key}"))

    first = browser.open_form(key).get_data(as_text=True)
    assert "Section 1 of 23: About the health check" in first
    assert len(re.findall(r'name="action" value="goto:\d+"', first)) >= 23
    assert f'name="q.{LAST_CHECK}.0_0"' in first and f'name="q.{MEDICARE}.0_0_0"' not in first
    assert first.count('name="q.') < 15  # one section, not 187 items

    moved = _post(browser, key, 0, _answers(questionnaire, {LAST_CHECK: "2025-01-10"}), "goto:2")
    assert moved.status_code == 303 and moved.headers["Location"].endswith("?step=2")
    third = browser.get(f"questionnaires/{key}?step=2").get_data(as_text=True)
    assert f'name="q.{MEDICARE}.0_0_0"' in third and f'name="q.{LAST_CHECK}.0_0"' not in third
    assert "please type your answer" in third  # the language list is not available here

    moved = _post(browser, key, 2, _answers(questionnaire, {NAME: "Ana Lopez", LANGUAGE: "Arrernte",
                                                            RELATIONSHIP: "Aunt"}), "goto:1")
    assert moved.status_code == 303
    second = browser.get(f"questionnaires/{key}?step=1").get_data(as_text=True)
    states = re.findall(r'class="q-step-state[^"]*">([^<]*)<', second)
    assert states[0].startswith("Started") and states[2].startswith("Started") and states[3].startswith("Not started")

    reviewed = _post(browser, key, 1, _answers(questionnaire, {CONSENT_DATE: "2026-01-15"}), "submit")
    assert reviewed.status_code == 303 and reviewed.headers["Location"].endswith("/review")
    html, _ = browser.review(key)
    # Dates read as words on the review page (issue 14: never ISO to the reader); the record keeps ISO.
    for text in ("10 January 2025", "Ana Lopez", "Arrernte", "Aunt", "15 January 2026"):
        assert text in html

    sent = browser.send(key)
    [qr] = stored(e2e.sandbox, sent.headers["Location"].rsplit("/", 1)[-1])["QuestionnaireResponse"]
    answers = _items(qr)
    assert answers[LAST_CHECK] == [{"valueDate": "2025-01-10"}]
    assert answers[NAME] == [{"valueString": "Ana Lopez"}]
    assert answers[LANGUAGE] == [{"valueCoding": {"display": "Arrernte"}}]  # a choice answer is never a valueString
    assert answers[RELATIONSHIP] == [{"valueString": "Aunt"}]  # open-choice free text is
    assert answers[CONSENT_DATE] == [{"valueDate": "2026-01-15"}]


def test_review_with_a_missing_answer_opens_the_section_that_needs_it(e2e):
    questionnaire = corpus_form("aehrc-715-health-check")
    key = questionnaire["id"]
    e2e.sandbox.store.create(dict(questionnaire))
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{key}"))
    response = _post(browser, key, 2, _answers(questionnaire, {NAME: "Ana Lopez"}), "submit")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Section 2 of 23: Consent" in html
    assert "Needs attention" in html
    assert f'name="q.{CONSENT_DATE}.0_0"' in html
