"""SDC x-fhir-query, run for a form's expressions on the launch's own FHIR server only.

https://hl7.org/fhir/uv/sdc/expressions.html#x-fhir-query-enhancements: the query is a FHIR
search, relative to the server the form is filled against. Here it goes through the launch's
FhirClient (its token, its origin, its paging on the same origin), limited to a few pages, and
bounded to the launch's patient: a search of a patient-compartment type is pinned to that
patient, a query naming another patient or another host is refused, and resource types
outside the known compartment and shared-definition lists are refused.
"""
from __future__ import annotations

from typing import Any, Callable, TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from smart_app.ehr.client import FhirError
from smart_app.ehr.origins import origin_of
from smart_app.forms.expressions import QueryRefused

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

# Same-origin pages followed per query; a query with more results is refused (never silently cut).
MAX_PAGES = 5
# Types in the Patient compartment a pre-visit form may look up (searched as this patient only).
PATIENT_COMPARTMENT = frozenset({
    "Observation", "Condition", "MedicationRequest", "MedicationStatement", "AllergyIntolerance", "Encounter",
    "Immunization", "Procedure", "DiagnosticReport", "QuestionnaireResponse", "CarePlan", "Goal",
    "ServiceRequest", "DocumentReference", "FamilyMemberHistory", "Coverage", "RelatedPerson",
})
# Definitions shared by all patients (no compartment).
SHARED = frozenset({"Questionnaire", "ValueSet", "CodeSystem", "Medication", "Practitioner", "PractitionerRole",
                    "Organization", "Location"})
PATIENT_PARAMS = frozenset({"patient", "subject", "patient:Patient", "subject:Patient"})


def _split(query: str, base: str) -> tuple[str, list[tuple[str, str]]]:
    """(resource type, params) of a relative or same-server absolute search; QueryRefused otherwise."""
    base = base.rstrip("/")
    parts = urlsplit(query)
    if parts.scheme or parts.netloc:
        if origin_of(query) != origin_of(base) or not query.startswith(base + "/"):
            raise QueryRefused("a query names another server")
        parts = urlsplit(query[len(base) + 1:])
    resource_type = parts.path.strip("/")
    if not resource_type.isalpha() or not resource_type[:1].isupper():
        raise QueryRefused("a query is not a plain search")
    return resource_type, parse_qsl(parts.query, keep_blank_values=False)


def pin_to_patient(resource_type: str, params: list[tuple[str, str]], patient_id: str | None) -> list[tuple[str, str]]:
    """The search params, bounded to the launch's patient; QueryRefused when that cannot be done."""
    if resource_type in SHARED:
        return params
    if not patient_id:
        raise QueryRefused("a patient query without a patient in context")
    if resource_type == "Patient":
        others = [v for k, v in params if k == "_id" and v != patient_id]
        if others:
            raise QueryRefused("a query names another patient")
        return [(k, v) for k, v in params if k != "_id"] + [("_id", patient_id)]
    if resource_type not in PATIENT_COMPARTMENT:
        raise QueryRefused("a query of a type outside the patient's record")
    mine = {patient_id, f"Patient/{patient_id}"}
    named = [v for k, v in params if k in PATIENT_PARAMS]
    if any(v not in mine for v in named):
        raise QueryRefused("a query names another patient")
    return [(k, v) for k, v in params if k not in PATIENT_PARAMS] + [("patient", patient_id)]


def query_runner(launch: "Launch") -> Callable[[str], dict[str, Any]]:
    """A runner for FillContext.fhir_query bound to this launch: at most MAX_PAGES pages, one searchset Bundle back."""
    ctx = launch.context

    def run(query: str) -> dict[str, Any]:
        """Run one substituted x-fhir-query on the launch's server."""
        resource_type, params = _split(query, ctx.iss)
        params = pin_to_patient(resource_type, params, ctx.patient_id)
        if not ctx.permissions.can_read(resource_type):
            raise QueryRefused("the launch may not read this type")
        try:
            found = launch.fhir.search(resource_type, params, max_pages=MAX_PAGES)
        except FhirError as error:
            raise QueryRefused(f"the query failed on the server ({error.code.name})") from error
        return {"resourceType": "Bundle", "type": "searchset", "total": len(found.matches),
                "entry": [{"resource": r} for r in found.matches]}

    return run
