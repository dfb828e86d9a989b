"""The sandbox's id_token signing key (RS256), generated per process; its public JWKS."""
from __future__ import annotations

from functools import cache

from joserfc.jwk import RSAKey


class SigningKeys:
    """One RSA key pair; restarting the sandbox rotates it (clients re-read the JWKS)."""

    def __init__(self) -> None:
        """Generate the key pair."""
        self.private_key: RSAKey = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
        self.private_key.ensure_kid()   # kid is the RFC 7638 thumbprint
        self.kid: str = self.private_key.thumbprint()

    def jwks(self) -> dict:
        """The public key set, as served at the jwks_uri."""
        public = self.private_key.as_dict(private=False)
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}


@cache
def process_signing_keys() -> SigningKeys:
    """One key pair per process, shared by sandbox apps built in it (tests build many)."""
    return SigningKeys()
