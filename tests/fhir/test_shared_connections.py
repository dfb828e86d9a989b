"""The process-wide FHIR session is shared by launches, so it must carry nothing from one to another."""
from __future__ import annotations

import os

import pytest

from smart_app.ehr import http as ehr_http
from smart_app.ehr.client import FhirClient
from tests.fhir.conftest import fhir_response

PATIENT = {"resourceType": "Patient", "id": "p1"}


def _client(server, token: str) -> FhirClient:
    """A client for one launch, on the shared session (as Launch.fhir builds it)."""
    return FhirClient(server.url_for("/fhir"), token=lambda: token, session=ehr_http.shared_session(), max_retries=0)


def test_a_cookie_set_by_the_ehr_never_travels_with_a_later_request(fhir_server):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(
        fhir_response(PATIENT, headers={"Set-Cookie": "affinity=launch-a; Path=/"}))
    first, second = _client(fhir_server, "token-a"), _client(fhir_server, "token-b")
    first.read("Patient", "p1")
    first.read("Patient", "p1")
    second.read("Patient", "p1")
    assert [r.headers.get("Cookie") for r, _ in fhir_server.log] == [None, None, None]
    assert [r.headers["Authorization"] for r, _ in fhir_server.log] == [
        "Bearer token-a", "Bearer token-a", "Bearer token-b"]
    assert len(ehr_http.shared_session().cookies) == 0


def test_the_shared_session_ignores_the_environment_and_closing_a_client_keeps_it(fhir_server, monkeypatch):
    session = ehr_http.shared_session()
    assert session is ehr_http.shared_session()
    assert session.trust_env is False
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(PATIENT))
    client = _client(fhir_server, "token-a")
    client.close()  # a launch's client ends with its request; the pool outlives it
    assert _client(fhir_server, "token-a").read("Patient", "p1")["id"] == "p1"


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # the child runs no threads
def test_a_forked_worker_gets_its_own_session_and_keeps_it():
    parent = ehr_http.shared_session()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the worker gunicorn would fork: report what it sees, then leave without pytest's teardown
        try:
            own = ehr_http.shared_session()
            verdict = b"fresh" if own is not parent and own is ehr_http.shared_session() else b"reused"
        except BaseException:
            verdict = b"error"
        os.write(write_end, verdict)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        seen = reader.read()
    os.waitpid(child, 0)
    assert seen == b"fresh"
    assert ehr_http.shared_session() is parent  # the parent keeps its own
