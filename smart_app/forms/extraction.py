"""SDC observation-based extraction: QuestionnaireResponse -> Observations.

Rules (https://hl7.org/fhir/uv/sdc/extraction.html#observation-based-extraction):
- `sdc-questionnaire-observationExtract` on the Questionnaire root or an item; the nearest
  setting wins, so `false` switches off an item and its descendants.
- Only items with `code` are extracted; the Observation code is item.code.
- Numbers with a unit become valueQuantity with UCUM; codings valueCodeableConcept.
- A coded group (e.g. blood pressure 85354-9) becomes one panel Observation whose components
  are its coded children.
- Scored instruments (PHQ-9, GAD-7, AUDIT-C) also get their total-score Observation, only from
  a total the app computed (calculatedExpression, or the ordinal sum it checks again here) and
  within the instrument's range: a total a person typed is never written as an Observation.
`derivedFrom` carries a placeholder reference that the write-back layer replaces with the
QuestionnaireResponse's fullUrl.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

from .model import Form, FormItem
from .model import coding_token
from .scoring import band, instrument_for, is_sum_score_item, is_total_item, summed_items, typed_total_problem

UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DERIVED_FROM_PLACEHOLDER = "urn:smart-previsit:questionnaire-response"
BP_PANEL = "85354-9"

# LOINC codes of the FHIR vital-signs profiles (R4 observation-vitalsigns).
VITAL_SIGN_CODES = frozenset({
    "85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "9843-4",
    "29463-7", "39156-5", "85354-9", "8480-6", "8462-4", "8478-0", "8287-5", "3141-9",
})


@dataclass(frozen=True)
class ExtractMeta:
    """Context for extracted Observations, filled by the caller from the launch."""

    subject: dict[str, Any] | None = None
    encounter: dict[str, Any] | None = None
    effective: str | None = None  # FHIR dateTime with offset (the submission time)
    performer: tuple[dict[str, Any], ...] = ()
    derived_from: dict[str, Any] = field(default_factory=lambda: {"reference": DERIVED_FROM_PLACEHOLDER})


def _category(codes: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """vital-signs for vital-sign LOINC codes, else survey."""
    vital = any(c.get("code") in VITAL_SIGN_CODES for c in codes)
    code = "vital-signs" if vital else "survey"
    display = "Vital Signs" if vital else "Survey"
    return {"coding": [{"system": OBS_CATEGORY, "code": code, "display": display}]}


def _codeable(codes: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """CodeableConcept from item.code codings."""
    concept: dict[str, Any] = {"coding": [dict(c) for c in codes]}
    text = next((c.get("display") for c in codes if c.get("display")), None)
    if text:
        concept["text"] = text
    return concept


def _unit_quantity(number: Any, unit: dict[str, Any] | None) -> dict[str, Any]:
    """A Quantity for a bare number, using questionnaire-unit when present."""
    quantity: dict[str, Any] = {"value": Decimal(str(number))}
    if unit:
        quantity["unit"] = unit.get("display") or unit.get("code")
        quantity["system"] = unit.get("system") or UCUM
        if unit.get("code"):
            quantity["code"] = unit["code"]
    return quantity


def observation_value(item: FormItem, answer: dict[str, Any]) -> dict[str, Any] | None:
    """Observation value[x] for one QR answer, or None when the type has no Observation form."""
    suffix: str | None
    value: Any
    suffix, value = next(((k[5:], v) for k, v in answer.items() if k.startswith("value")), (None, None))
    if suffix == "Quantity":
        return {"valueQuantity": dict(value)}
    if suffix in ("Decimal", "Integer"):
        if item.unit or suffix == "Decimal":
            return {"valueQuantity": _unit_quantity(value, item.unit)}
        return {"valueInteger": value}
    if suffix == "Coding" and not value.get("code"):
        return {"valueCodeableConcept": {"text": str(value.get("display") or "")}}  # typed, not coded
    if suffix == "Coding":
        return {"valueCodeableConcept": {"coding": [dict(value)], **({"text": value["display"]} if value.get("display") else {})}}
    if suffix in ("String", "Uri"):
        return {"valueString": str(value)}
    if suffix == "Boolean":
        return {"valueBoolean": value}
    if suffix in ("Date", "DateTime"):
        return {"valueDateTime": value}
    if suffix == "Time":
        return {"valueTime": value}
    return None


def _base(codes: tuple[dict[str, Any], ...], meta: ExtractMeta) -> dict[str, Any]:
    """Observation skeleton shared by every extracted Observation."""
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category(codes)],
        "code": _codeable(codes),
    }
    if meta.subject:
        obs["subject"] = dict(meta.subject)
    if meta.encounter:
        obs["encounter"] = dict(meta.encounter)
    if meta.effective:
        obs["effectiveDateTime"] = meta.effective
    if meta.performer:
        obs["performer"] = [dict(p) for p in meta.performer]
    obs["derivedFrom"] = [dict(meta.derived_from)]
    return obs


def _walk(form: Form, items: list[dict[str, Any]], inherited: bool) -> Iterator[tuple[FormItem, dict[str, Any], bool]]:
    """(form item, QR item, extract flag) for every QR item, iteratively, in document order."""
    stack = [(qr_item, inherited) for qr_item in reversed(items)]
    while stack:
        qr_item, flag = stack.pop()
        item = form.by_link_id.get(qr_item.get("linkId"))
        if item is None:
            continue
        own = item.observation_extract if item.observation_extract is not None else flag
        yield item, qr_item, own
        children = list(qr_item.get("item") or [])
        for answer in qr_item.get("answer") or []:
            children += answer.get("item") or []
        stack.extend((child, own) for child in reversed(children))


def _components(form: Form, group: dict[str, Any]) -> list[dict[str, Any]]:
    """Observation.component entries from a coded group's coded, answered children."""
    components = []
    for child in group.get("item") or []:
        item = form.by_link_id.get(child.get("linkId"))
        if item is None or not item.code:
            continue
        for answer in child.get("answer") or []:
            value = observation_value(item, answer)
            if value:
                components.append({"code": _codeable(item.code), **value})
    return components


def _answers_by_link_id(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every answer in a response, by linkId (iteratively, nested items included)."""
    found: dict[str, list[dict[str, Any]]] = {}
    stack = list(items)
    while stack:
        node = stack.pop()
        answers = node.get("answer") or []
        found.setdefault(str(node.get("linkId")), []).extend(answers)
        stack.extend(node.get("item") or [])
        for answer in answers:
            stack.extend(answer.get("item") or [])
    return found


def trusted_total(form: Form, item: FormItem, value: Any, qr: dict[str, Any]) -> bool:
    """Whether a total-score answer may become an Observation: computed by the app, in range, and
    (for an ordinal sum) equal to the sum recomputed from the response itself."""
    if value is None or isinstance(value, bool) or typed_total_problem(item, value) is not None:
        return False
    if item.calculated_expression is not None:
        return True  # the engine overwrote whatever was posted with the expression's value
    if not is_sum_score_item(form, item):
        return False  # typed by a person: kept in the response, never an Observation
    answers = _answers_by_link_id(qr.get("item") or [])
    total = Decimal(0)
    for scored in summed_items(form, item):
        ordinals = scored.ordinals
        for answer in answers.get(scored.link_id, []):
            coding = answer.get("valueCoding")
            token = coding_token(coding) if isinstance(coding, dict) else str(
                next((v for k, v in answer.items() if k.startswith("value")), ""))
            total += ordinals.get(token, Decimal(0))
    return Decimal(str(value)) == total


def extract_observations(form: Form, qr: dict[str, Any], meta: ExtractMeta) -> list[dict[str, Any]]:
    """Observations for a completed QuestionnaireResponse (built by to_questionnaire_response)."""
    instrument = instrument_for(form)
    root = form.observation_extract is True
    observations: list[dict[str, Any]] = []
    inside_panel: set[int] = set()
    for item, qr_item, flag in _walk(form, qr.get("item") or [], root):
        if id(qr_item) in inside_panel:
            continue
        total = is_total_item(item, instrument)
        if not item.code or not (flag or total):
            continue
        if item.type == "group":
            components = _components(form, qr_item)
            if components:
                obs = _base(item.code, meta)
                obs["component"] = components
                observations.append(obs)
                inside_panel.update(id(child) for child in qr_item.get("item") or [])
            continue
        for answer in qr_item.get("answer") or []:
            if total:
                value_raw = next((v for k, v in answer.items() if k.startswith("value")), None)
                if not trusted_total(form, item, value_raw, qr):
                    continue
                obs = _base(item.code, meta)
                obs["valueQuantity"] = {"value": Decimal(str(value_raw)), "unit": "{score}", "system": UCUM, "code": "{score}"}
                label = band(instrument, Decimal(str(value_raw))) if instrument is not None else None
                if label:
                    obs["interpretation"] = [{"text": label}]
                observations.append(obs)
                continue
            value = observation_value(item, answer)
            if value is None:
                continue
            obs = _base(item.code, meta)
            obs.update(value)
            observations.append(obs)
    return observations
