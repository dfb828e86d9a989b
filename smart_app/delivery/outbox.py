"""The submission outbox: a pure state machine that keeps a submission until the EHR has it.

pending -> sent, or pending -> pending (transient failure, retried later), or
pending -> failed (needs a person: invalid data, no permission, expired launch). A failed
item still holds its bundle, so a manual retry loses nothing. Items serialise to plain dicts
for the launch store; times are Unix seconds supplied by the caller (no clock inside).
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from smart_app.ehr.client import FhirError, FhirErrorCode
from smart_app.delivery.writeback import Receipt


class OutboxState(enum.StrEnum):
    """Where a submission stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon transient failures are retried automatically."""

    max_attempts: int = 6
    base_delay: float = 5.0
    max_delay: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds until the next try after `attempts` failures, never sooner than the server asked."""
        backoff = min(self.max_delay, self.base_delay * float(2 ** max(0, attempts - 1)))
        return max(backoff, retry_after or 0.0)


@dataclass(frozen=True)
class OutboxItem:
    """One submission and its delivery state."""

    submission_id: str
    bundle: dict[str, Any]
    state: OutboxState
    created_at: float
    attempts: int = 0
    next_attempt_at: float | None = None
    last_error: FhirErrorCode | None = None
    last_status: int | None = None
    skipped_types: tuple[str, ...] = ()
    receipt: Receipt | None = None
    sent_at: float | None = field(default=None)

    def is_due(self, now: float) -> bool:
        """True when an automatic send should happen now."""
        return self.state is OutboxState.PENDING and (self.next_attempt_at is None or self.next_attempt_at <= now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the launch store."""
        return {
            "submission_id": self.submission_id,
            "bundle": self.bundle,
            "state": self.state.value,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error.value if self.last_error else None,
            "last_status": self.last_status,
            "skipped_types": list(self.skipped_types),
            "receipt": self.receipt.to_dict() if self.receipt else None,
            "sent_at": self.sent_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutboxItem:
        """Parse a stored dict back into an item; raises ValueError on anything malformed."""
        try:
            item = cls(
                submission_id=str(data["submission_id"]),
                bundle=dict(data["bundle"]),
                state=OutboxState(data["state"]),
                created_at=float(data["created_at"]),
                attempts=int(data.get("attempts", 0)),
                next_attempt_at=None if data.get("next_attempt_at") is None else float(data["next_attempt_at"]),
                last_error=FhirErrorCode(data["last_error"]) if data.get("last_error") else None,
                last_status=None if data.get("last_status") is None else int(data["last_status"]),
                skipped_types=tuple(str(t) for t in data.get("skipped_types") or ()),
                receipt=Receipt.from_dict(data["receipt"]) if data.get("receipt") else None,
                sent_at=None if data.get("sent_at") is None else float(data["sent_at"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError("malformed outbox item") from exc
        if item.bundle.get("resourceType") != "Bundle":
            raise ValueError("malformed outbox item")
        return item


def new_item(submission_id: str, bundle: dict[str, Any], *, now: float, skipped_types: tuple[str, ...] = ()) -> OutboxItem:
    """A fresh submission, due at once."""
    return OutboxItem(submission_id=submission_id, bundle=bundle, state=OutboxState.PENDING, created_at=now,
                      next_attempt_at=now, skipped_types=tuple(skipped_types))


def record_sent(item: OutboxItem, receipt: Receipt, *, now: float) -> OutboxItem:
    """The EHR accepted the submission."""
    return replace(item, state=OutboxState.SENT, attempts=item.attempts + 1, next_attempt_at=None,
                   last_error=None, last_status=None, receipt=receipt, sent_at=now)


def record_failure(item: OutboxItem, error: FhirError, *, now: float,
                   policy: RetryPolicy = RetryPolicy()) -> OutboxItem:
    """A send failed: schedule another try when the error is transient, else mark it failed."""
    if item.state is OutboxState.SENT:
        raise ValueError("a sent submission cannot fail")
    attempts = item.attempts + 1
    if error.transient and attempts < policy.max_attempts:
        return replace(item, state=OutboxState.PENDING, attempts=attempts, last_error=error.code,
                       last_status=error.status, next_attempt_at=now + policy.delay(attempts, error.retry_after))
    return replace(item, state=OutboxState.FAILED, attempts=attempts, last_error=error.code,
                   last_status=error.status, next_attempt_at=None)


def retry_now(item: OutboxItem, *, now: float) -> OutboxItem:
    """The user asked to try again: a pending or failed item becomes due now (sent stays sent)."""
    if item.state is OutboxState.SENT:
        return item
    return replace(item, state=OutboxState.PENDING, next_attempt_at=now)
