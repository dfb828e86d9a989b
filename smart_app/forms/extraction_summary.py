"""Extracted resources in plain words, for the review page (no resource types, ids or codes).

The wording fits its reader: a patient (or caregiver) reads "your", a clinician "the patient's".
"""
from __future__ import annotations

from typing import Any

from smart_app.text import N_, Text

# Resource type -> (what it is, for a patient; for a clinician). The type name itself is never shown.
_KINDS: dict[str, tuple[str, str]] = {
    "Observation": (N_("A result for your record"), N_("A result for the record")),
    "Condition": (N_("A health problem you told us about"), N_("A health problem the patient reported")),
    "AllergyIntolerance": (N_("An allergy or reaction you told us about"), N_("An allergy or reaction the patient reported")),
    "MedicationStatement": (N_("A medicine you said you take"), N_("A medicine the patient said they take")),
    "FamilyMemberHistory": (N_("Something about your family's health"), N_("Family health history")),
    "RelatedPerson": (N_("A person close to you"), N_("A contact person for the patient")),
    "Task": (N_("Changes to your personal details, for your care team to check before anything in your record changes"),
             N_("Proposed changes to the patient's details, waiting for your review (nothing was changed)")),
}
# Skipped types (not allowed by the granted scopes), in plain words.
_SKIPPED: dict[str, tuple[str, str]] = {
    "Observation": (N_("separate results"), N_("separate results")),
    "Condition": (N_("health problems"), N_("reported health problems")),
    "AllergyIntolerance": (N_("allergies"), N_("reported allergies")),
    "MedicationStatement": (N_("medicines"), N_("reported medicines")),
    "FamilyMemberHistory": (N_("family health history"), N_("family health history")),
    "RelatedPerson": (N_("contact people"), N_("contact people")),
    "Task": (N_("changes to your personal details"), N_("proposed changes to the patient's details")),
}


def _concept_text(concept: Any) -> str | None:
    """The human text of a CodeableConcept (text, else the first coding's display)."""
    if not isinstance(concept, dict):
        return None
    if isinstance(text := concept.get("text"), str) and text:
        return text
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(display := coding.get("display"), str) and display:
            return display
    return None


def _value_text(resource: dict[str, Any]) -> str | None:
    """An Observation's value in words."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        return f"{quantity['value']} {quantity.get('unit') or ''}".strip()
    if isinstance(resource.get("valueBoolean"), bool):
        return Text("yes") if resource["valueBoolean"] else Text("no")
    for key in ("valueString", "valueInteger", "valueDateTime"):
        if resource.get(key) is not None:
            return str(resource[key])
    return _concept_text(resource.get("valueCodeableConcept"))


def _name_text(resource: dict[str, Any]) -> str | None:
    """A person's name as written."""
    for name in resource.get("name") or []:
        if isinstance(name, dict):
            text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
            if text:
                return str(text)
    return None


def _detail(resource: dict[str, Any]) -> str | None:
    """The one thing that says which resource this is."""
    kind = resource.get("resourceType")
    if kind == "Observation":
        what, value = _concept_text(resource.get("code")), _value_text(resource)
        return Text("%(what)s: %(value)s", what=what, value=value) if what and value else what or value
    if kind in ("Condition", "AllergyIntolerance"):
        return _concept_text(resource.get("code"))
    if kind == "MedicationStatement":
        return _concept_text(resource.get("medicationCodeableConcept")) or (
            (resource.get("medicationReference") or {}).get("display"))
    if kind == "FamilyMemberHistory":
        who = _concept_text(resource.get("relationship"))
        conditions = [t for c in resource.get("condition") or [] if (t := _concept_text((c or {}).get("code")))]
        return f"{who}: {', '.join(conditions)}" if who and conditions else who
    if kind == "RelatedPerson":
        name = _name_text(resource)
        relation = next((t for r in resource.get("relationship") or [] if (t := _concept_text(r))), None)
        return f"{name} ({relation})" if name and relation else name or relation
    if kind == "Task":
        patient = next((r for r in resource.get("contained") or [] if isinstance(r, dict)), {})
        parts = [Text(label) for key, label in (("name", N_("name")), ("birthDate", N_("date of birth")), ("gender", N_("gender")),
                                                ("telecom", N_("phone or email")), ("address", N_("address")),
                                                ("identifier", N_("identifier"))) if patient.get(key)]
        return Text("%(parts)s", parts=parts) if parts else None
    return None


def describe(resource: dict[str, Any], reader: str) -> str:
    """One plain line for an extracted resource; reader is "patient" or "clinician"."""
    kinds = _KINDS.get(str(resource.get("resourceType")), (N_("Something for your record"), N_("A record entry")))
    lead = Text(kinds[1] if reader == "clinician" else kinds[0])
    detail = _detail(resource)
    return Text("%(lead)s: %(detail)s.", lead=lead, detail=detail) if detail else Text("%(lead)s.", lead=lead)


def skipped_text(resource_type: str, reader: str) -> str | None:
    """Plain words for a type the app was not allowed to write; None for types with their own notice."""
    words = _SKIPPED.get(resource_type)
    if words is None:
        return None
    what = Text(words[1] if reader == "clinician" else words[0])
    if reader == "clinician":
        return Text("This app was not allowed to write %(what)s to the record; they stay in the answers only.", what=what)
    return Text("Your health record system did not allow this app to save %(what)s separately, so they are kept only in your answers. Your care team can still see every answer.", what=what)
