"""Two app instances sharing a real Redis: a launch started on one finishes on the other; refresh is single-flight."""
from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug import Request, Response

from tests.fixtures.app import registration
from tests.fixtures.e2e import PATIENT, Launcher, e2e_registration
from tests.fixtures.fake_ehr import TOKEN, id_token, patient, token_response
from tests.fixtures.overlap import PATIENCE
from tests.production.instances import loopback_browser
from tests.questionnaire_flow.flow import Browser, phq9_answers, stored

pytestmark = pytest.mark.redis

POINTS = [1, 2, 0, 3, 1, 0, 2, 1, 0]


def test_launch_on_instance_a_then_fill_and_send_phq9_on_instance_b(e2e_sandbox, redis_url, start_instances):
    a, b = start_instances(e2e_registration(e2e_sandbox.fhir_base), redis_url=redis_url)
    browser = loopback_browser()
    handle = Launcher(a.client(browser), e2e_sandbox).ehr(patient=PATIENT)

    sid = Browser(b.client(browser), handle).fill_and_send("phq-9", phq9_answers(POINTS))

    [qr] = stored(e2e_sandbox, sid)["QuestionnaireResponse"]
    assert qr["status"] == "completed" and qr["subject"] == {"reference": f"Patient/{PATIENT}"}
    # ...and the receipt is readable back on A: drafts and outbox live in Redis too.
    assert b.client(browser).get(f"/l/{handle}/submissions/{sid}").status_code == 200
    assert a.client(browser).get(f"/l/{handle}/submissions/{sid}").status_code == 200


def test_without_a_shared_store_instance_b_does_not_know_the_launch(e2e_sandbox, start_instances):
    a, b = start_instances(e2e_registration(e2e_sandbox.fhir_base), redis_url=None)
    browser = loopback_browser()
    handle = Launcher(a.client(browser), e2e_sandbox).ehr(patient=PATIENT)
    assert a.client(browser).get(f"/l/{handle}/").status_code == 200
    response = b.client(browser).get(f"/l/{handle}/")
    assert response.status_code == 401 and "LAUNCH_EXPIRED" in response.get_data(as_text=True)


def _launch_through(instance_client, ehr, token: dict) -> str:
    """Run /launch and /callback over HTTP against the fake EHR; returns the launch handle."""
    start = instance_client.get("/launch", query_string={"iss": ehr.base, "launch": "L-1"})
    assert start.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
    token["id_token"] = id_token(ehr.key, iss=ehr.base, aud=params["client_id"], nonce=params.get("nonce"))
    ehr.serve_token_once(token)
    done = instance_client.get("/callback", query_string={"code": "c-1", "state": params["state"]})
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    return re.fullmatch(r"/l/([A-Za-z0-9_-]+)/", urlsplit(done.headers["Location"]).path).group(1)


def test_two_instances_refreshing_at_once_make_exactly_one_refresh_request(threaded_fake_ehr, redis_url, start_instances,
                                                                         audit_log, monkeypatch):
    from smart_app.launch import session
    from smart_app.launch.session import REFRESH_LOCK
    from smart_app.store import LaunchStore

    # One in-process lock per instance (the striped default could put both on one stripe by chance,
    # and then the second would wait there instead of at the shared lock this test is about).
    own_locks: dict[int, threading.Lock] = {}
    monkeypatch.setattr(session, "_lock_for", lambda rt, handle: own_locks.setdefault(id(rt), threading.Lock()))
    other_waits = threading.Event()
    real_hold = LaunchStore.hold

    def hold(self, namespace, key, ttl):
        """The shared refresh lock: note when an instance finds it taken (it then waits for the holder)."""
        held = real_hold(self, namespace, key, ttl)
        if held is None and namespace == REFRESH_LOCK:
            other_waits.set()
        return held

    monkeypatch.setattr(LaunchStore, "hold", hold)
    ehr = threaded_fake_ehr
    a, b = start_instances(registration(ehr.base), redis_url=redis_url)
    browser = loopback_browser()
    # Expiring inside the refresh window: the next page on either instance must refresh first.
    handle = _launch_through(a.client(browser), ehr, token_response(patient="p1", expires_in=30, refresh_token="rt-1"))

    refreshes: list[dict] = []
    other_was_waiting: list[bool] = []

    def slow_refresh(request: Request) -> Response:
        """A token endpoint that answers only once the other instance waits at the shared lock (a hang guard bounds it)."""
        refreshes.append(dict(request.form))
        other_was_waiting.append(other_waits.wait(PATIENCE))
        return Response(f'{{"access_token": "at-new-{len(refreshes)}", "token_type": "Bearer", "expires_in": 3600}}',
                        content_type="application/json")

    ehr.respond_with(TOKEN, slow_refresh, method="POST")
    ehr.serve_resource(patient("p1"))
    start = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def open_home(name: str, instance) -> None:
        """Both instances get the home page at the same moment."""
        start.wait()
        statuses[name] = instance.client(browser).get(f"/l/{handle}/").status_code

    threads = [threading.Thread(target=open_home, args=(n, i)) for n, i in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == {"a": 200, "b": 200}
    assert other_was_waiting == [True]  # both instances were inside their refresh at once
    assert [r["grant_type"] for r in refreshes] == ["refresh_token"]
    assert refreshes[0]["refresh_token"] == "rt-1"
    # Both pages read with the one new token.
    bearers = {r.headers.get("Authorization") for r in ehr.requests() if r.path == "/fhir/Patient/p1"}
    assert bearers == {"Bearer at-new-1"}
    # The one refresh is audited once, with the launch's identity, whichever instance did it.
    [refreshed] = [json.loads(r.getMessage()) for r in audit_log.records
                   if r.name == "smart_app.audit.events" and json.loads(r.getMessage())["event"] == "refresh.ok"]
    assert refreshed["handle"] == handle and refreshed["patient"] == "Patient/p1"
    assert refreshed["fhir_user"] == "Practitioner/dr1" and refreshed["iss"] == ehr.base
