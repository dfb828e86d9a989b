"""The CapabilityStatement at /metadata describes what the server really implements."""
from __future__ import annotations

from flask import Flask

from sandbox.fhir.api import create_fhir_blueprint
from tests.sandbox_fhir.conftest import GRANTS, OAUTH_URIS, auth

OAUTH_EXT = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def _oauth_uris(statement: dict) -> dict:
    """The oauth-uris extension as a dict."""
    ext = next(e for e in statement["rest"][0]["security"]["extension"] if e["url"] == OAUTH_EXT)
    return {e["url"]: e["valueUri"] for e in ext["extension"]}


def test_metadata_lists_transaction_batch_and_oauth_uris(client):
    response = client.get("/fhir/metadata")
    statement = response.get_json()
    assert response.content_type.startswith("application/fhir+json")
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    assert _oauth_uris(statement) == OAUTH_URIS
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"


def test_metadata_search_params_match_what_search_accepts(client):
    statement = client.get("/fhir/metadata").get_json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    mr = by_type["MedicationRequest"]
    assert "MedicationRequest:medication" in mr["searchInclude"]
    assert {"patient", "status", "intent", "code", "authoredon"} <= {p["name"] for p in mr["searchParam"]}
    for param in by_type["Questionnaire"]["searchParam"]:
        response = client.get(f"/fhir/Questionnaire?{param['name']}=x", headers=auth("clinician"))
        assert response.status_code in (200, 400), param
        if param["type"] != "date":
            assert response.status_code == 200, param["name"]


def test_security_endpoints_argument_wins_over_config(store):
    app = Flask("cap")
    app.config["SANDBOX_OAUTH_URIS"] = {"authorize": "http://config/authorize", "token": "http://config/token"}
    explicit = {"authorize": "http://arg/authorize", "token": "http://arg/token"}
    app.register_blueprint(create_fhir_blueprint(store, GRANTS.get, None, security_endpoints=explicit))
    assert _oauth_uris(app.test_client().get("/fhir/metadata").get_json()) == explicit


def test_blueprint_mounts_at_another_base_path_without_faults(store):
    app = Flask("base")
    app.register_blueprint(create_fhir_blueprint(store, GRANTS.get, None, base_path="/r4"))
    client = app.test_client()
    assert client.get("/r4/Patient/pat-ana", headers=auth("ana-all")).status_code == 200
    assert client.get("/fhir/Patient/pat-ana", headers=auth("ana-all")).status_code == 404


def test_an_app_route_under_the_base_still_wins_over_the_api(store):
    app = Flask("shared-base")
    app.register_blueprint(create_fhir_blueprint(store, GRANTS.get, None))
    app.add_url_rule("/fhir/.well-known/smart-configuration", "smart", lambda: {"ok": True})
    assert app.test_client().get("/fhir/.well-known/smart-configuration").get_json() == {"ok": True}
