"""Misbehaving authorize requests are refused: to the redirect_uri with iss when it is valid, else a page."""
from __future__ import annotations

import pytest

from tests.sandbox.oauth import SmartClient, pkce_pair


def _plain_challenge() -> str:
    """A syntactically valid 'plain' PKCE challenge."""
    return pkce_pair()[0]


@pytest.mark.parametrize(
    ("overrides", "description_part"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "code_challenge"),
        ({"code_challenge_method": "plain", "code_challenge": _plain_challenge()}, "S256"),
        ({"code_challenge_method": None}, "S256"),
        ({"aud": "http://127.0.0.1:1/fhir"}, "aud"),
        ({"aud": None}, "aud"),
        ({"launch": "not-a-launch"}, "launch"),
        ({"scope": "launch patient/Patient.r"}, "launch"),
    ],
    ids=["missing-pkce", "plain-pkce", "pkce-without-method", "wrong-aud", "missing-aud",
         "unknown-launch", "launch-scope-without-launch"],
)
def test_bad_request_is_redirected_with_error_state_and_iss(sandbox_server, overrides, description_part):
    attempt = SmartClient(sandbox_server).authorize(**overrides)
    assert attempt.response.status_code == 302
    callback = attempt.callback
    assert callback["error"] == "invalid_request"
    assert description_part in callback["error_description"]
    assert callback["state"] == attempt.params["state"]
    assert callback["iss"] == sandbox_server.fhir_base
    assert "code" not in callback


def test_aud_must_match_exactly_not_just_port_and_path(sandbox_server):
    lenient_aud = sandbox_server.fhir_base.replace("127.0.0.1", "localhost")
    attempt = SmartClient(sandbox_server).authorize(aud=lenient_aud)
    assert attempt.callback["error"] == "invalid_request"
    attempt = SmartClient(sandbox_server).authorize(aud=sandbox_server.fhir_base + "/")
    assert attempt.callback["error"] == "invalid_request"


def test_missing_state_is_refused_with_iss(sandbox_server):
    attempt = SmartClient(sandbox_server).authorize(state=None)
    callback = attempt.callback
    assert callback["error"] == "invalid_request"
    assert "state" in callback["error_description"]
    assert callback["iss"] == sandbox_server.fhir_base
    assert "state" not in callback


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "http://localhost:8000/callback/"},
        {"redirect_uri": "http://localhost:8001/callback"},
        {"redirect_uri": "http://evil.example/callback"},
        {"redirect_uri": None},
        {"client_id": "nobody"},
        {"client_id": None},
    ],
    ids=["trailing-slash", "other-port", "other-host", "missing-redirect", "unknown-client", "missing-client"],
)
def test_untrusted_redirect_or_client_gets_an_error_page_not_a_redirect(sandbox_server, overrides):
    attempt = SmartClient(sandbox_server).authorize(**overrides)
    assert attempt.response.status_code == 400
    assert "Location" not in attempt.response.headers
    assert "rejected" in attempt.response.text
    assert attempt.response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_unsupported_response_type_is_redirected_with_iss(sandbox_server):
    attempt = SmartClient(sandbox_server).authorize(response_type="token")
    callback = attempt.callback
    assert callback["error"] == "unsupported_response_type"
    assert callback["iss"] == sandbox_server.fhir_base
    assert callback["state"] == attempt.params["state"]


def test_denied_approval_returns_access_denied_with_state_and_iss(sandbox_server):
    client = SmartClient(sandbox_server)
    patient = sandbox_server.first("Patient")
    attempt = client.authorize(login_hint=f"Patient/{patient['id']}")
    assert "/auth/approve" in attempt.location
    txn = attempt.location.split("txn=")[1]
    client.submit(attempt, "/auth/approve", {"txn": txn, "decision": "deny"})
    callback = attempt.callback
    assert callback["error"] == "access_denied"
    assert callback["state"] == attempt.params["state"]
    assert callback["iss"] == sandbox_server.fhir_base
