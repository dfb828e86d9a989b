"""The courier delivers pending submissions after the person left, exactly once, on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sandbox.contracts import PlannedFault
from smart_app.delivery import courier, drafts
from smart_app import create_app
from smart_app.context import LaunchContext
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import runtime
from smart_app.launch.session import Launch, end_launch
from smart_app.medications import questionnaire_canonical
from tests.fixtures.e2e import E2E, PATIENT, e2e_registration
from tests.medication_flow.helpers import Reviewer, stored_reviews
from tests.medication_flow.test_faults import SPECIAL, assert_one_set
from tests.questionnaire_flow.flow import PHQ9_URL, Browser, csrf, phq9_answers, stored

LATER = 121  # seconds: past the sandbox's Retry-After of 120


@pytest.fixture(params=["sqlite", "postgresql+redis"])
def e2e_app(request: pytest.FixtureRequest, e2e_sandbox: Any, tmp_path: Path, client_key_paths: dict[str, str],
            dispose_apps: list) -> Flask:
    """The e2e app, once on the embedded SQLite store and once on a real PostgreSQL with sessions in a real Redis."""
    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "app-instance"),
              "REGISTRATION": e2e_registration(e2e_sandbox.fhir_base), "SECRET_KEY": "e2e-secret", **client_key_paths}
    if request.param == "postgresql+redis":
        config["SESSION_REDIS_URL"] = request.getfixturevalue("redis_url")
        config["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app(config)
    dispose_apps.append(app)
    return app


def _pending(e2e: E2E) -> tuple[Browser, str]:
    """A PHQ-9 whose send met a 503 with a long Retry-After: kept PENDING; returns (browser, submission id)."""
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    assert browser.post_form("phq-9", phq9_answers([3] * 9)).status_code == 303
    html, sid = browser.review("phq-9")
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    sent = browser.client.post(browser.url("questionnaires/phq-9/send"), data={"submission_id": sid, "csrf_token": csrf(html)})
    assert sent.status_code == 303
    assert e2e.sandbox.faults.pending() == []
    assert "Not sent yet" in browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert stored(e2e.sandbox, sid)["Observation"] == []
    return browser, sid


def _queue(app: Flask) -> list[dict[str, Any]]:
    """The courier's queue as stored."""
    with app.app_context():
        return courier.entries()


def _server_launch(app: Flask, handle: str) -> Launch:
    """The launch as the server sees it without a browser (to read the person's drafts)."""
    record = read_launch(runtime().store, handle)
    assert record is not None
    return Launch(runtime(), handle, LaunchContext.from_record(record["context"]), None, record=record)


def _draft(app: Flask, handle: str, canonical: str) -> drafts.Draft | None:
    """The person's stored draft of a form."""
    with app.app_context():
        return drafts.load(_server_launch(app, handle), canonical)


def _exactly_one_set(e2e: E2E, sid: str) -> None:
    """One completed QR, one Observation (the PHQ-9 total) and one Provenance for the submission."""
    found = stored(e2e.sandbox, sid)
    assert [r["status"] for r in found["QuestionnaireResponse"]] == ["completed"]
    assert len(found["Observation"]) == 1
    assert len(found["Provenance"]) == 1


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """Audit events of one name captured so far."""
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "smart_app.audit.events"]
    return [line for line in lines if line["event"] == name]


def test_a_pending_phq9_is_sent_by_the_courier_once_due_and_its_draft_forgotten(e2e: E2E) -> None:
    before_send = time.time()
    browser, sid = _pending(e2e)
    [entry] = _queue(e2e.app)
    assert entry["submission_id"] == sid and entry["handle"] == browser.handle
    assert entry["due"] >= before_send + 120  # the server's Retry-After (120 s) is honoured, however long the send took
    assert _draft(e2e.app, browser.handle, PHQ9_URL) is not None

    assert courier.deliver_due(e2e.app, now=time.time()) == 0  # not due yet: nothing goes out
    assert stored(e2e.sandbox, sid)["Observation"] == []

    assert courier.deliver_due(e2e.app, now=time.time() + LATER) == 1
    _exactly_one_set(e2e, sid)
    assert "Saved to the chart" in browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert _draft(e2e.app, browser.handle, PHQ9_URL) is None
    assert _queue(e2e.app) == []

    assert courier.deliver_due(e2e.app, now=time.time() + 2 * LATER) == 0
    _exactly_one_set(e2e, sid)


def test_a_browser_retry_racing_the_courier_sends_one_set(e2e: E2E, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    browser, sid = _pending(e2e)
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    e2e.sandbox.set_fault("latency", delay_ms=300, count=2, writes_only="true")  # keep the first sender in flight
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(courier.deliver_due(e2e.app, now=time.time() + LATER))),
        threading.Thread(target=lambda: results.append(browser.client.post(
            browser.url(f"submissions/{sid}/retry"), data={"csrf_token": csrf(page)}).status_code)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # pytest-timeout is the hang guard: a send can take long on a loaded machine
    assert 303 in results and len(results) == 2
    _exactly_one_set(e2e, sid)
    # The sender lock let one of them send; the other waited it out or found it sent (no second transaction).
    assert len(_events(caplog, "submission.sent")) == 1
    assert courier.deliver_due(e2e.app, now=time.time() + 2 * LATER) == 0
    assert _queue(e2e.app) == []
    _exactly_one_set(e2e, sid)


def test_an_ended_launch_is_dropped_and_its_answers_wait_for_the_next_launch(
        e2e: E2E, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    browser, sid = _pending(e2e)
    with e2e.app.app_context():
        end_launch(runtime(), browser.handle, reason="logout")

    assert courier.deliver_due(e2e.app, now=time.time() + LATER) == 0
    assert _queue(e2e.app) == []
    assert [(e["submission_id"], e["reason"]) for e in _events(caplog, "courier.dropped")] == [(sid, "launch_gone")]
    found = stored(e2e.sandbox, sid)
    assert found["Observation"] == [] and found["Provenance"] == []
    assert [r["status"] for r in found["QuestionnaireResponse"]] == ["in-progress"]  # only the draft's EHR copy

    relaunched = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))  # the same person comes back
    assert "Not sent yet" in relaunched.get(f"submissions/{sid}").get_data(as_text=True)


def test_a_send_settled_in_the_browser_leaves_the_queue(e2e: E2E) -> None:
    browser, sid = _pending(e2e)
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert browser.client.post(browser.url(f"submissions/{sid}/retry"), data={"csrf_token": csrf(page)}).status_code == 303
    _exactly_one_set(e2e, sid)
    assert _queue(e2e.app) == []


def test_a_refusal_at_the_courier_takes_the_entry_off_the_queue(e2e: E2E) -> None:
    browser, sid = _pending(e2e)
    e2e.sandbox.faults.plan(PlannedFault(kind="status", status=422))
    assert courier.deliver_due(e2e.app, now=time.time() + LATER) == 0
    assert _queue(e2e.app) == []
    assert "Not sent." in browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert stored(e2e.sandbox, sid)["Observation"] == []


def test_a_pending_medication_review_is_sent_by_the_courier(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    sid = reviewer.prepare(SPECIAL)
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    assert reviewer.send(sid).status_code == 303
    assert [r["status"] for r in stored_reviews(e2e, PATIENT)] in ([], ["in-progress"])
    assert [e["submission_id"] for e in _queue(e2e.app)] == [sid]

    assert courier.deliver_due(e2e.app, now=time.time() + LATER) == 1
    assert_one_set(e2e, PATIENT, 9)
    assert _draft(e2e.app, reviewer.handle, questionnaire_canonical()) is None
    assert "Sent to your care team" in e2e.client.get(f"/l/{reviewer.handle}/submissions/{sid}").get_data(as_text=True)


def test_a_person_without_fhir_user_is_found_by_the_launch_s_browser(e2e: E2E) -> None:
    """No fhirUser: drafts and submissions are keyed by the browser, which the courier reads from the launch record."""
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, exclude_scopes={"openid", "fhirUser"}))
    assert browser.post_form("phq-9", phq9_answers([1] * 9)).status_code == 303
    html, sid = browser.review("phq-9")
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    browser.client.post(browser.url("questionnaires/phq-9/send"), data={"submission_id": sid, "csrf_token": csrf(html)})
    assert "Not sent yet" in browser.get(f"submissions/{sid}").get_data(as_text=True)

    assert courier.deliver_due(e2e.app, now=time.time() + LATER) == 1
    _exactly_one_set(e2e, sid)
    assert _draft(e2e.app, browser.handle, PHQ9_URL) is None
    assert "Sent to your care team" in browser.get(f"submissions/{sid}").get_data(as_text=True)


def test_the_courier_thread_is_off_by_default_and_starts_with_the_app_not_on_a_first_request(
        tmp_path: Path, client_key_paths: dict[str, str]) -> None:
    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "courier-app"), "SECRET_KEY": "s",
              "REGISTRATION": e2e_registration("http://127.0.0.1:9/fhir"), **client_key_paths}
    off = create_app(config)
    off.test_client().get("/healthz")
    assert courier.ensure_running(off) is None and courier.EXTENSION not in off.extensions

    on = create_app({**config, "COURIER_INTERVAL": 3600})  # ticks far apart: this test never sees one
    started = on.extensions[courier.EXTENSION]  # running before any request
    assert on.test_client().get("/healthz").status_code == 200
    assert on.extensions[courier.EXTENSION] is started
    try:
        assert started.thread.is_alive() and started.thread.daemon
        assert courier.ensure_running(on) is started  # the same process keeps its thread
        started.pid = -1  # as a forked worker sees its parent's courier
        forked = courier.ensure_running(on)
        assert forked is not started and forked.thread.is_alive()
    finally:
        started.stop(timeout=5)
        courier.stop(on)
    assert not started.thread.is_alive() and not forked.thread.is_alive()
    assert courier.EXTENSION not in on.extensions


def test_a_failing_tick_is_logged_and_the_next_tick_runs(
        tmp_path: Path, client_key_paths: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "courier-app"), "SECRET_KEY": "s",
                      "REGISTRATION": e2e_registration("http://127.0.0.1:9/fhir"), **client_key_paths})
    calls: list[Flask] = []
    second = threading.Event()

    def tick(app_: Flask, now: float | None = None) -> int:
        """The first tick fails as a store outage would; the second one signals."""
        calls.append(app_)
        if len(calls) == 1:
            raise ConnectionError("store down")
        second.set()
        return 0

    monkeypatch.setattr(courier, "deliver_due", tick)
    running = courier.Courier(app, 0.001)
    running.thread.start()
    try:
        assert second.wait(10)
    finally:
        running.stop(timeout=5)
    assert calls[:2] == [app, app]
    assert [e["error"] for e in _events(caplog, "courier.error")] == ["ConnectionError"]


def test_a_launch_past_its_maximum_age_is_ended_and_its_entry_dropped(e2e: E2E) -> None:
    browser, sid = _pending(e2e)
    assert courier.deliver_due(e2e.app, now=time.time() + 13 * 3600) == 0  # MAX_LAUNCH_AGE is 12 h
    assert _queue(e2e.app) == []
    with e2e.app.app_context():
        assert read_launch(runtime().store, browser.handle) is None  # its tokens are gone, as a page would end it
    assert stored(e2e.sandbox, sid)["Observation"] == []
