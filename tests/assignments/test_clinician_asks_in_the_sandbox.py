"""End to end against the sandbox: a clinician opens the chart, the sidebar shows the forms asked, they ask the
patient to fill a clinic form (one Task, however often the button is pressed), cancel it, and ask again."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.fixtures.e2e import CLINICIAN, PATIENT
from tests.questionnaire_flow.flow import csrf

CLINIC_FORM_URL = "http://clinic.example.org/fhir/Questionnaire/sleep-diary"
ORDER_SYSTEM = "http://smart-previsit.example.org/fhir/sid/questionnaire-order"


@pytest.fixture
def clinic_form(e2e) -> dict:
    """A clinic's own active Questionnaire on the EHR, not in the app's library."""
    return e2e.sandbox.store.create({
        "resourceType": "Questionnaire", "url": CLINIC_FORM_URL, "version": "3", "status": "active",
        "name": "SleepDiary", "title": "Clinic sleep diary",
        "item": [{"linkId": "hours", "text": "Hours slept last night", "type": "integer"}]})


def _tasks(e2e, patient: str = PATIENT) -> list[dict]:
    """The sandbox's Tasks for this patient made by the app (our order identifier)."""
    return [t for t in e2e.sandbox.resources("Task")
            if t.get("for", {}).get("reference") == f"Patient/{patient}"
            and any(i.get("system") == ORDER_SYSTEM for i in t.get("identifier") or [])]


def _ask(e2e, handle: str, canonical: str, **extra: str) -> Any:
    """Open the picker (a search for the form), then post the choice as the browser would."""
    page = e2e.page(handle, "ask?q=sleep")
    assert page.status_code == 200
    return e2e.client.post(f"/l/{handle}/ask", data={"questionnaire": canonical, "csrf_token": csrf(page.get_data(as_text=True)),
                                                      **extra})


def _home(e2e, handle: str) -> str:
    """The launch home page (the sidebar)."""
    response = e2e.page(handle)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_clinician_asks_the_patient_to_fill_a_clinic_form_and_the_ehr_holds_one_requested_task(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    home = _home(e2e, handle)
    assert "Forms asked for this visit" in home and "No forms have been asked for yet." in home
    picker = e2e.page(handle, "ask?q=sleep").get_data(as_text=True)
    assert "Clinic sleep diary" in picker and f'value="{CLINIC_FORM_URL}|3"' in picker

    first = _ask(e2e, handle, f"{CLINIC_FORM_URL}|3")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"/l/{handle}/")
    [task] = _tasks(e2e)
    assert (task["status"], task["intent"]) == ("requested", "order")
    assert task["input"][0]["valueCanonical"] == f"{CLINIC_FORM_URL}|3"
    assert task["requester"]["reference"] == CLINICIAN
    assert task["for"] == task["owner"] == {"reference": f"Patient/{PATIENT}"}
    visit = e2e.sandbox.read("Encounter", task["encounter"]["reference"].split("/")[1])
    assert visit["subject"]["reference"] == f"Patient/{PATIENT}"
    # Ana's visit is in progress today: the form is due by the end of today (a visit ahead: its start).
    assert task["restriction"]["period"]["end"] == datetime.now(timezone.utc).date().isoformat()
    assert visit["status"] == "in-progress"

    home = _home(e2e, handle)
    assert "The patient has been asked to fill in Clinic sleep diary." in home
    line = re.search(r'<li class="request-line request-asked" id="request-%s">.*?</li>' % task["id"], home, re.S)
    assert line and "Clinic sleep diary" in line.group(0) and "Cancel request" in line.group(0)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", line.group(0).split("<form")[0])  # a clinician reads dates, not ISO


def test_a_double_submit_still_makes_one_task(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    page = e2e.page(handle, "ask").get_data(as_text=True)
    data = {"questionnaire": f"{CLINIC_FORM_URL}|3", "csrf_token": csrf(page)}
    answers = [e2e.client.post(f"/l/{handle}/ask", data=data) for _ in range(2)]
    assert [a.status_code for a in answers] == [303, 303]
    assert len(_tasks(e2e)) == 1
    assert "has already been asked to fill in Clinic sleep diary" in _home(e2e, handle)


def test_cancel_then_ask_again_makes_a_second_task_and_the_first_stays_cancelled(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    _ask(e2e, handle, f"{CLINIC_FORM_URL}|3")
    [task] = _tasks(e2e)
    home = _home(e2e, handle)
    response = e2e.client.post(f"/l/{handle}/requests/{task['id']}/cancel", data={"csrf_token": csrf(home)})
    assert response.status_code == 303
    stored = e2e.sandbox.read("Task", task["id"])
    assert stored["status"] == "cancelled" and stored["meta"]["versionId"] == "2"
    assert "The request for Clinic sleep diary was cancelled." in _home(e2e, handle)
    _ask(e2e, handle, f"{CLINIC_FORM_URL}|3")
    assert sorted(t["status"] for t in _tasks(e2e)) == ["cancelled", "requested"]


def test_a_cancel_without_the_csrf_token_changes_nothing(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    _ask(e2e, handle, f"{CLINIC_FORM_URL}|3")
    [task] = _tasks(e2e)
    assert e2e.client.post(f"/l/{handle}/requests/{task['id']}/cancel").status_code in (400, 403)
    assert e2e.sandbox.read("Task", task["id"])["status"] == "requested"


def test_without_the_task_create_scope_the_ask_button_is_hidden_and_the_page_refused(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN, exclude_scopes=["user/Task.c"])
    home = _home(e2e, handle)
    assert "Forms asked for this visit" in home and "Ask the patient to fill in a form" not in home
    assert e2e.page(handle, "ask").status_code == 403
    assert e2e.client.post(f"/l/{handle}/ask", data={"questionnaire": f"{CLINIC_FORM_URL}|3",
                                                     "csrf_token": csrf(home)}).status_code == 403
    assert _tasks(e2e) == []


def test_a_patient_never_sees_the_ask_page(e2e, clinic_form):
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    assert e2e.page(handle, "ask").status_code == 403
    assert "Forms asked for this visit" not in _home(e2e, handle)


def test_the_search_text_is_shown_escaped(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    page = e2e.page(handle, "ask?q=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
