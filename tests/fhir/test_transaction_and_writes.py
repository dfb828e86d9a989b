"""Transactions retry safely only when every entry is conditional; writes report where data went."""
from __future__ import annotations

import json
import threading

import pytest
import requests

from smart_app.ehr.client import FhirError, FhirErrorCode
from tests.fixtures.overlap import PATIENCE, signalled_on_write
from tests.fhir.conftest import fhir_response, in_sequence
from tests.fhir.fake_store import ConditionalStore

SYSTEM = "https://previsit.example/submission"


def conditional_bundle(*, conditional: bool = True) -> dict:
    """A two-entry transaction: QR then an Observation derived from it."""
    qr_request = {"method": "POST", "url": "QuestionnaireResponse"}
    obs_request = {"method": "POST", "url": "Observation"}
    if conditional:
        qr_request["ifNoneExist"] = f"identifier={SYSTEM}|s1"
        obs_request["ifNoneExist"] = f"identifier={SYSTEM}|s1/obs/score"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0f0e6d1c-0000-5000-8000-000000000001",
         "resource": {"resourceType": "QuestionnaireResponse", "status": "completed",
                      "identifier": {"system": SYSTEM, "value": "s1"}},
         "request": qr_request},
        {"fullUrl": "urn:uuid:0f0e6d1c-0000-5000-8000-000000000002",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "score"},
                      "identifier": [{"system": SYSTEM, "value": "s1/obs/score"}],
                      "derivedFrom": [{"reference": "urn:uuid:0f0e6d1c-0000-5000-8000-000000000001"}]},
         "request": obs_request},
    ]}


class _FirstReplyLost(requests.Session):
    """A real session whose first exchange gives up on its reply after 0.2 s (the server holds that reply until
    the retry arrives, so it is lost every time); the retry waits as long as the client allows. One short
    timeout for every attempt would also cut the retry short whenever a loaded machine answers it slowly."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges = 0

    def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def, override]
        """Send; the first exchange with a 0.2 s read timeout."""
        self.exchanges += 1
        if self.exchanges == 1:
            kwargs["timeout"] = (kwargs["timeout"][0], 0.2)
        return super().request(method, url, **kwargs)


def test_lost_response_after_commit_is_retried_without_duplicates(fhir_server, make_client, sleeps):
    store = ConditionalStore(fhir_server.url_for("/fhir"))
    bodies: list[dict] = []
    retried, logged = threading.Event(), threading.Event()

    def commit_then_lose_first_reply(request):
        bodies.append(json.loads(request.data))
        reply = store.handle_transaction(request)
        if len(bodies) == 1:
            retried.wait(PATIENCE)  # held until the client gave up and sent again: committed, reply lost
            return signalled_on_write(reply, logged)
        retried.set()
        return reply

    fhir_server.expect_request("/fhir", method="POST").respond_with_handler(commit_then_lose_first_reply)
    session = _FirstReplyLost()
    try:
        reply = make_client(session=session).transaction(conditional_bundle())
    finally:
        session.close()
    # The first, abandoned exchange ends on the server after the retry: wait for its log entry, or it
    # would land in the next test's log (the server is shared and threaded).
    never = threading.Event()
    for _ in range(250):  # at most ~5 s
        if len(fhir_server.log) >= 2:
            break
        never.wait(0.02)
    assert len(bodies) == 2
    assert len(sleeps.delays) == 1
    assert [e["response"]["status"] for e in reply["entry"]] == ["200 OK", "200 OK"]
    assert len(store.of_type("QuestionnaireResponse")) == 1
    assert len(store.of_type("Observation")) == 1
    assert store.of_type("Observation")[0]["derivedFrom"] == [
        {"reference": f"QuestionnaireResponse/{store.of_type('QuestionnaireResponse')[0]['id']}"}]
    assert bodies[0] == bodies[1]
    assert logged.wait(PATIENCE)  # the lost reply is done with before the next test uses the server


def test_transaction_with_an_unconditional_create_is_not_retried(fhir_server, make_client, sleeps):
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(fhir_response(None, 503))
    with pytest.raises(FhirError) as caught:
        make_client().transaction(conditional_bundle(conditional=False))
    assert caught.value.code is FhirErrorCode.UNAVAILABLE
    assert len(fhir_server.log) == 1
    assert sleeps.delays == []


def test_transaction_reply_must_be_a_matching_transaction_response(fhir_server, make_client):
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(
        fhir_response({"resourceType": "Bundle", "type": "transaction-response", "entry": []}))
    with pytest.raises(FhirError) as caught:
        make_client().transaction(conditional_bundle())
    assert caught.value.code is FhirErrorCode.BAD_RESPONSE


def test_transaction_refuses_a_non_transaction_bundle(make_client):
    with pytest.raises(ValueError):
        make_client().transaction({"resourceType": "Bundle", "type": "batch", "entry": []})


def test_conditional_create_reports_existing_resource(fhir_server, make_client):
    store = ConditionalStore(fhir_server.url_for("/fhir"))
    fhir_server.expect_request("/fhir/QuestionnaireResponse", method="POST").respond_with_handler(store.handle_create)
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "identifier": {"system": SYSTEM, "value": "s1"}}
    first = make_client().create(qr, if_none_exist=f"identifier={SYSTEM}|s1")
    again = make_client().create(qr, if_none_exist=f"identifier={SYSTEM}|s1")
    assert (first.status, first.created) == (201, True)
    assert (again.status, again.created, again.id) == (200, False, first.id)
    assert fhir_server.log[0][0].headers["Prefer"] == "return=representation"
    assert len(store.of_type("QuestionnaireResponse")) == 1


def test_update_sends_if_match_and_reads_version_from_etag(fhir_server, make_client):
    fhir_server.expect_request("/fhir/QuestionnaireResponse/q1", method="PUT").respond_with_response(
        fhir_response(None, 200, {"ETag": 'W/"4"'}))
    result = make_client().update({"resourceType": "QuestionnaireResponse", "id": "q1", "status": "in-progress"}, if_match='W/"3"')
    assert fhir_server.log[0][0].headers["If-Match"] == 'W/"3"'
    assert (result.id, result.version_id, result.resource) == (None, "4", None)


def test_update_conflict_is_precondition_failed(fhir_server, make_client):
    fhir_server.expect_request("/fhir/QuestionnaireResponse/q1", method="PUT").respond_with_response(
        fhir_response(None, 412))
    with pytest.raises(FhirError) as caught:
        make_client().update({"resourceType": "QuestionnaireResponse", "id": "q1", "status": "in-progress"}, if_match="3")
    assert caught.value.code is FhirErrorCode.PRECONDITION_FAILED
    assert len(fhir_server.log) == 1


def test_delete_is_idempotent_and_retried(fhir_server, make_client):
    fhir_server.expect_request("/fhir/QuestionnaireResponse/q1", method="DELETE").respond_with_handler(
        in_sequence(fhir_response(None, 502), fhir_response(None, 204)))
    make_client().delete("QuestionnaireResponse", "q1")
    assert len(fhir_server.log) == 2
