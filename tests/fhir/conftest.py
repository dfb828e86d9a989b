"""Fixtures for FhirClient tests: a fake FHIR server on 127.0.0.1 and a client factory."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from smart_app.ehr import client as fhir

TOKEN = "tok-ABC123-secret"
FHIR_JSON = "application/fhir+json"


def fhir_response(body: dict | None = None, status: int = 200, headers: dict | None = None) -> Response:
    """A FHIR JSON response as the fake server sends it."""
    return Response(json.dumps(body) if body is not None else "", status=status,
                    headers=headers or {}, content_type=FHIR_JSON)


def outcome(*issues: dict) -> dict:
    """An OperationOutcome with the given issues."""
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def in_sequence(*responses: Response) -> Callable[[Request], Response]:
    """A handler that answers successive requests with `responses`, in order."""
    remaining = list(responses)

    def handler(request: Request) -> Response:
        """Pop the next scripted response."""
        return remaining.pop(0)

    return handler


def _start(threaded: bool = False) -> HTTPServer:
    """Start a fake server on a free 127.0.0.1 port."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=threaded)
    server.start()
    return server


@pytest.fixture(scope="session")
def _servers() -> Iterator[tuple[HTTPServer, HTTPServer]]:
    """Two fake servers for the whole session (stopping one costs half a second)."""
    main, other = _start(threaded=True), _start()
    yield main, other
    main.stop()
    other.stop()


@pytest.fixture
def fhir_server(_servers) -> Iterator[HTTPServer]:
    """The fake EHR FHIR server, with no handlers and an empty log."""
    server = _servers[0]
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def other_server(_servers) -> Iterator[HTTPServer]:
    """A second server on another port: a different origin that must never see our token."""
    server = _servers[1]
    server.clear()
    yield server
    server.clear()


class SleepRecorder:
    """Stands in for time.sleep and records the requested delays."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    """Recorded sleep delays of the client under test."""
    return SleepRecorder()


@pytest.fixture(autouse=True)
def _fresh_capabilities_cache() -> Iterator[None]:
    """Each test starts without cached CapabilityStatements."""
    fhir.clear_capabilities_cache()
    yield
    fhir.clear_capabilities_cache()


@pytest.fixture
def make_client(fhir_server: HTTPServer, sleeps: SleepRecorder) -> Callable[..., fhir.FhirClient]:
    """Build a FhirClient against the fake server; jitter is pinned to its maximum."""

    def factory(**overrides) -> fhir.FhirClient:
        """Client with test defaults, overridable per test."""
        options = dict(token=lambda: TOKEN, correlation_id="cid-1", sleep=sleeps, jitter=lambda: 1.0)
        options.update(overrides)
        return fhir.FhirClient(fhir_server.url_for("/fhir"), **options)

    return factory
