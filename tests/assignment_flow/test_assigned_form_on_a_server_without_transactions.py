"""A server without transactions: the response and Provenance are created first, the Task updated last,
always with If-Match; a Task changed meanwhile is read again, never overwritten blindly."""
from __future__ import annotations

import pytest

from smart_app.ehr import client as fhir
from tests.fixtures.fake_ehr import id_token, token_response
from tests.questionnaire_flow.flow import SYSTEM, Browser

from .fake_task_ehr import SCOPE, TaskEhr

ANSWERS = {"q.mood.r": "Fine"}


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    """The capability cache is per base URL; the fake EHR's URL is shared across tests."""
    fhir.clear_capabilities_cache()
    yield
    fhir.clear_capabilities_cache()


def _launch(launcher, fake_ehr, scope: str = SCOPE, **task) -> tuple[Browser, TaskEhr]:
    """A standalone launch of patient p1 signed in as themselves (their portal)."""
    ehr = TaskEhr(fake_ehr, **task)  # first: it re-serves discovery, which clears earlier handlers
    launcher.serve_patient("p1")
    auth = launcher.authorize(launch=None)
    token = token_response(patient="p1", scope=scope)
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud=auth.params["client_id"],
                                 nonce=auth.params["nonce"], fhirUser="Patient/p1")
    fake_ehr.serve_token_once(token)
    response = launcher.callback(auth.state)
    assert response.status_code == 303, response.get_data(as_text=True)
    return Browser(launcher.client, response.headers["Location"].strip("/").split("/")[-1]), ehr


def _task_writes(ehr: TaskEhr) -> list[tuple[str, str | None, dict]]:
    return [(method, condition, body) for method, type_, condition, body in ehr.writes if type_ == "Task"]


def test_the_task_is_set_in_progress_then_completed_last_with_if_match(client, launcher, fake_ehr):
    browser, ehr = _launch(launcher, fake_ehr)
    home = browser.get("").get_data(as_text=True)
    assert "Dr Adeyemi asked you to fill this in by 14 January 2030." in home
    sid = browser.fill_and_send("mood-check", ANSWERS)

    order = [(method, type_) for method, type_, _, _ in ehr.writes]
    assert order == [("PUT", "Task"), ("POST", "QuestionnaireResponse"), ("POST", "Provenance"), ("PUT", "Task")]
    (_, first_match, in_progress), (_, last_match, completed) = _task_writes(ehr)
    assert (first_match, in_progress["status"]) == ('W/"1"', "in-progress")
    assert (last_match, completed["status"]) == ('W/"2"', "completed")
    [output] = completed["output"]
    assert output["valueReference"]["reference"] == "QuestionnaireResponse/1"
    assert output["valueReference"]["identifier"] == {"system": SYSTEM, "value": sid}
    assert ehr.task["status"] == "completed"


def test_a_task_changed_meanwhile_is_read_again_and_completed_against_the_new_version(client, launcher, fake_ehr):
    browser, ehr = _launch(launcher, fake_ehr, status="in-progress")
    browser.post_form("mood-check", ANSWERS)
    html, sid = browser.review("mood-check")
    ehr.refuse_next_put_as_changed = True  # a clinician edits the Task between our read and our PUT
    assert browser.send("mood-check", submission_id=sid).status_code == 303

    puts = _task_writes(ehr)
    assert [match for _, match, _ in puts] == ['W/"1"', 'W/"2"']  # refused once, then against the version re-read
    assert ehr.task["status"] == "completed"
    assert [t for _, t, _, _ in ehr.writes].count("QuestionnaireResponse") == 2  # the retry's conditional create...
    assert len([c for c in ehr.created.values() if c["resourceType"] == "QuestionnaireResponse"]) == 1  # ...stored once


def test_a_resend_after_completion_completes_nothing_twice(client, launcher, fake_ehr):
    browser, ehr = _launch(launcher, fake_ehr, status="in-progress")
    sid = browser.fill_and_send("mood-check", ANSWERS)
    version = ehr.version
    from tests.questionnaire_flow.flow import csrf
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    browser.client.post(browser.url(f"submissions/{sid}/retry"), data={"csrf_token": csrf(page)})
    assert ehr.version == version and len(_task_writes(ehr)) == 1


def test_a_task_cancelled_before_the_send_gets_no_write_and_the_answers_stay(client, launcher, fake_ehr):
    browser, ehr = _launch(launcher, fake_ehr, status="in-progress")
    browser.post_form("mood-check", ANSWERS)
    html, sid = browser.review("mood-check")
    ehr.change_elsewhere(status="cancelled")
    response = browser.send("mood-check", submission_id=sid)
    assert "closed=1" in response.headers["Location"]
    assert ehr.writes == []  # not the response, not the Task
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your care team closed this request" in page and "Fine" in page


def test_with_task_read_but_not_update_the_form_is_sent_and_the_task_left_alone(client, launcher, fake_ehr, audit_log):
    browser, ehr = _launch(launcher, fake_ehr, scope=SCOPE.replace("patient/Task.rus", "patient/Task.rs"))
    assert "Dr Adeyemi asked you to fill this in" in browser.get("").get_data(as_text=True)
    browser.fill_and_send("mood-check", ANSWERS)
    assert [type_ for _, type_, _, _ in ehr.writes] == ["QuestionnaireResponse", "Provenance"]
    assert ehr.task["status"] == "requested"
    assert any('"assignment.task_not_updated"' in r.getMessage() and "no Task write scope" in r.getMessage()
               for r in audit_log.records)
