"""The outbox keeps a submission until sent, retrying transient failures on a schedule."""
from __future__ import annotations

import json

import pytest

from smart_app.ehr.client import FhirError, FhirErrorCode
from smart_app.delivery.outbox import OutboxItem, OutboxState, RetryPolicy, new_item, record_failure, record_sent, retry_now
from smart_app.delivery.writeback import Receipt, ReceiptEntry

BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}
POLICY = RetryPolicy(max_attempts=3, base_delay=5.0, max_delay=60.0)


def test_new_item_is_pending_and_due_at_once():
    item = new_item("s1", BUNDLE, now=100.0, skipped_types=("Observation",))
    assert (item.state, item.attempts, item.skipped_types) == (OutboxState.PENDING, 0, ("Observation",))
    assert item.is_due(100.0)


def test_transient_failures_back_off_then_fail_after_max_attempts():
    item = new_item("s1", BUNDLE, now=0.0)
    item = record_failure(item, FhirError(FhirErrorCode.NETWORK), now=10.0, policy=POLICY)
    assert (item.state, item.attempts, item.next_attempt_at) == (OutboxState.PENDING, 1, 15.0)
    assert not item.is_due(14.9) and item.is_due(15.0)
    item = record_failure(item, FhirError(FhirErrorCode.SERVER_ERROR, status=500), now=15.0, policy=POLICY)
    assert (item.state, item.next_attempt_at, item.last_status) == (OutboxState.PENDING, 25.0, 500)
    item = record_failure(item, FhirError(FhirErrorCode.SERVER_ERROR, status=500), now=25.0, policy=POLICY)
    assert (item.state, item.attempts, item.last_error) == (OutboxState.FAILED, 3, FhirErrorCode.SERVER_ERROR)
    assert not item.is_due(1e9)
    assert item.bundle == BUNDLE  # nothing lost


def test_server_retry_after_is_never_undercut():
    item = record_failure(new_item("s1", BUNDLE, now=0.0),
                          FhirError(FhirErrorCode.RATE_LIMITED, status=429, retry_after=120.0), now=0.0, policy=POLICY)
    assert item.next_attempt_at == 120.0


@pytest.mark.parametrize("code", [FhirErrorCode.INVALID, FhirErrorCode.FORBIDDEN, FhirErrorCode.UNAUTHORIZED,
                                  FhirErrorCode.CONFLICT, FhirErrorCode.BAD_RESPONSE])
def test_errors_that_need_a_person_fail_at_once_but_keep_the_data(code):
    item = record_failure(new_item("s1", BUNDLE, now=0.0), FhirError(code), now=1.0, policy=POLICY)
    assert (item.state, item.last_error, item.bundle) == (OutboxState.FAILED, code, BUNDLE)


def test_manual_retry_makes_a_failed_item_due_and_sent_is_final():
    failed = record_failure(new_item("s1", BUNDLE, now=0.0), FhirError(FhirErrorCode.FORBIDDEN), now=1.0)
    again = retry_now(failed, now=50.0)
    assert again.state is OutboxState.PENDING and again.is_due(50.0)
    receipt = Receipt((ReceiptEntry("QuestionnaireResponse", "q1", "1", 201, True),), "2026-01-01T00:00:00Z")
    sent = record_sent(again, receipt, now=51.0)
    assert (sent.state, sent.receipt, sent.sent_at, sent.last_error) == (OutboxState.SENT, receipt, 51.0, None)
    assert retry_now(sent, now=60.0) is sent
    with pytest.raises(ValueError):
        record_failure(sent, FhirError(FhirErrorCode.NETWORK), now=61.0)


def test_round_trips_through_json():
    receipt = Receipt((ReceiptEntry("Observation", "o1", None, 200, False),), None)
    item = record_sent(record_failure(new_item("s1", BUNDLE, now=0.0, skipped_types=("Observation",)),
                                      FhirError(FhirErrorCode.UNAVAILABLE, status=503), now=1.0), receipt, now=2.0)
    assert OutboxItem.from_dict(json.loads(json.dumps(item.to_dict()))) == item


@pytest.mark.parametrize("data", [
    {}, {"submission_id": "s", "bundle": {"resourceType": "Patient"}, "state": "pending", "created_at": 0},
    {"submission_id": "s", "bundle": BUNDLE, "state": "lost", "created_at": 0},
    {"submission_id": "s", "bundle": BUNDLE, "state": "pending", "created_at": 0, "last_error": "OOPS"},
])
def test_malformed_stored_items_are_refused(data):
    with pytest.raises(ValueError):
        OutboxItem.from_dict(data)
