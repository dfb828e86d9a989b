"""A successful sign-in issues a new session id and browser id: a cookie planted before it opens nothing after."""
from __future__ import annotations

from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from smart_app.launch.views import SIGNIN_COOKIE


def _session_cookie(app, client):
    """The browser's current session cookie."""
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"])


def test_a_planted_session_cookie_does_not_open_the_victims_launch(app, client, launcher, fake_ehr):
    # The attacker completes a sign-in of their own and plants that session cookie in the victim's browser.
    attacker = app.test_client()
    launcher.ehr_launch("p1", client=attacker)
    planted = _session_cookie(app, attacker)
    client.set_cookie(planted.key, planted.value, domain=planted.domain)

    handle, _ = launcher.ehr_launch("p1")  # the victim signs in with the planted cookie
    launcher.serve_patient("p1")

    assert _session_cookie(app, client).value != planted.value
    assert client.get(f"/l/{handle}/").status_code == 200
    holder = app.test_client()
    holder.set_cookie(planted.key, planted.value, domain=planted.domain)
    assert holder.get(f"/l/{handle}/").status_code == 401  # the planted session is dead
    assert not [r for r in fake_ehr.requests() if r.path.startswith("/fhir/Patient") and r.headers.get("Cookie")]


def test_a_planted_sign_in_cookie_does_not_open_the_victims_launch(app, client, launcher):
    # Before any session exists, the attacker plants the short sign-in cookie their own /launch got.
    attacker = app.test_client()
    attacker.get("/launch", query_string={"iss": launcher.ehr.base, "launch": "x"})
    planted = attacker.get_cookie(SIGNIN_COOKIE)
    client.set_cookie(planted.key, planted.value, domain=planted.domain)

    handle, _ = launcher.ehr_launch("p1")  # the victim signs in carrying it
    launcher.serve_patient("p1")

    record = read_launch(app.extensions[EXTENSION].store, handle)
    assert record["browser"] != planted.value  # bound to the session the callback created, not the planted id
    assert client.get(f"/l/{handle}/").status_code == 200
    assert attacker.get(f"/l/{handle}/").status_code == 401


def test_the_launch_is_bound_to_a_new_browser_id(app, client, launcher):
    launcher.ehr_launch("p0")  # a browser that already has a session signs in again
    with client.session_transaction() as before:
        old_bid = before["bid"]
    handle, _ = launcher.ehr_launch("p1")
    with client.session_transaction() as after:
        new_bid = after["bid"]
    record = read_launch(app.extensions[EXTENSION].store, handle)
    assert new_bid != old_bid
    assert record["browser"] == new_bid


def test_launches_started_before_a_rotation_stay_with_the_same_browser(app, client, launcher, fake_ehr):
    first, _ = launcher.ehr_launch("p1")
    second, _ = launcher.ehr_launch("p2")  # rotates again
    launcher.serve_patient("p1")
    launcher.serve_patient("p2")
    assert client.get(f"/l/{first}/").status_code == 200
    assert client.get(f"/l/{second}/").status_code == 200
    stranger = app.test_client()
    stranger.get("/")
    assert stranger.get(f"/l/{first}/").status_code == 401


def test_a_failed_sign_in_does_not_rotate(app, client, launcher):
    launcher.ehr_launch("p0")  # this browser has a session from an earlier sign-in
    auth = launcher.authorize()
    before = _session_cookie(app, client).value
    response = launcher.callback(auth.state, iss="https://elsewhere.example/fhir")
    assert response.status_code == 400
    assert _session_cookie(app, client).value == before
