"""The authorization request: every parameter, PKCE, scope syntax, POST for long requests."""
from __future__ import annotations

import base64
import hashlib

import pytest

from tests.fixtures.fake_ehr import id_token, token_response


def test_ehr_launch_sends_exact_authorize_parameters(launcher, fake_ehr):
    auth = launcher.authorize(launch="launch-abc")
    assert auth.endpoint == fake_ehr.authorize_endpoint
    assert set(auth.params) == {"response_type", "client_id", "redirect_uri", "scope", "state", "aud", "launch",
                                "code_challenge", "code_challenge_method", "nonce"}
    assert auth.params["response_type"] == "code"
    assert auth.params["client_id"] == "previsit-test"
    assert auth.params["redirect_uri"] == "http://localhost:8000/callback"
    assert auth.params["aud"] == fake_ehr.base
    assert auth.params["launch"] == "launch-abc"
    assert auth.params["code_challenge_method"] == "S256"
    scopes = auth.params["scope"].split()
    assert "launch" in scopes and "launch/patient" not in scopes
    assert {"openid", "fhirUser", "patient/Patient.r"} <= set(scopes)


def test_standalone_launch_asks_for_patient_and_no_launch_param(launcher):
    auth = launcher.authorize(launch=None)
    assert "launch" not in auth.params
    scopes = auth.params["scope"].split()
    assert "launch/patient" in scopes and "launch" not in scopes


def test_state_and_nonce_are_long_random_and_unique(launcher):
    first, second = launcher.authorize(), launcher.authorize()
    for auth in (first, second):
        # >= 128 bits: 32 random bytes in base64url is 43 characters.
        assert len(auth.state) >= 43 and len(auth.params["nonce"]) >= 43
    assert first.state != second.state
    assert first.params["nonce"] != second.params["nonce"]
    assert first.params["code_challenge"] != second.params["code_challenge"]


def test_code_verifier_in_token_body_matches_the_challenge(launcher, fake_ehr):
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
    fake_ehr.serve_token_once(token)
    assert launcher.callback(auth.state, code="the-code").status_code == 303
    [request] = fake_ehr.token_requests()
    body = fake_ehr.form(request)
    verifier = body["code_verifier"]
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == auth.params["code_challenge"]
    assert body["grant_type"] == "authorization_code"
    assert body["code"] == "the-code"
    assert body["redirect_uri"] == "http://localhost:8000/callback"
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_callback_never_redirects_anywhere_but_the_launch_page(launcher, fake_ehr):
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
    fake_ehr.serve_token_once(token)
    response = launcher.callback(auth.state, redirect_uri="https://evil.example/", next="https://evil.example/x",
                                 return_to="//evil.example")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/l/")
    assert "evil" not in response.headers["Location"]


def test_v1_only_server_gets_v1_scopes(launcher, fake_ehr):
    fake_ehr.serve_discovery(capabilities=["launch-ehr", "permission-v1", "sso-openid-connect"])
    scopes = launcher.authorize().params["scope"].split()
    assert "patient/Patient.read" in scopes
    assert "patient/QuestionnaireResponse.read" in scopes and "patient/QuestionnaireResponse.write" in scopes
    assert not any(s.endswith((".r", ".rs", ".cru")) for s in scopes)


def test_server_without_s256_is_refused_before_redirect(client, fake_ehr):
    fake_ehr.serve_discovery(code_challenge_methods_supported=["plain"])
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 502
    assert "PKCE_UNSUPPORTED" in response.get_data(as_text=True)
    assert "Location" not in response.headers


def test_long_request_is_posted_when_server_allows_authorize_post(make_app, fake_ehr):
    fake_ehr.serve_discovery(capabilities=["launch-ehr", "permission-v2", "authorize-post", "sso-openid-connect"])
    long_scope = " ".join(f"patient/Resource{i}.rs" for i in range(150))
    client = make_app(scope=long_scope).test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'action="{fake_ehr.authorize_endpoint}"' in html
    assert 'name="code_challenge_method" value="S256"' in html
    # The CSP must let this one form post to the EHR's origin, and only then.
    assert f"form-action 'self' {fake_ehr.origin}" in response.headers["Content-Security-Policy"]


def test_long_request_stays_get_when_post_not_advertised(make_app, fake_ehr):
    long_scope = " ".join(f"patient/Resource{i}.rs" for i in range(150))
    client = make_app(scope=long_scope).test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 302


def test_discovery_falls_back_to_capability_statement(launcher, fake_ehr):
    fake_ehr.server.clear_all_handlers()
    fake_ehr.server.expect_request("/fhir/.well-known/smart-configuration").respond_with_data("", status=404)
    fake_ehr.server.expect_request("/fhir/metadata").respond_with_json({
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "security": {"extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [{"url": "authorize", "valueUri": "../auth/authorize"},
                          {"url": "token", "valueUri": "../auth/token"}]}]}}],
    })
    auth = launcher.authorize()
    assert auth.endpoint == fake_ehr.authorize_endpoint  # relative URL resolved against the FHIR base
    assert "patient/Patient.read" in auth.params["scope"].split()  # no capabilities: v1 syntax


def test_relative_endpoints_in_smart_configuration_are_resolved(launcher, fake_ehr):
    fake_ehr.serve_discovery(authorization_endpoint="../auth/authorize", token_endpoint="../auth/token")
    assert launcher.authorize().endpoint == fake_ehr.authorize_endpoint


def test_discovery_is_cached_across_launches(launcher, fake_ehr):
    launcher.authorize()
    launcher.authorize()
    discoveries = [r for r in fake_ehr.requests() if r.path.endswith("smart-configuration")]
    assert len(discoveries) == 1


@pytest.mark.parametrize("status", [404, 500])
def test_discovery_failure_is_a_clear_error(client, fake_ehr, status):
    fake_ehr.server.clear_all_handlers()
    fake_ehr.server.expect_request("/fhir/.well-known/smart-configuration").respond_with_data("", status=status)
    fake_ehr.server.expect_request("/fhir/metadata").respond_with_data("", status=status)
    response = client.get("/launch", query_string={"iss": fake_ehr.base})
    assert response.status_code == 502
    assert "DISCOVERY_FAILED" in response.get_data(as_text=True)


@pytest.mark.parametrize("key", ["authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint"])
def test_insecure_endpoint_for_remote_host_is_refused(client, fake_ehr, key):
    fake_ehr.serve_discovery(**{key: "http://ehr.example.org/oauth"})
    response = client.get("/launch", query_string={"iss": fake_ehr.base})
    assert response.status_code == 502
    assert "INSECURE_ENDPOINT" in response.get_data(as_text=True)
    assert "Location" not in response.headers  # the browser is never sent to the http endpoint
    assert fake_ehr.token_requests() == []


@pytest.mark.parametrize("token_endpoint", ["http://127.0.0.1:9/token", "http://localhost/token", "http://ehr.example.org/token"])
def test_https_ehr_may_not_name_a_plain_http_endpoint_even_on_loopback(token_endpoint):
    from smart_app.errors import LaunchError
    from smart_app.launch.discovery import parse_smart_configuration

    doc = {"authorization_endpoint": "https://ehr.example.org/authorize", "token_endpoint": token_endpoint}
    with pytest.raises(LaunchError) as caught:
        parse_smart_configuration("https://ehr.example.org/fhir", doc)
    assert caught.value.code.value == "INSECURE_ENDPOINT"
    ok = parse_smart_configuration("https://ehr.example.org/fhir", {**doc, "token_endpoint": "https://ehr.example.org/token"})
    assert ok.token_endpoint == "https://ehr.example.org/token"


@pytest.mark.parametrize("method, extra", [
    ("client_secret_basic", {"client_secret_env": "UNUSED_SECRET_ENV"}),
    ("private_key_jwt", {}),
])
def test_confidential_method_the_server_does_not_list_is_refused_before_sign_in(make_app, fake_ehr, method, extra):
    fake_ehr.serve_discovery(token_endpoint_auth_methods_supported=["none"])
    client = make_app(token_endpoint_auth_method=method, **extra).test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 502
    assert "AUTH_METHOD_UNSUPPORTED" in response.get_data(as_text=True)
    assert "Location" not in response.headers
