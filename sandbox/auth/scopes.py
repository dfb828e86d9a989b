"""SMART scopes, parsed (v1 and v2 syntax) and compared; pure functions, no I/O.

See SMART App Launch 2.2, "Scopes and Launch Context":
https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Identity and launch-context scopes: always grantable, they carry no clinical data.
CONTEXT_SCOPES = frozenset(
    {"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter", "online_access"}
)
# Long-lived access must be registered for explicitly.
OFFLINE = "offline_access"
REFRESH_SCOPES = frozenset({"offline_access", "online_access"})

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<perm>[a-z*]+)(?:\?(?P<query>.+))?$"
)
_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_V2_ORDER = "cruds"


@dataclass(frozen=True)
class ResourceScope:
    """A parsed patient/user/system resource scope, normalised to v2 permissions."""

    context: str
    resource_type: str      # "*" for every type
    permissions: frozenset[str]
    query: str | None = None

    def covers(self, other: ResourceScope) -> bool:
        """Whether this scope allows everything `other` asks for (ignoring `other`'s query)."""
        return (
            self.context == other.context
            and self.resource_type in ("*", other.resource_type)
            and other.permissions <= self.permissions
            and self.query is None
        )


def parse_resource_scope(scope: str) -> ResourceScope | None:
    """Parse `patient/Observation.rs` or `patient/Observation.read`; None when not a resource scope."""
    match = _RESOURCE_SCOPE.match(scope)
    if not match:
        return None
    perm = match["perm"]
    if perm in _V1_PERMISSIONS:
        letters = _V1_PERMISSIONS[perm]
    elif _is_v2_permission(perm):
        letters = perm
    else:
        return None
    return ResourceScope(match["context"], match["type"], frozenset(letters), match["query"])


def _is_v2_permission(perm: str) -> bool:
    """v2 permissions are a non-empty subsequence of c, r, u, d, s in that order."""
    position = 0
    for letter in perm:
        found = _V2_ORDER.find(letter, position)
        if found < 0:
            return False
        position = found + 1
    return bool(perm)


def split_scopes(scope: str | None) -> list[str]:
    """Split a space-separated scope string, dropping duplicates but keeping order."""
    seen: dict[str, None] = {}
    for item in (scope or "").split():
        seen.setdefault(item, None)
    return list(seen)


def allowed_scopes(requested: str | None, registered: str | None) -> list[str]:
    """The requested scopes the client is registered for (the first cut of the grant)."""
    registered_items = split_scopes(registered)
    registered_resources = [p for p in map(parse_resource_scope, registered_items) if p]
    allowed: list[str] = []
    for item in split_scopes(requested):
        if item in CONTEXT_SCOPES or item in registered_items:
            allowed.append(item)
            continue
        parsed = parse_resource_scope(item)
        if parsed and any(reg.covers(parsed) for reg in registered_resources):
            allowed.append(item)
    return allowed


def grants_refresh(scopes: list[str] | frozenset[str]) -> bool:
    """Whether a refresh token goes with this grant (offline_access or online_access)."""
    return bool(REFRESH_SCOPES & set(scopes))


_TYPE_WORDS = {"*": "all kinds of records"}
_PERMISSION_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
_CONTEXT_WORDS = {"patient": "for the patient in context", "user": "that you can see", "system": "for the whole system"}
_FIXED_WORDS = {
    "openid": "Confirm who you are",
    "fhirUser": "Know your user record (who you are in the EHR)",
    "profile": "Know your user record (who you are in the EHR)",
    "launch": "Open with the patient and visit you are working on",
    "launch/patient": "Know which patient was chosen",
    "launch/encounter": "Know which visit was chosen",
    "offline_access": "Keep access after you close the app",
    "online_access": "Keep access while you are signed in",
}


def describe_scope(scope: str) -> str:
    """A plain-language description of one scope, for the approval screen."""
    if scope in _FIXED_WORDS:
        return _FIXED_WORDS[scope]
    parsed = parse_resource_scope(scope)
    if not parsed:
        return f"Other access: {scope}"
    verbs = [word for letter, word in _PERMISSION_WORDS.items() if letter in parsed.permissions]
    what = _TYPE_WORDS.get(parsed.resource_type, _split_camel(parsed.resource_type) + " records")
    text = f"{_join_words(verbs).capitalize()} {what} {_CONTEXT_WORDS[parsed.context]}"
    if parsed.query:
        text += f" (only where {parsed.query})"
    return text


def _split_camel(name: str) -> str:
    """QuestionnaireResponse -> questionnaire response."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _join_words(words: list[str]) -> str:
    """Join verbs as 'read, search and create'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
