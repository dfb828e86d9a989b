"""The typed launch context, parsed once from the token response, and the permissions it grants.

Spec: SMART App Launch 2.2, "Launch context arrives with your access_token"
(app-launch.html#launch-context-arrives-with-your-access_token) and scopes-and-launch-context.html.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
# v2: patient/Observation.rs?category=...   v1: patient/Observation.read
_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(\?.*)?$")

USER_KINDS = {"Practitioner": "clinician", "PractitionerRole": "clinician", "Patient": "patient",
              "RelatedPerson": "caregiver", "Person": "person"}



def N_(text: str) -> str:
    """Mark text for the catalog; pages translate it where it is shown."""
    return text

@dataclass(frozen=True)
class FhirReference:
    """A resource reference as type + id, with the server base when it was absolute."""

    resource_type: str
    id: str
    base: str | None = None

    @property
    def relative(self) -> str:
        """The `Type/id` form used in FHIR requests."""
        return f"{self.resource_type}/{self.id}"

    @classmethod
    def parse(cls, value: Any) -> "FhirReference | None":
        """Parse `Type/id` or an absolute `https://base/Type/id` (history suffix allowed); else None."""
        if not isinstance(value, str) or not value:
            return None
        base = None
        path = value
        if "://" in value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return None
            path = parts.path
        segments = [s for s in path.split("/") if s]
        if len(segments) >= 4 and segments[-2] == "_history":
            segments = segments[:-2]
        if len(segments) < 2 or not _TYPE.match(segments[-2]) or not _ID.match(segments[-1]):
            return None
        if "://" in value:
            parts = urlsplit(value)
            prefix = "/".join(segments[:-2])
            base = f"{parts.scheme}://{parts.netloc}/{prefix}".rstrip("/")
        elif len(segments) != 2:
            return None
        return cls(segments[-2], segments[-1], base)


@dataclass(frozen=True)
class FhirContextItem:
    """One entry of the token response's `fhirContext` array."""

    reference: FhirReference | None = None
    canonical: str | None = None
    identifier: Mapping[str, Any] | None = None
    type: str | None = None
    role: str | None = None

    @property
    def effective_role(self) -> str:
        """The item's role; an absent role means "launch" (scopes-and-launch-context.html#fhircontext-exp)."""
        return self.role or "launch"


@dataclass(frozen=True)
class Permissions:
    """What the granted scopes allow, computed up front so pages never fail only at submit."""

    granted_scopes: frozenset[str]

    def _allows(self, resource_type: str, letters: str, v1_word: str) -> bool:
        """True when some patient/user scope on this type (or *) grants any of `letters`."""
        for scope in self.granted_scopes:
            m = _RESOURCE_SCOPE.match(scope)
            if not m or m.group(1) == "system" or m.group(2) not in ("*", resource_type):
                continue
            perms = m.group(3)
            if perms in ("*", v1_word) or (perms not in ("read", "write") and any(c in perms for c in letters)):
                return True
        return False

    def can_read(self, resource_type: str) -> bool:
        """Read (v2 `r`/`s`, v1 `read`/`*`) is granted for this type."""
        return self._allows(resource_type, "rs", "read")

    def can_write(self, resource_type: str) -> bool:
        """Create or update (v2 `c`/`u`, v1 `write`/`*`) is granted for this type."""
        return self._allows(resource_type, "cu", "write")

    def can_create(self, resource_type: str) -> bool:
        """Create (v2 `c`, v1 `write`/`*`) is granted for this type: an update-only grant cannot create."""
        return self._allows(resource_type, "c", "write")

    def can_update(self, resource_type: str) -> bool:
        """Update (v2 `u`, v1 `write`/`*`) is granted for this type."""
        return self._allows(resource_type, "u", "write")

    @property
    def read_only_reason(self) -> str | None:
        """Plain explanation when nothing may be written back; None when some write is allowed."""
        if any(self._writes_anything(s) for s in self.granted_scopes):
            return None
        return N_("Your health record system gave this app read-only access, so your answers cannot be saved to your record from here.")

    @staticmethod
    def _writes_anything(scope: str) -> bool:
        """True for any patient/user scope that grants a write."""
        m = _RESOURCE_SCOPE.match(scope)
        if not m or m.group(1) == "system":
            return False
        perms = m.group(3)
        return perms in ("*", "write") or (perms != "read" and any(c in perms for c in "cu"))


@dataclass(frozen=True)
class LaunchContext:
    """Everything the token response told us about this launch (no tokens)."""

    handle: str
    iss: str
    client_id: str
    launch_mode: str  # "ehr" | "standalone"
    granted_scopes: frozenset[str]
    expires_at: float
    patient_id: str | None = None
    encounter_id: str | None = None
    fhir_user: FhirReference | None = None
    fhir_context: tuple[FhirContextItem, ...] = ()
    need_patient_banner: bool = True
    smart_style_url: str | None = None
    intent: str | None = None
    tenant: str | None = None
    permissions: Permissions = field(init=False)

    def __post_init__(self) -> None:
        """Derive permissions from the granted scopes."""
        object.__setattr__(self, "permissions", Permissions(self.granted_scopes))

    @property
    def opens_a_form(self) -> bool:
        """The launch's fhirContext names a form to open (a Questionnaire, by reference or canonical, or a Task)."""
        for item in self.fhir_context:
            if item.effective_role != "launch":
                continue
            if item.reference and item.reference.resource_type in ("Questionnaire", "Task"):
                return True
            if item.canonical and item.type in (None, "Questionnaire"):
                return True
        return False

    @property
    def user_kind(self) -> str | None:
        """Who is using the app: clinician, patient, caregiver, person, or None when unknown."""
        return USER_KINDS.get(self.fhir_user.resource_type) if self.fhir_user else None

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict for the launch store."""
        return {
            "handle": self.handle, "iss": self.iss, "client_id": self.client_id,
            "launch_mode": self.launch_mode, "granted_scopes": sorted(self.granted_scopes),
            "expires_at": self.expires_at, "patient_id": self.patient_id,
            "encounter_id": self.encounter_id,
            "fhir_user": [self.fhir_user.resource_type, self.fhir_user.id, self.fhir_user.base] if self.fhir_user else None,
            "fhir_context": [
                {"reference": i.reference.relative if i.reference else None, "canonical": i.canonical,
                 "identifier": dict(i.identifier) if i.identifier else None, "type": i.type, "role": i.role}
                for i in self.fhir_context
            ],
            "need_patient_banner": self.need_patient_banner, "smart_style_url": self.smart_style_url,
            "intent": self.intent, "tenant": self.tenant,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> "LaunchContext":
        """Rebuild from `to_record` output."""
        user = rec.get("fhir_user")
        return cls(
            handle=rec["handle"], iss=rec["iss"], client_id=rec["client_id"], launch_mode=rec["launch_mode"],
            granted_scopes=frozenset(rec.get("granted_scopes") or ()), expires_at=float(rec["expires_at"]),
            patient_id=rec.get("patient_id"), encounter_id=rec.get("encounter_id"),
            fhir_user=FhirReference(user[0], user[1], user[2]) if user else None,
            fhir_context=tuple(
                FhirContextItem(FhirReference.parse(i.get("reference")), i.get("canonical"), i.get("identifier"), i.get("type"), i.get("role"))
                for i in rec.get("fhir_context") or ()
            ),
            need_patient_banner=bool(rec.get("need_patient_banner", True)), smart_style_url=rec.get("smart_style_url"),
            intent=rec.get("intent"), tenant=rec.get("tenant"),
        )


def parse_token_response(
    token: Mapping[str, Any], *, handle: str, iss: str, client_id: str, launch_mode: str,
    requested_scope: str, fhir_user: str | None, now: float,
) -> LaunchContext:
    """Validate the token response's context fields into a LaunchContext.

    Malformed optional fields are dropped rather than trusted; `scope` falls back to the
    requested scopes only when the server omitted it (RFC 6749 section 5.1).
    """
    scope = token.get("scope")
    granted = frozenset((scope if isinstance(scope, str) else requested_scope).split())
    expires_in = token.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 3600.0
    items = []
    for raw in token.get("fhirContext") or ():
        if not isinstance(raw, Mapping):
            continue
        items.append(FhirContextItem(
            reference=FhirReference.parse(raw.get("reference")),
            canonical=raw.get("canonical") if isinstance(raw.get("canonical"), str) else None,
            identifier=raw.get("identifier") if isinstance(raw.get("identifier"), Mapping) else None,
            type=raw.get("type") if isinstance(raw.get("type"), str) else None,
            role=raw.get("role") if isinstance(raw.get("role"), str) else None,
        ))
    banner = token.get("need_patient_banner")
    style = token.get("smart_style_url")
    return LaunchContext(
        handle=handle, iss=iss, client_id=client_id, launch_mode=launch_mode, granted_scopes=granted,
        expires_at=now + lifetime,
        patient_id=_id_or_none(token.get("patient")),
        encounter_id=_id_or_none(token.get("encounter")),
        fhir_user=FhirReference.parse(fhir_user),
        fhir_context=tuple(items),
        need_patient_banner=banner if isinstance(banner, bool) else True,
        smart_style_url=style if isinstance(style, str) and urlsplit(style).scheme in ("https", "http") else None,
        intent=token.get("intent") if isinstance(token.get("intent"), str) else None,
        tenant=token.get("tenant") if isinstance(token.get("tenant"), str) else None,
    )


def _id_or_none(value: Any) -> str | None:
    """A FHIR logical id, or None when absent or malformed."""
    return value if isinstance(value, str) and _ID.match(value) else None
