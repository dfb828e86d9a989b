"""Asking and cancelling against other servers' semantics (pytest-httpserver fakes of the EHR's HTTP):
a grant without Task scopes, a 412 on the cancel, and a server without transactions or conditional create."""
from __future__ import annotations

import json
import re
import threading
from typing import Any, Callable

import pytest
from werkzeug import Request, Response

from smart_app.ehr import client as fhir
from smart_app.assignments.model import COMPLETE_QUESTIONNAIRE, INPUT_QUESTIONNAIRE, SDC_TASK_CODE_SYSTEM
from tests.fixtures.fake_ehr import token_response
from tests.questionnaire_flow.flow import csrf

FORM_URL = "https://clinic.example/Questionnaire/sleep"
BASE_SCOPE = "launch openid fhirUser patient/Patient.r patient/Questionnaire.rs patient/QuestionnaireResponse.crus"
TASK_SCOPE = " patient/Task.rus user/Task.c"
FHIR_JSON = "application/fhir+json"


def _json(body: Any, status: int = 200, **headers: str) -> Response:
    """A FHIR JSON response."""
    return Response(json.dumps(body), status=status, content_type=FHIR_JSON, headers=headers)


def _searchset(resources: list[dict]) -> dict:
    """A searchset Bundle of these matches."""
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}


def _capabilities(*, transaction: bool, conditional_create: bool) -> dict:
    """A CapabilityStatement declaring (or not) transactions and conditional create of Task."""
    rest: dict[str, Any] = {"mode": "server", "resource": [{"type": "Task", "conditionalCreate": conditional_create}]}
    if transaction:
        rest["interaction"] = [{"code": "transaction"}]
    return {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
            "format": ["json"], "rest": [rest]}


def _task(version: str, status: str = "requested", requester: str = "Practitioner/dr1") -> dict:
    """The Task the fake EHR holds, at a version."""
    return {"resourceType": "Task", "id": "t1", "meta": {"versionId": version}, "status": status, "intent": "order",
            "description": "Sleep diary", "code": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": COMPLETE_QUESTIONNAIRE}]},
            "for": {"reference": "Patient/p1"}, "owner": {"reference": "Patient/p1"}, "requester": {"reference": requester},
            "authoredOn": "2026-01-10T09:00:00Z",
            "input": [{"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": INPUT_QUESTIONNAIRE}]},
                       "valueCanonical": FORM_URL}]}


FORM = {"resourceType": "Questionnaire", "id": "sleep", "url": FORM_URL, "status": "active", "title": "Sleep diary",
        "item": [{"linkId": "h", "text": "Hours", "type": "integer"}]}


@pytest.fixture(autouse=True)
def fresh_capabilities():
    """Each fake server's CapabilityStatement is read anew (the client caches it per base URL)."""
    fhir.clear_capabilities_cache()
    yield
    fhir.clear_capabilities_cache()


@pytest.fixture
def clinician(launcher, fake_ehr) -> Callable[..., str]:
    """An EHR launch as Practitioner/dr1 for patient p1 with these scopes; returns the handle."""
    def launch(scope: str) -> str:
        handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=scope))
        return handle
    return launch


def _task_requests(fake_ehr, method: str | None = None) -> list[Request]:
    """The requests the app sent to /fhir/Task (type or instance level)."""
    return [r for r in fake_ehr.requests() if r.path.startswith("/fhir/Task") and (method is None or r.method == method)]


def test_without_task_scopes_the_sidebar_says_so_and_nothing_reaches_the_ehrs_tasks(client, clinician, fake_ehr):
    handle = clinician(BASE_SCOPE)
    home = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert "did not give this app access to the patient's form requests" in home
    assert "Ask the patient to fill in a form" not in home
    assert client.get(f"/l/{handle}/ask").status_code == 403
    assert client.post(f"/l/{handle}/ask", data={"questionnaire": FORM_URL, "csrf_token": csrf(home)}).status_code == 403
    assert client.post(f"/l/{handle}/requests/t1/cancel", data={"csrf_token": csrf(home)}).status_code == 303
    assert _task_requests(fake_ehr) == []


class VersionedTask:
    """The fake EHR's one Task: reads return the current version; PUTs are answered from a script."""

    def __init__(self, versions: list[dict], put_statuses: list[int]) -> None:
        """`versions[i]` is what the i-th read returns; `put_statuses[i]` answers the i-th PUT."""
        self.versions, self.put_statuses = versions, put_statuses
        self.reads = 0
        self.puts: list[tuple[str | None, dict]] = []
        self.lock = threading.Lock()

    def read(self, request: Request) -> Response:
        """GET Task/t1."""
        with self.lock:
            current = self.versions[min(self.reads, len(self.versions) - 1)]
            self.reads += 1
        return _json(current, ETag=f'W/"{current["meta"]["versionId"]}"')

    def put(self, request: Request) -> Response:
        """PUT Task/t1: 412 or 200 as scripted."""
        body = json.loads(request.get_data())
        with self.lock:
            status = self.put_statuses[len(self.puts)]
            self.puts.append((request.headers.get("If-Match"), body))
        if status == 412:
            return _json({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "conflict"}]}, 412)
        stored = {**body, "meta": {"versionId": str(int(body["meta"]["versionId"]) + 1)}}
        return _json(stored, 200, ETag=f'W/"{stored["meta"]["versionId"]}"')


def _cancel(client, fake_ehr, clinician, task: VersionedTask) -> str:
    """Serve the Task, launch, post the cancel from the home page; return the page it leads to."""
    fake_ehr.serve_search("Task", lambda request: _json(_searchset([task.versions[0]])))
    fake_ehr.respond_with("/fhir/Task/t1", task.read)
    fake_ehr.respond_with("/fhir/Task/t1", task.put, method="PUT")
    handle = clinician(BASE_SCOPE + TASK_SCOPE)
    home = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert re.search(r'id="request-t1".*?Cancel request', home, re.S)
    response = client.post(f"/l/{handle}/requests/t1/cancel", data={"csrf_token": csrf(home)})
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_412_on_cancel_is_read_again_and_decided_again_then_cancelled_with_the_new_version(client, clinician, fake_ehr):
    task = VersionedTask([_task("1"), _task("2", status="in-progress")], put_statuses=[412, 200])
    page = _cancel(client, fake_ehr, clinician, task)
    assert [if_match for if_match, _ in task.puts] == ['W/"1"', 'W/"2"']
    assert task.puts[1][1]["status"] == "cancelled"
    assert task.puts[1][1]["meta"]["versionId"] == "2"  # the body sent is the re-read version, changed only in status
    assert "The request for Sleep diary was cancelled." in page


def test_a_412_whose_re_read_shows_the_form_completed_overwrites_nothing(client, clinician, fake_ehr):
    task = VersionedTask([_task("1"), _task("2", status="completed")], put_statuses=[412])
    page = _cancel(client, fake_ehr, clinician, task)
    assert len(task.puts) == 1  # the completed Task is never written
    assert "The patient has already filled in Sleep diary, so the request was not cancelled." in page


def test_a_task_someone_else_asked_for_has_no_cancel_button_and_a_forged_cancel_writes_nothing(client, clinician, fake_ehr):
    other = _task("1", requester="Practitioner/dr2")
    task = VersionedTask([other], put_statuses=[])
    fake_ehr.serve_search("Task", lambda request: _json(_searchset([other])))
    fake_ehr.respond_with("/fhir/Task/t1", task.read)
    handle = clinician(BASE_SCOPE + TASK_SCOPE)
    home = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert 'id="request-t1"' in home and "Cancel request" not in home
    response = client.post(f"/l/{handle}/requests/t1/cancel", data={"csrf_token": csrf(home)})
    assert "Only the clinician who asked for Sleep diary can cancel" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _task_requests(fake_ehr, "PUT") == []


class TaskStore:
    """A server that stores Tasks and searches them by identifier, with or without conditional create."""

    def __init__(self) -> None:
        """Nothing stored yet."""
        self.tasks: list[dict] = []
        self.lock = threading.Lock()

    def create(self, request: Request) -> Response:
        """POST Task: store it (honouring If-None-Exist only when the server says it supports it)."""
        body = json.loads(request.get_data())
        with self.lock:
            stored = {**body, "id": f"t{len(self.tasks) + 1}", "meta": {"versionId": "1"}}
            self.tasks.append(stored)
        return _json(stored, 201, Location=f"Task/{stored['id']}/_history/1")

    def search(self, request: Request) -> Response:
        """GET Task?identifier=system|value or ?patient=...: the stored matches."""
        wanted = request.args.get("identifier")
        with self.lock:
            found = [t for t in self.tasks if wanted is None or
                     any(f"{i['system']}|{i['value']}" == wanted for i in t.get("identifier") or [])]
        return _json(_searchset(found))


def test_a_server_without_transactions_or_conditional_create_still_gets_one_task_from_a_double_submit(
        client, clinician, fake_ehr):
    server = TaskStore()
    fake_ehr.serve_search("Task", server.search)
    fake_ehr.serve_search("Questionnaire", lambda request: _json(_searchset([FORM])))
    fake_ehr.respond_with("/fhir/metadata", lambda r: _json(_capabilities(transaction=False, conditional_create=False)))
    fake_ehr.respond_with("/fhir/Task", server.create, method="POST")
    handle = clinician(BASE_SCOPE + TASK_SCOPE)
    page = client.get(f"/l/{handle}/ask").get_data(as_text=True)
    assert "Sleep diary" in page
    answers = [client.post(f"/l/{handle}/ask", data={"questionnaire": FORM_URL, "csrf_token": csrf(page)}) for _ in range(2)]
    assert [a.status_code for a in answers] == [303, 303]
    posts = _task_requests(fake_ehr, "POST")
    assert len(posts) == 1 and "If-None-Exist" not in posts[0].headers
    assert len(server.tasks) == 1 and server.tasks[0]["status"] == "requested"
    assert "has already been asked to fill in Sleep diary" in client.get(answers[1].headers["Location"]).get_data(as_text=True)


def test_a_server_with_conditional_create_gets_if_none_exist_on_the_order_identifier(client, clinician, fake_ehr):
    server = TaskStore()
    fake_ehr.serve_search("Task", server.search)
    fake_ehr.serve_search("Questionnaire", lambda request: _json(_searchset([FORM])))
    fake_ehr.respond_with("/fhir/metadata", lambda r: _json(_capabilities(transaction=False, conditional_create=True)))
    fake_ehr.respond_with("/fhir/Task", server.create, method="POST")
    handle = clinician(BASE_SCOPE + TASK_SCOPE)
    page = client.get(f"/l/{handle}/ask").get_data(as_text=True)
    assert client.post(f"/l/{handle}/ask", data={"questionnaire": FORM_URL, "csrf_token": csrf(page)}).status_code == 303
    [post] = _task_requests(fake_ehr, "POST")
    [stored] = server.tasks
    identifier = stored["identifier"][0]
    assert post.headers["If-None-Exist"] == f"identifier={identifier['system']}|{identifier['value']}"
