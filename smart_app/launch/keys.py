"""The app's own signing keys for private_key_jwt client authentication.

Spec: client-confidential-asymmetric.html (RS384 and ES384; the public keys are published
as a JWKS at the registered `jwks_uri`). Keys are generated with `cryptography` (via
joserfc).

Where they come from:
- **Configured** (several instances): a PEM file path or the PEM text itself, per algorithm, from
  the environment (`KEY_SETTINGS`). Every instance given the same keys publishes the same JWKS.
  A configured key that cannot be read stops startup with a message naming the setting; it is
  never replaced by a generated one, which would give each instance a JWKS of its own.
- **Embedded default**: generated once into the instance folder (mode 0600) and reused; workers
  starting together agree on one key (the first to link its file into place wins).
Rotation: publish the next key first (`SMART_APP_CLIENT_PUBLISHED_KEYS`, public only, never used to
sign), wait until the EHRs have fetched the JWKS again, then switch the signing key to it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from smart_app.instance_files import create_once


@dataclass(frozen=True)
class ClientKeys:
    """The RS384 and ES384 private keys, with their key ids."""

    rsa: RSAKey
    ec: ECKey
    published: tuple[RSAKey | ECKey, ...] = ()  # next keys, published before they sign anything

    def signing_key(self, server_algs: tuple[str, ...]) -> tuple[RSAKey | ECKey, str]:
        """Pick the key and alg the server accepts, preferring RS384 (SMART's baseline)."""
        if not server_algs or "RS384" in server_algs or "ES384" not in server_algs:
            return self.rsa, "RS384"
        return self.ec, "ES384"

    def public_jwks(self) -> dict[str, Any]:
        """The public JWKS served at /.well-known/jwks.json (never private parts)."""
        keys: list[dict[str, Any]] = []
        ahead = [(k, "RS384" if isinstance(k, RSAKey) else "ES384") for k in self.published]
        signing: list[tuple[RSAKey | ECKey, str]] = [(self.rsa, "RS384"), (self.ec, "ES384")]
        for key, alg in (*signing, *ahead):
            if any(k["kid"] == key.kid for k in keys):
                continue  # a published-ahead key that is already the signing key
            public: dict[str, Any] = dict(key.as_dict(private=False))
            public.update({"kid": key.kid, "alg": alg, "use": "sig", "key_ops": ["verify"]})
            keys.append(public)
        return {"keys": keys}


# Environment settings: (RS384 file, RS384 PEM text), (ES384 file, ES384 PEM text), keys published ahead.
RSA_FILE_ENV, RSA_PEM_ENV = "SMART_APP_CLIENT_RS384_KEY_FILE", "SMART_APP_CLIENT_RS384_KEY"
EC_FILE_ENV, EC_PEM_ENV = "SMART_APP_CLIENT_ES384_KEY_FILE", "SMART_APP_CLIENT_ES384_KEY"
PUBLISHED_ENV = "SMART_APP_CLIENT_PUBLISHED_KEYS"


class KeyConfigError(ValueError):
    """A configured client key cannot be used; the message names the setting, never key material."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting, self.problem = setting, problem


@dataclass(frozen=True)
class KeySource:
    """Where one signing key comes from: a PEM file or PEM text (None/None: generate into instance/)."""

    path: str | None = None
    pem: str | None = None
    setting: str = ""  # the setting's name, for error messages

    @property
    def configured(self) -> bool:
        """True when a deployment named this key (then it must load; it is never generated)."""
        return bool(self.path or self.pem)


def key_sources_from_env(environ: Mapping[str, str], *, rsa_path: str | None = None,
                         ec_path: str | None = None) -> tuple[KeySource, KeySource, tuple[str, ...]]:
    """(RS384 source, ES384 source, published-ahead PEM files) from app config paths, else the environment."""
    def source(path: str | None, file_env: str, pem_env: str) -> KeySource:
        if path:
            return KeySource(path=path, setting=file_env)
        if environ.get(file_env):
            return KeySource(path=environ[file_env], setting=file_env)
        if environ.get(pem_env):
            return KeySource(pem=environ[pem_env], setting=pem_env)
        return KeySource(setting=file_env)
    published = tuple(p.strip() for p in (environ.get(PUBLISHED_ENV) or "").split(",") if p.strip())
    return source(rsa_path, RSA_FILE_ENV, RSA_PEM_ENV), source(ec_path, EC_FILE_ENV, EC_PEM_ENV), published


def load_client_keys(instance_path: str, rsa_path: str | None = None, ec_path: str | None = None, *,
                     rsa: KeySource | None = None, ec: KeySource | None = None,
                     published: Iterable[str] = ()) -> ClientKeys:
    """Load the configured keys, else those generated into (or already in) the instance folder.

    Raises KeyConfigError when a configured key or a published-ahead key cannot be read.
    """
    folder = Path(instance_path)
    rsa = rsa or KeySource(path=rsa_path, setting=RSA_FILE_ENV)
    ec = ec or KeySource(path=ec_path, setting=EC_FILE_ENV)
    rsa_key = _configured(rsa, RSAKey) if rsa.configured else _load_or_create(
        folder / "client-rs384.pem", lambda: RSAKey.generate_key(2048, private=True), RSAKey)
    ec_key = _configured(ec, ECKey) if ec.configured else _load_or_create(
        folder / "client-es384.pem", lambda: ECKey.generate_key("P-384", private=True), ECKey)
    ahead = tuple(_published(path) for path in published)
    return ClientKeys(rsa=rsa_key, ec=ec_key, published=ahead)


def _with_kid(key: Any, key_cls: Any, *, private: bool = True) -> Any:
    """The key with a stable kid (RFC 7638 thumbprint), so servers can cache our JWKS across restarts."""
    return key_cls.import_key(key.as_dict(private=private), {"kid": key.thumbprint()})


def _configured(source: KeySource, key_cls: Any) -> Any:
    """A configured private key; KeyConfigError (naming the setting) when absent, unreadable or of the wrong kind."""
    kind = "RSA" if key_cls is RSAKey else "EC P-384"
    if source.path:
        try:
            data = Path(source.path).read_bytes()
        except OSError as exc:
            raise KeyConfigError(source.setting, f"cannot read the key file {source.path} ({exc.strerror})") from None
    else:
        data = (source.pem or "").replace("\\n", "\n").encode()
    try:
        key = key_cls.import_key(data)
    except (ValueError, TypeError, JoseError):  # say which setting, never the bytes
        raise KeyConfigError(source.setting, f"is not a PEM {kind} private key") from None
    if not key.is_private or (key_cls is ECKey and key.curve_name != "P-384"):
        raise KeyConfigError(source.setting, f"is not a PEM {kind} private key")
    return _with_kid(key, key_cls)


def _published(path: str) -> RSAKey | ECKey:
    """A key published ahead of a switch (its public half only)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyConfigError(PUBLISHED_ENV, f"cannot read the key file {path} ({exc.strerror})") from None
    for key_cls in (RSAKey, ECKey):
        try:
            key = key_cls.import_key(data)
        except (ValueError, TypeError, JoseError):  # try the other kind
            continue
        published: RSAKey | ECKey = _with_kid(key, key_cls, private=False)
        return published
    raise KeyConfigError(PUBLISHED_ENV, f"{path} is not a PEM RSA or EC key")


def _load_or_create(path: Path, generate: Any, key_cls: Any) -> Any:
    """Read a PEM private key, writing a fresh one (mode 0600) when the file doesn't exist."""
    key = key_cls.import_key(create_once(path, lambda: generate().as_pem(private=True)))
    return _with_kid(key, key_cls)
