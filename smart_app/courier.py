"""The courier: delivers pending submissions server-side, so answers reach the EHR after the tab is closed.

A send that failed transiently stays PENDING in the store with a next attempt time
(outbox.RetryPolicy). submission.py puts (handle, submission id, due time) on one bounded
queue record here; `deliver_due` sends the due ones through the same single-sender path a
browser retry uses (`submission.deliver_if_due`), with the launch's own tokens (refreshed as
usual), while the launch lives. The store cannot scan, so the queue is one record, changed
only under the store's cross-instance lock. An entry leaves the queue when its submission is
sent or refused, or when its launch is gone: the answers then stay in the store, shown as
"In progress" when the person launches again. Audit events carry ids only.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any, Callable, Iterator

from flask import Flask

from smart_app import audit
from smart_app.context import LaunchContext
from smart_app.errors import LaunchError
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import runtime
from smart_app.outbox import OutboxState

QUEUE_NAMESPACE = "courier-queue"
QUEUE_KEY = "queue"
LOCK_NAMESPACE = "courier-lock"
TICK_KEY = "tick"
QUEUE_LOCK_TTL = 10  # the queue lock covers one read-modify-write of a small record
LOCK_WAIT = 2.0  # how long a change waits for the queue lock before giving up (the browser retry still works)
TICK_LOCK_TTL = 120  # one instance ticks at a time; expires by itself if that instance dies mid-tick
MAX_ENTRIES = 1000  # keeps the queue record small; beyond it the oldest entries wait for the person
CONFIG_KEY = "COURIER_INTERVAL"
EXTENSION = "smart_courier"


# ------------------------------------------------------------------------------------------- the queue


def _locked(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]) -> bool:
    """Apply `change` to the queue entries under the cross-instance lock; False when the lock stayed busy.

    `change` returns the new entries, or None to leave the record as it is.
    """
    store = runtime().store
    deadline = time.monotonic() + LOCK_WAIT
    owner = store.try_lock(LOCK_NAMESPACE, QUEUE_KEY, QUEUE_LOCK_TTL)
    while owner is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # another instance is mid-update; updates take milliseconds
        owner = store.try_lock(LOCK_NAMESPACE, QUEUE_KEY, QUEUE_LOCK_TTL)
    try:
        entries = list((store.get(QUEUE_NAMESPACE, QUEUE_KEY) or {}).get("entries") or [])
        changed = change(entries)
        if changed is not None:
            if changed:
                # Entries are useless once their launch can no longer be alive.
                store.put(QUEUE_NAMESPACE, QUEUE_KEY, {"entries": changed}, runtime().max_age)
            else:
                store.delete(QUEUE_NAMESPACE, QUEUE_KEY)
        return True
    finally:
        store.unlock(LOCK_NAMESPACE, QUEUE_KEY, owner)


def enqueue(handle: str, submission_id: str, due: float) -> bool:
    """Schedule a pending submission for delivery at `due` (replacing its earlier entry); False when not queued."""
    overflow: list[dict[str, Any]] = []

    def change(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace this submission's entry; drop the oldest beyond the bound."""
        kept = [e for e in entries if e.get("submission_id") != submission_id]
        kept.append({"handle": handle, "submission_id": submission_id, "due": due})
        overflow.extend(kept[:-MAX_ENTRIES])
        return kept[-MAX_ENTRIES:]

    queued = _locked(change)
    for entry in overflow:
        audit.event("courier.dropped", handle=entry.get("handle"), submission_id=entry.get("submission_id"),
                    reason="queue_full")
    if not queued:
        audit.event("courier.busy", handle=handle, submission_id=submission_id)
    return queued


def dequeue(submission_id: str) -> bool:
    """Take a submission off the queue (sent, refused or given up); True when an entry was removed."""
    removed: list[bool] = []

    def change(entries: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Everything but this submission's entry."""
        kept = [e for e in entries if e.get("submission_id") != submission_id]
        removed.append(len(kept) != len(entries))
        return kept if removed[0] else None

    return _locked(change) and bool(removed and removed[0])


def entries() -> list[dict[str, Any]]:
    """The queue as stored: [{"handle", "submission_id", "due"}], oldest first (for tests and support)."""
    return list((runtime().store.get(QUEUE_NAMESPACE, QUEUE_KEY) or {}).get("entries") or [])


def _drop(entry: dict[str, Any], reason: str) -> None:
    """Give up on an entry whose launch is gone; its answers stay in the store for the next launch."""
    dequeue(entry["submission_id"])
    audit.event("courier.dropped", handle=entry["handle"], submission_id=entry["submission_id"], reason=reason)


# ------------------------------------------------------------------------------------------- delivery


def deliver_due(app: Flask, now: float | None = None) -> int:
    """Send every queued submission due by `now` whose launch is still alive; returns how many were sent."""
    with app.app_context():
        now = time.time() if now is None else now
        store = runtime().store
        owner = store.try_lock(LOCK_NAMESPACE, TICK_KEY, TICK_LOCK_TTL)
        if owner is None:
            return 0  # another instance is delivering right now; its tick covers the same queue
        try:
            return sum(_deliver_one(entry, now) for entry in _due(now))
        finally:
            store.unlock(LOCK_NAMESPACE, TICK_KEY, owner)


def _due(now: float) -> Iterator[dict[str, Any]]:
    """The entries due by `now`, as the queue held them at the start of this tick."""
    for entry in entries():
        if isinstance(entry.get("handle"), str) and isinstance(entry.get("submission_id"), str) \
                and float(entry.get("due") or 0) <= now:
            yield entry


def _deliver_one(entry: dict[str, Any], now: float) -> bool:
    """Deliver one entry through the single-sender path; True when it is now sent (by this call or just before)."""
    from smart_app import drafts, submission  # submission enqueues through this module: imported here, not at the top
    from smart_app.launch.session import Launch, end_launch

    rt = runtime()
    handle, submission_id = entry["handle"], entry["submission_id"]
    record = read_launch(rt.store, handle)
    if record is None:
        _drop(entry, "launch_gone")
        return False
    if now - record.get("created", now) > rt.max_age:
        end_launch(rt, handle, reason="max_age")  # as a page of this launch would
        _drop(entry, "launch_gone")
        return False
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), uuid.uuid4().hex, record=record)
    try:
        outcome = submission.deliver_if_due(launch, submission_id, now=now)
        if outcome is None:
            _drop(entry, "submission_gone")
            return False
        if outcome.state is OutboxState.PENDING:
            return False  # still waiting (or a browser is sending it right now): the entry stays
        dequeue(submission_id)  # usually done by the send itself; this covers one settled elsewhere
        if outcome.state is OutboxState.SENT:
            drafts.forget_sent(launch, outcome)
            audit.event("courier.sent", handle=handle, submission_id=submission_id)
            return True
        return False
    except LaunchError:
        # The tokens could not be renewed, so the launch ended; the answers wait for the next one.
        _drop(entry, "launch_gone")
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
        while not self._stop.wait(self.interval):
            try:
                deliver_due(self.app)
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
    courier = app.extensions.get(EXTENSION)
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
    """Start the courier lazily, on the first request this process serves (after any fork)."""
    app.config.setdefault(CONFIG_KEY, 0)

    @app.before_request
    def _start_courier() -> None:
        """Make sure this process delivers pending submissions (cheap once running)."""
        ensure_running(app)


__all__ = ["Courier", "deliver_due", "dequeue", "enqueue", "ensure_running", "entries", "init_app", "stop"]
