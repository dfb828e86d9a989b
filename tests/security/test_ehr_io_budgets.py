"""EHR I/O is bounded: a wall-clock deadline per request and per page, and a size cap on every response body."""
from __future__ import annotations

import socket
import threading
from typing import Iterator

import pytest

from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode, TransportBudget


class SteppingClock:
    """A monotonic clock that moves one second each time it is read: elapsed time is counted, never waited for."""

    def __init__(self) -> None:
        """Start at zero."""
        self.now = 0.0

    def __call__(self) -> float:
        """The time, then one second later."""
        self.now += 1.0
        return self.now


class TricklingEhr:
    """A tiny 127.0.0.1 server that answers one request with headers, then a body one byte at a time.

    It stops by itself: after `limit` bytes, or as soon as the client hangs up or the test ends.
    """

    def __init__(self, limit: int = 5000) -> None:
        """Bind a free port and start serving in a daemon thread."""
        self.limit = limit
        self.sent = 0
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}/fhir"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        """Accept one connection and trickle."""
        self.listener.settimeout(5)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
                         b"Content-Length: 1000000\r\n\r\n{")
            while self.sent < self.limit and not self.stopped.is_set():
                try:
                    conn.sendall(b" ")
                except OSError:
                    return  # the client gave up: exactly what the budget is for
                self.sent += 1
                self.stopped.wait(0.002)  # pacing of the trickle, not a test timing

    def stop(self) -> None:
        """End the trickle and close the listener."""
        self.stopped.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def trickling_ehr() -> Iterator[TricklingEhr]:
    """A trickling EHR that stops by itself after the test."""
    server = TricklingEhr()
    try:
        yield server
    finally:
        server.stop()


def test_a_trickling_ehr_is_cut_off_at_the_request_deadline(trickling_ehr):
    clock = SteppingClock()
    client = FhirClient(trickling_ehr.base, token=lambda: "t", clock=clock, max_retries=0,
                        budget=TransportBudget(request_seconds=5, page_seconds=100))
    with pytest.raises(FhirError) as refused:
        client.read("Patient", "p1")
    assert refused.value.code is FhirErrorCode.DEADLINE_EXCEEDED
    assert trickling_ehr.sent < trickling_ehr.limit  # refused mid-trickle, not after the server gave up


def test_a_page_deadline_spans_all_of_its_requests(fake_ehr):
    fake_ehr.serve_resource({"resourceType": "Patient", "id": "p1"})
    clock = SteppingClock()
    client = FhirClient(fake_ehr.base, token=lambda: "t", clock=clock, max_retries=0,
                        budget=TransportBudget(request_seconds=100, page_seconds=12))
    reads = 0
    with pytest.raises(FhirError) as refused:
        for _ in range(50):
            client.read("Patient", "p1")
            reads += 1
    assert refused.value.code is FhirErrorCode.DEADLINE_EXCEEDED
    assert 0 < reads < 50
    sent = len([r for r in fake_ehr.requests() if r.path == "/fhir/Patient/p1"])
    assert sent in (reads, reads + 1)  # nothing is sent once the page's time is spent


def _huge_bundle(entries: int) -> dict:
    """A searchset Bundle with many sizeable Observations."""
    return {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": f"Observation/o{i}", "search": {"mode": "match"},
         "resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final",
                      "code": {"text": "x" * 200}}} for i in range(entries)]}


def test_a_huge_bundle_is_refused_past_the_size_cap(fake_ehr):
    fake_ehr.server.clear_all_handlers()
    fake_ehr.server.expect_request("/fhir/Observation").respond_with_json(_huge_bundle(2000))
    client = FhirClient(fake_ehr.base, token=lambda: "t", max_retries=0,
                        budget=TransportBudget(max_response_bytes=64 * 1024))
    with pytest.raises(FhirError) as refused:
        client.search("Observation", {"patient": "p1"})
    assert refused.value.code is FhirErrorCode.RESPONSE_TOO_LARGE


def test_a_body_without_a_length_is_cut_off_while_streaming(fake_ehr):
    from werkzeug import Response

    def chunked(_request):
        """A large body sent chunked, without Content-Length."""
        def body():
            yield b'{"resourceType": "Patient", "id": "p1", "text": "'
            for _ in range(200):
                yield b"y" * 4096
            yield b'"}'
        return Response(body(), content_type="application/fhir+json")

    fake_ehr.respond_with("/fhir/Patient/p1", chunked)
    client = FhirClient(fake_ehr.base, token=lambda: "t", max_retries=0,
                        budget=TransportBudget(max_response_bytes=100 * 1024))
    with pytest.raises(FhirError) as refused:
        client.read("Patient", "p1")
    assert refused.value.code is FhirErrorCode.RESPONSE_TOO_LARGE


def test_a_body_within_the_budget_is_read_whole(fake_ehr):
    fake_ehr.server.clear_all_handlers()
    fake_ehr.server.expect_request("/fhir/Observation").respond_with_json(_huge_bundle(50))
    client = FhirClient(fake_ehr.base, token=lambda: "t", max_retries=0,
                        budget=TransportBudget(max_response_bytes=64 * 1024))
    assert len(client.search("Observation", {"patient": "p1"})) == 50


def test_an_ehr_slow_to_answer_at_all_is_cut_off_at_the_deadline(fake_ehr):
    released = threading.Event()

    def silent(_request):
        """Hold the answer until the test ends (the client must give up first)."""
        released.wait(10)
        from werkzeug import Response
        return Response("{}", content_type="application/fhir+json")

    fake_ehr.server.clear_all_handlers()
    fake_ehr.respond_with("/fhir/Patient/p1", silent)
    client = FhirClient(fake_ehr.base, token=lambda: "t", max_retries=3, sleep=lambda _s: None,
                        budget=TransportBudget(request_seconds=0.2, page_seconds=100))
    try:
        with pytest.raises(FhirError) as refused:
            client.read("Patient", "p1")
    finally:
        released.set()
    assert refused.value.code is FhirErrorCode.DEADLINE_EXCEEDED
    assert len([r for r in fake_ehr.requests() if r.path == "/fhir/Patient/p1"]) <= 1


def test_key_and_style_documents_are_read_within_a_deadline_too(trickling_ehr):
    # id_token keys, OpenID configuration and SMART style documents use the same budgeted reader.
    import requests

    from smart_app.ehr.http import BodyRefused, read_body

    clock = SteppingClock()
    with requests.get(trickling_ehr.base + "/.well-known/openid-configuration", stream=True, timeout=5) as response:
        with pytest.raises(BodyRefused) as refused:
            read_body(response, max_bytes=10_000_000, deadline=clock() + 5, clock=clock)
    assert refused.value.reason == "too_slow"
