"""The README's public-sandbox walkthrough, step by step, against a local copy of the launcher's behaviour.

One registration entry with `iss` (EHR launches) and `iss_template` (every standalone option
code) covers the public launcher; changing the client type is an edit of launch.json that the
running app picks up without a restart.
"""
from __future__ import annotations

import base64
import json
import os
import time
from urllib.parse import urlsplit

import pytest
import requests

from smart_app import create_app
from tests.fixtures.smart_launcher import SmartLauncher, sim_code

SECRET_ENV = "SMART_LAUNCHER_SECRET"


def walkthrough_registration(launcher: SmartLauncher, **entry: str) -> dict:
    """launch.json as the README tells a developer to write it (with the launcher's local origin)."""
    server = {"name": "SMART Health IT public sandbox", "iss": launcher.ehr_iss, "iss_template": launcher.iss_template,
              "client_id": "smart-previsit", "token_endpoint_auth_method": "none",
              "frame_ancestors": [launcher.origin]}
    server.update(entry)
    return {"client_name": "SMART Pre-Visit", "launch_uri": "http://localhost:8000/launch",
            "redirect_uris": ["http://localhost:8000/callback"], "jwks_uri": "http://localhost:8000/.well-known/jwks.json",
            "scope": "openid fhirUser offline_access patient/Patient.r patient/QuestionnaireResponse.crus",
            "fhir_servers": [server]}


@pytest.fixture
def walkthrough(smart_launcher, tmp_path, client_key_paths):
    """The app reading a launch.json file it re-reads when changed; returns (app, launcher, write)."""
    config = tmp_path / "launch.json"

    def write(**entry: str) -> None:
        config.write_text(json.dumps(walkthrough_registration(smart_launcher, **entry)))
        stamp = time.time_ns() + len(config.read_text())  # a distinct mtime even within one clock tick
        os.utime(config, ns=(stamp, stamp))

    write()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "CONFIG_PATH": str(config),
                      "REGISTRATION_CHECK": 0, "SECRET_KEY": "walkthrough", **client_key_paths})
    return app, smart_launcher, write


def launch(app, iss: str, launch_code: str | None = None):
    """/launch -> the launcher's authorize -> the app's callback; returns the callback's response."""
    browser = app.test_client()
    query = {"iss": iss, **({"launch": launch_code} if launch_code else {})}
    start = browser.get("/launch", query_string=query)
    assert start.status_code == 302, start.get_data(as_text=True)[:800]
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    redirect = urlsplit(back.headers["Location"])
    assert redirect.netloc == "localhost:8000"
    return browser.get(f"{redirect.path}?{redirect.query}")


def test_step_1_ehr_launch_from_the_launcher(walkthrough):
    app, launcher, _ = walkthrough
    response = launch(app, launcher.ehr_iss, sim_code(launch_type="provider-ehr", patient="p-ehr"))
    assert response.status_code == 303 and response.headers["Location"].startswith("/l/")


def test_step_2_standalone_launch_with_any_option_code_needs_no_new_entry(walkthrough, audit_log):
    app, launcher, _ = walkthrough
    for patient in ("p-one", "p-two"):  # each option change is a new iss; the one template covers them all
        code = sim_code(patient=patient)
        assert launch(app, launcher.iss(code)).status_code == 303
    received = [json.loads(r.getMessage()) for r in audit_log.records if '"launch.received"' in r.getMessage()]
    assert [e["iss_template"] for e in received] == [launcher.iss_template] * 2
    assert len({e["iss"] for e in received}) == 2


def test_step_3_confidential_client_with_a_secret_switched_on_without_a_restart(walkthrough, monkeypatch):
    app, launcher, write = walkthrough
    code = sim_code(client_type="confidential-symmetric", client_id="smart-previsit", client_secret="launcher-secret")
    monkeypatch.setenv(SECRET_ENV, "launcher-secret")  # the launcher's secret field must equal the env value
    write(token_endpoint_auth_method="client_secret_basic", client_secret_env=SECRET_ENV)
    assert launch(app, launcher.iss(code)).status_code == 303
    assert launcher.token_requests[-1]["authorization"].startswith("Basic ")

    monkeypatch.setenv(SECRET_ENV, "not-what-the-launcher-has")
    refused = launch(app, launcher.iss(code))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 502 and "invalid_client: Invalid client_secret in the basic auth header" in html
    assert "not-what-the-launcher-has" not in html


def test_step_4_private_key_jwt_with_the_jwks_pasted_into_the_launcher(walkthrough):
    app, launcher, write = walkthrough
    pasted = json.dumps(app.test_client().get("/.well-known/jwks.json").get_json())
    code = sim_code(client_type="confidential-asymmetric", client_id="smart-previsit", jwks=pasted)
    write(token_endpoint_auth_method="private_key_jwt", jwks_registration="inline")
    assert launch(app, launcher.iss(code)).status_code == 303
    assertion = launcher.token_requests[-1]["form"]["client_assertion"]
    assert "jku" not in json.loads(_b64(assertion.split(".")[0]))

    # Without jwks_registration "inline" the app names its (unreachable) JWKS URL, and the launcher refuses it.
    write(token_endpoint_auth_method="private_key_jwt")
    refused = launch(app, launcher.iss(code)).get_data(as_text=True)
    assert "invalid_request: Invalid jku header" in refused


def test_step_5_the_launchers_simulated_errors_are_shown_as_it_said_them(walkthrough, monkeypatch):
    app, launcher, write = walkthrough
    monkeypatch.setenv(SECRET_ENV, "x")
    write(token_endpoint_auth_method="client_secret_basic", client_secret_env=SECRET_ENV)
    code = sim_code(client_type="confidential-symmetric", client_secret="x", auth_error="auth_invalid_client_secret")
    html = launch(app, launcher.iss(code)).get_data(as_text=True)
    assert "invalid_client: Simulated invalid client secret error" in html


def test_an_iss_outside_the_template_is_refused_before_any_request(walkthrough):
    app, launcher, _ = walkthrough
    code = sim_code()
    for iss in (launcher.iss(code) + "/", launcher.iss(code).replace("/sim/", "/other/"),
                launcher.iss("a/b"), launcher.iss("a.b"), launcher.iss("x" * 2049),
                launcher.iss(code).replace("127.0.0.1", "localhost")):
        response = app.test_client().get("/launch", query_string={"iss": iss})
        assert response.status_code == 400 and "UNKNOWN_ISSUER" in response.get_data(as_text=True), iss
    assert launcher.token_requests == [] and launcher.server.log == []


def _b64(part: str) -> bytes:
    """base64url without padding."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
