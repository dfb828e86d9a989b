"""Which failed sends are definite refusals (a new submission id is safe) and which are of unknown fate (review M2)."""
from __future__ import annotations

import pytest

from smart_app.ehr.client import FhirErrorCode
from smart_app.delivery.outbox import OutboxState
from smart_app.delivery.submission import SubmissionOutcome, same_answers


def _outcome(state: OutboxState, error: FhirErrorCode | None, status: int | None) -> SubmissionOutcome:
    """A stored submission's outcome with this state and last error."""
    return SubmissionOutcome(submission_id="s1", kind="questionnaire", label="", state=state, receipt=None,
                             planned_types=(), skipped_types=(), error=error, status=status, attempts=1,
                             next_attempt_at=None, created_at=0.0, sent_at=None)


@pytest.mark.parametrize(("state", "error", "status", "rejected"), [
    (OutboxState.FAILED, FhirErrorCode.INVALID, 422, True),
    (OutboxState.FAILED, FhirErrorCode.CONFLICT, 409, True),
    (OutboxState.FAILED, FhirErrorCode.FORBIDDEN, 403, True),
    (OutboxState.FAILED, FhirErrorCode.BAD_RESPONSE, 200, False),   # committed, answer unreadable
    (OutboxState.FAILED, FhirErrorCode.BAD_RESPONSE, None, False),  # wrong entry count
    (OutboxState.FAILED, FhirErrorCode.NETWORK, None, False),       # retries ran out after dropped answers
    (OutboxState.FAILED, FhirErrorCode.UNAVAILABLE, 503, False),
    (OutboxState.FAILED, FhirErrorCode.RATE_LIMITED, 429, False),
    (OutboxState.PENDING, FhirErrorCode.UNAVAILABLE, 503, False),
])
def test_only_a_4xx_refusal_counts_as_definitely_not_written(state, error, status, rejected):
    outcome = _outcome(state, error, status)
    assert outcome.rejected is rejected
    assert outcome.unresolved is (not rejected)


def test_a_sent_submission_is_neither_refused_nor_unresolved():
    outcome = _outcome(OutboxState.SENT, None, None)
    assert not outcome.rejected and not outcome.unresolved


def test_same_answers_compares_items_not_times():
    item = [{"linkId": "q1", "answer": [{"valueInteger": 1}]}]
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "QuestionnaireResponse", "authored": "2026-01-01T00:00:00Z", "item": item}},
        {"resource": {"resourceType": "Provenance", "recorded": "2026-01-01T00:00:00Z"}}]}
    assert same_answers(bundle, {"resourceType": "QuestionnaireResponse", "authored": "2026-02-02T00:00:00Z",
                                 "item": [{"linkId": "q1", "answer": [{"valueInteger": 1}]}]})
    assert not same_answers(bundle, {"resourceType": "QuestionnaireResponse",
                                     "item": [{"linkId": "q1", "answer": [{"valueInteger": 3}]}]})
