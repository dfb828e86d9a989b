"""Discovery documents list exactly what the sandbox implements, at the FHIR base."""
from __future__ import annotations

import requests

EXPECTED_CAPABILITIES = {
    "launch-ehr", "launch-standalone",
    "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
    "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient", "context-banner", "context-style",
    "permission-v1", "permission-v2", "permission-offline", "permission-online",
    "sso-openid-connect", "authorize-post",
}


def test_smart_configuration(sandbox_server):
    response = requests.get(sandbox_server.fhir_base + "/.well-known/smart-configuration", timeout=10)
    assert response.status_code == 200
    config = response.json()
    auth = sandbox_server.base_url + "/auth/"
    assert config["issuer"] == sandbox_server.fhir_base
    assert config["authorization_endpoint"] == auth + "authorize"
    assert config["token_endpoint"] == auth + "token"
    assert config["introspection_endpoint"] == auth + "introspect"
    assert config["revocation_endpoint"] == auth + "revoke"
    assert config["jwks_uri"] == auth + "jwks"
    assert set(config["capabilities"]) == EXPECTED_CAPABILITIES
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert config["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert set(config["token_endpoint_auth_methods_supported"]) == {"none", "client_secret_basic", "private_key_jwt"}
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert {"openid", "fhirUser", "launch", "launch/patient", "offline_access"} <= set(config["scopes_supported"])


def test_openid_configuration_matches_the_issuer(sandbox_server):
    config = requests.get(sandbox_server.fhir_base + "/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == sandbox_server.fhir_base
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "fhirUser" in config["claims_supported"]
    keys = requests.get(config["jwks_uri"], timeout=10).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and "d" not in keys[0]


def test_discovery_uses_the_configured_base_not_the_host_header(sandbox_server):
    response = requests.get(sandbox_server.fhir_base + "/.well-known/smart-configuration",
                            headers={"Host": "evil.example"}, timeout=10)
    assert response.json()["token_endpoint"].startswith(sandbox_server.base_url)
