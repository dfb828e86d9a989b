"""The sandbox's authorization service: Authlib server, token store, keys, launches and discovery."""
from __future__ import annotations

import secrets
from typing import Any

from ..contracts import GrantResolver
from ..faults import FaultBoard
from . import people
from .consents import ConsentMemory
from .keys import SigningKeys, process_signing_keys
from .models import AUTH_METHODS, Launch
from .scopes import split_scopes
from .server import ASSERTION_ALGORITHMS, SandboxAuthorizationServer, SandboxUrls, build_authorization_server, resolve_grant_from
from .storage import AuthStore, PendingAuthorization

# SMART App Launch 2.2 capabilities this sandbox really implements (and tests).
CAPABILITIES = [
    "launch-ehr", "launch-standalone",
    "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
    "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient",
    "context-banner", "context-style",
    "permission-v1", "permission-v2", "permission-offline", "permission-online",
    "sso-openid-connect", "authorize-post",
]
SCOPES_SUPPORTED = [
    "openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
    "offline_access", "online_access",
    "patient/*.cruds", "user/*.cruds", "patient/*.read", "patient/*.write", "user/*.read", "user/*.write",
]


class SandboxAuth:
    """Everything the auth views and the EHR shell need from the authorization side."""

    def __init__(self, urls: SandboxUrls, directory: people.ResourceSource, faults: FaultBoard, *,
                 token_ttl: int = 3600, auto_approve: bool = False) -> None:
        """Create the token store, signing key and Authlib server, and bind token faults."""
        self.urls = urls
        self.directory = directory
        self.faults = faults
        self.auto_approve = auto_approve
        self.store = AuthStore()
        self.consents = ConsentMemory()
        self.keys: SigningKeys = process_signing_keys()
        self.server: SandboxAuthorizationServer = build_authorization_server(
            self.store, urls, self.keys, token_ttl=token_ttl, faults=faults
        )
        self.resolve_grant: GrantResolver = resolve_grant_from(self.store)
        faults.tokens = self.store

    def new_launch(self, *, patient: str | None, encounter: str | None = None, practitioner: str | None = None,
                   questionnaire: str | None = None, task: str | None = None, source: str = "ehr",
                   faults: list[str] | tuple[str, ...] = (), need_patient_banner: bool | None = None) -> Launch:
        """Create a launch (opaque id bound to its context), with optional fault presets.

        The banner is needed unless the app runs inside the chart (an EHR launch), which shows the patient itself.
        """
        launch = Launch(
            launch_id=secrets.token_urlsafe(12),
            patient=patient,
            encounter=encounter,
            practitioner=practitioner,
            questionnaire=questionnaire,
            task=task,
            need_patient_banner=source != "ehr" if need_patient_banner is None else need_patient_banner,
            source=source,
        )
        if faults:
            self.faults.preset_for_launch(launch.launch_id, list(faults))
        return self.store.add_launch(launch)

    def next_step(self, pending: PendingAuthorization) -> str:
        """Which screen the pending authorization needs next: login, pick (patient) or approve."""
        if not pending.user_ref:
            return "login"
        scopes = split_scopes(pending.params.get("scope"))
        if pending.patient is None and pending.user_ref.startswith("Practitioner/") and "launch/patient" in scopes:
            return "pick"
        return "approve"

    def sign_in(self, pending: PendingAuthorization, person: people.Person) -> None:
        """Record who signed in; patients and caregivers bring their patient into context."""
        pending.user_ref = person.ref
        if person.patient:
            pending.patient = person.patient

    def smart_configuration(self) -> dict[str, Any]:
        """/.well-known/smart-configuration (SMART App Launch 2.2, section 'Conformance')."""
        urls = self.urls
        return {
            "issuer": urls.issuer,
            "jwks_uri": urls.auth("jwks"),
            "authorization_endpoint": urls.auth("authorize"),
            "token_endpoint": urls.auth("token"),
            "introspection_endpoint": urls.auth("introspect"),
            "revocation_endpoint": urls.auth("revoke"),
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "scopes_supported": list(SCOPES_SUPPORTED),
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "capabilities": list(CAPABILITIES),
        }

    def openid_configuration(self) -> dict[str, Any]:
        """/.well-known/openid-configuration (OpenID Connect Discovery 1.0)."""
        urls = self.urls
        return {
            "issuer": urls.issuer,
            "jwks_uri": urls.auth("jwks"),
            "authorization_endpoint": urls.auth("authorize"),
            "token_endpoint": urls.auth("token"),
            "introspection_endpoint": urls.auth("introspect"),
            "revocation_endpoint": urls.auth("revoke"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "scopes_supported": list(SCOPES_SUPPORTED),
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def oauth_uris(self) -> dict[str, str]:
        """Endpoints for the CapabilityStatement's SMART oauth-uris extension."""
        return {
            "authorize": self.urls.auth("authorize"),
            "token": self.urls.auth("token"),
            "introspect": self.urls.auth("introspect"),
            "revoke": self.urls.auth("revoke"),
        }
