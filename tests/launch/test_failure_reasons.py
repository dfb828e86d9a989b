"""Failures name their real reason: a server that is not SMART, a wrong client secret, an invalid client assertion.

Each shows the reason on the page (escaped, length-limited), records it in the audit event,
and logs it once at warning level, never with the secret or the code. The confidential-client
cases run against the real sandbox's token endpoint, not against a fake that agrees with us.
"""
from __future__ import annotations

import json
import logging

import pytest
from joserfc.jwk import KeySet, RSAKey

from smart_app import create_app
from tests.fixtures.e2e import LAUNCH_JSON, PATIENT, Launcher, e2e_registration


def _events(audit_log, name: str) -> list[dict]:
    """The captured audit events of one kind."""
    return [e for e in (json.loads(r.getMessage()) for r in audit_log.records if r.name == "smart_app.audit.events")
            if e["event"] == name]


def test_a_server_that_is_not_smart_is_named_with_each_step_and_its_evidence(client, fake_ehr, audit_log):
    fake_ehr.server.clear_all_handlers()
    fake_ehr.server.expect_request("/fhir/.well-known/smart-configuration").respond_with_data("", status=404)
    fake_ehr.server.expect_request("/fhir/metadata").respond_with_json({"resourceType": "CapabilityStatement", "rest": []})
    response = client.get("/launch", query_string={"iss": fake_ehr.base})
    html = response.get_data(as_text=True)
    reason = (f"no SMART configuration at {fake_ehr.base}/.well-known/smart-configuration (404) "
              f"and no OAuth URIs in {fake_ehr.base}/metadata (no oauth-uris extension)")
    assert response.status_code == 502 and "DISCOVERY_FAILED" in html
    assert reason in html
    assert [e["reason"] for e in _events(audit_log, "launch.failed")] == [reason]


def test_an_unreachable_server_is_told_apart_from_one_that_is_not_smart(client, fake_ehr, audit_log):
    fake_ehr.server.clear_all_handlers()  # every request answers 500
    html = client.get("/launch", query_string={"iss": fake_ehr.base}).get_data(as_text=True)
    assert "/.well-known/smart-configuration (500)" in html and "/metadata (500)" in html


@pytest.fixture
def confidential(sandbox_factory, tmp_path, client_key_paths, monkeypatch):
    """Register a confidential client with the real sandbox and build the app for it; returns a Launcher factory."""
    sandbox = sandbox_factory()

    def build(method: str, **client: object) -> Launcher:
        sandbox.register_client(client_id=f"conf-{method}", client_name="SMART Pre-Visit", scope=LAUNCH_JSON["scope"],
                                redirect_uris=LAUNCH_JSON["redirect_uris"], token_endpoint_auth_method=method, **client)
        doc = e2e_registration(sandbox.fhir_base)
        doc["fhir_servers"][0].update(client_id=f"conf-{method}", token_endpoint_auth_method=method)
        if method == "client_secret_basic":
            doc["fhir_servers"][0]["client_secret_env"] = "PREVISIT_APP_SECRET"
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / f"app-{method}"), "REGISTRATION": doc,
                          "SECRET_KEY": "reasons", **client_key_paths})
        return Launcher(app.test_client(), sandbox)
    return build


def _callback_page(launcher: Launcher) -> tuple[int, str, str]:
    """Run a standalone launch whose token exchange is refused; return the callback's status, page and redirect URL."""
    response, location = launcher.standalone_callback(login=f"Patient/{PATIENT}")
    return response.status_code, response.get_data(as_text=True), location


def test_a_wrong_client_secret_shows_the_servers_reason_on_the_page_in_the_audit_and_once_on_stderr(
        confidential, monkeypatch, audit_log, caplog):
    monkeypatch.setenv("SANDBOX_CONF_SECRET", "the-right-secret")
    monkeypatch.setenv("PREVISIT_APP_SECRET", "a-wrong-secret")
    launcher = confidential("client_secret_basic", client_secret_env="SANDBOX_CONF_SECRET")
    caplog.set_level(logging.INFO, logger="smart_app.launch.token")  # INFO: a WARNING handler level would drop the audit lines
    status, html, location = _callback_page(launcher)
    assert status == 502 and "TOKEN_EXCHANGE_FAILED" in html and "invalid_client" in html
    [failed] = _events(audit_log, "callback.failed")
    assert failed["error_code"] == "TOKEN_EXCHANGE_FAILED" and failed["reason"].startswith("invalid_client")
    warnings = [r.getMessage() for r in caplog.records if r.name == "smart_app.launch.token" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "invalid_client" in warnings[0]
    code = location.split("code=", 1)[1].split("&", 1)[0]
    for text in (html, json.dumps(failed), warnings[0]):
        assert "a-wrong-secret" not in text and "the-right-secret" not in text and code not in text


def test_an_invalid_client_assertion_shows_the_servers_reason(confidential, audit_log):
    stranger = RSAKey.generate_key(2048, private=True)  # the sandbox trusts a key the app does not hold
    launcher = confidential("private_key_jwt", jwks=KeySet([stranger]).as_dict(private=False))
    status, html, _ = _callback_page(launcher)
    assert status == 502 and "invalid_client" in html
    [failed] = _events(audit_log, "callback.failed")
    assert failed["reason"].startswith("invalid_client")
