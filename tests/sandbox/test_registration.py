"""Clients come from launch.json (exact iss, or the same loopback path) and sandbox/clients.json."""
from __future__ import annotations

import json

import pytest

from sandbox.auth.clients import ClientConfigError, client_from_entry, load_extra_clients, load_launch_clients


def _launch_json(tmp_path, iss: str) -> str:
    """A launch.json registering one public client for iss, plus one for a remote server."""
    path = tmp_path / "launch.json"
    path.write_text(json.dumps({
        "client_name": "Test app", "launch_uri": "http://localhost:8000/launch",
        "redirect_uris": ["http://localhost:8000/callback"], "scope": "openid patient/*.rs",
        "fhir_servers": [
            {"iss": iss, "client_id": "local-app", "token_endpoint_auth_method": "none"},
            {"iss": "https://ehr.example.org/fhir", "client_id": "remote-app"},
        ],
    }))
    return str(path)


def test_only_entries_for_this_fhir_base_are_registered(tmp_path):
    clients = load_launch_clients(_launch_json(tmp_path, "http://127.0.0.1:9090/fhir"), "http://127.0.0.1:9090/fhir")
    assert [c.client_id for c in clients] == ["local-app"]
    assert clients[0].redirect_uris == ["http://localhost:8000/callback"]
    assert clients[0].scope == "openid patient/*.rs"


def test_a_port_override_still_registers_the_loopback_entry(tmp_path):
    clients = load_launch_clients(_launch_json(tmp_path, "http://127.0.0.1:9090/fhir"), "http://127.0.0.1:9191/fhir")
    assert [c.client_id for c in clients] == ["local-app"]


def test_a_remote_base_gets_no_loopback_client(tmp_path):
    assert load_launch_clients(_launch_json(tmp_path, "http://127.0.0.1:9090/fhir"), "http://10.0.0.5:9090/fhir") == []


def test_the_sandbox_launch_registers_the_app_from_the_real_launch_json(sandbox_server):
    client = sandbox_server.auth.store.get_client("smart-previsit")
    assert client is not None and client.token_endpoint_auth_method == "none"


def test_extra_clients_file(tmp_path):
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([{"client_id": "mine", "redirect_uris": ["http://localhost:3000/cb"],
                                 "token_endpoint_auth_method": "none"}]))
    assert [c.client_id for c in load_extra_clients(path)] == ["mine"]
    assert load_extra_clients(tmp_path / "missing.json") == []


@pytest.mark.parametrize(("entry", "message"), [
    ({"redirect_uris": ["http://x/cb"]}, "client_id"),
    ({"client_id": "a", "redirect_uris": []}, "redirect_uris"),
    ({"client_id": "a", "redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "client_secret_post"},
     "token_endpoint_auth_method"),
    ({"client_id": "a", "redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "private_key_jwt"}, "jwks"),
])
def test_invalid_client_entries_name_the_problem(entry, message):
    with pytest.raises(ClientConfigError, match=message):
        client_from_entry(entry)
