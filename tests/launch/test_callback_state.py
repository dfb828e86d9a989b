"""The redirect URI: state missing, tampered, replayed; EHR errors; RFC 9207 iss; cookies blocked."""
from __future__ import annotations

import pytest

from tests.fixtures.fake_ehr import id_token, token_response


@pytest.mark.parametrize("query, code", [
    ({"code": "c"}, "INVALID_STATE"),
    ({"code": "c", "state": ""}, "INVALID_STATE"),
    ({"code": "c", "state": "never-issued-state-value-aaaaaaaaaaaaaaaaaaaaaaaa"}, "INVALID_STATE"),
])
def test_missing_or_unknown_state_is_400_and_no_token_request(client, launcher, fake_ehr, query, code):
    launcher.authorize()
    response = client.get("/callback", query_string=query)
    assert response.status_code == 400
    assert code in response.get_data(as_text=True)
    assert fake_ehr.token_requests() == []


def test_tampered_state_is_rejected_and_no_token_request(launcher, fake_ehr):
    auth = launcher.authorize()
    tampered = auth.state[:-1] + ("A" if auth.state[-1] != "A" else "B")
    response = launcher.callback(tampered)
    assert response.status_code == 400
    assert fake_ehr.token_requests() == []


def test_replayed_callback_is_rejected_without_a_second_token_request(launcher, fake_ehr):
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
    fake_ehr.serve_token_once(token)
    assert launcher.callback(auth.state, code="c1").status_code == 303
    replay = launcher.callback(auth.state, code="c1")
    assert replay.status_code == 400
    assert "STATE_REUSED" in replay.get_data(as_text=True)
    assert len(fake_ehr.token_requests()) == 1


def test_state_is_bound_to_the_browser_that_started_it(app, launcher, fake_ehr):
    auth = launcher.authorize()
    other_browser = app.test_client()
    other_browser.get("/launch", query_string={"iss": fake_ehr.base})  # it has a session of its own
    response = launcher.callback(auth.state, client=other_browser)
    assert response.status_code == 400
    assert "INVALID_STATE" in response.get_data(as_text=True)
    assert fake_ehr.token_requests() == []
    # ...and the state is spent: the rightful browser cannot use it afterwards either.
    assert launcher.callback(auth.state).status_code == 400


def test_callback_without_cookie_says_cookies_blocked_and_offers_new_window(app, launcher, fake_ehr):
    auth = launcher.authorize()
    cookieless = app.test_client(use_cookies=False)
    response = cookieless.get("/callback", query_string={"code": "c", "state": auth.state})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "COOKIES_BLOCKED" in html
    assert 'target="_blank"' in html
    assert "Location" not in response.headers  # never a redirect loop
    assert fake_ehr.token_requests() == []


@pytest.mark.parametrize("error, description", [
    ("access_denied", "The user said no"),
    ("invalid_scope", None),
    ("server_error", "<script>alert(1)</script>"),
])
@pytest.mark.parametrize("launch", ["launch-123", None], ids=["ehr", "standalone"])
def test_ehr_error_redirect_shows_the_error_and_offers_only_a_relaunch_that_can_work(launcher, fake_ehr, error, description,
                                                                                    launch):
    auth = launcher.authorize(launch=launch)
    extra = {"error": error}
    if description:
        extra["error_description"] = description
    response = launcher.client.get("/callback", query_string={"state": auth.state, **extra})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "EHR_ERROR" in html and error in html
    assert "<script>alert" not in html  # the EHR's text is escaped
    if description:
        assert "&lt;script&gt;" in html or description in html
    if launch is None:  # a standalone launch can be started again from here
        assert "Sign in again" in html and "/launch?iss=" in html
    else:  # an EHR launch needs the EHR's launch value: no link that would start something else
        assert "Open the app again from your health record system" in html
        assert "/launch?" not in html and "Sign in again" not in html
    assert fake_ehr.token_requests() == []


def test_error_with_unknown_state_is_still_rejected_as_invalid_state(client, fake_ehr):
    response = client.get("/callback", query_string={"error": "access_denied", "state": "nope"})
    assert response.status_code == 400
    assert "INVALID_STATE" in response.get_data(as_text=True)


def test_rfc9207_iss_must_equal_the_issuer(launcher, fake_ehr):
    auth = launcher.authorize()
    response = launcher.callback(auth.state, iss="https://evil.example/fhir")
    assert response.status_code == 400
    assert "ISS_MISMATCH" in response.get_data(as_text=True)
    assert fake_ehr.token_requests() == []


def test_rfc9207_iss_equal_to_issuer_is_accepted(launcher, fake_ehr):
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
    fake_ehr.serve_token_once(token)
    assert launcher.callback(auth.state, iss=fake_ehr.base).status_code == 303


def test_rfc9207_missing_iss_is_rejected_when_the_server_advertises_it(launcher, fake_ehr):
    fake_ehr.serve_discovery(authorization_response_iss_parameter_supported=True)
    auth = launcher.authorize()
    response = launcher.callback(auth.state)
    assert response.status_code == 400
    assert "ISS_MISMATCH" in response.get_data(as_text=True)
    assert fake_ehr.token_requests() == []
    # An error redirect without iss is refused the same way (it could come from another server).
    auth = launcher.authorize()
    response = launcher.callback(auth.state, error="access_denied")
    assert "ISS_MISMATCH" in response.get_data(as_text=True)


@pytest.mark.parametrize("advertised", [True, False, None])
def test_rfc9207_iss_is_accepted_when_present_or_not_promised(launcher, fake_ehr, advertised):
    fake_ehr.serve_discovery(authorization_response_iss_parameter_supported=advertised)
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
    fake_ehr.serve_token_once(token)
    extra = {"iss": fake_ehr.base} if advertised is True else {}
    assert launcher.callback(auth.state, **extra).status_code == 303


def test_expired_pending_state_is_rejected(app, launcher, fake_ehr, monkeypatch):
    auth = launcher.authorize()
    import time as time_module
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 601)
    response = launcher.callback(auth.state)
    assert response.status_code == 400
    assert fake_ehr.token_requests() == []


def test_token_endpoint_error_is_a_clear_page(launcher, fake_ehr):
    auth = launcher.authorize()
    fake_ehr.serve_token_once({"error": "invalid_grant"}, status=400)
    response = launcher.callback(auth.state)
    assert response.status_code == 502
    assert "TOKEN_EXCHANGE_FAILED" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", [
    {"token_type": "Bearer", "patient": "p1"},
    {"access_token": "x", "token_type": "mac", "patient": "p1"},
])
def test_token_response_without_bearer_access_token_is_refused(launcher, fake_ehr, token):
    auth = launcher.authorize()
    fake_ehr.serve_token_once(token)
    assert launcher.callback(auth.state).status_code == 502
