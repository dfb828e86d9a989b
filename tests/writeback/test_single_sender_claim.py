"""One sender per submission: a claim outlives its TTL while its send runs, so a slow retried
transaction cannot let a second sender (browser or courier, any instance) in. SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time

from smart_app.delivery.outbox import new_item
from smart_app.delivery.rows import SubmissionRows
from tests.fixtures.leases import manual_clock, outlive_ttl

TTL = 0.3  # seconds; the keeper renews every 0.1 s


def _pending(rows: SubmissionRows, sid: str) -> str:
    """Keep a pending submission that is due now; returns its row key."""
    key = rows.key("iss|p1|Practitioner/1", sid)
    record = {"item": new_item(sid, {"resourceType": "Bundle", "type": "transaction", "entry": []},
                               now=time.time()).to_dict(), "kind": "questionnaire"}
    assert rows.insert(key, "iss|p1|Practitioner/1", "handle-1", record, 3600)
    return key


def test_a_slow_send_keeps_its_claim_past_the_ttl_and_no_second_sender_gets_in(durable_store, monkeypatch):
    rows = SubmissionRows(durable_store, claim_ttl=TTL)
    key = _pending(rows, "s-slow")
    clock = manual_clock(monkeypatch)  # expiry time moves only when the test says: a late keeper cannot fail it
    first = rows.claim(key, "browser-A")
    assert first is not None
    deadline = rows.claimed_until(key)

    outlive_ttl(durable_store.leases, clock, TTL, 6)  # the "transaction" is still being retried...
    assert time.time() > deadline + TTL  # ...well past the first TTL
    assert rows.claimed_until(key) > time.time()  # renewed, not expired
    assert rows.claim(key, "browser-B") is None  # a second browser tab is told it is in flight
    assert rows.claim_due("courier-C", time.time() + 3600, 10) == []  # a courier on any instance skips it
    assert first.lost is False

    record = rows.load(key)
    assert rows.save(key, "handle-1", record, "browser-B", 3600) is False  # only the owner writes the outcome
    assert rows.save(key, "handle-1", record, "browser-A", 3600) is True
    assert first.release() is True
    second = rows.claim(key, "browser-B")
    assert second is not None  # once released, the next sender may go
    second.release()


def test_without_renewal_an_expired_claim_passes_to_the_next_sender_and_the_old_owner_cannot_write(
        durable_store, monkeypatch):
    rows = SubmissionRows(durable_store, claim_ttl=TTL)
    key = _pending(rows, "s-crashed")
    crashed = rows.claim(key, "browser-A")
    durable_store.leases.discard(crashed)  # its process died: nobody renews
    durable_store.leases.quiesce()  # a renewal round already under way finishes before the clock moves
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 10)
    [(row, claim)] = rows.claim_due("courier-C", real() + 3600, 10)
    assert row.key == key
    assert rows.save(key, "handle-1", rows.load(key), "browser-A", 3600) is False
    assert crashed.release() is False  # owner-checked: it cannot free the courier's claim
    claim.release()


def test_two_couriers_claiming_at_once_split_the_due_rows_without_overlap(durable_store):
    rows = SubmissionRows(durable_store, claim_ttl=30)
    keys = {_pending(rows, f"s{i}") for i in range(40)}
    barrier = threading.Barrier(2)
    got: dict[str, list[str]] = {}

    def courier(name: str) -> None:
        """Claim everything due, as a courier tick does."""
        barrier.wait()
        got[name] = [row.key for row, _claim in rows.claim_due(name, time.time() + 60, 100)]

    threads = [threading.Thread(target=courier, args=(n,)) for n in ("c1", "c2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(got["c1"]) & set(got["c2"])
    assert set(got["c1"]) | set(got["c2"]) == keys
    for name, claimed in got.items():
        for key in claimed:
            assert rows.release(key, name)
