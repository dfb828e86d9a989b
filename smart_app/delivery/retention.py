"""Retention: what the app keeps, for how long, and the purge job that removes the rest.

- Pending sign-ins: 10 minutes (launch/authorize.PENDING_TTL); spent states 1 hour.
- Launches: IDLE_TIMEOUT since last use, and never past MAX_LAUNCH_AGE (ended on next use); an expired
  launch's tokens are revoked at its EHR (RFC 7009) just before its record is purged.
- Browser sessions (embedded store): the session lifetime (31 days), created only when a launch completes.
- Drafts and rescue copies: DRAFT_RETENTION since last saved (default 30 days).
- Submissions, sent or not: SUBMISSION_RETENTION since last changed (default 30 days); a row a
  sender holds is never purged.

Nothing is evicted because the store is full: rows go only when their own time is up, by this
job (`smart-app purge`, or the courier thread once an hour). It reports ids only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from smart_app.audit import events as audit
from smart_app.launch.records import LAUNCH
from smart_app.launch.runtime import runtime
from smart_app.launch.session import revoke_expired_launch
from smart_app.delivery.rows import rows

DRAFT_NAMESPACE = "draft"


@dataclass(frozen=True)
class PurgeReport:
    """What one purge removed: counts per kind of record, and the submission ids of drafts and submissions."""

    records: dict[str, int] = field(default_factory=dict)
    draft_submission_ids: tuple[str, ...] = ()
    submission_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the command line and the audit line."""
        return {"records": dict(self.records), "draft_submission_ids": list(self.draft_submission_ids),
                "submission_ids": list(self.submission_ids)}


def purge(app: Flask, now: float | None = None) -> PurgeReport:
    """Delete everything past its retention as of `now`; log and return what went (ids only)."""
    with app.app_context():
        now = time.time() if now is None else now
        store = runtime().store
        drafts = tuple(sorted({str(v["submission_id"]) for _k, v in store.expired(DRAFT_NAMESPACE, now, limit=100_000)
                               if v and v.get("submission_id")}))
        # An expired launch's tokens still work at the EHR: revoke them before the record (and the
        # only copy of the tokens) goes. Best effort, short timeouts (launch/revoke.py).
        for _key, record in store.expired(LAUNCH, now, limit=100_000):
            if record:
                revoke_expired_launch(runtime(), record)
        counts = store.purge_expired(now)
        submissions = tuple(sorted(rows().purge(now)))
        report = PurgeReport(records=counts, draft_submission_ids=drafts, submission_ids=submissions)
        audit.event("retention.purged", records=",".join(f"{k}={v}" for k, v in sorted(counts.items())) or None,
                    drafts=",".join(drafts) or None, submissions=",".join(submissions) or None)
        return report
