"""The callback is served where the registration says (redirect_uris[0]'s path), and /callback only when that is it."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask

from smart_app import create_app
from tests.fixtures.e2e import LAUNCH_JSON, PATIENT, Launcher, e2e_registration

CALLBACK = "http://localhost:8000/smart/callback"
CLIENT_ID = "previsit-smart-path"


@pytest.fixture
def smart_path_pair(sandbox_factory, tmp_path, client_key_paths) -> tuple[Flask, Launcher]:
    """The real sandbox with a client registered for /smart/callback, and the app registered the same way."""
    sandbox = sandbox_factory()
    sandbox.register_client(client_id=CLIENT_ID, client_name="SMART Pre-Visit", redirect_uris=[CALLBACK],
                            scope=LAUNCH_JSON["scope"], token_endpoint_auth_method="none")
    doc = e2e_registration(sandbox.fhir_base)
    doc["redirect_uris"] = [CALLBACK]
    doc["fhir_servers"][0]["client_id"] = CLIENT_ID
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "app"), "REGISTRATION": doc,
                      "SECRET_KEY": "path-test", **client_key_paths})
    return app, Launcher(app.test_client(), sandbox)


def test_ehr_launch_completes_at_a_registered_smart_callback_path(smart_path_pair):
    app, launcher = smart_path_pair
    start = launcher.client.get("/launch", query_string={"iss": launcher.sandbox.fhir_base, "launch": "x"})
    assert urlsplit(start.headers["Location"]).netloc  # sanity: a redirect to the sandbox
    handle = launcher.ehr(patient=PATIENT)
    assert launcher.client.get(f"/l/{handle}/").status_code == 200


def test_standalone_launch_completes_at_a_registered_smart_callback_path(smart_path_pair):
    app, launcher = smart_path_pair
    handle = launcher.standalone(login=f"Patient/{PATIENT}")
    assert launcher.client.get(f"/l/{handle}/").status_code == 200


def test_the_authorize_request_names_the_registered_redirect_uri_and_callback_is_not_an_alias(smart_path_pair):
    app, launcher = smart_path_pair
    start = launcher.client.get("/launch", query_string={"iss": launcher.sandbox.fhir_base})
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fsmart%2Fcallback" in start.headers["Location"]
    assert launcher.client.get("/callback", query_string={"state": "s", "code": "c"}).status_code == 404
    with app.test_request_context():
        from flask import url_for
        assert url_for("launch.callback") == "/smart/callback"


def test_default_registration_keeps_callback_at_slash_callback(app):
    with app.test_request_context():
        from flask import url_for
        assert url_for("launch.callback") == "/callback"


def test_a_launch_uri_with_another_path_is_served_there_too(make_app, fake_ehr):
    from tests.fixtures.app import registration

    doc = registration(fake_ehr.base)
    doc["launch_uri"] = "http://localhost:8000/app/launch"
    client = make_app(doc).test_client()
    response = client.get("/app/launch", query_string={"iss": fake_ehr.base, "launch": "l-1"})
    assert response.status_code == 302 and response.headers["Location"].startswith(fake_ehr.authorize_endpoint)
    assert client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "l-2"}).status_code == 302
