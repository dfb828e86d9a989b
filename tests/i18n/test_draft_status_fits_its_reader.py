"""The line that says where a draft was saved fits its reader, in both languages: a clinician in the
EHR sidebar reads "the chart", a patient reads "your health record", and neither reads the other's
words. Checked on the live endpoint (the words the script shows come from the server) and on a
no-JS save, against the real sandbox."""
from __future__ import annotations

import re
from html import unescape

import pytest

from tests.fixtures.e2e import E2E, PATIENT
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers

SPANISH_PATIENT = "pat-dev"  # prefers es-US (sandbox/seed.py)
WORDS = {
    ("clinician", "en"): "Draft saved to the chart. You can come back to it later.",
    ("clinician", "es"): "Borrador guardado en el expediente. Puede volver a él más tarde.",
    ("patient", "en"): "Draft saved to your health record. You can come back to it later.",
    ("patient", "es"): "Borrador guardado en su expediente médico. Puede volver a él más tarde.",
}
PATIENT_ONLY = ("your health record", "su expediente médico", "send to my care team")
CLINICIAN_ONLY = ("the chart", "el expediente.", "save to the chart")


def _browser(e2e: E2E, reader: str, language: str) -> Browser:
    """A clinician's EHR launch, or a patient's portal launch, reading `language`."""
    e2e.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    if reader == "clinician":
        return Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    login = SPANISH_PATIENT if language == "es" else PATIENT  # a patient's language comes from their record first
    return Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{login}"))


def _not_the_other_readers(reader: str, text: str) -> None:
    """A clinician never reads the patient's words, nor a patient the clinician's."""
    lowered = text.lower()
    for words in (PATIENT_ONLY if reader == "clinician" else CLINICIAN_ONLY):
        assert words not in lowered, (reader, words, text)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("reader", ["clinician", "patient"])
def test_the_live_save_line_speaks_to_its_reader(e2e: E2E, reader: str, language: str) -> None:
    browser = _browser(e2e, reader, language)
    page = browser.open_form("phq-9").get_data(as_text=True)
    baseline = unescape(re.search(r'data-live-baseline="([^"]*)"', page).group(1))
    body = browser.client.post(browser.url("questionnaires/phq-9/evaluate"), data={
        **phq9_answers([1]), "csrf_token": csrf(page), "live_baseline": baseline}).get_json()
    assert body["draft"]["status"] == "ehr"
    assert body["draft"]["text"] == WORDS[(reader, language)]
    _not_the_other_readers(reader, body["draft"]["text"])


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("reader", ["clinician", "patient"])
def test_the_no_js_save_line_speaks_to_its_reader(e2e: E2E, reader: str, language: str) -> None:
    browser = _browser(e2e, reader, language)
    html = browser.post_form("phq-9", phq9_answers([1]), action="continue").get_data(as_text=True)
    line = re.search(r'<p class="notice saved" role="status">(.*?)</p>', html, re.S)
    assert line, "the page says where the draft went"
    assert unescape(line.group(1)).strip() == WORDS[(reader, language)]
    _not_the_other_readers(reader, unescape(line.group(1)))
