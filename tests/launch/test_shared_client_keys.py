"""Several instances share private_key_jwt keys from configuration, so they publish one JWKS.

Generating into instance/ stays the single-instance default. A configured key that cannot be
used stops startup, naming the setting; it is never silently replaced by a generated one.
Rotation publishes the next key before it signs anything.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from joserfc.jwk import ECKey, RSAKey

from smart_app import create_app
from smart_app.config import ConfigError
from smart_app.launch import keys as keys_module
from smart_app.launch.runtime import EXTENSION
from tests.fixtures.app import registration

ENV = (keys_module.RSA_FILE_ENV, keys_module.RSA_PEM_ENV, keys_module.EC_FILE_ENV, keys_module.EC_PEM_ENV,
       keys_module.PUBLISHED_ENV)


@pytest.fixture(autouse=True)
def _no_key_settings(monkeypatch):
    """Start each test with no key settings in the environment."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def instance(folder: Path):
    """An app instance with its own instance folder (no key paths in its config)."""
    return create_app({"TESTING": True, "INSTANCE_PATH": str(folder), "SECRET_KEY": "shared-secret",
                       "REGISTRATION": registration("https://ehr.example.org/fhir")})


def jwks(app) -> dict:
    """The JWKS the instance publishes."""
    response = app.test_client().get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.get_json()


def test_two_instances_with_the_same_configured_keys_publish_identical_jwks(tmp_path, monkeypatch, client_key_paths):
    monkeypatch.setenv(keys_module.RSA_FILE_ENV, client_key_paths["CLIENT_RS384_KEY_PATH"])
    monkeypatch.setenv(keys_module.EC_FILE_ENV, client_key_paths["CLIENT_ES384_KEY_PATH"])
    first, second = instance(tmp_path / "one"), instance(tmp_path / "two")
    assert jwks(first) == jwks(second)
    assert len(jwks(first)["keys"]) == 2
    # Nothing was generated into either instance folder.
    assert not list((tmp_path / "one").glob("client-*.pem")) and not list((tmp_path / "two").glob("client-*.pem"))


def test_keys_given_as_pem_text_in_the_environment_match_the_same_keys_from_files(tmp_path, monkeypatch, client_key_paths):
    monkeypatch.setenv(keys_module.RSA_FILE_ENV, client_key_paths["CLIENT_RS384_KEY_PATH"])
    monkeypatch.setenv(keys_module.EC_FILE_ENV, client_key_paths["CLIENT_ES384_KEY_PATH"])
    from_files = jwks(instance(tmp_path / "files"))
    monkeypatch.delenv(keys_module.RSA_FILE_ENV)
    monkeypatch.delenv(keys_module.EC_FILE_ENV)
    # One with real newlines, one with literal "\n" as env files often hold it.
    monkeypatch.setenv(keys_module.RSA_PEM_ENV, Path(client_key_paths["CLIENT_RS384_KEY_PATH"]).read_text())
    monkeypatch.setenv(keys_module.EC_PEM_ENV, Path(client_key_paths["CLIENT_ES384_KEY_PATH"]).read_text().replace("\n", "\\n"))
    assert jwks(instance(tmp_path / "text")) == from_files


def test_without_configured_keys_each_instance_generates_its_own_into_its_folder(tmp_path):
    first, second = instance(tmp_path / "one"), instance(tmp_path / "two")
    assert jwks(first) != jwks(second)
    assert sorted(p.name for p in (tmp_path / "one").glob("client-*.pem")) == ["client-es384.pem", "client-rs384.pem"]


def test_a_configured_key_file_that_is_missing_stops_startup_and_is_not_generated(tmp_path, monkeypatch):
    missing = tmp_path / "shared" / "rs384.pem"
    monkeypatch.setenv(keys_module.RSA_FILE_ENV, str(missing))
    with pytest.raises(ConfigError) as caught:
        instance(tmp_path / "one")
    assert caught.value.key == keys_module.RSA_FILE_ENV
    assert "cannot read the key file" in str(caught.value)
    assert not missing.exists()


def test_a_key_of_the_wrong_kind_stops_startup_naming_the_setting(tmp_path, monkeypatch, client_key_paths):
    monkeypatch.setenv(keys_module.RSA_FILE_ENV, client_key_paths["CLIENT_ES384_KEY_PATH"])  # an EC key
    with pytest.raises(ConfigError) as caught:
        instance(tmp_path / "one")
    assert str(caught.value).endswith(f"{keys_module.RSA_FILE_ENV}: is not a PEM RSA private key")


def test_a_key_published_ahead_is_in_the_jwks_but_signs_nothing_until_switched(tmp_path, monkeypatch, client_key_paths):
    next_key = RSAKey.generate_key(2048, private=True)
    next_path = tmp_path / "next-rs384.pem"
    next_path.write_bytes(next_key.as_pem(private=False))  # the public half is enough to publish
    monkeypatch.setenv(keys_module.RSA_FILE_ENV, client_key_paths["CLIENT_RS384_KEY_PATH"])
    monkeypatch.setenv(keys_module.EC_FILE_ENV, client_key_paths["CLIENT_ES384_KEY_PATH"])
    monkeypatch.setenv(keys_module.PUBLISHED_ENV, str(next_path))
    before = instance(tmp_path / "before")
    published = {k["kid"] for k in jwks(before)["keys"]}
    assert next_key.thumbprint() in published and len(published) == 3
    signing, alg = before.extensions[EXTENSION].keys.signing_key(("RS384",))
    assert alg == "RS384" and signing.kid != next_key.thumbprint()
    assert all("d" not in k for k in jwks(before)["keys"])  # never a private part

    # Step two: the new key signs; the old one may stay published for a while.
    private_next = tmp_path / "next-private.pem"
    private_next.write_bytes(next_key.as_pem(private=True))
    monkeypatch.setenv(keys_module.RSA_FILE_ENV, str(private_next))
    monkeypatch.setenv(keys_module.PUBLISHED_ENV, client_key_paths["CLIENT_RS384_KEY_PATH"])
    after = instance(tmp_path / "after")
    signing, _ = after.extensions[EXTENSION].keys.signing_key(("RS384",))
    assert signing.kid == next_key.thumbprint()
    assert published <= {k["kid"] for k in jwks(after)["keys"]}


def test_an_ec_key_on_another_curve_is_refused(tmp_path, monkeypatch):
    p256 = tmp_path / "p256.pem"
    p256.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))
    monkeypatch.setenv(keys_module.EC_FILE_ENV, str(p256))
    with pytest.raises(ConfigError) as caught:
        instance(tmp_path / "one")
    assert caught.value.key == keys_module.EC_FILE_ENV
