"""Refresh tokens rotate; revocation and introspection follow RFC 7009 and RFC 7662."""
from __future__ import annotations

import pytest

from tests.sandbox.oauth import SmartClient


@pytest.fixture
def issued(sandbox_server):
    """A patient-standalone token response with a refresh token, and the client that got it."""
    patient = sandbox_server.first("Patient")
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=f"Patient/{patient['id']}",
                          scope="launch/patient openid fhirUser offline_access patient/Patient.r patient/Observation.rs")
    body = client.token(attempt).json()
    assert body["refresh_token"]
    return client, body


def test_refresh_rotates_and_the_old_refresh_token_stops_working(issued):
    client, body = issued
    first = client.refresh(body["refresh_token"])
    assert first.status_code == 200, first.text
    renewed = first.json()
    assert renewed["refresh_token"] != body["refresh_token"]
    assert renewed["access_token"] != body["access_token"]
    assert renewed["patient"] == body["patient"]
    assert renewed["scope"] == body["scope"]

    reused = client.refresh(body["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert client.refresh(renewed["refresh_token"]).status_code == 200


def test_refresh_cannot_widen_the_scope(issued):
    client, body = issued
    response = client.refresh(body["refresh_token"], scope="patient/Patient.r patient/Patient.cruds")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    narrowed = client.refresh(body["refresh_token"], scope="patient/Patient.r")
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "patient/Patient.r"


def test_refresh_by_another_client_is_refused(sandbox_server, issued):
    _, body = issued
    sandbox_server.register_client(client_id="other-app", redirect_uris=["http://localhost:9/cb"], scope="")
    response = SmartClient(sandbox_server, client_id="other-app").refresh(body["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def _introspect(client: SmartClient, token: str, **form) -> dict:
    """POST to the introspection endpoint as a public client."""
    response = client.http.post(client.url("introspect"), data={"token": token, "client_id": client.client_id, **form},
                                timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_introspection_describes_an_active_token(sandbox_server, issued):
    client, body = issued
    info = _introspect(client, body["access_token"])
    assert info["active"] is True
    assert info["client_id"] == client.client_id
    assert info["scope"] == body["scope"]
    assert info["patient"] == body["patient"]
    assert info["fhirUser"] == f"{sandbox_server.fhir_base}/Patient/{body['patient']}"
    assert info["iss"] == sandbox_server.fhir_base
    assert _introspect(client, "no-such-token") == {"active": False}


def test_introspection_by_another_client_reveals_nothing(sandbox_server, issued):
    _, body = issued
    sandbox_server.register_client(client_id="other-app", redirect_uris=["http://localhost:9/cb"], scope="")
    assert _introspect(SmartClient(sandbox_server, client_id="other-app"), body["access_token"]) == {"active": False}


def test_revoking_the_refresh_token_ends_refresh_and_access(sandbox_server, issued):
    client, body = issued
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 200
    response = client.http.post(client.url("revoke"), timeout=10, data={
        "token": body["refresh_token"], "token_type_hint": "refresh_token", "client_id": client.client_id})
    assert response.status_code == 200
    assert client.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"
    assert _introspect(client, body["access_token"])["active"] is False
    assert client.fhir(body["access_token"], f"Patient/{body['patient']}").status_code == 401


def test_revoking_an_unknown_token_is_not_an_error(issued):
    client, _ = issued
    response = client.http.post(client.url("revoke"), data={"token": "nope", "client_id": client.client_id}, timeout=10)
    assert response.status_code == 200


def test_online_access_also_gets_a_rotating_refresh_token(sandbox_server):
    patient = sandbox_server.first("Patient")
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=f"Patient/{patient['id']}", scope="launch/patient online_access patient/Patient.r")
    body = client.token(attempt).json()
    assert body["scope"].split() == ["launch/patient", "online_access", "patient/Patient.r"]
    renewed = client.refresh(body["refresh_token"])
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != body["refresh_token"]
