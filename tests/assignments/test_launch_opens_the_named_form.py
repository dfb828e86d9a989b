"""An EHR launch whose fhirContext names a Questionnaire or a Task opens that form, not the home page;
one already completed says so and offers to fill it in again."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from smart_app.context import parse_token_response
from tests.fixtures.e2e import CLINICIAN, PATIENT

TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
CLINIC_FORM_URL = "http://clinic.example.org/fhir/Questionnaire/sleep-diary"


@pytest.fixture
def clinic_form(e2e) -> dict:
    """A clinic's own active Questionnaire on the EHR, not in the app's library."""
    return e2e.sandbox.store.create({
        "resourceType": "Questionnaire", "url": CLINIC_FORM_URL, "version": "3", "status": "active",
        "title": "Clinic sleep diary", "item": [{"linkId": "hours", "text": "Hours slept last night", "type": "integer"}]})


def _task(e2e, status: str = "requested") -> dict:
    """An SDC Task in the sandbox asking Ana to fill the clinic form."""
    return e2e.sandbox.store.create({
        "resourceType": "Task", "status": status, "intent": "order",
        "code": {"coding": [{"system": TEMP, "code": "complete-questionnaire"}]},
        "for": {"reference": f"Patient/{PATIENT}"}, "owner": {"reference": f"Patient/{PATIENT}"},
        "requester": {"reference": CLINICIAN}, "authoredOn": "2026-01-10T09:00:00Z", "lastModified": "2026-01-11T17:00:00Z",
        "input": [{"type": {"coding": [{"system": TEMP, "code": "questionnaire"}]},
                   "valueCanonical": f"{CLINIC_FORM_URL}|3"}]})


def _landing(e2e, handle: str):
    """The page the launch landed on (the callback's redirect target), fetched."""
    return e2e.page(handle, "open")


def test_a_launch_naming_a_questionnaire_opens_that_form(e2e):
    phq9 = e2e.sandbox.first("Questionnaire", lambda q: q.get("url", "").endswith("/phq-9"))
    handle = e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{phq9['id']}")
    response = _landing(e2e, handle)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/l/{handle}/questionnaires/{phq9['id']}")


def _callback_target(e2e, **context) -> str:
    """Run an EHR launch with this context up to the app's callback; return where the callback redirects."""
    def deliver(client, location: str) -> str:
        """Hand the authorization response to the app and keep its redirect."""
        parts = urlsplit(location)
        return client.get(parts.path, query_string=parse_qsl(parts.query)).headers["Location"]

    launch = e2e.sandbox.new_launch(patient=PATIENT, practitioner=CLINICIAN, **context)
    return e2e.launcher._run({"iss": e2e.sandbox.fhir_base, "launch": launch.launch_id}, login=None, patient=None,
                             exclude_scopes=(), client=None, deliver=deliver)


def test_the_callback_sends_a_launch_naming_a_form_to_it_and_any_other_launch_home(e2e):
    assert _callback_target(e2e, questionnaire="Questionnaire/phq-9").endswith("/open")
    assert _callback_target(e2e).endswith("/") and not _callback_target(e2e).endswith("/open")


@pytest.mark.parametrize("item,opens", [
    ({"reference": "Questionnaire/q1"}, True),
    ({"reference": "Task/t1"}, True),
    ({"canonical": "http://example.org/Questionnaire/q|1", "type": "Questionnaire"}, True),
    ({"canonical": "http://example.org/Questionnaire/q|1"}, True),
    ({"reference": "Task/t1", "role": "https://example.org/other-role"}, False),
    ({"reference": "Observation/o1"}, False),
    ({"canonical": "http://example.org/ValueSet/v", "type": "ValueSet"}, False),
])
def test_which_fhir_context_opens_a_form(item, opens):
    context = parse_token_response({"access_token": "a", "patient": "p1", "fhirContext": [item]}, handle="h",
                                   iss="https://ehr.example/fhir", client_id="c", launch_mode="ehr", requested_scope="",
                                   fhir_user=None, now=0)
    assert context.opens_a_form is opens


def test_a_launch_naming_a_task_opens_the_form_it_asks_for(e2e, clinic_form):
    task = _task(e2e)
    handle = e2e.launcher.ehr(patient=PATIENT, task=f"Task/{task['id']}")
    response = _landing(e2e, handle)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/l/{handle}/questionnaires/{clinic_form['id']}")
    assert "Hours slept last night" in e2e.client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_launch_naming_a_completed_task_says_so_and_offers_to_fill_it_in_again(e2e, clinic_form):
    task = _task(e2e, status="completed")
    handle = e2e.launcher.ehr(patient=PATIENT, task=f"Task/{task['id']}")
    response = _landing(e2e, handle)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The patient already filled this in on 11 January 2026." in page  # a date, not ISO
    assert f'href="/l/{handle}/questionnaires/{clinic_form["id"]}">Fill in again</a>' in page


def test_a_launch_naming_a_task_whose_form_is_missing_says_it_could_not_be_opened(e2e):
    task = _task(e2e)  # the clinic form was never stored
    handle = e2e.launcher.ehr(patient=PATIENT, task=f"Task/{task['id']}")
    response = _landing(e2e, handle)
    assert response.status_code == 200
    assert "This form could not be opened" in response.get_data(as_text=True)
