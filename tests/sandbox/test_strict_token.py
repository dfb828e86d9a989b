"""The token endpoint refuses replayed, expired or mismatched codes and unauthenticated clients."""
from __future__ import annotations

import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from sandbox.auth import models
from sandbox.auth.clients import DEFAULT_DEV_SECRET
from tests.sandbox.oauth import SmartClient, pkce_pair


def _patient_hint(sandbox) -> str:
    """login_hint for the first patient."""
    return f"Patient/{sandbox.first('Patient')['id']}"


def test_a_code_works_once_and_its_replay_revokes_the_first_tokens(sandbox_server):
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=_patient_hint(sandbox_server))
    first = client.token(attempt)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    assert sandbox_server.auth.resolve_grant(f"Bearer {access_token}") is not None

    replay = client.token(attempt)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert sandbox_server.auth.resolve_grant(f"Bearer {access_token}") is None


def test_an_expired_code_is_refused(sandbox_server, monkeypatch):
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=_patient_hint(sandbox_server))

    class LaterClock:
        """The models module's clock, CODE_LIFETIME + 1 seconds on."""

        @staticmethod
        def time() -> float:
            return time.time() + models.CODE_LIFETIME + 1

    monkeypatch.setattr(models, "time", LaterClock)
    response = client.token(attempt)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"redirect_uri": "http://localhost:8000/other"}, "invalid_grant"),
        ({"code_verifier": pkce_pair()[0]}, "invalid_grant"),
        ({"code_verifier": None}, "invalid_request"),
        ({"client_id": "nobody"}, "invalid_client"),
        ({"code": "made-up-code"}, "invalid_grant"),
    ],
    ids=["wrong-redirect-uri", "wrong-verifier", "missing-verifier", "unknown-client", "unknown-code"],
)
def test_bad_code_exchange_is_refused(sandbox_server, form, error):
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=_patient_hint(sandbox_server))
    response = client.token(attempt, **form)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == error


def _confidential(sandbox, client_id: str, **entry) -> SmartClient:
    """Register a confidential client and return a SmartClient for it."""
    sandbox.register_client(client_id=client_id, redirect_uris=["http://localhost:8000/callback"],
                            scope="openid fhirUser launch/patient patient/*.rs", **entry)
    return SmartClient(sandbox, client_id=client_id)


def test_client_secret_basic_needs_the_right_secret(sandbox_server):
    client = _confidential(sandbox_server, "basic-app", token_endpoint_auth_method="client_secret_basic")
    attempt = client.code(login_hint=_patient_hint(sandbox_server), scope="openid patient/Patient.rs")
    wrong = client.token(attempt, auth=("basic-app", "not-the-secret"), client_id=None)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    missing = client.token(attempt)
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    good = client.token(attempt, auth=("basic-app", DEFAULT_DEV_SECRET), client_id=None)
    assert good.status_code == 200, good.text


def test_client_secret_comes_from_the_named_environment_variable(sandbox_server, monkeypatch):
    monkeypatch.setenv("TEST_SANDBOX_SECRET", "s3cret-from-env")
    client = _confidential(sandbox_server, "env-app", token_endpoint_auth_method="client_secret_basic",
                           client_secret_env="TEST_SANDBOX_SECRET")
    attempt = client.code(login_hint=_patient_hint(sandbox_server), scope="patient/Patient.rs")
    assert client.token(attempt, auth=("env-app", DEFAULT_DEV_SECRET), client_id=None).status_code == 401
    assert client.token(attempt, auth=("env-app", "s3cret-from-env"), client_id=None).status_code == 200


def _assertion(sandbox, key, client_id: str, alg: str, **claims) -> str:
    """A client assertion JWT as SMART's asymmetric client auth specifies."""
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": sandbox.base_url + "/auth/token",
            "exp": now + 240, "jti": uuid.uuid4().hex}
    body.update(claims)
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, body, key, algorithms=[alg])


@pytest.fixture
def jwt_client(sandbox_server):
    """A private_key_jwt client with an RS384 key and an ES384 key registered inline."""
    rsa = RSAKey.generate_key(2048, auto_kid=True)
    ec = ECKey.generate_key("P-384", auto_kid=True)
    jwks = KeySet([rsa, ec]).as_dict(private=False)
    client = _confidential(sandbox_server, "jwt-app", token_endpoint_auth_method="private_key_jwt", jwks=jwks)
    return client, rsa, ec


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.mark.parametrize("which", ["RS384", "ES384"])
def test_private_key_jwt_with_a_good_assertion_gets_a_token(sandbox_server, jwt_client, which):
    client, rsa, ec = jwt_client
    key = rsa if which == "RS384" else ec
    attempt = client.code(login_hint=_patient_hint(sandbox_server), scope="patient/Patient.rs")
    response = client.token(attempt, client_id=None, client_assertion_type=ASSERTION_TYPE,
                            client_assertion=_assertion(sandbox_server, key, "jwt-app", which))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "problem",
    ["expired", "wrong-aud", "rs256", "other-key", "too-long-lived", "replayed-jti"],
)
def test_private_key_jwt_with_a_bad_assertion_is_refused(sandbox_server, jwt_client, problem):
    client, rsa, _ = jwt_client
    key, alg, claims = rsa, "RS384", {}
    if problem == "expired":
        claims = {"exp": int(time.time()) - 120}
    elif problem == "wrong-aud":
        claims = {"aud": sandbox_server.fhir_base}
    elif problem == "rs256":
        alg = "RS256"
    elif problem == "other-key":
        key = RSAKey.generate_key(2048, parameters={"kid": rsa.kid})
    elif problem == "too-long-lived":
        claims = {"exp": int(time.time()) + 3600}
    assertion = _assertion(sandbox_server, key, "jwt-app", alg, **claims)
    if problem == "replayed-jti":
        first = client.code(login_hint=_patient_hint(sandbox_server), scope="patient/Patient.rs")
        assert client.token(first, client_id=None, client_assertion_type=ASSERTION_TYPE,
                            client_assertion=assertion).status_code == 200
    attempt = client.code(login_hint=_patient_hint(sandbox_server), scope="patient/Patient.rs")
    response = client.token(attempt, client_id=None, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_concurrent_exchanges_of_one_code_yield_one_token(sandbox_server):
    from concurrent.futures import ThreadPoolExecutor

    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=_patient_hint(sandbox_server))
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(lambda _: SmartClient(sandbox_server).token(attempt).status_code, range(6)))
    assert statuses == [200, 400, 400, 400, 400, 400]
