"""Where questionnaires come from, the clinician's latest scores, home tasks, automatic retry and audit."""
from __future__ import annotations

import json
import re
import logging
import time as real_time

from smart_app.delivery import submission
from smart_app.ehr.client import FhirError, FhirErrorCode, OutcomeIssue
from smart_app.forms.field_errors import field_errors, general_messages
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, csrf, intake_answers, phq9_answers, stored


def test_the_questionnaire_named_by_the_launch_is_the_home_task_link(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/gad-7")
    home = e2e.page(handle).get_data(as_text=True)
    assert f'href="/l/{handle}/questionnaires/gad-7"' in home
    listing = e2e.page(handle, "questionnaires/").get_data(as_text=True)
    assert "requested for this visit" in listing
    assert listing.index("Generalized Anxiety Disorder") < listing.index("Patient Health Questionnaire")


def test_a_canonical_in_fhir_context_is_found_by_url(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT,
                              questionnaire="http://smart-previsit.example.org/fhir/Questionnaire/phq-9|1.0.0")
    assert f'href="/l/{handle}/questionnaires/phq-9"' in e2e.page(handle).get_data(as_text=True)


def test_without_a_named_questionnaire_the_home_page_lists_what_is_due(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    home = e2e.page(handle).get_data(as_text=True)
    assert "Questionnaires to fill in" in home and f'href="/l/{handle}/questionnaires/"' in home
    assert "Patient Health Questionnaire (PHQ-9)" in home and "Pre-visit intake" in home
    assert "Medication review" not in e2e.page(handle, "questionnaires/").get_data(as_text=True)


def test_clinician_sees_the_latest_completed_response_with_score_and_band(e2e):
    patient = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    patient.fill_and_send("phq-9", phq9_answers([2, 2, 2, 2, 2, 2, 2, 2, 2]))  # 18: moderately severe
    patient.post_form("previsit-intake", {"q.reason.r": "Cough"}, action="continue")  # a draft

    clinician = Browser(e2e.new_browser(), "")
    clinician.handle = e2e.launcher.ehr(patient=PATIENT, client=clinician.client)
    listing = clinician.get("questionnaires/").get_data(as_text=True)
    assert "score <strong>18</strong> of 27" in listing
    assert "(Moderately severe depression)" in listing
    home = clinician.get("").get_data(as_text=True)
    assert "Completed questionnaires" in home
    assert "Patient Health Questionnaire (PHQ-9): score 18 of 27 (Moderately severe depression)" in home
    # The clinician can complete one on the patient's behalf.
    sid = clinician.fill_and_send("gad-7", {f"q.gad7-q{i}.0": "http://loinc.org|LA6568-5" for i in range(1, 8)})
    assert stored(e2e.sandbox, sid)["QuestionnaireResponse"][0]["source"] == {"reference": f"Patient/{PATIENT}"}


def test_patient_home_lists_a_draft_in_progress(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    browser.post_form("previsit-intake", {"q.reason.r": "Cough"}, action="continue")
    home = browser.get("").get_data(as_text=True)
    assert "Questionnaires in progress" in home
    assert f'href="/l/{browser.handle}/questionnaires/previsit-intake"' in home


class _Later:
    """A clock some minutes ahead, so the automatic retry is due."""

    @staticmethod
    def time() -> float:
        """Now plus ten minutes."""
        return real_time.time() + 600


def test_a_pending_submission_is_sent_automatically_when_its_wait_is_over(e2e, monkeypatch):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    browser.post_form("previsit-intake", intake_answers())
    html, sid = browser.review("previsit-intake")
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=2)  # the completion PUT, then nothing
    browser.client.post(browser.url("questionnaires/previsit-intake/send"), data={"submission_id": sid, "csrf_token": csrf(html)})
    e2e.sandbox.faults.clear()
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not sent yet" in page and 'http-equiv="refresh"' in page
    assert stored(e2e.sandbox, sid)["Observation"] == []
    monkeypatch.setattr(submission, "time", _Later)
    # The wait is over: opening the receipt (a GET) sends nothing; it carries the POST that app.js submits.
    due = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not sent yet" in due and stored(e2e.sandbox, sid)["Observation"] == []
    deliver = browser.url(f"submissions/{sid}/deliver")
    assert re.search(rf'<form method="post" data-autosubmit action="{re.escape(deliver)}"', due)
    assert browser.client.post(deliver, data={"csrf_token": csrf(due)}).status_code == 303
    assert "Saved to the chart" in browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert len(stored(e2e.sandbox, sid)["Observation"]) == 2


def test_audit_events_carry_ids_and_no_answers(e2e, caplog):
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    sid = browser.fill_and_send("previsit-intake", intake_answers(weight="81.3"))
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "smart_app.audit.events"]
    names = [e["event"] for e in events]
    assert {"draft.saved", "submission.queued", "submission.sent"} <= set(names)
    sent = next(e for e in events if e["event"] == "submission.sent")
    assert sent["submission_id"] == sid and "QuestionnaireResponse/" in sent["resources"]
    text = caplog.text
    assert "Check-up" not in text and "Ana" not in text
    # The answer as a number of its own: inside a timestamp (…1081.3…, 14:08:13) it has a digit or
    # a colon beside it, so only a logged answer can match.
    assert not re.search(r"(?<![\d.:])81\.3(?![\d])", text), text


def test_operation_outcome_issues_map_to_question_link_ids():
    bundle = {"entry": [{"resource": {"resourceType": "QuestionnaireResponse", "item": [
        {"linkId": "measurements", "item": [{"linkId": "weight", "answer": [{"valueDecimal": 1}]}]}]}}]}
    error = FhirError(FhirErrorCode.INVALID, status=422, issues=[
        OutcomeIssue("error", "value", diagnostics="Weight is implausible",
                     expression=("Bundle.entry[0].resource.item[0].item[0].answer[0]",)),
        OutcomeIssue("error", "value", details_text="Check the reason", expression=("QuestionnaireResponse.item.where(linkId='reason')",)),
        OutcomeIssue("error", "required", diagnostics="Observation.code is required", expression=("Bundle.entry[1].resource.code",)),
        OutcomeIssue("error", "processing", diagnostics="Something general"),
    ])
    assert field_errors(error, bundle) == {"weight": ["Weight is implausible"], "reason": ["Check the reason"]}
    assert general_messages(error) == ["Something general"]
    assert field_errors(FhirError(FhirErrorCode.UNAVAILABLE, status=503), bundle) == {}
