"""Only idempotent requests are retried; Retry-After is honoured and capped; 5xx backs off."""
from __future__ import annotations

import email.utils
import threading

import pytest

from smart_app.ehr import client as fhir
from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode, parse_retry_after
from tests.fixtures.overlap import PATIENCE, signalled_on_write
from tests.fhir.conftest import TOKEN, fhir_response, in_sequence

PATIENT = {"resourceType": "Patient", "id": "p1"}
QR = {"resourceType": "QuestionnaireResponse", "status": "completed"}


def test_429_with_retry_after_seconds_waits_that_long_then_succeeds(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_handler(in_sequence(
        fhir_response(None, 429, {"Retry-After": "2"}), fhir_response(PATIENT)))
    assert make_client().read("Patient", "p1")["id"] == "p1"
    assert sleeps.delays == [2.0]
    assert len(fhir_server.log) == 2


def test_503_with_retry_after_http_date_waits_until_that_date(fhir_server, make_client, sleeps, monkeypatch):
    now = 1_800_000_000.0  # the wall clock the date is read against, fixed: no test compares real durations
    real_parse = fhir.parse_retry_after
    monkeypatch.setattr(fhir, "parse_retry_after", lambda value: real_parse(value, now=now))
    when = email.utils.formatdate(now + 6, usegmt=True)
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_handler(in_sequence(
        fhir_response(None, 503, {"Retry-After": when}), fhir_response(PATIENT)))
    make_client().read("Patient", "p1")
    assert sleeps.delays == [6.0]


def test_retry_after_beyond_the_cap_is_not_slept_but_handed_back(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(
        fhir_response(None, 429, {"Retry-After": "120"}))
    with pytest.raises(FhirError) as caught:
        make_client(retry_after_cap=10.0).read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.RATE_LIMITED
    assert caught.value.retry_after == 120.0
    assert caught.value.transient
    assert sleeps.delays == []
    assert len(fhir_server.log) == 1


def test_5xx_backs_off_exponentially_then_succeeds(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_handler(in_sequence(
        fhir_response(None, 500), fhir_response(None, 502), fhir_response(None, 504), fhir_response(PATIENT)))
    make_client(backoff_base=0.5).read("Patient", "p1")
    # jitter pinned to 1.0 in the fixture, so each delay is the full exponential step
    assert sleeps.delays == [0.5, 1.0, 2.0]


def test_backoff_jitter_shortens_delays_by_at_most_half(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_handler(in_sequence(
        fhir_response(None, 500), fhir_response(None, 500), fhir_response(PATIENT)))
    make_client(backoff_base=1.0, jitter=lambda: 0.0).read("Patient", "p1")
    assert sleeps.delays == [0.5, 1.0]


def test_gives_up_after_max_retries_with_server_error(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(None, 500))
    with pytest.raises(FhirError) as caught:
        make_client(max_retries=2).read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.SERVER_ERROR
    assert caught.value.status == 500
    assert len(fhir_server.log) == 3
    assert len(sleeps.delays) == 2


def test_plain_post_is_not_retried_on_503(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_response(
        fhir_response(None, 503, {"Retry-After": "1"}))
    with pytest.raises(FhirError) as caught:
        make_client().create(QR)
    assert caught.value.code is FhirErrorCode.UNAVAILABLE
    assert caught.value.retry_after == 1.0
    assert len(fhir_server.log) == 1
    assert sleeps.delays == []


def test_plain_post_is_not_retried_when_the_response_is_lost(fhir_server, make_client, sleeps):
    gave_up, logged = threading.Event(), threading.Event()
    arrivals: list[str] = []

    def slow(request):
        arrivals.append(request.method)
        gave_up.wait(PATIENCE)  # held until the client has given up on it: the response is lost
        return signalled_on_write(fhir_response(QR, 201), logged)

    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_handler(slow)
    with pytest.raises(FhirError) as caught:
        make_client(timeout=(1.0, 0.1)).create(QR)
    assert caught.value.code is FhirErrorCode.NETWORK
    gave_up.set()
    assert sleeps.delays == []
    assert arrivals == ["POST"]  # a retry would have arrived before create() gave up
    assert logged.wait(PATIENCE) and len(fhir_server.log) == 1


def test_conditional_create_is_retried_and_keeps_its_condition(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_handler(in_sequence(
        fhir_response(None, 503), fhir_response({**QR, "id": "q1", "meta": {"versionId": "1"}}, 201)))
    result = make_client().create(QR, if_none_exist="identifier=urn:app|s1")
    assert result.created and result.id == "q1" and result.version_id == "1"
    assert [r.headers["If-None-Exist"] for r, _ in fhir_server.log] == ["identifier=urn:app|s1"] * 2
    assert len(sleeps.delays) == 1


def test_put_without_if_match_is_not_retried_but_with_if_match_is(fhir_server, make_client):
    fhir_server.expect_request("/fhir/QuestionnaireResponse/q1", method="PUT").respond_with_response(
        fhir_response(None, 503))
    body = {**QR, "id": "q1"}
    with pytest.raises(FhirError):
        make_client().update(body)
    assert len(fhir_server.log) == 1
    fhir_server.clear_log()
    with pytest.raises(FhirError):
        make_client(max_retries=1).update(body, if_match="3")
    assert [r.headers["If-Match"] for r, _ in fhir_server.log] == ['W/"3"', 'W/"3"']


def test_network_error_on_get_is_retried(sleeps):
    # Port 9 (discard) has no listener here: connection refused on every attempt.
    dead = FhirClient("http://127.0.0.1:9/fhir", token=lambda: TOKEN, sleep=sleeps)
    with pytest.raises(FhirError) as caught:
        dead.read("Patient", "p1")
    assert caught.value.code is FhirErrorCode.NETWORK
    assert len(sleeps.delays) == 3


@pytest.mark.parametrize("header, expected", [
    ("5", 5.0), (" 0 ", 0.0), ("soon", None), ("", None), (None, None), ("-3", None),
])
def test_parse_retry_after_delta_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_past_date_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
