"""id_token verification: signature from the issuer's JWKS, iss, aud, exp, nonce; fhirUser resolution."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc.jwk import RSAKey

from tests.fixtures.fake_ehr import id_token, token_response


def _complete(launcher, fake_ehr, make_token):
    """Authorize, serve a token response whose id_token comes from make_token(auth), call back."""
    auth = launcher.authorize()
    token = token_response()
    token["id_token"] = make_token(auth)
    fake_ehr.serve_token_once(token)
    return launcher.callback(auth.state)


def _b64(data: dict) -> str:
    """base64url without padding, as JOSE wants."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_valid_id_token_is_accepted(launcher, fake_ehr, client):
    response = _complete(launcher, fake_ehr, lambda a: id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test",
                                                               nonce=a.params["nonce"]))
    assert response.status_code == 303


@pytest.mark.parametrize("case", ["bad_signature", "alg_none", "wrong_iss", "wrong_aud", "expired", "wrong_nonce",
                                  "missing_nonce", "hmac_with_public_key", "garbage"])
def test_bad_id_tokens_are_rejected(launcher, fake_ehr, case):
    other_key = RSAKey.generate_key(2048, private=True, auto_kid=True)

    def make(auth):
        nonce = auth.params["nonce"]
        common = {"iss": fake_ehr.base, "aud": "previsit-test", "nonce": nonce}
        if case == "bad_signature":
            # Signed by a key the issuer never published, but claiming the issuer's kid.
            token = id_token(other_key, **common)
            header, payload, sig = token.split(".")
            header = _b64({"alg": "RS256", "kid": fake_ehr.key.kid})
            return f"{header}.{payload}.{sig}"
        if case == "alg_none":
            now = int(time.time())
            return _b64({"alg": "none"}) + "." + _b64({**common, "exp": now + 300, "iat": now, "sub": "u"}) + "."
        if case == "wrong_iss":
            return id_token(fake_ehr.key, **{**common, "iss": "https://evil.example/fhir"})
        if case == "wrong_aud":
            return id_token(fake_ehr.key, **{**common, "aud": "someone-else"})
        if case == "expired":
            return id_token(fake_ehr.key, **common, exp=int(time.time()) - 600, iat=int(time.time()) - 900)
        if case == "wrong_nonce":
            return id_token(fake_ehr.key, **{**common, "nonce": "not-the-nonce"})
        if case == "missing_nonce":
            return id_token(fake_ehr.key, **{**common, "nonce": None})
        if case == "hmac_with_public_key":
            # The classic confusion attack: HMAC keyed with the issuer's public key bytes.
            pem = fake_ehr.key.as_pem(private=False)
            now = int(time.time())
            signing_input = _b64({"alg": "HS256", "kid": fake_ehr.key.kid}) + "." + _b64({**common, "exp": now + 300, "sub": "u"})
            mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
            return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        return "not.a.jwt"

    response = _complete(launcher, fake_ehr, make)
    assert response.status_code == 502
    assert "ID_TOKEN_INVALID" in response.get_data(as_text=True)


def test_id_token_rejection_creates_no_launch(launcher, fake_ehr, audit_log):
    _complete(launcher, fake_ehr, lambda a: id_token(fake_ehr.key, iss=fake_ehr.base, aud="x", nonce=a.params["nonce"]))
    events = [json.loads(r.getMessage()) for r in audit_log.records if r.name == "smart_app.audit.events"]
    names = [e["event"] for e in events]
    assert "callback.ok" not in names
    failed = [e for e in events if e["event"] == "callback.failed"]
    assert failed and failed[0]["error_code"] == "ID_TOKEN_INVALID"


def test_jwks_is_refetched_once_when_the_issuer_rotates_keys(launcher, fake_ehr):
    rotated = RSAKey.generate_key(2048, private=True, auto_kid=True)
    _complete(launcher, fake_ehr, lambda a: id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=a.params["nonce"]))
    fake_ehr.key = rotated
    fake_ehr.serve_discovery()
    response = _complete(launcher, fake_ehr, lambda a: id_token(rotated, iss=fake_ehr.base, aud="previsit-test", nonce=a.params["nonce"]))
    assert response.status_code == 303


@pytest.mark.parametrize("fhir_user, kind", [
    ("Practitioner/dr1", "clinician"),
    ("PLACEHOLDER/Practitioner/dr1", "clinician"),
    ("Patient/p1", "patient"),  # the launch's own patient (another Patient is refused: tests/security)
    ("RelatedPerson/rp1", "caregiver"),  # linked to p1 in the EHR
])
def test_fhir_user_absolute_or_relative_sets_who_is_using_the_app(launcher, fake_ehr, client, fhir_user, kind):
    fhir_user = fhir_user.replace("PLACEHOLDER", fake_ehr.base)
    fake_ehr.serve_resource({"resourceType": "RelatedPerson", "id": "rp1", "patient": {"reference": "Patient/p1"}})
    auth = launcher.authorize()
    token = token_response(patient="p1")
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"], fhirUser=fhir_user)
    fake_ehr.serve_token_once(token)
    location = launcher.callback(auth.state).headers["Location"]
    launcher.serve_patient("p1")
    html = client.get(location).get_data(as_text=True)
    expected = {"clinician": "as a clinician", "patient": "as the patient", "caregiver": "as a caregiver"}[kind]
    assert expected in html


def test_issuer_keys_are_found_through_openid_configuration(launcher, fake_ehr):
    # The smart-configuration advertises no jwks_uri: the keys must come via OIDC discovery.
    fake_ehr.serve_discovery(jwks_uri=None)
    response = _complete(launcher, fake_ehr, lambda a: id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=a.params["nonce"]))
    assert response.status_code == 303
    paths = [r.path for r in fake_ehr.requests()]
    assert paths.index("/fhir/.well-known/openid-configuration") < paths.index("/auth/jwks")


def test_fhir_context_without_role_means_launch():
    from smart_app.context import FhirContextItem

    assert FhirContextItem(role=None).effective_role == "launch"
    assert FhirContextItem(role="questionnaire-render").effective_role == "questionnaire-render"
