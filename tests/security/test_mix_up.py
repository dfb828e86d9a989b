"""RFC 9207 / RFC 9700 §4.4 mix-up: a hostile *registered* EHR cannot get an honest server's code redeemed at its token endpoint."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from smart_app.config import ConfigError, parse_settings
from tests.fixtures.app import registration
from tests.fixtures.fake_ehr import smart_configuration


def two_servers(honest_base: str, hostile_base: str) -> dict:
    """launch.json registering the honest EHR and the hostile one, both as public clients."""
    doc = registration(honest_base)
    hostile = dict(doc["fhir_servers"][0], name="Hostile EHR", iss=hostile_base)
    doc["fhir_servers"].append(hostile)
    return doc


def test_hostile_ehr_claiming_the_honest_issuer_is_refused_before_authorize(make_app, fake_ehr, other_host, audit_log):
    hostile_base = other_host.url_for("/fhir")
    # The attack from the review: the hostile EHR's discovery names the honest issuer and the honest authorize endpoint.
    doc = smart_configuration(fake_ehr.base, token_endpoint=other_host.url_for("/auth/token"))
    other_host.expect_request("/fhir/.well-known/smart-configuration").respond_with_json(doc)
    client = make_app(two_servers(fake_ehr.base, hostile_base)).test_client()

    response = client.get("/launch", query_string={"iss": hostile_base, "launch": "x"})

    assert response.status_code == 502
    assert "DISCOVERY_REFUSED" in response.get_data(as_text=True)
    assert [r.path for r, _ in other_host.log] == ["/fhir/.well-known/smart-configuration"]
    assert fake_ehr.token_requests() == []
    refused = [r for r in audit_log.records if "discovery.refused" in r.getMessage()]
    assert refused and '"field": "issuer"' in refused[0].getMessage()


def test_honest_code_bounced_through_a_hostile_launch_is_refused_with_no_token_request(make_app, fake_ehr, other_host):
    hostile_base = other_host.url_for("/fhir")
    hostile_origin = other_host.url_for("").rstrip("/")
    # A self-consistent hostile discovery (it passes pinning) ...
    other_host.expect_request("/fhir/.well-known/smart-configuration").respond_with_json(
        smart_configuration(hostile_base, authorization_endpoint=hostile_origin + "/auth/authorize",
                            token_endpoint=hostile_origin + "/auth/token", jwks_uri=hostile_origin + "/auth/jwks"))
    client = make_app(two_servers(fake_ehr.base, hostile_base)).test_client()
    response = client.get("/launch", query_string={"iss": hostile_base, "launch": "x"})
    assert response.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    # ... whose authorize page bounces the victim to the honest server with our client_id, state and challenge;
    # the honest server signs them in and redirects back with its own code and its own iss.
    response = client.get("/callback", query_string={"code": "honest-code", "state": params["state"], "iss": fake_ehr.base})

    assert response.status_code == 400
    assert "ISS_MISMATCH" in response.get_data(as_text=True)
    assert [r for r, _ in other_host.log if r.path.endswith("/token")] == []
    assert fake_ehr.token_requests() == []


def test_the_expected_issuer_is_the_registered_one_not_the_servers_claim(make_app, fake_ehr):
    fake_ehr.serve_discovery(issuer=fake_ehr.base + "/elsewhere")
    client = make_app().test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 502
    assert "DISCOVERY_REFUSED" in response.get_data(as_text=True)


def test_an_issuer_configured_in_launch_json_is_the_one_expected(make_app, fake_ehr, launcher):
    issuer = fake_ehr.origin + "/oidc"
    fake_ehr.serve_discovery(issuer=issuer)
    client = make_app(issuer=issuer).test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 302
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    refused = client.get("/callback", query_string={"code": "c", "state": state, "iss": fake_ehr.base})
    assert "ISS_MISMATCH" in refused.get_data(as_text=True)
    assert fake_ehr.token_requests() == []


def test_two_servers_may_not_share_an_issuer():
    doc = two_servers("https://a.example/fhir", "https://b.example/fhir")
    doc["fhir_servers"][1]["issuer"] = "https://a.example/fhir"
    with pytest.raises(ConfigError, match="issuer"):
        parse_settings(doc)
