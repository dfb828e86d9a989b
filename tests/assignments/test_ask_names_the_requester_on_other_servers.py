"""The Task the app creates says who asked (`requester.display`) on a server that is not the sandbox: the
clinician's Practitioner is read with the ask's other reads (pytest-httpserver fake of the EHR's HTTP)."""
from __future__ import annotations

import json
from typing import Callable

import pytest

from smart_app.ehr import client as fhir
from tests.assignments.test_orders_on_other_servers import (BASE_SCOPE, FORM, FORM_URL, TASK_SCOPE, TaskStore,
                                                            _capabilities, _json, _searchset, _task_requests)
from tests.fixtures.fake_ehr import token_response
from tests.questionnaire_flow.flow import csrf

DR1 = {"resourceType": "Practitioner", "id": "dr1",
       "name": [{"use": "official", "prefix": ["Dr"], "given": ["Folake"], "family": "Adeyemi"}]}


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


def _ask(client, fake_ehr, clinician, scope: str) -> dict:
    """Ask for the sleep diary on a fake EHR; the Task body the app posted."""
    server = TaskStore()
    fake_ehr.serve_search("Task", server.search)
    fake_ehr.serve_search("Questionnaire", lambda request: _json(_searchset([FORM])))
    fake_ehr.respond_with("/fhir/metadata", lambda r: _json(_capabilities(transaction=False, conditional_create=True)))
    fake_ehr.respond_with("/fhir/Task", server.create, method="POST")
    fake_ehr.serve_resource(DR1)
    handle = clinician(scope)
    page = client.get(f"/l/{handle}/ask").get_data(as_text=True)
    assert client.post(f"/l/{handle}/ask", data={"questionnaire": FORM_URL, "csrf_token": csrf(page)}).status_code == 303
    [post] = _task_requests(fake_ehr, "POST")
    return json.loads(post.get_data())


def test_the_new_task_names_the_clinician_from_their_practitioner_resource(client, clinician, fake_ehr):
    task = _ask(client, fake_ehr, clinician, BASE_SCOPE + TASK_SCOPE + " patient/Practitioner.rs")
    assert task["requester"] == {"reference": "Practitioner/dr1", "display": "Dr Folake Adeyemi"}
    reads = [r for r in fake_ehr.requests() if r.path == "/fhir/Practitioner/dr1"]
    assert len(reads) == 1  # read once, for the ask


def test_without_a_grant_to_read_it_the_task_carries_the_reference_alone(client, clinician, fake_ehr):
    task = _ask(client, fake_ehr, clinician, BASE_SCOPE + TASK_SCOPE)
    assert task["requester"] == {"reference": "Practitioner/dr1"}
    assert not [r for r in fake_ehr.requests() if r.path.startswith("/fhir/Practitioner")]
