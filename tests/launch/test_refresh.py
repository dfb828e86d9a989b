"""Refresh before expiry, single-flight; keep or rotate the refresh token; a failure ends the launch."""
from __future__ import annotations

import json
import re
import threading
import time

from werkzeug import Response

from smart_app.context import LaunchContext
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from smart_app.launch.session import Launch
from tests.fixtures.fake_ehr import token_response
from tests.fixtures.overlap import PATIENCE

SHORT = 30  # seconds: inside the refresh window, so the next use refreshes first


def _refreshes(fake_ehr):
    """Form bodies of refresh requests received."""
    return [fake_ehr.form(r) for r in fake_ehr.token_requests() if fake_ehr.form(r)["grant_type"] == "refresh_token"]


def test_refresh_before_expiry_then_page_uses_the_new_token(client, launcher, fake_ehr):
    # Granted scope without offline_access: refresh must not depend on it being echoed.
    first = token_response(patient="p1", expires_in=SHORT, refresh_token="rt-1", scope="launch patient/Patient.r openid fhirUser")
    handle, _ = launcher.ehr_launch(token=first)
    fake_ehr.serve_token_once(token_response(access_token="at-2", refresh_token="rt-2", expires_in=SHORT))
    launcher.serve_patient("p1", access_token="at-2")
    assert "Family-p1" in client.get(f"/l/{handle}/").get_data(as_text=True)
    fake_ehr.serve_token_once(token_response(access_token="at-3", expires_in=3600))
    launcher.serve_patient("p1", access_token="at-3")
    assert "Family-p1" in client.get(f"/l/{handle}/").get_data(as_text=True)
    bodies = _refreshes(fake_ehr)
    assert [b["refresh_token"] for b in bodies] == ["rt-1", "rt-2"]  # rotated token used next time


def test_refresh_without_new_refresh_token_keeps_the_old_one(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=SHORT, refresh_token="rt-keep"))
    fake_ehr.serve_token_once(token_response(access_token="at-2", refresh_token=None, expires_in=SHORT))
    launcher.serve_patient("p1")
    assert client.get(f"/l/{handle}/").status_code == 200
    fake_ehr.serve_token_once(token_response(access_token="at-3", refresh_token=None))
    assert client.get(f"/l/{handle}/").status_code == 200
    assert [b["refresh_token"] for b in _refreshes(fake_ehr)] == ["rt-keep", "rt-keep"]


def test_failed_refresh_ends_the_launch_and_sends_the_person_back_to_the_ehr_with_the_reason(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=SHORT))
    fake_ehr.serve_token_once({"error": "invalid_grant", "error_description": "refresh token revoked"}, status=400)
    response = client.get(f"/l/{handle}/")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "REFRESH_FAILED" in html and "invalid_grant: refresh token revoked" in html
    # An EHR launch can only be reopened from the EHR: no standalone "Sign in again" link.
    assert "Open the app again from your health record system" in html and "Sign in again" not in html
    again = client.get(f"/l/{handle}/")
    assert again.status_code == 401 and "LAUNCH_EXPIRED" in again.get_data(as_text=True)
    assert len(_refreshes(fake_ehr)) == 1


def test_expired_token_without_refresh_token_ends_the_launch(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=SHORT, refresh_token=None))
    response = client.get(f"/l/{handle}/")
    assert response.status_code == 401
    assert "LAUNCH_EXPIRED" in response.get_data(as_text=True)
    assert _refreshes(fake_ehr) == []


def test_401_from_fhir_triggers_one_refresh_and_retry(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", access_token="at-old"))
    fake_ehr.serve_token_once(token_response(access_token="at-new"))
    launcher.serve_patient("p1", access_token="at-new")
    fake_ehr.server.expect_request("/fhir/Patient/p1").respond_with_json({"resourceType": "OperationOutcome"}, status=401)
    assert "Family-p1" in client.get(f"/l/{handle}/").get_data(as_text=True)
    assert len(_refreshes(fake_ehr)) == 1


class _CountingLock:
    """The refresh lock of one launch, counting the callers that have reached it (holding or waiting)."""

    def __init__(self, parties: int) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self.arrived = 0
        self.all_in = threading.Event()
        self._parties = parties

    def __enter__(self):
        with self._count:
            self.arrived += 1
            if self.arrived == self._parties:
                self.all_in.set()
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


def test_concurrent_requests_share_one_refresh(app, launcher, fake_ehr, monkeypatch):
    from smart_app.launch import session

    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=SHORT))
    callers = 5
    lock = _CountingLock(callers)
    monkeypatch.setattr(session, "_lock_for", lambda rt, h: lock)
    seen_at_answer: list[int] = []

    def token_once_everyone_waits(request):
        # The token endpoint answers only once every caller is at the refresh lock (one holds it and
        # is here, the others wait): the race is certain, not hoped for; the wait is a hang guard.
        lock.all_in.wait(PATIENCE)
        seen_at_answer.append(lock.arrived)
        return Response(json.dumps(token_response(access_token="at-shared")), content_type="application/json")

    fake_ehr.respond_with("/auth/token", token_once_everyone_waits, method="POST")
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    results: list[str] = []

    def use():
        launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None)
        results.append(launch.access_token())

    threads = [threading.Thread(target=use) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_at_answer == [callers]  # all five were racing when the one refresh answered
    assert results == ["at-shared"] * callers
    assert len(_refreshes(fake_ehr)) == 1


def test_a_thread_that_read_the_token_this_launch_just_refreshed_does_not_refresh_it_again(app, launcher, fake_ehr,
                                                                                          monkeypatch):
    from smart_app.launch import session

    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=SHORT))
    fake_ehr.respond_with("/auth/token", lambda request: Response(
        json.dumps(token_response(access_token="at-new", expires_in=SHORT)), content_type="application/json"), method="POST")
    lock = _CountingLock(parties=2)
    monkeypatch.setattr(session, "_lock_for", lambda rt, h: lock)
    rt = app.extensions[EXTENSION]
    launch = Launch(rt, handle, LaunchContext.from_record(read_launch(rt.store, handle)["context"]), None)
    real_remember = Launch._remember
    second: list[str] = []
    other = threading.Thread(target=lambda: second.append(launch.access_token()))

    def remember(self, record, *, refreshed=False):
        # The refresh is stored but not yet remembered: a second thread of this launch reads the
        # new (short-lived) token from the store now, and waits at the refresh lock we hold.
        if refreshed and not other.is_alive() and not second:
            other.start()
            lock.all_in.wait(PATIENCE)
        return real_remember(self, record, refreshed=refreshed)

    monkeypatch.setattr(Launch, "_remember", remember)
    first = launch.access_token()
    other.join()
    assert lock.arrived == 2  # the second thread really raced this refresh
    assert first == "at-new" and second == ["at-new"]
    assert len(_refreshes(fake_ehr)) == 1


def test_end_session_deletes_tokens_and_needs_csrf(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1"))
    launcher.serve_patient("p1")
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    refused = client.post(f"/l/{handle}/end")
    assert refused.status_code == 400 and "CSRF_FAILED" in refused.get_data(as_text=True)
    assert client.get(f"/l/{handle}/").status_code == 200  # still alive
    ended = client.post(f"/l/{handle}/end", data={"csrf_token": token})
    assert ended.status_code == 200 and "Session ended" in ended.get_data(as_text=True)
    assert client.get(f"/l/{handle}/").status_code == 401


def test_idle_launch_expires(client, launcher, fake_ehr, monkeypatch):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1"))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 1801)
    assert client.get(f"/l/{handle}/").status_code == 401


def test_the_refresh_lock_outlives_the_token_request_and_waiters_outlive_the_lock():
    from smart_app.launch import session, token

    connect, read = token.TIMEOUT
    assert session.REFRESH_LOCK_TTL > connect + read  # a live holder keeps the lock to the end of its request
    assert session.REFRESH_WAIT > session.REFRESH_LOCK_TTL  # a waiter can take over a crashed holder's lock


def test_discovery_happens_before_the_refresh_lock_so_only_the_token_request_runs_under_it(app, launcher, fake_ehr, monkeypatch):
    handle, _ = launcher.ehr_launch()
    rt = app.extensions[EXTENSION]
    rt.discovery.forget(fake_ehr.base)  # a cache miss: discovery has to go to the network
    events: list[str] = []
    get, try_lock, unlock = rt.discovery.get, rt.store.try_lock, rt.store.unlock

    def recording_get(*args, **kwargs):
        events.append("discover")
        return get(*args, **kwargs)

    def recording_lock(*args, **kwargs):
        events.append("lock")
        return try_lock(*args, **kwargs)

    def recording_unlock(*args, **kwargs):
        events.append("unlock")
        return unlock(*args, **kwargs)

    monkeypatch.setattr(rt.discovery, "get", recording_get)
    monkeypatch.setattr(rt.store, "try_lock", recording_lock)
    monkeypatch.setattr(rt.store, "unlock", recording_unlock)
    fake_ehr.serve_token_once(token_response(access_token="at-new"))
    record = read_launch(rt.store, handle)
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None)
    assert launch.refresh_after_401() == "at-new"
    assert events == ["discover", "lock", "unlock"]


def test_a_token_refreshed_with_a_lifetime_inside_the_skew_is_used_for_the_rest_of_the_request(app, launcher, fake_ehr):
    # An EHR issuing tokens shorter-lived than REFRESH_SKEW must not get one refresh per FHIR call
    # (a page's parallel reads would each refresh, and all but one would fail on a rotated token).
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=SHORT))
    fake_ehr.serve_token_once(token_response(access_token="at-short", expires_in=SHORT))
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None, record)
    assert [launch.access_token() for _ in range(3)] == ["at-short"] * 3
    assert len(_refreshes(fake_ehr)) == 1
    # The next request (a new Launch) refreshes it again, as it is about to expire.
    fake_ehr.serve_token_once(token_response(access_token="at-next"))
    later = Launch(rt, handle, LaunchContext.from_record(record["context"]), None, read_launch(rt.store, handle))
    assert later.access_token() == "at-next"


def test_in_process_refresh_locks_stay_bounded_however_many_launches_a_worker_sees(app):
    from smart_app.launch import session

    rt = app.extensions[EXTENSION]
    locks = {id(session._lock_for(rt, f"handle-{i:06d}")) for i in range(10_000)}
    assert len(locks) <= session._LOCK_STRIPES  # memory does not grow per launch (review L7)
    assert session._lock_for(rt, "handle-000042") is session._lock_for(rt, "handle-000042")  # one launch, one lock
