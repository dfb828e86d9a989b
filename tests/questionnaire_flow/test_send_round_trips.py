"""Sending costs two EHR round trips, one after the other: the page's one read wave, then the one
transaction; the receipt after it reads nothing. Counted at the sandbox, never timed.

The draft kept on the EHR is completed at the version our own last save gave it, and an assigned Task
at the version the read wave found: neither is read again before the transaction. Both stay guarded
by If-Match, so a copy changed meanwhile still refuses the whole transaction (tests/assignment_flow).
"""
from __future__ import annotations

from typing import Any, Callable

from tests.assignment_flow.helpers import CLINIC_FORM, SAM, SORE_THROAT_ANSWERS, task
from tests.fixtures.e2e import CAREGIVER, CHILD, PATIENT
from tests.fixtures.fhir_reads import reads_of
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers


class FhirRequests:
    """WSGI wrapper around the sandbox: each FHIR request in order, as (method, path, what it carries)."""

    def __init__(self, app: Callable) -> None:
        """Wrap the sandbox's WSGI app."""
        self.app, self.seen = app, []

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        """Record a FHIR request (a batch by its reads), then serve it."""
        if environ["PATH_INFO"] == "/fhir" or environ["PATH_INFO"].startswith("/fhir/"):
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], [path for _, path, _ in reads_of(environ)]))
        return self.app(environ, start_response)

    def take(self) -> list[tuple[str, str, list[str]]]:
        """What was recorded since the last take."""
        seen, self.seen = self.seen, []
        return seen


def _recording(e2e) -> FhirRequests:
    """Record every FHIR request the sandbox serves from now on."""
    recorder = FhirRequests(e2e.sandbox.app.wsgi_app)
    e2e.sandbox.app.wsgi_app = recorder
    return recorder


def _send_then_receipt(browser: Browser, key: str, recorder: FhirRequests) -> tuple[list, list, str]:
    """POST the send from the review page, then GET the receipt: the FHIR requests of each, and its page."""
    html, sid = browser.review(key)
    recorder.take()
    sent = browser.client.post(browser.url(f"questionnaires/{key}/send"), data={"submission_id": sid, "csrf_token": csrf(html)})
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    during_send = recorder.take()
    receipt = browser.client.get(sent.headers["Location"])
    assert receipt.status_code == 200
    return during_send, recorder.take(), receipt.get_data(as_text=True)


def test_a_send_is_one_read_wave_then_one_transaction_and_its_receipt_reads_nothing(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))  # a clinician: the receipt names the patient
    assert browser.post_form("phq-9", phq9_answers([1, 1, 1, 0, 0, 0, 0, 0, 0]), action="save").status_code in (200, 303)
    draft = next(qr for qr in e2e.sandbox.resources("QuestionnaireResponse") if qr.get("status") == "in-progress")
    recorder = _recording(e2e)

    during_send, during_receipt, receipt = _send_then_receipt(browser, "phq-9", recorder)

    assert [(method, path) for method, path, _ in during_send] == [("POST", "/fhir"), ("POST", "/fhir")]
    (_, _, wave), (_, _, transaction) = during_send
    assert f"/fhir/Patient/{PATIENT}" in wave and "/fhir/Questionnaire" in wave  # whose answers, which form
    assert transaction == ["/fhir"]  # not a batch of reads: the transaction itself
    assert during_receipt == []
    completed = e2e.sandbox.read("QuestionnaireResponse", draft["id"])
    assert completed["status"] == "completed"  # the draft copy itself was completed, at the version we saved
    assert "Saved to the chart" in receipt and "PHQ-9" in receipt


def test_a_caregivers_receipt_names_the_person_cared_for_without_reading_them_again(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=CAREGIVER))
    recorder = _recording(e2e)
    assert browser.post_form("phq-9", phq9_answers([0] * 9), action="save").status_code in (200, 303)

    _, during_receipt, receipt = _send_then_receipt(browser, "phq-9", recorder)

    assert during_receipt == []
    given = e2e.sandbox.read("Patient", CHILD)["name"][0]["given"][0]
    assert f"Sent to {given}" in receipt


def test_an_assigned_form_is_sent_with_its_task_from_the_same_read_wave(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    assert browser.post_form(CLINIC_FORM, SORE_THROAT_ANSWERS, action="save").status_code in (200, 303)
    recorder = _recording(e2e)

    during_send, during_receipt, receipt = _send_then_receipt(browser, CLINIC_FORM, recorder)

    # The Task search's wave, the search for the Questionnaire the Task names (it needs the Task), the transaction.
    assert [(method, path) for method, path, _ in during_send] == [("POST", "/fhir"), ("GET", "/fhir/Questionnaire"),
                                                                   ("POST", "/fhir")]
    wave = during_send[0][2]
    assert "/fhir/Task" in wave
    assert not any(path == "/fhir/Task/task-sam-throat" for _, _, paths in during_send for path in paths)
    assert during_receipt == []
    assert task(e2e.sandbox, "task-sam-throat")["status"] == "completed"
    assert "Sent to your care team" in receipt
