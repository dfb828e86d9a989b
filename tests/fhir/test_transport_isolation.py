"""The FHIR client ignores the process environment (netrc, proxies) and releases its connections."""
from __future__ import annotations

from smart_app.ehr.client import FhirError
from tests.fhir.conftest import TOKEN, fhir_response

PATIENT = {"resourceType": "Patient", "id": "p1"}


def test_a_netrc_entry_for_the_ehr_host_never_replaces_the_bearer_token(fhir_server, make_client, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login svc password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(PATIENT))
    assert make_client().read("Patient", "p1")["id"] == "p1"
    assert fhir_server.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_proxy_environment_variables_are_ignored(fhir_server, other_server, make_client, monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, other_server.url_for("/"))
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(PATIENT))
    try:
        make_client(max_retries=0).read("Patient", "p1")
    except FhirError:
        pass  # only reached when the request went to the "proxy"; the asserts say why
    assert other_server.log == []  # the would-be proxy never saw the request (or its token)
    assert len(fhir_server.log) == 1


def test_close_releases_the_connection_pool_of_its_own_session(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(PATIENT))
    with make_client() as client:
        client.read("Patient", "p1")
        adapter = client._session.get_adapter(fhir_server.url_for("/"))
        assert len(adapter.poolmanager.pools) == 1  # a keep-alive pool is open while in use
    assert len(adapter.poolmanager.pools) == 0


def test_close_leaves_a_caller_supplied_session_open(fhir_server, make_client):
    import requests

    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response(PATIENT))
    with requests.Session() as shared:
        client = make_client(session=shared)
        client.read("Patient", "p1")
        client.close()
        assert len(shared.get_adapter(fhir_server.url_for("/")).poolmanager.pools) == 1
        assert shared.trust_env is False  # the environment is ignored whoever made the session


