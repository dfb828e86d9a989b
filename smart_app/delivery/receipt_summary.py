"""What a submission saved, by meaning: "your answers", "your weight (72 kg)", "your blood pressure (128/82)".

Pure: reads the submission's own bundle (what the app wrote) and, when it is known, the receipt
(which entries the EHR already held). The receipt page puts these into words for its reader;
resource types and ids are kept for the "details" disclosure only.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from smart_app.forms.units import unit_words

LOINC = "http://loinc.org"
# LOINC codes of the measurements a person recognises, by the word the receipt uses.
MEASUREMENTS = {
    "29463-7": "weight", "3141-9": "weight",
    "8302-2": "height", "8306-3": "height",
    "85354-9": "blood_pressure", "55284-4": "blood_pressure",
    "8867-4": "heart_rate", "8310-5": "temperature", "39156-5": "bmi",
}
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
# Instrument totals: a result worked out from the answers (clinicians see the number).
SCORES = {"44261-6": "PHQ-9", "70274-6": "GAD-7"}
MEDICATION_USE = "71799-1"  # the medication review's per-medicine "how I take it" observation


@dataclass(frozen=True)
class SavedThing:
    """One thing a submission saved, by meaning.

    `kind`: answers | weight | height | blood_pressure | heart_rate | temperature | bmi | score |
    measurement | medication_use | flag | provenance | record | assignment (the care team's request, an SDC
    Task, marked as done; `label` is who asked, when known). `value`/`unit` carry the number
    to show (formatted by the page, in the reader's locale); `label` the record's own name for it.
    """

    kind: str
    resource_type: str
    value: Decimal | None = None
    unit: str | None = None
    second_value: Decimal | None = None  # the diastolic of a blood pressure
    label: str | None = None


def saved_things(bundle: Mapping[str, Any]) -> list[SavedThing]:
    """Each resource the submission writes, by meaning, in entry order; medication-use notes are folded into one."""
    things: list[SavedThing] = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        thing = describe(resource)
        if thing.kind == "medication_use" and any(t.kind == "medication_use" for t in things):
            continue
        things.append(thing)
    return things


def describe(resource: Mapping[str, Any]) -> SavedThing:
    """One written resource by meaning."""
    kind = resource.get("resourceType") or ""
    if kind == "QuestionnaireResponse":
        return SavedThing("answers", kind)
    if kind == "Flag":
        return SavedThing("flag", kind)
    if kind == "Provenance":
        return SavedThing("provenance", kind)
    if kind != "Observation":
        return SavedThing("record", kind)
    codes = _loinc_codes(resource.get("code"))
    label = _display(resource.get("code"))
    for code in codes:
        if code == MEDICATION_USE:
            return SavedThing("medication_use", kind, label=label)
        if code in SCORES:
            return SavedThing("score", kind, value=_number(resource.get("valueQuantity") or resource.get("valueInteger")),
                              label=SCORES[code])
        if code in MEASUREMENTS:
            meaning = MEASUREMENTS[code]
            if meaning == "blood_pressure":
                return _blood_pressure(resource, label)
            value, unit = _quantity(resource)
            return SavedThing(meaning, kind, value=value, unit=unit, label=label)
    value, unit = _quantity(resource)
    return SavedThing("measurement", kind, value=value, unit=unit, label=label)


def _blood_pressure(resource: Mapping[str, Any], label: str | None) -> SavedThing:
    """A blood pressure panel: systolic over diastolic from its components."""
    parts: dict[str, Decimal | None] = {}
    for component in resource.get("component") or ():
        if not isinstance(component, Mapping):
            continue
        for code in _loinc_codes(component.get("code")):
            if code in (SYSTOLIC, DIASTOLIC):
                parts[code] = _number(component.get("valueQuantity"))
    return SavedThing("blood_pressure", "Observation", value=parts.get(SYSTOLIC), second_value=parts.get(DIASTOLIC),
                      unit="mmHg", label=label)


def _quantity(resource: Mapping[str, Any]) -> tuple[Decimal | None, str | None]:
    """The value and unit of a valueQuantity (or a bare number)."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, Mapping):
        return _number(quantity), unit_words(quantity) or None
    for key in ("valueInteger", "valueDecimal"):
        if key in resource:
            return _number(resource[key]), None
    return None, None


def _number(value: Any) -> Decimal | None:
    """A number from a Quantity or a bare JSON number (Decimal keeps what was written: 72.5 stays 72.5)."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _loinc_codes(concept: Any) -> list[str]:
    """The LOINC codes of a CodeableConcept."""
    if not isinstance(concept, Mapping):
        return []
    return [c["code"] for c in concept.get("coding") or ()
            if isinstance(c, Mapping) and c.get("system") == LOINC and isinstance(c.get("code"), str)]


def _display(concept: Any) -> str | None:
    """A concept's text, else its first coding's display."""
    if not isinstance(concept, Mapping):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    return next((str(c["display"]) for c in concept.get("coding") or ()
                 if isinstance(c, Mapping) and isinstance(c.get("display"), str)), None)
