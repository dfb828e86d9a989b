"""Cookie attributes, security headers, CSRF, and that no token ever reaches the browser."""
from __future__ import annotations

import json
import re

import pytest

from tests.fixtures.fake_ehr import id_token, token_response


def _set_cookies(response):
    """All Set-Cookie header values of a response."""
    return response.headers.getlist("Set-Cookie")


def _assert_cross_site_cookie(cookie: str) -> None:
    """Secure, HttpOnly, Partitioned (CHIPS) and SameSite=None: usable inside the EHR's frame, never by scripts."""
    attrs = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "partitioned"} <= attrs
    assert "SameSite=None" in cookie


def test_launch_sets_only_a_short_signin_cookie_and_the_callback_the_session_cookie(client, fake_ehr):
    from tests.fixtures.app import Launcher

    launcher = Launcher(client, fake_ehr)
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "l"})
    assert not [c for c in _set_cookies(response) if c.startswith("smart_previsit=")]  # no session yet
    [signin] = [c for c in _set_cookies(response) if c.startswith("smart_previsit_signin=")]
    _assert_cross_site_cookie(signin)
    assert "Max-Age=600" in signin
    state = dict(p.split("=", 1) for p in response.headers["Location"].split("?", 1)[1].split("&"))["state"]
    token = token_response(patient="p1")
    fake_ehr.serve_token_once(token)
    done = launcher.callback(state)
    assert done.status_code == 303, done.get_data(as_text=True)
    [cookie] = [c for c in _set_cookies(done) if c.startswith("smart_previsit=")]
    _assert_cross_site_cookie(cookie)


def test_pages_carry_security_headers(client, fake_ehr):
    for path in ("/", "/launch?iss=https://evil.example", "/no-such-page", "/.well-known/jwks.json"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "*" not in csp
        assert "frame-ancestors 'self' http://127.0.0.1:9999" in csp
        assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_hsts_when_served_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_html_pages_are_not_cached(client):
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_pages(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch("p1")
    launcher.serve_patient("p1")
    for path in ("/", f"/l/{handle}/"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html, path


def test_no_token_string_in_any_body_location_or_cookie(client, launcher, fake_ehr):
    secrets_seen = []
    responses = []
    auth = launcher.authorize()
    token = token_response(patient="p1", access_token="AT-SECRET-VALUE-123", refresh_token="RT-SECRET-VALUE-456", expires_in=30)
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
    secrets_seen += [token["access_token"], token["refresh_token"], token["id_token"]]
    fake_ehr.serve_token_once(token)
    callback = launcher.callback(auth.state, code="CODE-SECRET-789")
    responses.append(callback)
    handle = callback.headers["Location"].split("/")[2]
    fake_ehr.serve_token_once(token_response(access_token="AT-REFRESHED-SECRET", refresh_token="RT-ROTATED-SECRET"))
    secrets_seen += ["AT-REFRESHED-SECRET", "RT-ROTATED-SECRET"]
    launcher.serve_patient("p1")
    responses.append(client.get(f"/l/{handle}/"))
    responses.append(client.get(f"/l/{handle}/style.css"))
    responses.append(client.get(f"/l/{handle}/nope"))
    responses.append(client.get("/"))
    for response in responses:
        blob = response.get_data(as_text=True) + json.dumps(dict(response.headers))
        for secret in secrets_seen:
            assert secret not in blob
    # ...and the browser's cookie jar holds only an opaque session id.
    for cookie in client._cookies.values():
        assert all(secret not in cookie.value for secret in secrets_seen)
        assert len(cookie.value) < 64


def test_no_token_in_audit_or_app_logs(launcher, fake_ehr, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    handle, token = launcher.ehr_launch(token=token_response(patient="p1", access_token="AT-LOG-SECRET", refresh_token="RT-LOG-SECRET"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "AT-LOG-SECRET" not in text and "RT-LOG-SECRET" not in text and token["id_token"] not in text


def test_tokens_are_encrypted_at_rest(app, launcher, fake_ehr):
    from pathlib import Path

    launcher.ehr_launch(token=token_response(patient="p1", access_token="AT-AT-REST", refresh_token="RT-AT-REST"))
    for path in Path(app.instance_path).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"AT-AT-REST" not in data and b"RT-AT-REST" not in data, path


@pytest.mark.parametrize("headers, data", [
    ({}, {}),
    ({}, {"csrf_token": "forged"}),
    ({"Origin": "https://evil.example"}, None),  # right token, foreign origin
])
def test_state_changing_post_needs_csrf_token(client, launcher, fake_ehr, headers, data):
    handle, _ = launcher.ehr_launch("p1")
    launcher.serve_patient("p1")
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    good = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(f"/l/{handle}/end", data=data if data is not None else {"csrf_token": good}, headers=headers)
    assert response.status_code == 400
    assert "CSRF_FAILED" in response.get_data(as_text=True)


def test_smart_style_is_applied_as_validated_css(client, launcher, fake_ehr):
    fake_ehr.server.expect_request("/style.json").respond_with_json({
        "color_background": "#edeae3", "color_text": "red;}body{display:none", "font_family_body": "Georgia, serif",
        "dim_border_radius": "4px", "dim_font_size": 16,
    })
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", need_patient_banner=False,
                                                         smart_style_url=fake_ehr.server.url_for("/style.json")))
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert f"/l/{handle}/style.css" in html
    css = client.get(f"/l/{handle}/style.css")
    body = css.get_data(as_text=True)
    assert css.mimetype == "text/css"
    assert "--sp-bg: #edeae3;" in body and "--sp-font-body: Georgia, serif;" in body
    assert "--sp-font-size: 16px;" in body
    assert "display:none" not in body and "--sp-text" not in body


def test_same_origin_post_with_token_is_accepted(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch("p1")
    launcher.serve_patient("p1")
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    good = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(f"/l/{handle}/end", data={"csrf_token": good}, headers={"Origin": "http://localhost"})
    assert response.status_code == 200


def test_access_log_lines_never_carry_code_or_state():
    import logging

    from smart_app.web.security import RedactQuerySecrets

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /callback?code=SECRET-CODE&state=SECRET-STATE&iss=x HTTP/1.1", "303"), None)
    assert RedactQuerySecrets().filter(record) is True
    line = record.getMessage()
    assert "SECRET" not in line
    assert "code=[redacted]" in line and "state=[redacted]" in line and "iss=x" in line


def test_redaction_is_installed_on_the_access_loggers(app):
    import logging

    from smart_app.web.security import RedactQuerySecrets

    for name in ("werkzeug", "gunicorn.access"):
        assert any(isinstance(f, RedactQuerySecrets) for f in logging.getLogger(name).filters)
