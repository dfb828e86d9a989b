"""The app's own signing keys for private_key_jwt client authentication.

Spec: client-confidential-asymmetric.html (RS384 and ES384; the public keys are published
as a JWKS at the registered `jwks_uri`). Keys are generated with `cryptography` (via
joserfc) once into the instance folder, or loaded from PEM files named in config.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, RSAKey


@dataclass(frozen=True)
class ClientKeys:
    """The RS384 and ES384 private keys, with their key ids."""

    rsa: RSAKey
    ec: ECKey

    def signing_key(self, server_algs: tuple[str, ...]) -> tuple[RSAKey | ECKey, str]:
        """Pick the key and alg the server accepts, preferring RS384 (SMART's baseline)."""
        if not server_algs or "RS384" in server_algs or "ES384" not in server_algs:
            return self.rsa, "RS384"
        return self.ec, "ES384"

    def public_jwks(self) -> dict[str, Any]:
        """The public JWKS served at /.well-known/jwks.json (never private parts)."""
        keys = []
        for key, alg in ((self.rsa, "RS384"), (self.ec, "ES384")):
            public = key.as_dict(private=False)
            public.update({"kid": key.kid, "alg": alg, "use": "sig", "key_ops": ["verify"]})
            keys.append(public)
        return {"keys": keys}


def load_client_keys(instance_path: str, rsa_path: str | None = None, ec_path: str | None = None) -> ClientKeys:
    """Load PEM keys from the given paths, else from (or generated into) the instance folder."""
    folder = Path(instance_path)
    rsa = _load_or_create(Path(rsa_path) if rsa_path else folder / "client-rs384.pem",
                          lambda: RSAKey.generate_key(2048, private=True), RSAKey)
    ec = _load_or_create(Path(ec_path) if ec_path else folder / "client-es384.pem",
                         lambda: ECKey.generate_key("P-384", private=True), ECKey)
    return ClientKeys(rsa=rsa, ec=ec)


def _load_or_create(path: Path, generate: Any, key_cls: Any) -> Any:
    """Read a PEM private key, writing a fresh one (mode 0600) when the file doesn't exist."""
    if path.exists():
        key = key_cls.import_key(path.read_bytes())
    else:
        key = generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.as_pem(private=True))
    # A stable kid (RFC 7638 thumbprint) lets servers cache our JWKS across restarts.
    return key_cls.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})
