"""The patient reads who asked: "Dr. Morgan Lee asked you to fill this in by ...", both for a form the
clinician asked for from the sidebar (the app writes `requester.display` from the clinician's own
resource) and for a Task another system wrote with only `requester.reference` (named from the
requester the Task search includes, in the same read wave). Against the real sandbox."""
from __future__ import annotations

import pytest

from tests.assignments.test_clinician_asks_in_the_sandbox import CLINIC_FORM_URL, _ask, _tasks
from tests.fixtures.e2e import CLINICIAN, PATIENT

from .helpers import panel

TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"


@pytest.fixture
def clinic_form(e2e) -> dict:
    """A clinic's own active Questionnaire on the EHR, not in the app's library."""
    return e2e.sandbox.store.create({
        "resourceType": "Questionnaire", "url": CLINIC_FORM_URL, "version": "3", "status": "active",
        "name": "SleepDiary", "title": "Clinic sleep diary",
        "item": [{"linkId": "hours", "text": "Hours slept last night", "type": "integer"}]})


def _recorded(e2e) -> list[tuple[str, str, str]]:
    """Start recording the requests the sandbox receives: (method, path, query)."""
    log: list[tuple[str, str, str]] = []
    inner = e2e.sandbox.app.wsgi_app

    def recording(environ, start_response):
        """Note the request, then answer it."""
        log.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", "")))
        return inner(environ, start_response)
    e2e.sandbox.app.wsgi_app = recording
    return log


def test_a_form_the_clinician_asked_for_names_them_and_the_patient_reads_it(e2e, clinic_form):
    handle = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    log = _recorded(e2e)
    assert _ask(e2e, handle, f"{CLINIC_FORM_URL}|3", due="2031-01-14").status_code == 303
    [task] = _tasks(e2e)
    assert task["requester"] == {"reference": CLINICIAN, "display": "Dr. Morgan Lee"}
    # The clinician's own resource was read with the ask's other reads, once.
    assert [entry for entry in log if "prac-lee" in entry[1] + entry[2]] in ([], [("GET", f"/fhir/{CLINICIAN}", "")])

    shown = panel(e2e.page(e2e.launcher.standalone(login=f"Patient/{PATIENT}")).get_data(as_text=True))
    assert "Dr. Morgan Lee asked you to fill this in by 14 January 2031." in shown
    assert "Your care team asked you" not in shown


def test_a_task_from_another_system_without_a_display_is_named_in_the_same_read_wave(e2e, clinic_form):
    e2e.sandbox.store.create({
        "resourceType": "Task", "status": "requested", "intent": "order",
        "code": {"coding": [{"system": TEMP, "code": "complete-questionnaire"}]},
        "for": {"reference": f"Patient/{PATIENT}"}, "requester": {"reference": "Practitioner/prac-ortiz"},
        "authoredOn": "2026-01-10T09:00:00Z", "restriction": {"period": {"end": "2031-01-14"}},
        "input": [{"type": {"coding": [{"system": TEMP, "code": "questionnaire"}]},
                   "valueCanonical": f"{CLINIC_FORM_URL}|3"}]})
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    log = _recorded(e2e)
    shown = panel(e2e.page(handle).get_data(as_text=True))
    assert "Dr. Samir Ortiz asked you to fill this in by 14 January 2031." in shown
    # No read of its own: the Task search brought the requester (a batch, or the search's _include).
    assert not [entry for entry in log if entry[1].startswith("/fhir/Practitioner")]


def test_without_a_grant_to_read_practitioners_the_patient_reads_your_care_team(e2e, clinic_form):
    e2e.sandbox.store.create({
        "resourceType": "Task", "status": "requested", "intent": "order",
        "code": {"coding": [{"system": TEMP, "code": "complete-questionnaire"}]},
        "for": {"reference": f"Patient/{PATIENT}"}, "requester": {"reference": "Practitioner/prac-ortiz"},
        "authoredOn": "2026-01-10T09:00:00Z", "restriction": {"period": {"end": "2031-01-14"}},
        "input": [{"type": {"coding": [{"system": TEMP, "code": "questionnaire"}]},
                   "valueCanonical": f"{CLINIC_FORM_URL}|3"}]})
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}",
                                     exclude_scopes=("patient/Practitioner.rs", "patient/PractitionerRole.rs"))
    log = _recorded(e2e)
    shown = panel(e2e.page(handle).get_data(as_text=True))
    assert "Your care team asked you to fill this in by 14 January 2031." in shown
    searches = [query for method, path, query in log if path == "/fhir/Task"]
    assert searches and not [q for q in searches if "_include" in q]  # nothing asked for that could not be read
