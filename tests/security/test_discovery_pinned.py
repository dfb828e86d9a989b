"""Discovery is pinned to the registration: off-origin or plain-http endpoints are refused before any request reaches them."""
from __future__ import annotations

import pytest

from tests.fixtures.fake_ehr import JWKS, id_token, openid_configuration, token_response

FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint")


@pytest.mark.parametrize("field", FIELDS)
def test_an_off_origin_endpoint_is_refused_and_never_contacted(make_app, fake_ehr, other_host, audit_log, field):
    fake_ehr.serve_discovery(**{field: other_host.url_for("/steal")})
    client = make_app().test_client()

    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})

    assert response.status_code == 502
    assert "DISCOVERY_REFUSED" in response.get_data(as_text=True)
    assert other_host.log == []
    events = [r.getMessage() for r in audit_log.records if "discovery.refused" in r.getMessage()]
    assert events and f'"field": "{field}"' in events[0]


def test_an_off_origin_issuer_is_refused_and_its_openid_configuration_never_fetched(make_app, fake_ehr, other_host):
    fake_ehr.serve_discovery(issuer=other_host.url_for("/fhir"))
    response = make_app().test_client().get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert "DISCOVERY_REFUSED" in response.get_data(as_text=True)
    assert other_host.log == []


def test_an_https_ehr_may_not_name_a_plain_http_endpoint():
    from smart_app.config import parse_settings
    from smart_app.launch.discovery import parse_smart_configuration
    from smart_app.launch.pinning import pin
    from smart_app.errors import LaunchError
    from tests.fixtures.app import registration
    from tests.fixtures.fake_ehr import smart_configuration

    base = "https://ehr.example/fhir"
    settings = parse_settings(registration(base))
    doc = smart_configuration(base, jwks_uri="http://ehr.example/auth/jwks")
    with pytest.raises(LaunchError) as refused:
        pin(parse_smart_configuration(base, doc), settings)
    assert refused.value.code.value in ("DISCOVERY_REFUSED", "INSECURE_ENDPOINT")


def test_an_origin_listed_for_the_server_is_allowed(make_app, fake_ehr, other_host):
    auth_origin = other_host.url_for("").rstrip("/")
    fake_ehr.serve_discovery(authorization_endpoint=auth_origin + "/authorize")
    client = make_app(allowed_origins=[auth_origin]).test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(auth_origin + "/authorize?")


def test_a_jwks_uri_off_origin_in_openid_configuration_is_refused_before_it_is_fetched(make_app, fake_ehr, other_host, launcher):
    fake_ehr.serve_discovery()
    fake_ehr.server.clear_all_handlers()
    # Re-serve discovery, but let the issuer's openid-configuration name a key URL on another host.
    from tests.fixtures.fake_ehr import smart_configuration

    fake_ehr.server.expect_request("/fhir/.well-known/smart-configuration").respond_with_json(smart_configuration(fake_ehr.base))
    oidc = openid_configuration(fake_ehr.base, fake_ehr.origin)
    oidc["jwks_uri"] = other_host.url_for(JWKS)
    fake_ehr.server.expect_request("/fhir/.well-known/openid-configuration").respond_with_json(oidc)
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud=auth.params["client_id"], nonce=auth.params["nonce"])
    fake_ehr.serve_token_once(token)

    response = launcher.callback(auth.state)

    assert "DISCOVERY_REFUSED" in response.get_data(as_text=True)
    assert other_host.log == []
