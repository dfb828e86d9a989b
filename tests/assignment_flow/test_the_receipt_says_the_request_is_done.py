"""The receipt's "what was saved" names the care team's request the send completed, in its reader's words
and language; a form nobody asked for has no such line. Against the real sandbox."""
from __future__ import annotations

import re

from tests.questionnaire_flow.flow import Browser, intake_answers

from .helpers import CLINIC_FORM, SAM, SORE_THROAT_ANSWERS


def _saved_list(html: str) -> str:
    """The receipt's "What was saved" section, whitespace folded."""
    match = re.search(r'<section class="card" aria-labelledby="saved-heading">.*?</section>', html, re.S)
    assert match, "the receipt has no list of what was saved"
    return re.sub(r"\s+", " ", match.group(0))


def test_the_patient_reads_that_the_clinicians_request_is_marked_as_done(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    sid = browser.fill_and_send(CLINIC_FORM, SORE_THROAT_ANSWERS)
    saved = _saved_list(browser.get(f"submissions/{sid}").get_data(as_text=True))
    assert "Dr Samir Ortiz's request is marked as done" in saved
    assert "Task" not in saved  # no resource type for a patient

    e2e.client.set_cookie("previsit_lang", "es")
    saved = _saved_list(browser.get(f"submissions/{sid}").get_data(as_text=True))
    assert "La solicitud de Dr Samir Ortiz está marcada como hecha" in saved


def test_a_clinician_reads_that_the_form_request_is_marked_as_completed(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=SAM))
    sid = browser.fill_and_send(CLINIC_FORM, SORE_THROAT_ANSWERS)
    saved = _saved_list(browser.get(f"submissions/{sid}").get_data(as_text=True))
    assert "The form request from Dr Samir Ortiz is marked as completed" in saved


def test_a_form_nobody_asked_for_has_no_request_line(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    sid = browser.fill_and_send("previsit-intake", intake_answers())
    saved = _saved_list(browser.get(f"submissions/{sid}").get_data(as_text=True))
    assert "Your answers" in saved and "request is marked" not in saved
