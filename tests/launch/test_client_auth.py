"""Each registered client authentication method, on code exchange and on refresh."""
from __future__ import annotations

import base64
import time
from urllib.parse import unquote_plus

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from smart_app.context import LaunchContext
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from smart_app.launch.session import Launch
from tests.fixtures.app import Launcher
from tests.fixtures.fake_ehr import token_response


def _launch_then_refresh(app, fake_ehr):
    """Run one launch and one forced refresh (as after a 401); return the two token requests."""
    handle, _ = Launcher(app.test_client(), fake_ehr).ehr_launch()
    fake_ehr.serve_token_once(token_response(access_token="at-refreshed"))
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None)
    assert launch.refresh_after_401() == "at-refreshed"
    exchange, refresh = fake_ehr.token_requests()
    return exchange, refresh


def test_public_client_sends_client_id_in_body_and_no_secret(app, fake_ehr):
    exchange, refresh = _launch_then_refresh(app, fake_ehr)
    assert "scope" not in fake_ehr.form(refresh)  # never asks for more at refresh time
    assert fake_ehr.form(refresh)["refresh_token"]
    for request, grant in ((exchange, "authorization_code"), (refresh, "refresh_token")):
        body = fake_ehr.form(request)
        assert body["grant_type"] == grant
        assert body["client_id"] == "previsit-test"
        assert "Authorization" not in request.headers
        assert "client_secret" not in body and "client_assertion" not in body


def test_client_secret_basic_on_exchange_and_refresh(make_app, fake_ehr, monkeypatch):
    # RFC 6749 §2.3.1: client_id and secret are each form-urlencoded (UTF-8) before base64.
    secret = "s3cr3t:with+plus %€"
    monkeypatch.setenv("PREVISIT_TEST_SECRET", secret)
    app = make_app(token_endpoint_auth_method="client_secret_basic", client_secret_env="PREVISIT_TEST_SECRET")
    exchange, refresh = _launch_then_refresh(app, fake_ehr)
    expected = "Basic " + base64.b64encode(b"previsit-test:s3cr3t%3Awith%2Bplus+%25%E2%82%AC").decode()
    for request in (exchange, refresh):
        assert request.headers["Authorization"] == expected
        user, password = base64.b64decode(request.headers["Authorization"][6:]).decode("ascii").split(":")
        assert (unquote_plus(user), unquote_plus(password)) == ("previsit-test", secret)  # as a strict server decodes it
        assert "client_secret" not in fake_ehr.form(request)
        assert "client_id" not in fake_ehr.form(request)  # confidential clients omit it


@pytest.mark.parametrize("algs, expected_alg", [(["RS384", "ES384"], "RS384"), (["ES384"], "ES384")])
def test_private_key_jwt_on_exchange_and_refresh(make_app, fake_ehr, algs, expected_alg):
    fake_ehr.serve_discovery(token_endpoint_auth_signing_alg_values_supported=algs)
    app = make_app(token_endpoint_auth_method="private_key_jwt")
    public = KeySet.import_key_set(app.test_client().get("/.well-known/jwks.json").get_json())
    exchange, refresh = _launch_then_refresh(app, fake_ehr)
    jtis = set()
    for request in (exchange, refresh):
        body = fake_ehr.form(request)
        assert "client_id" not in body  # confidential clients omit it
        assert body["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assert "Authorization" not in request.headers
        token = jwt.decode(body["client_assertion"], public, algorithms=[expected_alg])
        assert token.header["alg"] == expected_alg
        assert token.header["kid"] and token.header["typ"] == "JWT"
        assert token.header["jku"] == "http://localhost:8000/.well-known/jwks.json"
        claims = token.claims
        assert claims["iss"] == claims["sub"] == "previsit-test"
        assert claims["aud"] == fake_ehr.token_endpoint
        assert claims["exp"] - time.time() <= 300
        assert claims["exp"] > time.time()
        jtis.add(claims["jti"])
    assert len(jtis) == 2  # a unique jti per assertion


def test_jwks_endpoint_serves_only_public_keys(client):
    doc = client.get("/.well-known/jwks.json").get_json()
    algs = {k["alg"] for k in doc["keys"]}
    assert algs == {"RS384", "ES384"}
    for key in doc["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        assert key["kid"] and key["kty"] in ("RSA", "EC")
        if key["kty"] == "RSA":
            assert key["n"] and key["e"]
        else:
            assert key["crv"] == "P-384" and key["x"] and key["y"]
    assert "max-age" in client.get("/.well-known/jwks.json").headers["Cache-Control"]


def test_client_private_keys_are_generated_once_and_private(tmp_path):
    from smart_app.launch.keys import load_client_keys

    first = load_client_keys(str(tmp_path))
    second = load_client_keys(str(tmp_path))
    assert first.public_jwks() == second.public_jwks()  # stable kids across restarts
    for name in ("client-rs384.pem", "client-es384.pem"):
        assert oct((tmp_path / name).stat().st_mode)[-3:] == "600"
