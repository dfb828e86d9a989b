"""Authlib's authorization server, configured to be strict the way SMART App Launch 2.2 asks.

Every check is an Authlib grant, extension or endpoint; this module only supplies storage,
the SMART context and the strictness the public sandbox lacks:
https://hl7.org/fhir/smart-app-launch/app-launch.html
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode
from flask import Response
from flask import request as flask_request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from ..contracts import AccessGrant
from .keys import SigningKeys
from .models import AUTH_METHODS, AuthorizationCode, Client, Consent, Token
from .scopes import grants_refresh, split_scopes
from .storage import AuthStore

ASSERTION_ALGORITHMS = ["RS384", "ES384"]   # SMART asymmetric client auth
MAX_ASSERTION_LIFETIME = 300                # SMART: exp no more than five minutes ahead
JWKS_TIMEOUT = 5                            # seconds to fetch a client's jwks_uri


@dataclass(frozen=True)
class SandboxUrls:
    """The sandbox's public URLs, fixed from its configured base (never from Host headers)."""

    base_url: str

    @property
    def fhir_base(self) -> str:
        """The FHIR base, which is also the issuer and the only accepted `aud`."""
        return self.base_url + "/fhir"

    @property
    def issuer(self) -> str:
        """OpenID issuer: the FHIR base, so openid-configuration sits under it."""
        return self.fhir_base

    def auth(self, name: str) -> str:
        """An authorization-server endpoint, e.g. auth('token')."""
        return f"{self.base_url}/auth/{name}"

    @property
    def style(self) -> str:
        """The smart_style_url."""
        return self.base_url + "/smart-style.json"


class StoredAuthorizationRequest(OAuth2Request):
    """An authorization request rebuilt from parked parameters after login and approval."""

    def __init__(self, uri: str, params: dict[str, str]) -> None:
        """Wrap the original authorize parameters."""
        super().__init__("GET", uri)
        self.payload = BasicOAuth2Payload(dict(params))

    @property
    def args(self) -> dict[str, str]:
        """The original query parameters."""
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        """An authorize request has no form body here."""
        return {}


class SandboxAuthorizationServer(AuthorizationServer):
    """Flask AuthorizationServer over AuthStore, with token-save side effects for SMART."""

    def __init__(self, store: AuthStore, urls: SandboxUrls, token_ttl: int, faults: Any) -> None:
        """Bind storage, URLs, access-token lifetime and the fault board."""
        super().__init__()
        self.store = store
        self.urls = urls
        self.token_ttl = token_ttl
        self.faults = faults

    def query_client(self, client_id: str) -> Client | None:
        """Look a client up by id."""
        return self.store.get_client(client_id)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        """Accept a rebuilt (parked) request as well as the live Flask request."""
        if isinstance(request, OAuth2Request):
            return request
        return FlaskOAuth2Request(flask_request)

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        """Store the token pair with the context of the code or refresh token it came from."""
        source = request.authorization_code or request.refresh_token
        record = Token(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=request.client.get_client_id(),
            scope=token.get("scope", ""),
            expires_in=int(token.get("expires_in", self.token_ttl)),
            user=source.user,
            launch=source.launch,
            patient=source.patient,
            encounter=source.encounter,
        )
        self.store.add_token(record)
        request.sandbox_token = record
        # Faults planned at launch time ("expire on first use", "revoke refresh") apply once.
        for kind in self.faults.take_token_presets(record.launch.launch_id):
            if kind == "expire_token":
                record.expired_by_fault = True
            elif kind == "revoke_refresh":
                record.refresh_revoked = True

    def authorization_error(self, error: OAuth2Error, state: str | None) -> Response | None:
        """An error redirect carrying `state` and RFC 9207 `iss`; None when it cannot redirect."""
        if not error.redirect_uri:
            return None
        error.state = state
        response = self.handle_error_response(None, error)
        response.location = add_params_to_uri(response.location, {"iss": self.urls.issuer})
        return response


class SandboxIssuer(IssuerParameter):
    """RFC 9207: `iss` on every authorization response, success or error."""

    def __init__(self, issuer: str) -> None:
        """Remember the issuer."""
        self.issuer = issuer

    def get_issuer(self) -> str:
        """This sandbox's issuer."""
        return self.issuer


class StrictCodeChallenge(CodeChallenge):
    """PKCE is required of every client, and only S256 is accepted (no 'plain', no default)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        """Reject a request without an S256 code_challenge before the user is asked anything."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE S256 is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class SmartAuthorizeChecks:
    """SMART checks on the authorize request: state, aud and a known launch."""

    def __init__(self, store: AuthStore, urls: SandboxUrls) -> None:
        """Bind storage (for launch ids) and the FHIR base."""
        self.store = store
        self.urls = urls

    def __call__(self, grant: grants.BaseGrant) -> None:
        """Attach to the authorization code grant."""
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    def validate(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        """Raise an OAuth error (sent to the redirect_uri) for each strict-check failure."""
        data = grant.request.payload.data
        if not data.get("state"):
            raise InvalidRequestError("Missing 'state': it is required by this server.")
        if data.get("aud") != self.urls.fhir_base:
            raise InvalidRequestError("Invalid 'aud': it must equal the FHIR base URL exactly.")
        scopes = split_scopes(data.get("scope"))
        launch_id = data.get("launch")
        if launch_id and self.store.get_launch(launch_id) is None:
            raise InvalidRequestError("Unknown or expired 'launch'.")
        if "launch" in scopes and not launch_id:
            raise InvalidRequestError("Scope 'launch' needs the 'launch' parameter from the EHR.")


class SmartAuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code grant storing SMART context with each code."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        """Store the code with the intersection of allowed and user-approved scopes."""
        consent: Consent = request.user
        granted = [s for s in split_scopes(request.scope) if s in consent.scopes]
        self.server.store.add_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=" ".join(granted),
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method=request.payload.data["code_challenge_method"],
                user=consent.user,
                launch=consent.launch,
                patient=consent.patient,
                encounter=consent.encounter,
                nonce=request.payload.data.get("nonce"),
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        """Redeem the code: unknown, reused, expired or another client's code gives None."""
        return self.server.store.redeem_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Keep the spent code to detect replays, linked to the token it produced."""
        self.server.store.mark_code_used(authorization_code, getattr(self.request, "sandbox_token", None))

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Any:
        """The user who approved the code."""
        return authorization_code.user

    def generate_token(self, user: Any = None, scope: str | None = None, grant_type: str | None = None,
                       expires_in: int | None = None, include_refresh_token: bool = True) -> dict:
        """A refresh token only when offline_access or online_access was granted."""
        include = include_refresh_token and grants_refresh(split_scopes(scope))
        return super().generate_token(user, scope, grant_type, expires_in, include)


class RotatingRefreshTokenGrant(grants.RefreshTokenGrant):
    """Refresh with rotation: each use returns a new refresh token and kills the old one."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        """A refresh token that is neither revoked nor rotated away."""
        token = self.server.store.by_refresh_token(refresh_token)
        if token and not token.refresh_revoked:
            return token
        return None

    def authenticate_user(self, refresh_token: Token) -> Any:
        """The user the refresh token was issued to."""
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Rotation: the used refresh token stops working."""
        self.server.store.revoke(refresh_token, refresh_only=True)


class SmartTokenContext:
    """Adds SMART launch context to every token response (code and refresh)."""

    def __init__(self, urls: SandboxUrls) -> None:
        """Bind the style URL."""
        self.urls = urls

    def __call__(self, grant: grants.BaseGrant) -> None:
        """Attach to a token grant."""
        grant.register_hook("after_create_token_response", self.add_context)

    def add_context(self, grant: grants.BaseGrant, response: tuple) -> None:
        """patient, encounter, need_patient_banner, smart_style_url and fhirContext."""
        _, token, _ = response
        record: Token = grant.request.sandbox_token
        granted = split_scopes(record.scope)
        if record.patient and ("launch" in granted or "launch/patient" in granted):
            token["patient"] = record.patient
        if record.encounter and ("launch" in granted or "launch/encounter" in granted):
            token["encounter"] = record.encounter
        token["need_patient_banner"] = record.launch.need_patient_banner
        token["smart_style_url"] = self.urls.style
        context = record.launch.fhir_context()
        if context:
            token["fhirContext"] = context


class SmartOpenIDCode(OpenIDCode):
    """OpenID Connect id_token: RS256, with nonce and the fhirUser claim."""

    def __init__(self, keys: SigningKeys, urls: SandboxUrls) -> None:
        """Bind the signing key and issuer."""
        super().__init__(require_nonce=False)
        self.keys = keys
        self.urls = urls

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """Nonce replay is the client's check; the server just echoes it."""
        return False

    def resolve_client_private_key(self, client: Client) -> Any:
        """The sandbox signing key."""
        return self.keys.private_key

    def get_client_algorithm(self, client: Client) -> str:
        """SMART requires RS256 id_tokens."""
        return "RS256"

    def get_encode_header(self, client: Client) -> dict:
        """RS256 with the key id published in the JWKS."""
        return {"alg": "RS256", "kid": self.keys.kid, "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict:
        """Issuer, audience and a one-hour lifetime."""
        return {"iss": self.urls.issuer, "aud": client.get_client_id(), "exp": int(time.time()) + 3600}

    def generate_user_info(self, user: Any, scope: str) -> dict:
        """sub, plus fhirUser as an absolute URL when fhirUser (or profile) was granted."""
        claims = {"sub": user.id}
        if {"fhirUser", "profile"} & set(split_scopes(scope)):
            claims["fhirUser"] = f"{self.urls.fhir_base}/{user.fhir_user}"
        return claims


class PrivateKeyJwt(JWTBearerClientAssertion):
    """RFC 7523 client auth as SMART's asymmetric profile: RS384/ES384, aud = token URL, jti once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, store: AuthStore, urls: SandboxUrls) -> None:
        """Bind storage (for jti replay) and the token URL."""
        super().__init__(validate_jti=True, leeway=30)
        self.store = store
        self.urls = urls

    def get_audiences(self) -> list[str]:
        """The assertion must be addressed to the token endpoint."""
        return [self.urls.auth("token")]

    def validate_jti(self, claims: dict, jti: str) -> bool:
        """Each assertion may be used once."""
        return self.store.use_jti(str(claims["sub"]), str(jti))

    def extract_assertion(self, assertion: str) -> tuple[dict, dict]:
        """Reject algorithms outside SMART's list before any key is fetched."""
        headers, claims = super().extract_assertion(assertion)
        if headers.get("alg") not in ASSERTION_ALGORITHMS:
            raise InvalidClientError(description="Client assertion must be signed with RS384 or ES384.")
        return headers, claims

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict:
        """Verify signature (allowed algorithms only), claims and a short lifetime."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description="Client assertion signature is invalid.") from exc
        self.verify_claims(token.claims)
        exp = token.claims.get("exp")
        if not isinstance(exp, (int, float)) or exp > time.time() + MAX_ASSERTION_LIFETIME + self.leeway:
            raise InvalidClientError(description="Client assertion 'exp' is too far in the future.")
        return token.claims

    def resolve_client_public_key(self, client: Client) -> KeySet:
        """The client's registered keys: inline jwks, else fetched from its jwks_uri."""
        if client.jwks:
            return KeySet.import_key_set(cast(KeySetSerialization, client.jwks))  # joserfc judges each key
        if not client.jwks_uri:
            raise InvalidClientError(description="The client registered neither jwks nor a jwks_uri.")
        try:
            response = requests.get(client.jwks_uri, timeout=JWKS_TIMEOUT)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as exc:
            raise InvalidClientError(description="Could not read the client's jwks_uri.") from exc


class SandboxIntrospection(IntrospectionEndpoint):
    """RFC 7662: a client may introspect its own tokens."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        """Find an access or refresh token."""
        store = self.server.store
        if token_type_hint == "refresh_token":
            return store.by_refresh_token(token_string)
        return store.by_access_token(token_string) or store.by_refresh_token(token_string)

    def check_permission(self, token: Token, client: Client, request: OAuth2Request) -> bool:
        """Only the client the token was issued to."""
        return token.check_client(client)

    def create_introspection_payload(self, token: Token | None) -> dict:
        """Inactive when the looked-up half (access or refresh) no longer works."""
        if token is None:
            return {"active": False}
        is_refresh = token.refresh_token == flask_request.form.get("token")
        if (is_refresh and token.refresh_revoked) or (not is_refresh and (token.is_expired() or token.is_revoked())):
            return {"active": False}
        return self.introspect_token(token)

    def introspect_token(self, token: Token) -> dict:
        """RFC 7662 fields plus SMART's patient and fhirUser."""
        payload = {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "token_type": "Bearer",
            "sub": token.user.id,
            "iss": self.server.urls.issuer,
            "exp": int(token.get_expires_at()),
            "iat": int(token.issued_at),
            "fhirUser": f"{self.server.urls.fhir_base}/{token.user.fhir_user}",
        }
        if token.patient:
            payload["patient"] = token.patient
        return payload


class SandboxRevocation(RevocationEndpoint):
    """RFC 7009: revoking either half of a pair revokes the refresh token; access revokes both."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        """Find an access or refresh token."""
        store = self.server.store
        if token_type_hint == "refresh_token":
            return store.by_refresh_token(token_string)
        return store.by_access_token(token_string) or store.by_refresh_token(token_string)

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        """Revoke the pair: the sandbox keeps no access token alive past its refresh token."""
        self.server.store.revoke(token)


def build_authorization_server(
    store: AuthStore, urls: SandboxUrls, keys: SigningKeys, *, token_ttl: int, faults: Any
) -> SandboxAuthorizationServer:
    """Assemble the Authlib server: grants, PKCE, OpenID, client auth, introspection, revocation."""
    server = SandboxAuthorizationServer(store, urls, token_ttl, faults)
    server.load_config(
        {
            "OAUTH2_REFRESH_TOKEN_GENERATOR": True,
            "OAUTH2_TOKEN_EXPIRES_IN": {"authorization_code": token_ttl, "refresh_token": token_ttl},
        }
    )
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwt(store, urls))
    server.register_grant(
        SmartAuthorizationCodeGrant,
        [StrictCodeChallenge(required=True), SmartAuthorizeChecks(store, urls), SmartOpenIDCode(keys, urls), SmartTokenContext(urls)],
    )
    server.register_grant(RotatingRefreshTokenGrant, [SmartTokenContext(urls)])
    server.register_endpoint(SandboxIntrospection)
    server.register_endpoint(SandboxRevocation)
    server.register_extension(SandboxIssuer(urls.issuer))
    return server


def resolve_grant_from(store: AuthStore) -> Any:
    """A GrantResolver (see sandbox.contracts) over this store's access tokens."""

    def resolve(bearer: str | None) -> AccessGrant | None:
        """Bearer token (bare, or a whole "Bearer ..." header value) -> AccessGrant, or None when
        missing, unknown, expired or revoked."""
        value = (bearer or "").strip()
        scheme, _, rest = value.partition(" ")
        if scheme.lower() == "bearer":
            value = rest.strip()
        if not value:
            return None
        token = store.by_access_token(value)
        if token is None or token.is_expired() or token.is_revoked():
            return None
        return AccessGrant(
            client_id=token.client_id,
            scopes=frozenset(split_scopes(token.scope)),
            patient=token.patient,
            encounter=token.encounter,
            fhir_user=token.user.fhir_user,
            expires_at=token.get_expires_at(),
            launch_id=token.launch.launch_id,
        )

    return resolve
