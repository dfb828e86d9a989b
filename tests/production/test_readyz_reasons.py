"""/readyz says why a server is not ready: unreachable, timeout (see test_serving) or not a SMART server."""
from __future__ import annotations

from tests.fixtures.app import registration
from tests.production.test_serving import _app, _free_port


def test_readyz_calls_a_server_without_smart_endpoints_not_smart(tmp_path, fake_ehr, client_key_paths):
    fake_ehr.server.clear_all_handlers()
    fake_ehr.server.expect_request("/fhir/.well-known/smart-configuration").respond_with_data("", status=404)
    fake_ehr.server.expect_request("/fhir/metadata").respond_with_json({"resourceType": "CapabilityStatement"})
    response = _app(tmp_path, registration(fake_ehr.base), client_key_paths).test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["servers"] == {fake_ehr.base: "not_smart"}


def test_readyz_calls_a_server_nobody_listens_on_unreachable(tmp_path, client_key_paths):
    iss = f"http://127.0.0.1:{_free_port()}/fhir"
    response = _app(tmp_path, registration(iss), client_key_paths).test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["servers"] == {iss: "unreachable"}
