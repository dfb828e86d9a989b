"""Planned faults: status codes with Retry-After, latency, stale updates and a dropped connection after commit."""
from __future__ import annotations

import threading

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from sandbox.contracts import PlannedFault
from sandbox.fhir.api import create_fhir_blueprint
from tests.sandbox_fhir.conftest import GRANTS, auth

ANA = auth("ana-all")
OBS = {"resourceType": "Observation", "status": "final", "code": {"text": "Pain score"},
       "identifier": [{"system": "urn:test", "value": "drop-1"}],
       "subject": {"reference": "Patient/pat-ana"}, "valueInteger": 3}


@pytest.mark.parametrize("status,retry_after", [(503, 30), (429, 5), (500, None)])
def test_status_fault_answers_with_outcome_and_retry_after(client, faults, store, status, retry_after):
    faults.plan(PlannedFault(kind="status", status=status, retry_after=retry_after, remaining=2))
    before = store.count("Observation")
    for _ in range(2):
        response = client.post("/fhir/Observation", json=OBS, headers=ANA)
        assert response.status_code == status
        assert response.get_json()["resourceType"] == "OperationOutcome"
        assert response.headers.get("Retry-After") == (str(retry_after) if retry_after else None)
    assert store.count("Observation") == before  # failed writes store nothing
    assert client.post("/fhir/Observation", json=OBS, headers=ANA).status_code == 201


def test_write_faults_leave_reads_alone(client, faults):
    faults.plan(PlannedFault(kind="status", status=500))
    assert client.get("/fhir/Patient/pat-ana", headers=ANA).status_code == 200
    assert client.post("/fhir/Observation", json=OBS, headers=ANA).status_code == 500


def test_faults_apply_only_to_their_launch(client, faults):
    faults.plan(PlannedFault(kind="status", status=503, retry_after=1, launch_id="L-ben"))
    assert client.post("/fhir/Observation", json=OBS, headers=ANA).status_code == 201
    ben_obs = {**OBS, "subject": {"reference": "Patient/pat-ben"}}
    assert client.post("/fhir/Observation", json=ben_obs, headers=auth("ben-all")).status_code == 503


def test_unauthenticated_requests_do_not_consume_faults(client, faults):
    faults.plan(PlannedFault(kind="status", status=500, writes_only=False))
    assert client.get("/fhir/Patient/pat-ana").status_code == 401
    assert client.get("/fhir/Patient/pat-ana", headers=ANA).status_code == 500


def test_latency_fault_delays_the_answer(client, faults, sandbox_sleeps):
    """The planned delay is spent once, before answering; the next request is not delayed."""
    faults.plan(PlannedFault(kind="latency", delay_ms=300, writes_only=False))
    assert client.get("/fhir/Patient/pat-ana", headers=ANA).status_code == 200
    assert sandbox_sleeps == [0.3]
    assert client.get("/fhir/Patient/pat-ana", headers=ANA).status_code == 200
    assert sandbox_sleeps == [0.3]


def test_stale_update_fault_gives_412_once(client, faults):
    resource = client.get("/fhir/Observation/obs-ana-weight-1", headers=ANA).get_json()
    faults.plan(PlannedFault(kind="stale_update"))
    headers = {**ANA, "If-Match": 'W/"1"'}
    first = client.put("/fhir/Observation/obs-ana-weight-1", json=resource, headers=headers)
    assert first.status_code == 412 and first.get_json()["resourceType"] == "OperationOutcome"
    assert client.put("/fhir/Observation/obs-ana-weight-1", json=resource, headers=headers).status_code == 200


def test_stale_update_fault_fails_a_transaction_update(client, faults, store):
    resource = store.read("Observation", "obs-ana-weight-1")
    faults.plan(PlannedFault(kind="stale_update"))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "PUT", "url": "Observation/obs-ana-weight-1"}, "resource": resource}]}
    assert client.post("/fhir", json=bundle, headers=ANA).status_code == 412
    assert store.read("Observation", "obs-ana-weight-1")["meta"]["versionId"] == "1"


def test_stale_update_fault_waits_for_an_update_when_the_plan_knows_interactions(client, faults):
    faults.plan(PlannedFault(kind="stale_update"))
    assert client.post("/fhir/Observation", json=OBS, headers=ANA).status_code == 201
    resource = client.get("/fhir/Observation/obs-ana-weight-1", headers=ANA).get_json()
    assert client.put("/fhir/Observation/obs-ana-weight-1", json=resource, headers=ANA).status_code == 412
    assert faults.seen[-3:] == ["create", "read", "update"]


def test_requests_name_their_interaction(client, faults):
    client.get("/fhir/Patient?_id=pat-ana", headers=ANA)
    client.get("/fhir/Patient/pat-ana/_history/1", headers=ANA)
    client.delete("/fhir/Observation/obs-ana-bp-1", headers=ANA)
    client.post("/fhir", json={"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/pat-ana"}}]}, headers=ANA)
    assert faults.seen == ["search", "vread", "delete", "batch"]


@pytest.fixture
def live_base(store, faults):
    """The FHIR blueprint served by werkzeug on a free loopback port, stopped after the test."""
    app = Flask("sandbox-fhir-live")
    app.register_blueprint(create_fhir_blueprint(store, GRANTS.get, faults))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    thread.join(timeout=5)


def test_drop_after_commit_resets_the_connection_but_stores_once(live_base, faults, store):
    faults.plan(PlannedFault(kind="drop_after_commit"))
    headers = {**ANA, "Content-Type": "application/fhir+json"}
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{live_base}/Observation", json=OBS, headers=headers, timeout=5)
    assert store.count("Observation", identifier="urn:test|drop-1") == 1
    # The retry a careful client makes (conditional create) finds the committed write.
    retry = requests.post(f"{live_base}/Observation", json=OBS, timeout=5,
                          headers={**headers, "If-None-Exist": "identifier=urn:test|drop-1"})
    assert retry.status_code == 200
    assert store.count("Observation", identifier="urn:test|drop-1") == 1


def test_drop_after_commit_without_a_socket_breaks_the_stream(client, faults, store):
    faults.plan(PlannedFault(kind="drop_after_commit"))
    with pytest.raises(ConnectionError):
        client.post("/fhir/Observation", json=OBS, headers=ANA).get_data()
    assert store.count("Observation", identifier="urn:test|drop-1") == 1
