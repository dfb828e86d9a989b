"""Fill, review, send an assigned form: one completed response, its Provenance, and the Task completed with it."""
from __future__ import annotations

import pytest

from tests.fixtures.e2e import CAREGIVER, CHILD
from tests.questionnaire_flow.flow import SYSTEM, Browser, stored

from .helpers import CLINIC_FORM, CLINIC_URL, SAM, SORE_THROAT_ANSWERS, responses_to, task

SDC = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"


def _response_output(found: dict) -> dict:
    [output] = [o for o in found.get("output") or [] if o["type"]["coding"][0]["code"] == "questionnaire-response"]
    assert output["type"]["coding"][0]["system"] == SDC
    return output["valueReference"]


def test_sending_an_assigned_form_completes_its_task_with_the_response_in_one_go(e2e):
    before = task(e2e.sandbox, "task-sam-throat")
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    sid = browser.fill_and_send(CLINIC_FORM, SORE_THROAT_ANSWERS)

    [qr] = responses_to(e2e.sandbox, CLINIC_URL, SAM)
    assert qr["status"] == "completed" and qr["questionnaire"] == f"{CLINIC_URL}|2"
    assert qr["identifier"] == {"system": SYSTEM, "value": sid}
    found = stored(e2e.sandbox, sid)
    assert len(found["Provenance"]) == 1
    done = task(e2e.sandbox, "task-sam-throat")
    assert done["status"] == "completed"
    assert _response_output(done)["reference"] == f"QuestionnaireResponse/{qr['id']}"
    assert _response_output(done)["identifier"] == {"system": SYSTEM, "value": sid}
    # Everything else the clinic put on the Task is kept: basedOn, encounter, requester, the input.
    for element in ("basedOn", "encounter", "requester", "input", "for", "owner", "restriction"):
        assert done[element] == before[element], element
    receipt = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Sent to your care team" in receipt


def test_the_first_save_sets_the_task_in_progress_once(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    browser.post_form(CLINIC_FORM, {"q.notes.r": "draft"}, action="continue")
    first = task(e2e.sandbox, "task-sam-throat")
    assert first["status"] == "in-progress" and first["executionPeriod"]["start"]
    browser.post_form(CLINIC_FORM, {"q.notes.r": "draft again"}, action="continue")
    assert task(e2e.sandbox, "task-sam-throat")["meta"]["versionId"] == first["meta"]["versionId"]


def test_sending_twice_writes_one_response_and_completes_the_task_once(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    sid = browser.fill_and_send(CLINIC_FORM, SORE_THROAT_ANSWERS)
    completed = task(e2e.sandbox, "task-sam-throat")
    again = browser.send(CLINIC_FORM, submission_id=sid)  # a browser re-POST of the same send
    assert again.status_code == 303
    assert browser.client.post(browser.url(f"submissions/{sid}/retry"),
                               data={"csrf_token": _csrf(browser, sid)}).status_code == 303
    assert len(responses_to(e2e.sandbox, CLINIC_URL, SAM)) == 1
    assert task(e2e.sandbox, "task-sam-throat")["meta"]["versionId"] == completed["meta"]["versionId"]


def _csrf(browser: Browser, sid: str) -> str:
    from tests.questionnaire_flow.flow import csrf
    return csrf(browser.get(f"submissions/{sid}").get_data(as_text=True))


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_a_task_closed_mid_fill_keeps_the_answers_and_writes_nothing_against_it(e2e, status):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    assert browser.post_form(CLINIC_FORM, SORE_THROAT_ANSWERS).status_code == 303  # valid: on to review
    html, sid = browser.review(CLINIC_FORM)
    closed = e2e.sandbox.store.update({**task(e2e.sandbox, "task-sam-throat"), "status": status})
    response = browser.send(CLINIC_FORM, submission_id=sid)
    assert response.status_code == 303 and "closed=1" in response.headers["Location"]
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "so these answers will not be sent. They are kept here." in page
    assert 'value="1"' in page  # the answers are still there (doses missed)
    assert responses_to(e2e.sandbox, CLINIC_URL, SAM) == []
    assert task(e2e.sandbox, "task-sam-throat") == closed  # not one write against the Task


def test_a_proxy_completes_the_childs_task(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=CAREGIVER))
    sid = browser.fill_and_send("q-child-asthma", {"q.night-cough.r": "2", "q.reliever.r": "false"})
    [qr] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert qr["subject"] == {"reference": f"Patient/{CHILD}"} and qr["author"] == {"reference": CAREGIVER}
    done = task(e2e.sandbox, "task-eli-asthma")
    assert done["status"] == "completed"
    assert _response_output(done)["reference"] == f"QuestionnaireResponse/{qr['id']}"


def test_without_task_scopes_the_form_is_sent_as_before_and_the_task_is_left_alone(e2e, audit_log):
    handle = e2e.launcher.standalone(login=f"Patient/{SAM}", exclude_scopes={"patient/Task.rus"})
    html = e2e.page(handle).get_data(as_text=True)
    assert 'class="visit-panel"' in html and "Sore throat follow-up" not in html  # the visit, no Tasks
    assert "Questionnaires to fill in" in html  # today's behaviour: the library is offered
    browser = Browser(e2e.client, handle)
    sid = browser.fill_and_send("phq-9", {f"q.phq9-q{i}.0": "http://loinc.org|LA6568-5" for i in range(1, 10)})
    assert stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert task(e2e.sandbox, "task-sam-phq9")["status"] == "requested"
    assert any('"assignment.task_scope_missing"' in r.getMessage() for r in audit_log.records)
    assert "Task" not in html.split('class="visit-panel"')[1].split("</section>")[0]
