"""SDC Tasks follow the same rules as every other type: scopes per interaction, the patient's
compartment (`Task.for`), conditional create on an identifier, and If-Match on update."""
from __future__ import annotations

import time

import pytest

from sandbox.contracts import AccessGrant
from tests.sandbox_fhir.conftest import GRANTS, auth, ids

TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
ORDER_SYSTEM = "http://example.org/task-orders"


def _task(patient: str = "pat-ana", identifier: str = "order-1", status: str = "requested") -> dict:
    """An SDC 'complete this questionnaire' Task for a patient."""
    return {"resourceType": "Task", "status": status, "intent": "order",
            "identifier": [{"system": ORDER_SYSTEM, "value": identifier}],
            "code": {"coding": [{"system": TEMP, "code": "complete-questionnaire"}]},
            "for": {"reference": f"Patient/{patient}"}, "owner": {"reference": f"Patient/{patient}"},
            "requester": {"reference": "Practitioner/prac-lee"}, "authoredOn": "2026-01-15T09:00:00Z",
            "input": [{"type": {"coding": [{"system": TEMP, "code": "questionnaire"}]},
                       "valueCanonical": "http://example.org/fhir//Questionnaire/phq-2|2.0.0"}]}


@pytest.fixture(autouse=True)
def task_grants(monkeypatch):
    """Tokens with only Task scopes, as a clinician's and a patient's launch get them."""
    def grant(scopes: str, patient: str | None = None, user: str | None = None) -> AccessGrant:
        return AccessGrant(client_id="app", scopes=frozenset(scopes.split()), patient=patient,
                           fhir_user=user, expires_at=time.time() + 3600)
    monkeypatch.setitem(GRANTS, "doc-task-c", grant("user/Task.c", user="Practitioner/prac-lee"))
    monkeypatch.setitem(GRANTS, "doc-task-v1", grant("user/Task.write", user="Practitioner/prac-lee"))
    monkeypatch.setitem(GRANTS, "ana-task-rus", grant("patient/Task.rus", patient="pat-ana"))
    monkeypatch.setitem(GRANTS, "ana-task-rs", grant("patient/Task.rs", patient="pat-ana"))
    monkeypatch.setitem(GRANTS, "ben-task-rus", grant("patient/Task.rus", patient="pat-ben"))


def _create(client, token: str, task: dict, if_none_exist: str | None = None):
    """POST a Task, conditionally when asked."""
    headers = auth(token, **({"If-None-Exist": if_none_exist} if if_none_exist else {}))
    return client.post("/fhir/Task", json=task, headers=headers)


@pytest.mark.parametrize("token,expected", [
    ("doc-task-c", 201), ("doc-task-v1", 201),   # a clinician's create scope, v2 and v1
    ("ana-task-rus", 403), ("ana-task-rs", 403),  # a patient's read/update scopes cannot create
    ("clinician-read", 403),
])
def test_creating_a_task_needs_a_create_scope_on_task(client, token, expected):
    assert _create(client, token, _task()).status_code == expected


def test_a_conditional_create_on_the_order_identifier_makes_one_task(client):
    query = f"identifier={ORDER_SYSTEM}|order-1"
    first = _create(client, "doc-task-c", _task(), query)
    second = _create(client, "doc-task-c", _task(), query)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    found = client.get(f"/fhir/Task?identifier={ORDER_SYSTEM}|order-1", headers=auth("clinician"))
    assert len(ids(found.get_json())) == 1


def test_a_patient_token_sees_and_updates_only_its_own_patients_tasks(client):
    ana = _create(client, "doc-task-c", _task("pat-ana", "a")).get_json()
    ben = _create(client, "doc-task-c", _task("pat-ben", "b")).get_json()
    assert client.get(f"/fhir/Task/{ben['id']}", headers=auth("ana-task-rus")).status_code == 403
    listed = client.get("/fhir/Task?patient=pat-ana", headers=auth("ana-task-rus")).get_json()
    assert ids(listed) == [ana["id"]]
    assert client.get("/fhir/Task?patient=pat-ben", headers=auth("ana-task-rus")).status_code == 403
    stolen = {**ben, "status": "completed"}
    assert client.put(f"/fhir/Task/{ben['id']}", json=stolen, headers=auth("ana-task-rus")).status_code == 403
    moved = {**ana, "for": {"reference": "Patient/pat-ben"}}
    assert client.put(f"/fhir/Task/{ana['id']}", json=moved, headers=auth("ana-task-rus")).status_code == 403
    assert client.put(f"/fhir/Task/{ana['id']}", json={**ana, "status": "in-progress"},
                      headers=auth("ana-task-rs")).status_code == 403  # no `u`


def test_a_task_update_honours_if_match(client):
    task = _create(client, "doc-task-c", _task()).get_json()
    url = f"/fhir/Task/{task['id']}"
    started = client.put(url, json={**task, "status": "in-progress"}, headers=auth("ana-task-rus", **{"If-Match": 'W/"1"'}))
    assert started.status_code == 200 and started.headers["ETag"] == 'W/"2"'
    stale = client.put(url, json={**task, "status": "cancelled"}, headers=auth("clinician", **{"If-Match": 'W/"1"'}))
    assert stale.status_code == 412
    assert client.get(url, headers=auth("clinician")).get_json()["status"] == "in-progress"


def test_tasks_are_searchable_by_owner_requester_code_and_status(client):
    created = _create(client, "doc-task-c", _task()).get_json()
    _create(client, "doc-task-c", {**_task("pat-ana", "other"), "status": "cancelled"})
    query = ("/fhir/Task?patient=pat-ana&owner=Patient/pat-ana&requester=Practitioner/prac-lee"
             f"&code={TEMP}|complete-questionnaire&status=requested,received,accepted,in-progress")
    assert ids(client.get(query, headers=auth("ana-task-rus")).get_json()) == [created["id"]]
