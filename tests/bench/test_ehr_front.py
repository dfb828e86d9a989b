"""The bench's EHR front answers recorded reads from memory and forwards everything else unchanged."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from bench.harness import EhrProcess


@pytest.fixture
def front(tmp_path: Path, httpserver: HTTPServer):
    """The front in its own processes, in front of a fake sandbox."""
    ehr = EhrProcess(tmp_path, httpserver.url_for("/").rstrip("/"), workers=1)
    yield ehr
    ehr.close()


def test_recorded_read_is_answered_from_memory_without_reaching_the_sandbox(front: EhrProcess, httpserver: HTTPServer) -> None:
    body = json.dumps({"resourceType": "Patient", "id": "p1"})
    front.set_table([{"method": "GET", "target": "/fhir/Patient/p1", "body": "", "status": 200,
                      "headers": {"Content-Type": "application/fhir+json", "ETag": 'W/"3"'}, "response_body": body}])
    answer = requests.get(f"{front.url}/fhir/Patient/p1", timeout=10)  # the table is re-read on each request when it changed
    assert answer.json() == {"resourceType": "Patient", "id": "p1"}
    assert answer.headers["ETag"] == 'W/"3"'
    assert httpserver.log == []


def test_anything_not_recorded_is_forwarded_with_its_body_and_status(front: EhrProcess, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/auth/token", method="POST", data="grant_type=x").respond_with_data(
        '{"error": "invalid_grant"}', status=400, content_type="application/json")
    answer = requests.post(f"{front.url}/auth/token", data="grant_type=x", timeout=10)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant"}
    assert len(httpserver.log) == 1
