"""SMART scope parsing (v1 and v2) and the access decisions the FHIR API enforces.

Scope syntax: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
(v1 `.read`/`.write`/`.*`, v2 `.cruds` letters in order, optional `?param=value` granular
filters). Patient compartment membership follows the R4 Patient CompartmentDefinition.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

from sandbox.fhir import search as fsearch
from sandbox.fhir.outcome import FhirError

_SCOPE_RE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([a-z*]+)(?:\?(.*))?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_ORDER = "cruds"

# Resource type -> search parameters that place it in a Patient's compartment.
COMPARTMENT: dict[str, tuple[str, ...]] = {
    "Observation": ("subject",),
    "Condition": ("subject",),
    "AllergyIntolerance": ("patient",),
    "MedicationRequest": ("subject",),
    "MedicationStatement": ("subject",),
    "Encounter": ("subject",),
    "Appointment": ("actor",),
    "QuestionnaireResponse": ("subject", "author"),
    "Provenance": ("target",),
    "RelatedPerson": ("patient",),
    "FamilyMemberHistory": ("patient",),
    # R4's Patient CompartmentDefinition leaves Task out; this sandbox files a Task under Task.for
    # (its search parameter `patient`), as EHRs that accept patient-proposed Tasks do.
    "Task": ("patient",),
}
# Types outside any patient's compartment: readable under patient/<Type> scopes. Device is
# treated as shared (an app's own Device is referenced from Provenance), as the contract says.
SHARED_TYPES = frozenset({"Questionnaire", "Medication", "Practitioner", "PractitionerRole",
                          "Organization", "Location", "ValueSet", "Device"})


@dataclass(frozen=True)
class ScopeRule:
    """One resource scope: context, resource type (or *), permitted interactions, granular filter."""

    context: str            # patient | user | system
    resource_type: str      # a type or "*"
    interactions: frozenset[str]  # letters from "cruds"
    query: tuple[tuple[str, str], ...] = ()

    def covers(self, resource_type: str, interaction: str) -> bool:
        """True when this rule names the type (or *) and the interaction letter."""
        return self.resource_type in ("*", resource_type) and interaction in self.interactions


def parse_scope(scope: str) -> ScopeRule | None:
    """Parse one resource scope; None for non-resource scopes (openid, launch...) or malformed ones."""
    m = _SCOPE_RE.match(scope.strip())
    if not m:
        return None
    context, type_, perms, query = m.groups()
    if perms in _V1:
        letters = _V1[perms]
        if query:
            return None  # granular filters are v2 only
    else:
        # v2 letters must appear at most once and in c,r,u,d,s order.
        positions = [_ORDER.find(ch) for ch in perms]
        if -1 in positions or positions != sorted(set(positions)):
            return None
        letters = perms
    return ScopeRule(context, type_, frozenset(letters), tuple(parse_qsl(query or "")))


def parse_scopes(scopes: Iterable[str]) -> list[ScopeRule]:
    """Parse every resource scope in a grant, dropping the others."""
    return [rule for rule in (parse_scope(s) for s in scopes) if rule is not None]


def compartment_patients(resource: dict[str, Any], resolve: Callable[[str, str], dict | None]) -> set[str]:
    """Return ids of the Patients whose compartment holds this resource.

    A Provenance whose target is another resource (a QuestionnaireResponse, say) belongs to
    that resource's patient, so targets are resolved through `resolve` one level deep.
    """
    type_ = resource.get("resourceType", "")
    if type_ == "Patient":
        return {resource.get("id", "")}
    params = fsearch.params_for(type_)
    out: set[str] = set()
    for name in COMPARTMENT.get(type_, ()):
        for target_type, target_id in fsearch.reference_targets(resource, params[name]):
            if target_type == "Patient":
                out.add(target_id)
            elif type_ == "Provenance":
                target = resolve(target_type, target_id)
                if target is not None and target.get("resourceType") != "Provenance":
                    out |= compartment_patients(target, resolve)
    return out


def in_compartment(resource_type: str) -> bool:
    """True for resource types that live in a Patient's compartment (Patient included)."""
    return resource_type == "Patient" or resource_type in COMPARTMENT


@dataclass(frozen=True)
class Decision:
    """Outcome of a scope check: allowed, and if so whether limited to one patient."""

    allowed: bool
    patient: str | None = None          # compartment limit, when only patient/ scopes apply
    filters: tuple[tuple[tuple[str, str], ...], ...] = ()  # granular filters (OR), empty = none


def decide(rules: list[ScopeRule], grant_patient: str | None, resource_type: str, interaction: str) -> Decision:
    """Decide whether scopes allow an interaction on a type, and within which compartment."""
    applicable = [r for r in rules if r.covers(resource_type, interaction)]
    if not applicable:
        return Decision(False)
    broad = [r for r in applicable if r.context in ("user", "system")]
    chosen = broad or applicable
    filters: tuple = ()
    if all(r.query for r in chosen):
        filters = tuple(r.query for r in chosen)
    if broad or not in_compartment(resource_type):
        return Decision(True, None, filters)
    if not grant_patient:
        return Decision(False)
    return Decision(True, grant_patient, filters)


def satisfies_filters(resource: dict[str, Any], filters: tuple[tuple[tuple[str, str], ...], ...]) -> bool:
    """True when the resource matches at least one granular scope filter (or there are none)."""
    if not filters:
        return True
    type_ = resource.get("resourceType", "")
    for query in filters:
        try:
            request = fsearch.parse_search(type_, list(query), lenient=True)
        except FhirError:  # a malformed scope filter grants nothing
            continue
        if fsearch.matches(resource, request):
            return True
    return False
