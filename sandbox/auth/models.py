"""The authorization server's records: clients, users, launches, codes and tokens."""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from .scopes import allowed_scopes

AUTH_METHODS = ("none", "client_secret_basic", "private_key_jwt")
CODE_LIFETIME = 60  # seconds; the issue asks for short-lived, single-use codes


@dataclass
class Client(ClientMixin):
    """A registered app: exact redirect URIs, registered scopes and one token auth method."""

    client_id: str
    redirect_uris: list[str]
    scope: str
    token_endpoint_auth_method: str = "none"
    client_secret: str | None = None
    jwks_uri: str | None = None
    jwks: dict | None = None
    name: str = ""

    def get_client_id(self) -> str:
        """The client's id."""
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """No default: SMART clients must send redirect_uri, so a missing one is an error."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client is registered for."""
        return " ".join(allowed_scopes(scope, self.scope))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match against the registration (no prefix or port leniency)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison with the registered secret."""
        if not self.client_secret:
            return False
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Each client authenticates only with the method it registered."""
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        """Only the authorization code flow."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Authorization code and refresh token grants."""
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class EndUser:
    """The person who signed in: a Practitioner, Patient or RelatedPerson."""

    fhir_user: str          # e.g. "Practitioner/p1"
    display: str = ""

    @property
    def id(self) -> str:
        """Subject identifier used in id_token `sub`."""
        return self.fhir_user.replace("/", "-")


@dataclass
class Launch:
    """One sandbox launch: the context a token is bound to, and the key faults hang on."""

    launch_id: str
    patient: str | None = None
    encounter: str | None = None
    practitioner: str | None = None          # "Practitioner/<id>" signed in to the EHR shell
    questionnaire: str | None = None         # "Questionnaire/<id>" or a canonical URL
    task: str | None = None                  # "Task/<id>": the form the care team asked for (SDC Task)
    need_patient_banner: bool = True
    source: str = "standalone"               # "ehr" | "standalone"
    created_at: float = field(default_factory=time.time)

    def fhir_context(self) -> list[dict]:
        """SMART 2.2 `fhirContext` entries for this launch (a Questionnaire and/or a Task)."""
        context: list[dict] = []
        if self.questionnaire:
            context.append({"canonical": self.questionnaire, "type": "Questionnaire"} if "://" in self.questionnaire
                           else {"reference": self.questionnaire})
        if self.task:
            context.append({"reference": self.task})
        return context


@dataclass
class Consent:
    """What the user decided on the login, picker and approval screens."""

    user: EndUser
    patient: str | None
    encounter: str | None
    scopes: list[str]
    launch: Launch


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """An issued authorization code with its PKCE challenge and bound context."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    user: EndUser
    launch: Launch
    patient: str | None
    encounter: str | None
    nonce: str | None = None
    issued_at: float = field(default_factory=time.time)
    used: bool = False
    token_ids: list[str] = field(default_factory=list)

    def get_redirect_uri(self) -> str:
        """The redirect_uri the code was issued for."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope

    def get_nonce(self) -> str | None:
        """The OpenID nonce from the authorization request."""
        return self.nonce

    def get_auth_time(self) -> int:
        """When the user authenticated."""
        return int(self.issued_at)

    def is_expired(self, now: float | None = None) -> bool:
        """Codes live for CODE_LIFETIME seconds."""
        return (now or time.time()) > self.issued_at + CODE_LIFETIME


@dataclass
class Token(TokenMixin):
    """An access token and its (optional) refresh token, with the launch context."""

    access_token: str
    client_id: str
    scope: str
    expires_in: int
    user: EndUser
    launch: Launch
    patient: str | None
    encounter: str | None
    refresh_token: str | None = None
    issued_at: float = field(default_factory=time.time)
    access_revoked: bool = False
    refresh_revoked: bool = False
    expired_by_fault: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        """Whether the token belongs to this client."""
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope

    def get_expires_in(self) -> int:
        """Lifetime in seconds."""
        return self.expires_in

    def get_expires_at(self) -> float:
        """Epoch seconds when the access token stops working."""
        return self.issued_at + self.expires_in

    def is_expired(self) -> bool:
        """Expired by time, or by the 'expire now' fault."""
        return self.expired_by_fault or time.time() >= self.get_expires_at()

    def is_revoked(self) -> bool:
        """Whether the access token was revoked."""
        return self.access_revoked

    def get_user(self) -> EndUser:
        """The signed-in user."""
        return self.user
