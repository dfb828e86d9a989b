"""launch.json validation: a broken file stops startup naming the file, the key and the problem."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from smart_app import create_app
from smart_app.config import ConfigError, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]


def _valid() -> dict:
    """A minimal valid registration."""
    return {"client_name": "x", "redirect_uris": ["http://localhost:8000/callback"], "scope": "openid",
            "fhir_servers": [{"iss": "https://ehr.example/fhir", "client_id": "c"}]}


def test_shipped_launch_json_is_valid_and_lists_both_sandboxes():
    settings = load_settings(ROOT / "launch.json")
    isses = {s.iss for s in settings.fhir_servers}
    assert {"http://127.0.0.1:9090/fhir", "https://launch.smarthealthit.org/v/r4/fhir"} <= isses
    assert settings.redirect_uri == "http://localhost:8000/callback"
    assert settings.launch_uri == "http://localhost:8000/launch"


def test_shipped_default_scopes_are_valid_smart_v2_and_minimal():
    import re

    scopes = load_settings(ROOT / "launch.json").scope.split()
    resource = re.compile(r"^patient/[A-Z][A-Za-z]+\.c?r?u?d?s?$")
    # The one user/ scope: a clinician asking a patient to fill a form creates a Task (asked for in EHR launches only).
    clinician = {"user/Task.c"}
    for scope in scopes:
        assert scope in ("openid", "fhirUser", "offline_access") or resource.match(scope) or scope in clinician, scope
    assert {"openid", "fhirUser", "offline_access"} <= set(scopes)
    # No wildcards, no other user/ scope, no system scopes, never delete: the least the app needs.
    assert not any("*" in s or (s.startswith("user/") and s not in clinician) or s.startswith("system/")
                   or "d" in s.partition(".")[2] for s in scopes)


@pytest.mark.parametrize("mutate, key, problem", [
    (lambda d: d.pop("client_name"), "client_name", "required"),
    (lambda d: d.update(redirect_uris=[]), "redirect_uris", "non-empty"),
    (lambda d: d.update(redirect_uris=["/callback"]), "redirect_uris[0]", "absolute"),
    (lambda d: d.update(fhir_servers=[]), "fhir_servers", "non-empty"),
    (lambda d: d["fhir_servers"][0].pop("client_id"), "fhir_servers[0].client_id", "required"),
    (lambda d: d["fhir_servers"][0].update(iss="http://ehr.example/fhir"), "fhir_servers[0].iss", "https"),
    (lambda d: d["fhir_servers"][0].update(token_endpoint_auth_method="client_secret_post"),
     "fhir_servers[0].token_endpoint_auth_method", "one of"),
    (lambda d: d["fhir_servers"][0].update(token_endpoint_auth_method="client_secret_basic"),
     "fhir_servers[0].client_secret_env", "required"),
    (lambda d: d["fhir_servers"][0].update(client_secret="shh"), "fhir_servers[0].client_secret", "never"),
    (lambda d: d["fhir_servers"][0].update(frame_ancestors=["*"]), "fhir_servers[0].frame_ancestors[0]", "never"),
    (lambda d: d["fhir_servers"].append(dict(d["fhir_servers"][0])), "fhir_servers[1].iss", "duplicate"),
])
def test_broken_registration_names_key_and_problem(tmp_path, mutate, key, problem):
    doc = _valid()
    mutate(doc)
    path = tmp_path / "launch.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == key
    assert problem in err.value.problem
    assert str(path) in str(err.value)


def test_invalid_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "launch.json"
    path.write_text('{"client_name": "x",\n oops}')
    with pytest.raises(ConfigError, match=r"launch.json: \(file\): not valid JSON \(line 2"):
        load_settings(path)


def test_app_reads_the_file_named_by_env(tmp_path, monkeypatch):
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(_valid()))
    monkeypatch.setenv("SMART_APP_CONFIG", str(path))
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "k"})
    assert "https://ehr.example/fhir" in app.test_client().get("/").get_data(as_text=True)


def test_app_refuses_to_start_with_a_broken_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SMART_APP_CONFIG", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="file not found"):
        create_app({"INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "k"})


def test_http_iss_allowed_only_for_loopback():
    doc = _valid()
    doc["fhir_servers"][0]["iss"] = "http://localhost:9090/fhir"
    assert parse_settings(doc).fhir_servers[0].iss == "http://localhost:9090/fhir"


@pytest.mark.parametrize("iss", [
    "http://ehr.example.org/fhir", "http://10.0.0.7/fhir", "http://localhost.example.org/fhir",
    "http://127.0.0.1.example.org/fhir", "ftp://ehr.example.org/fhir", "ehr.example.org/fhir",
])
def test_plain_http_iss_for_a_remote_host_is_refused(iss):
    doc = _valid()
    doc["fhir_servers"][0]["iss"] = iss
    with pytest.raises(ConfigError) as caught:
        parse_settings(doc)
    assert caught.value.key == "fhir_servers[0].iss" and "https" in caught.value.problem
