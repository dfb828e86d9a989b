"""A validated Review -> the QuestionnaireResponse and adherence Observations to write back.

Pure builders: smart_app/delivery/writeback.py wraps what these return into one transaction with
Provenance. Code choices are documented in docs/medication-adherence-codes.md.
"""
from __future__ import annotations

from typing import Any

from . import questionnaire as q
from .model import STATUS_LABELS, STOP_REASON_LABELS, MedicineReport, Review, ReviewMeta

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# Stands in for the QR until its fullUrl is known; the same placeholder as questionnaires/extraction.py,
# and writeback.build_submission_bundle swaps any urn: derivedFrom for the bundle QR.
PENDING_RESPONSE_REF = "urn:smart-previsit:questionnaire-response"

ADHERENCE_CODE = {
    "system": LOINC,
    "code": "71799-1",
    "display": "Adherence to prescribed medication instructions [Reported]",
}

# Consistent with the US Core Medication Adherence value set (VSAC 2.16.840.1.113762.1.4.1240.8).
ADHERENCE_VALUES: dict[str, dict[str, str]] = {
    "taking": {"system": SNOMED, "code": "1156699004", "display": "Complies with drug therapy"},
    "different": {"system": SNOMED, "code": "702565001", "display": "Non-compliance of drug therapy"},
    "not-taking": {"system": SNOMED, "code": "715036001", "display": "Does not take medication"},
    "unsure": {"system": DATA_ABSENT_REASON, "code": "asked-unknown", "display": "Asked But Unknown"},
}


def to_questionnaire_response(review: Review, meta: ReviewMeta) -> dict[str, Any]:
    """The completed QuestionnaireResponse: one group instance per medicine and per added one."""
    items = [_medication_group(report) for report in review.reports]
    for added in review.added:
        children = [_item(q.ADDED_NAME, [{"valueString": added.name}])]
        if added.dose:
            children.append(_item(q.ADDED_DOSE, [{"valueString": added.dose}]))
        if added.how_often:
            children.append(_item(q.ADDED_HOW_OFTEN, [{"valueString": added.how_often}]))
        items.append(_item(q.ADDED_GROUP, item=children))
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        **({"language": meta.language} if meta.language else {}),
        "questionnaire": q.canonical(),
        "status": "completed",
        "subject": {"reference": meta.subject},
    }
    if meta.encounter:
        response["encounter"] = {"reference": meta.encounter}
    response["authored"] = meta.authored
    if meta.author:
        response["author"] = {"reference": meta.author}
    if meta.source:
        response["source"] = {"reference": meta.source}
    response["item"] = items
    return response


def adherence_observations(review: Review, meta: ReviewMeta) -> list[dict[str, Any]]:
    """One adherence Observation (LOINC 71799-1) per medicine the patient reported on."""
    return [_observation(report, meta) for report in review.reports]


def fill_response_ref(observations: list[dict[str, Any]], reference: str) -> list[dict[str, Any]]:
    """Point derivedFrom at the QR once its fullUrl or id is known; returns new dicts."""
    filled = []
    for observation in observations:
        copy = dict(observation)
        copy["derivedFrom"] = [
            {"reference": reference} if ref.get("reference") == PENDING_RESPONSE_REF else ref
            for ref in observation.get("derivedFrom", [])
        ]
        filled.append(copy)
    return filled


def _item(link_id: str, answer: list[dict[str, Any]] | None = None, item: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A QR item with the questionnaire's own text."""
    out: dict[str, Any] = {"linkId": link_id, "text": q.item_texts()[link_id]}
    if answer is not None:
        out["answer"] = answer
    if item is not None:
        out["item"] = item
    return out


def _medication_group(report: MedicineReport) -> dict[str, Any]:
    """The repeating group instance for one medicine on the list."""
    row = report.row
    children = [
        _item(q.SOURCE, [{"valueReference": {"reference": ref, "display": row.name}} for ref in row.references]),
        _item(q.NAME, [{"valueString": row.name}]),
    ]
    if row.code is not None and row.code.code:
        children.append(_item(q.CODE, [{"valueCoding": row.code.as_fhir()}]))
    children.append(
        _item(q.STATUS, [{"valueCoding": {"system": q.STATUS_SYSTEM, "code": report.status, "display": STATUS_LABELS[report.status]}}])
    )
    if report.how_different:
        children.append(_item(q.HOW_DIFFERENT, [{"valueString": report.how_different}]))
    if report.since:
        children.append(_item(q.SINCE, [{"valueDate": report.since}]))
    if report.why_not:
        children.append(
            _item(q.WHY_NOT, [{"valueCoding": {"system": q.STOP_REASON_SYSTEM, "code": report.why_not, "display": STOP_REASON_LABELS[report.why_not]}}])
        )
    if report.why_not == "other" and report.why_other:
        children.append(_item(q.WHY_OTHER, [{"valueString": report.why_other}]))
    if report.side_effects:
        children.append(_item(q.SIDE_EFFECTS, [{"valueString": report.side_effects}]))
    return _item(q.GROUP, item=children)


def _observation(report: MedicineReport, meta: ReviewMeta) -> dict[str, Any]:
    """The adherence Observation for one medicine; focus is its source records."""
    row = report.row
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [dict(ADHERENCE_CODE)], "text": "Medication adherence (reported)"},
        "subject": {"reference": meta.subject},
        "focus": [{"reference": ref, "display": row.name} for ref in row.references],
    }
    if meta.encounter:
        observation["encounter"] = {"reference": meta.encounter}
    observation["effectiveDateTime"] = meta.authored
    performer = meta.performer or meta.author
    if performer:
        observation["performer"] = [{"reference": performer}]
    observation["valueCodeableConcept"] = {
        "coding": [dict(ADHERENCE_VALUES[report.status])],
        "text": STATUS_LABELS[report.status],
    }
    notes = _notes(report)
    if notes:
        observation["note"] = [{"text": note} for note in notes]
    observation["derivedFrom"] = [{"reference": meta.response_ref or PENDING_RESPONSE_REF}]
    return observation


def _notes(report: MedicineReport) -> list[str]:
    """The patient's own words and details, for the clinician reading the Observation."""
    notes = []
    if report.how_different:
        notes.append(f"How they take it: {report.how_different}")
    if report.since:
        notes.append(f"Not taking since: {report.since}")
    if report.why_not:
        notes.append(f"Why not: {report.why_not_text}")
    if report.side_effects:
        notes.append(f"Side effects: {report.side_effects}")
    return notes
