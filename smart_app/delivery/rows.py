"""The outbox as rows: one per submission, with its state, attempts, next_attempt_at and last_error.

Delivery is a query: due rows ordered by next_attempt_at, claimed with
`UPDATE ... WHERE claimed_by IS NULL OR claimed_until < now` (and `FOR UPDATE SKIP LOCKED` on
PostgreSQL, so two couriers never even look at the same row). A claim is the single-sender
lock: its owner alone may write the outcome, the LeaseKeeper renews it while the send runs, and
release is owner-checked. The payload (bundle with the answers, receipt) is Fernet ciphertext.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Collection, Mapping, cast

from sqlalchemy import delete, func, or_, select, update

from smart_app.database import is_postgresql, submissions
from smart_app.store import LaunchStore, upsert

CLAIM_TTL = 30.0  # seconds; renewed every third of it while the send runs
EXTENSION = "smart_submission_rows"


@dataclass(frozen=True)
class DueRow:
    """A claimed, due submission: enough to rebuild its launch and deliver it."""

    key: str
    submission_id: str
    handle: str


class SubmissionRows:
    """Reads and writes of the submissions table; every value that holds answers is encrypted."""

    def __init__(self, store: LaunchStore, claim_ttl: float = CLAIM_TTL) -> None:
        """Share the store's database, cipher, HMAC key and lease keeper."""
        self.store = store
        self.engine = store.engine
        self.claim_ttl = claim_ttl

    def key(self, person: str, submission_id: str) -> str:
        """Row key of one submission of one person (iss|patient|person)."""
        return self.store.hashed("submission", f"{person}|{submission_id}")

    def person(self, person: str) -> str:
        """Row value naming the person (iss|patient|person), HMAC'd."""
        return self.store.hashed("submission-person", person)

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored record (item, kind, label, ...) of a submission, or None."""
        with self.engine.connect() as conn:
            raw = conn.execute(select(submissions.c.payload).where(submissions.c.key == key)).scalar()
        return self.store.unseal(raw)

    def insert(self, key: str, person: str, handle: str, record: Mapping[str, Any], retention: float) -> bool:
        """Keep a new submission before anything is sent; False when it already existed."""
        now = time.time()
        values = {"key": key, "person": self.person(person), "created_at": now, **self._columns(record, handle, now, retention)}
        statement = upsert(self.engine, submissions).values(**values).on_conflict_do_nothing(
            index_elements=[submissions.c.key]).returning(submissions.c.key)
        with self.engine.begin() as conn:
            return conn.execute(statement).first() is not None

    def save(self, key: str, handle: str, record: Mapping[str, Any], owner: str, retention: float) -> bool:
        """Write a send's outcome; only the claim's owner may (False when the claim was lost)."""
        with self.engine.begin() as conn:
            return conn.execute(update(submissions).where(submissions.c.key == key, submissions.c.claimed_by == owner)
                                .values(**self._columns(record, handle, time.time(), retention))).rowcount > 0

    def _columns(self, record: Mapping[str, Any], handle: str | None, now: float, retention: float) -> dict[str, Any]:
        """The queryable columns of a record, and its sealed payload."""
        item = record["item"]
        return {"submission_id": item["submission_id"], "handle": handle, "kind": record.get("kind") or "",
                "state": item["state"], "attempts": int(item.get("attempts") or 0),
                "next_attempt_at": item.get("next_attempt_at"), "last_error": item.get("last_error"),
                "sent_at": item.get("sent_at"), "updated_at": now, "expires_at": now + retention,
                "payload": self.store.seal(record)}

    def for_person(self, person: str, limit: int) -> list[dict[str, Any]]:
        """A person's submissions, newest first."""
        with self.engine.connect() as conn:
            raws = conn.execute(select(submissions.c.payload).where(submissions.c.person == self.person(person))
                                .order_by(submissions.c.created_at.desc()).limit(limit)).scalars().all()
        return [record for record in map(self.store.unseal, raws) if record is not None]

    def claim(self, key: str, owner: str) -> "Claim | None":
        """Become the one sender of a submission, or None when another sender holds it."""
        now = time.time()
        with self.engine.begin() as conn:
            won = conn.execute(update(submissions).where(
                submissions.c.key == key,
                or_(submissions.c.claimed_by.is_(None), submissions.c.claimed_until < now),
            ).values(claimed_by=owner, claimed_until=now + self.claim_ttl)).rowcount > 0
        return Claim(self, key, owner) if won else None

    def claim_due(self, owner: str, now: float, limit: int,
                  skip: Collection[str] = ()) -> list["tuple[DueRow, Claim]"]:
        """Claim up to `limit` pending submissions due by `now` that have a live launch, oldest due first
        (leaving out the row keys in `skip`: those this tick already tried)."""
        clock = time.time()
        due = select(submissions.c.key, submissions.c.submission_id, submissions.c.handle).where(
            submissions.c.state == "pending", submissions.c.next_attempt_at <= now, submissions.c.handle.is_not(None),
            or_(submissions.c.claimed_by.is_(None), submissions.c.claimed_until < clock),
        ).order_by(submissions.c.next_attempt_at).limit(limit)
        if skip:
            due = due.where(submissions.c.key.not_in(list(skip)))
        if is_postgresql(self.engine):
            due = due.with_for_update(skip_locked=True)
        claimed: list[tuple[DueRow, Claim]] = []
        with self.engine.begin() as conn:
            for row in conn.execute(due).all():
                won = conn.execute(update(submissions).where(
                    submissions.c.key == row.key,
                    or_(submissions.c.claimed_by.is_(None), submissions.c.claimed_until < clock),
                ).values(claimed_by=owner, claimed_until=clock + self.claim_ttl)).rowcount > 0
                if won:
                    claimed.append((DueRow(row.key, row.submission_id, row.handle), Claim(self, row.key, owner, start=False)))
        for _row, claim in claimed:
            claim.start()
        return claimed

    def renew(self, key: str, owner: str) -> bool:
        """Extend a claim we still hold."""
        with self.engine.begin() as conn:
            return conn.execute(update(submissions).where(submissions.c.key == key, submissions.c.claimed_by == owner)
                                .values(claimed_until=time.time() + self.claim_ttl)).rowcount > 0

    def release(self, key: str, owner: str) -> bool:
        """Let go of a claim, only if it is still ours."""
        with self.engine.begin() as conn:
            return conn.execute(update(submissions).where(submissions.c.key == key, submissions.c.claimed_by == owner)
                                .values(claimed_by=None, claimed_until=None)).rowcount > 0

    def detach(self, key: str) -> None:
        """The row's launch is gone: the courier stops trying until the person's next launch sends it."""
        with self.engine.begin() as conn:
            conn.execute(update(submissions).where(submissions.c.key == key).values(handle=None))

    def claimed_until(self, key: str) -> float | None:
        """When the current claim runs out (for tests and support)."""
        with self.engine.connect() as conn:
            return conn.execute(select(submissions.c.claimed_until).where(submissions.c.key == key)).scalar()

    def counts(self) -> dict[str, int]:
        """Rows per state (for support and tests)."""
        with self.engine.connect() as conn:
            return {state: int(n) for state, n in conn.execute(
                select(submissions.c.state, func.count()).group_by(submissions.c.state)).all()}

    def purge(self, now: float) -> list[str]:
        """Delete submissions past their retention; returns their submission ids."""
        with self.engine.begin() as conn:
            ids = conn.execute(select(submissions.c.submission_id).where(
                submissions.c.expires_at <= now, submissions.c.claimed_by.is_(None))).scalars().all()
            conn.execute(delete(submissions).where(submissions.c.expires_at <= now, submissions.c.claimed_by.is_(None)))
        return list(ids)


class Claim:
    """One submission's single-sender claim, renewed by the store's LeaseKeeper until released."""

    def __init__(self, rows: SubmissionRows, key: str, owner: str, *, start: bool = True) -> None:
        """Hold the claim (and start renewing it unless `start` is False)."""
        self.rows, self.key, self.owner = rows, key, owner
        self.ttl = rows.claim_ttl
        self.lost = False
        if start:
            self.start()

    def start(self) -> None:
        """Begin background renewal."""
        self.rows.store.leases.add(self)

    def renew(self) -> bool:
        """Extend the claim; marks it lost when it is no longer ours."""
        if not self.rows.renew(self.key, self.owner):
            self.lost = True
        return not self.lost

    def release(self) -> bool:
        """Stop renewing and release (owner-checked)."""
        self.rows.store.leases.discard(self)
        return self.rows.release(self.key, self.owner)


def rows() -> SubmissionRows:
    """The current app's submissions table."""
    from flask import current_app

    return cast(SubmissionRows, current_app.extensions[EXTENSION])
