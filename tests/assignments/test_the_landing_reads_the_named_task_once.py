"""A launch naming a Task reads that Task once: it comes with the wave's Task searches (open, and the newest
closed), not by id beside them; only a Task those searches do not hold is read by id, after them. Against the
real sandbox, counting every request (and every entry of a batch) that names the Task."""
from __future__ import annotations

import io
import json

import pytest

from tests.assignments.test_launch_opens_the_named_form import CLINIC_FORM_URL, TEMP
from tests.fixtures.e2e import PATIENT


@pytest.fixture
def clinic_form(e2e) -> dict:
    """A clinic's own active Questionnaire on the EHR, not in the app's library."""
    return e2e.sandbox.store.create({
        "resourceType": "Questionnaire", "url": CLINIC_FORM_URL, "version": "3", "status": "active",
        "title": "Clinic sleep diary", "item": [{"linkId": "hours", "text": "Hours slept last night", "type": "integer"}]})


def _task(e2e, status: str, code: str = "complete-questionnaire") -> dict:
    """An SDC Task in the sandbox asking Ana to fill the clinic form."""
    return e2e.sandbox.store.create({
        "resourceType": "Task", "status": status, "intent": "order",
        "code": {"coding": [{"system": TEMP, "code": code}]},
        "for": {"reference": f"Patient/{PATIENT}"}, "owner": {"reference": f"Patient/{PATIENT}"},
        "requester": {"reference": "Practitioner/prac-lee"}, "authoredOn": "2026-01-10T09:00:00Z",
        "lastModified": "2026-01-11T17:00:00Z",
        "input": [{"type": {"coding": [{"system": TEMP, "code": "questionnaire"}]}, "valueCanonical": f"{CLINIC_FORM_URL}|3"}]})


def _record_task_reads(e2e) -> list[str]:
    """From now on, note every FHIR request (and batch entry) the sandbox receives, as its URL."""
    urls: list[str] = []
    inner = e2e.sandbox.app.wsgi_app

    def recording(environ, start_response):
        """Note the request (a batch by its entries), then answer it."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        if environ["PATH_INFO"] == "/fhir" and body:
            urls.extend(entry["request"]["url"] for entry in json.loads(body).get("entry") or [])
        else:
            urls.append(environ["PATH_INFO"].removeprefix("/fhir/"))
        return inner(environ, start_response)
    e2e.sandbox.app.wsgi_app = recording
    return urls


def _search(url: str) -> bool:
    """A Task search (a GET has no query here; a batch entry keeps it)."""
    return url == "Task" or url.startswith("Task?")


@pytest.mark.parametrize("status", ["completed", "requested"])
def test_the_landing_reads_the_named_task_with_the_task_searches_only(e2e, clinic_form, status):
    task = _task(e2e, status)
    urls = _record_task_reads(e2e)
    for _ in range(2):  # the first landing learns the server's capabilities; the second sends one batch
        handle = e2e.launcher.ehr(patient=PATIENT, task=f"Task/{task['id']}")
        urls.clear()
        response = e2e.page(handle, "open")
        assert urls.count(f"Task/{task['id']}") == 0  # no read by id beside the searches
        assert [u for u in urls if _search(u)]  # the searches that brought it
    if status == "completed":
        assert response.status_code == 200 and "The patient already filled this in on 11 January 2026." in \
            response.get_data(as_text=True)
    else:
        assert response.status_code == 303


def test_a_named_task_the_searches_do_not_hold_is_read_by_id_after_them(e2e, clinic_form):
    task = _task(e2e, "completed", code="some-other-code")  # not an SDC form request: no search finds it
    handle = e2e.launcher.ehr(patient=PATIENT, task=f"Task/{task['id']}")
    urls = _record_task_reads(e2e)
    e2e.page(handle, "open")
    assert urls.count(f"Task/{task['id']}") == 1
    assert urls.index(f"Task/{task['id']}") > max(i for i, u in enumerate(urls) if _search(u))
