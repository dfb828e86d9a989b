"""A flood of unauthenticated launch starts cannot grow sessions, evict anything, or block a real launch.

Acceptance (issue 12): after 10,000 unauthenticated /launch requests, existing launches and drafts
still work and a brand-new launch completes. Through the app's test client (no real HTTP), so it
stays fast; each request comes from its own client address, as a distributed flood would.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smart_app.delivery import drafts
from smart_app.database import records
from smart_app.launch.authorize import PENDING
from smart_app.launch.runtime import runtime
from smart_app.launch.session import current_launch
from smart_app.forms import FormState
from smart_app.store import SessionCache
from tests.fixtures.app import Launcher

FLOOD = 10_000
CANONICAL = "http://example.org/Questionnaire/intake|1"


def _rows(app, namespace: str) -> int:
    """Live and expired rows of one namespace."""
    with app.extensions["smart_launch"].store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records).where(records.c.namespace == namespace)).scalar())


def _address(i: int) -> dict[str, str]:
    """A distinct client address per request."""
    return {"REMOTE_ADDR": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"}


def test_after_ten_thousand_unauthenticated_launch_starts_existing_launches_and_drafts_work_and_a_new_launch_completes(
        app, client, fake_ehr):
    handle, _ = Launcher(client, fake_ehr).ehr_launch("p1")
    cookie = {"Cookie": f"smart_previsit={client.get_cookie('smart_previsit').value}"}
    with app.test_request_context(headers=cookie):
        launch = current_launch(handle)
        kept = drafts.save(launch, drafts.load_or_start(launch, CANONICAL), FormState(), None).draft
    sessions_before = _rows(app, SessionCache.NAMESPACE)

    flood = app.test_client(use_cookies=False)
    for i in range(FLOOD):
        response = flood.get("/launch", query_string={"iss": fake_ehr.base, "launch": f"L{i}"}, environ_base=_address(i))
        assert response.status_code == 302, i
        assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("smart_previsit=")]

    assert _rows(app, PENDING) == FLOOD  # every start is one small pending row that expires by itself...
    assert _rows(app, SessionCache.NAMESPACE) == sessions_before  # ...and none made a session

    assert client.get(f"/l/{handle}/style.css").status_code == 200  # the existing launch still works
    with app.test_request_context(headers=cookie):
        assert drafts.load(current_launch(handle), CANONICAL) == kept  # and its draft is there
    fresh = app.test_client()
    new_handle, _ = Launcher(fresh, fake_ehr).ehr_launch("p2")  # a brand-new launch completes
    assert fresh.get(f"/l/{new_handle}/style.css").status_code == 200


def test_one_address_is_rate_limited_and_its_refused_starts_store_nothing(make_app, fake_ehr):
    app = make_app()
    app.config["LAUNCH_RATE_LIMIT"] = 30
    browser = app.test_client(use_cookies=False)
    codes = [browser.get("/launch", query_string={"iss": fake_ehr.base}, environ_base=_address(7)).status_code
             for _ in range(40)]
    assert codes == [302] * 30 + [429] * 10
    assert _rows(app, PENDING) == 30
    assert "Too many sign-ins" in browser.get("/launch", query_string={"iss": fake_ehr.base},
                                              environ_base=_address(7)).get_data(as_text=True)
    other = app.test_client(use_cookies=False)  # another address is not affected
    assert other.get("/launch", query_string={"iss": fake_ehr.base}, environ_base=_address(8)).status_code == 302


def test_one_address_may_hold_only_so_many_unfinished_sign_ins(make_app, fake_ehr):
    app = make_app()
    app.config.update(LAUNCH_RATE_LIMIT=0, PENDING_PER_ADDRESS=20)
    codes = [app.test_client(use_cookies=False).get("/launch", query_string={"iss": fake_ehr.base},
                                                    environ_base=_address(9)).status_code for _ in range(25)]
    assert codes == [302] * 20 + [429] * 5
    assert _rows(app, PENDING) == 20


def test_one_browser_keeps_only_its_newest_unfinished_sign_ins_and_the_newest_still_completes(app, client, fake_ehr):
    launcher = Launcher(client, fake_ehr)
    states = [launcher.authorize().state for _ in range(8)]
    assert _rows(app, PENDING) == app.config["PENDING_PER_BROWSER"]
    fake_ehr.serve_token_once(__import__("tests.fixtures.fake_ehr", fromlist=["token_response"]).token_response(patient="p1"))
    assert launcher.callback(states[-1]).status_code == 303
    assert "INVALID_STATE" in launcher.callback(states[0]).get_data(as_text=True)  # the oldest was let go


@pytest.mark.parametrize("count", [3])
def test_the_signin_cookie_is_reused_by_the_same_browser(app, client, fake_ehr, count):
    launcher = Launcher(client, fake_ehr)
    for _ in range(count):
        launcher.authorize()
    values = {client.get_cookie("smart_previsit_signin").value}
    launcher.authorize()
    assert {client.get_cookie("smart_previsit_signin").value} == values
    with app.app_context():
        assert runtime().store.count_address(PENDING, "127.0.0.1") == count + 1
