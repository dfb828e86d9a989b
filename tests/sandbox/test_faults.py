"""Each fault knob does what the developer page says, per launch or for every launch."""
from __future__ import annotations


import pytest
import requests

from sandbox.contracts import PlannedFault
from sandbox.faults import FaultBoard, UnknownFault
from tests.sandbox.oauth import SmartClient, query_of

SCOPE = "launch openid fhirUser offline_access patient/Patient.r patient/Observation.rs patient/Observation.c " \
        "patient/QuestionnaireResponse.crus"


# --- the board itself -------------------------------------------------------------------------

def test_a_fault_is_used_up_after_its_count():
    board = FaultBoard()
    board.fail_writes(2, status=503)
    assert board.take(is_write=False, launch_id=None) is None
    assert board.take(is_write=True, launch_id="a").status == 503
    assert board.take(is_write=True, launch_id="b").retry_after == 2
    assert board.take(is_write=True, launch_id="a") is None


def test_a_launch_fault_only_hits_that_launch():
    board = FaultBoard()
    board.stale_next_update(launch_id="mine")
    assert board.take(is_write=True, launch_id="other") is None
    assert board.take(is_write=True, launch_id="mine").kind == "stale_update"


def test_stale_update_waits_for_an_update_when_the_interaction_is_known():
    board = FaultBoard()
    board.stale_next_update()
    assert board.take(is_write=True, launch_id=None, interaction="create") is None
    assert board.take(is_write=True, launch_id=None, interaction="update").kind == "stale_update"


def test_latency_applies_to_reads_too():
    board = FaultBoard()
    board.add_latency(250, 1)
    fault = board.take(is_write=False, launch_id=None)
    assert fault == PlannedFault(kind="latency", delay_ms=250, remaining=0, writes_only=False)


@pytest.mark.parametrize("call", [
    lambda b: b.fail_writes(1, status=404),
    lambda b: b.add_latency(-1),
    lambda b: b.preset_for_launch("x", ["no-such-fault"]),
    lambda b: b.fail_writes(0),
])
def test_nonsense_faults_are_rejected(call):
    with pytest.raises(UnknownFault):
        call(FaultBoard())


# --- through HTTP, with real tokens -------------------------------------------------------------

def _ehr_token(sandbox, *faults: str) -> tuple[SmartClient, dict]:
    """An EHR launch (optionally with fault presets from the developer-page URL) and its token response."""
    patient = sandbox.first("Patient")
    link = requests.get(f"{sandbox.base_url}/ehr/launch/{patient['id']}", params={"fault": list(faults)},
                        allow_redirects=False, timeout=10)
    launch = query_of(link.headers["Location"])["launch"]
    client = SmartClient(sandbox)
    attempt = client.code(launch=launch, scope=SCOPE)
    body = client.token(attempt).json()
    body["launch_id"] = launch
    return client, body


def _observation(patient_id: str) -> dict:
    """A small valid vital-sign Observation."""
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}], "text": "Body weight"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": "2026-01-01T10:00:00Z",
            "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}


def _post_observation(client: SmartClient, body: dict) -> requests.Response:
    """Create an Observation for the launch's patient."""
    return client.fhir(body["access_token"], "Observation", "POST", json=_observation(body["patient"]),
                       headers={"Content-Type": "application/fhir+json"})


def test_expire_now_makes_fhir_answer_401_until_the_app_refreshes(sandbox_server):
    client, body = _ehr_token(sandbox_server)
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 200
    result = sandbox_server.set_fault("expire_token", launch_id=body["launch_id"])
    assert result["affected"] == 1
    expired = client.fhir(body["access_token"], f"Patient/{body['patient']}")
    assert expired.status_code == 401
    assert expired.json()["resourceType"] == "OperationOutcome"
    renewed = client.refresh(body["refresh_token"]).json()
    assert client.fhir(renewed["access_token"], f"Patient/{body['patient']}").status_code == 200


def test_expire_preset_on_the_launch_url_expires_only_the_first_token(sandbox_server):
    client, body = _ehr_token(sandbox_server, "expire_token")
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 401
    renewed = client.refresh(body["refresh_token"]).json()
    assert client.fhir(renewed["access_token"], f"Patient/{body['patient']}").status_code == 200


def test_expire_now_for_one_launch_leaves_other_launches_alone(sandbox_server):
    client, mine = _ehr_token(sandbox_server)
    _, other = _ehr_token(sandbox_server)
    sandbox_server.set_fault("expire_token", launch_id=mine["launch_id"])
    assert client.fhir(mine["access_token"], f"Patient/{mine['patient']}").status_code == 401
    assert client.fhir(other["access_token"], f"Patient/{other['patient']}").status_code == 200


def test_revoke_refresh_makes_the_next_refresh_fail(sandbox_server):
    client, body = _ehr_token(sandbox_server)
    sandbox_server.set_fault("revoke_refresh", launch_id=body["launch_id"])
    response = client.refresh(body["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revoke_refresh_preset_on_the_launch_url(sandbox_server):
    client, body = _ehr_token(sandbox_server, "revoke_refresh")
    assert client.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, 3), (429, 1)])
def test_failed_writes_answer_with_the_status_and_retry_after(sandbox_server, status, retry_after):
    client, body = _ehr_token(sandbox_server)
    params = {"count": 1, "status": status, "launch_id": body["launch_id"]}
    if retry_after is not None:
        params["retry_after"] = retry_after
    sandbox_server.set_fault("fail_writes", **params)
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 200  # reads pass
    before = len(sandbox_server.resources("Observation"))
    failed = _post_observation(client, body)
    assert failed.status_code == status
    assert failed.headers.get("Retry-After") == (str(retry_after) if retry_after is not None else None)
    assert failed.json()["resourceType"] == "OperationOutcome"
    assert len(sandbox_server.resources("Observation")) == before
    assert _post_observation(client, body).status_code == 201


def test_latency_delays_the_next_request(sandbox_server, sandbox_sleeps):
    """The admin knob's delay is spent on the next FHIR request only."""
    client, body = _ehr_token(sandbox_server)
    sandbox_server.set_fault("latency", delay_ms=400, count=1)
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 200
    assert sandbox_sleeps == [0.4]
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 200
    assert sandbox_sleeps == [0.4]


def test_drop_after_commit_stores_the_write_but_gives_no_response(sandbox_server):
    client, body = _ehr_token(sandbox_server)
    sandbox_server.set_fault("drop_after_commit", launch_id=body["launch_id"])
    before = len(sandbox_server.resources("Observation"))
    with pytest.raises(requests.ConnectionError):
        _post_observation(client, body)
    assert len(sandbox_server.resources("Observation")) == before + 1


def test_stale_update_answers_412_on_the_next_update(sandbox_server):
    client, body = _ehr_token(sandbox_server)
    qr = {"resourceType": "QuestionnaireResponse", "status": "in-progress",
          "subject": {"reference": f"Patient/{body['patient']}"}, "authored": "2026-01-01T10:00:00Z"}
    created = client.fhir(body["access_token"], "QuestionnaireResponse", "POST", json=qr,
                          headers={"Content-Type": "application/fhir+json", "Prefer": "return=representation"})
    assert created.status_code == 201, created.text
    stored = created.json()
    sandbox_server.set_fault("stale_update", launch_id=body["launch_id"])
    stored["status"] = "completed"
    path = f"QuestionnaireResponse/{stored['id']}"
    headers = {"Content-Type": "application/fhir+json", "If-Match": created.headers["ETag"]}
    assert client.fhir(body["access_token"], path, "PUT", json=stored, headers=headers).status_code == 412
    assert client.fhir(body["access_token"], path, "PUT", json=stored, headers=headers).status_code == 200


def test_admin_endpoint_plans_lists_and_clears_faults(sandbox_server):
    url = sandbox_server.base_url + "/admin/faults"
    response = requests.post(url, json={"action": "fail_writes", "count": 2, "status": 503, "retry_after": 4},
                             timeout=10)
    assert response.status_code == 200
    pending = requests.get(url, timeout=10).json()["pending"]
    assert pending == [{"kind": "status", "status": 503, "retry_after": 4, "delay_ms": 0, "remaining": 2,
                        "writes_only": True, "launch_id": None, "extra": {}}]
    assert requests.post(url, json={"action": "explode"}, timeout=10).status_code == 400
    assert requests.post(url, json={"action": "fail_writes", "status": 418}, timeout=10).status_code == 400
    requests.post(url, json={"action": "clear"}, timeout=10)
    assert requests.get(url, timeout=10).json()["pending"] == []


def test_developer_page_form_sets_a_fault_and_returns_to_the_page(sandbox_server):
    session = requests.Session()
    response = session.post(sandbox_server.base_url + "/admin/faults",
                            data={"action": "latency", "delay_ms": "50", "count": "3", "launch_id": ""}, timeout=10)
    assert response.status_code == 200 and response.url.endswith("/dev")
    assert "Fault set: latency" in response.text
    assert sandbox_server.faults.pending()[0]["remaining"] == 3


def test_admin_endpoint_refuses_cross_site_posts(sandbox_server):
    url = sandbox_server.base_url + "/admin/faults"
    response = requests.post(url, data={"action": "clear"}, headers={"Origin": "http://evil.example"}, timeout=10)
    assert response.status_code == 403
    same_site = requests.post(url, json={"action": "stale_update"}, headers={"Origin": sandbox_server.base_url},
                              timeout=10)
    assert same_site.status_code == 200
