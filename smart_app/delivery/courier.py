"""The courier: delivers pending submissions server-side, so answers reach the EHR after the tab is closed.

A send that failed transiently stays a PENDING row with its next attempt time
(outbox.RetryPolicy). Delivery is a query (rows.claim_due): the due rows, oldest due
first, each claimed by exactly one sender across every instance and worker; `deliver_due` sends
them through the same path a browser retry uses, with the launch's own tokens (refreshed as
usual), while that launch lives. When the launch is gone the row is detached from it: the
answers stay, shown as "In progress" when the person launches again, and that launch sends them.
Audit events carry ids only.

The embedded default runs one courier thread per app process, started with the app
(COURIER_INTERVAL > 0); `smart-app courier --loop` is the same loop as its own process.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

from flask import Flask

from smart_app.audit import events as audit
from smart_app.delivery import drafts, submission
from smart_app.context import LaunchContext
from smart_app.errors import LaunchError
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import runtime
from smart_app.launch.session import Launch, end_launch
from smart_app.delivery.outbox import OutboxState
from smart_app.delivery.retention import purge
from smart_app.delivery.rows import Claim, DueRow, rows

CONFIG_KEY = "COURIER_INTERVAL"
EXTENSION = "smart_courier"
BATCH = 50  # rows claimed per round trip; a tick takes batches until nothing is due
PURGE_EVERY = 3600  # seconds between retention purges run by a courier (see retention.py)


def entries() -> list[dict[str, Any]]:
    """The courier's work as the table holds it: pending rows with a live launch, soonest due first."""
    from sqlalchemy import select

    from smart_app.database import submissions

    with rows().engine.connect() as conn:
        found = conn.execute(select(submissions.c.handle, submissions.c.submission_id, submissions.c.next_attempt_at)
                             .where(submissions.c.state == "pending", submissions.c.handle.is_not(None))
                             .order_by(submissions.c.next_attempt_at)).all()
    return [{"handle": r.handle, "submission_id": r.submission_id, "due": r.next_attempt_at} for r in found]


def _drop(row: DueRow, reason: str) -> None:
    """Stop trying a row whose launch is gone; its answers stay for the person's next launch."""
    rows().detach(row.key)
    audit.event("courier.dropped", handle=row.handle, submission_id=row.submission_id, reason=reason)


def deliver_due(app: Flask, now: float | None = None) -> int:
    """Send every submission due by `now` whose launch is still alive; returns how many were sent."""
    with app.app_context():
        now = time.time() if now is None else now
        owner = f"courier-{uuid.uuid4().hex}"
        sent, seen = 0, set[str]()
        while True:
            batch = rows().claim_due(owner, now, BATCH, skip=seen)
            if not batch:
                return sent
            for row, claim in batch:
                seen.add(row.key)  # a row left pending (not due after all) is not taken twice in one tick
                try:
                    sent += _deliver_one(row, claim, now)
                finally:
                    claim.release()


def _deliver_one(row: DueRow, claim: Claim, now: float) -> bool:
    """Deliver one claimed row; True when it is now sent by this call."""
    rt = runtime()
    record = read_launch(rt.store, row.handle)
    if record is None:
        _drop(row, "launch_gone")
        return False
    if now - record.get("created", now) > rt.max_age:
        end_launch(rt, row.handle, reason="max_age")  # as a page of this launch would
        _drop(row, "launch_gone")
        return False
    launch = Launch(rt, row.handle, LaunchContext.from_record(record["context"]), uuid.uuid4().hex, record=record)
    try:
        outcome = submission.deliver_claimed(launch, row.submission_id, claim, now=now)
        if outcome is None:
            _drop(row, "submission_gone")
            return False
        if outcome.state is OutboxState.SENT and not claim.lost:
            drafts.forget_sent(launch, outcome)
            audit.event("courier.sent", submission_id=row.submission_id, **launch.audit_ids())
            return True
        return False
    except LaunchError:
        # The tokens could not be renewed, so the launch ended; the answers wait for the next one.
        _drop(row, "launch_gone")
        return False
    finally:
        launch.close()


# ------------------------------------------------------------------------------------------- the thread


class Courier:
    """One process's delivery thread for one app: ticks every `interval` seconds until stopped."""

    def __init__(self, app: Flask, interval: float) -> None:
        """Prepare (not start) the thread."""
        self.app = app
        self.interval = interval
        self.pid = os.getpid()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="courier", daemon=True)

    def _run(self) -> None:
        """Tick until stopped; a failing tick is logged (by type only) and the next one tries again."""
        purged_at = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                deliver_due(self.app)
                if time.monotonic() - purged_at >= PURGE_EVERY:
                    purged_at = time.monotonic()
                    purge(self.app)
            except Exception as exc:  # a store or EHR outage must not end the thread for good
                with self.app.app_context():
                    audit.event("courier.error", error=type(exc).__name__)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)


_start_lock = threading.Lock()


def ensure_running(app: Flask) -> Courier | None:
    """This process's courier for `app`, started on first call; None when COURIER_INTERVAL is 0 (off).

    Keyed by pid: a forked worker does not inherit the parent's thread, so it starts its own.
    """
    interval = float(app.config.get(CONFIG_KEY) or 0)
    if interval <= 0:
        return None
    courier: Courier | None = app.extensions.get(EXTENSION)
    if courier is not None and courier.pid == os.getpid():
        return courier
    with _start_lock:
        courier = app.extensions.get(EXTENSION)
        if courier is None or courier.pid != os.getpid():
            courier = app.extensions[EXTENSION] = Courier(app, interval)
            courier.thread.start()
        return courier


def stop(app: Flask) -> None:
    """Stop this process's courier for `app`, if it runs."""
    courier = app.extensions.pop(EXTENSION, None)
    if courier is not None and courier.pid == os.getpid():
        courier.stop()


def init_app(app: Flask) -> None:
    """Start this process's courier with the app when COURIER_INTERVAL is set (not on a first request)."""
    app.config.setdefault(CONFIG_KEY, 0)
    ensure_running(app)


def run_loop(app: Flask, interval: float, stop: threading.Event) -> None:
    """`smart-app courier --loop`: deliver every `interval` seconds until `stop` is set."""
    purged_at = time.monotonic() - PURGE_EVERY  # a worker that starts purges once at once
    while not stop.is_set():
        try:
            deliver_due(app)
            if time.monotonic() - purged_at >= PURGE_EVERY:
                purged_at = time.monotonic()
                purge(app)
        except Exception as exc:  # a database or EHR outage must not end the worker
            with app.app_context():
                audit.event("courier.error", error=type(exc).__name__)
        stop.wait(interval)


__all__ = ["Courier", "deliver_due", "ensure_running", "entries", "init_app", "run_loop", "stop"]
