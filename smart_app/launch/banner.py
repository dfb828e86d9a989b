"""Pure summaries for the launch home page: patient banner, encounter line, user label.

Only display strings come out; nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

MR_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"


def N_(text: str) -> str:
    """Mark text for the catalog; the page translates it where it is shown."""
    return text


USER_LABELS = {"clinician": N_("a clinician"), "patient": N_("the patient"), "caregiver": N_("a caregiver or family member"),
               "person": N_("a signed-in person")}


@dataclass(frozen=True)
class PatientBanner:
    """What a patient banner shows."""

    name: str
    birth_date: str | None
    gender: str | None
    mrn: str | None


@dataclass(frozen=True)
class EncounterSummary:
    """The encounter line: what kind of visit, and when."""

    type: str | None
    date: str | None


def patient_banner(patient: Mapping[str, Any]) -> PatientBanner:
    """Name, birth date, gender and MRN-type identifier from a Patient resource."""
    return PatientBanner(
        name=human_name(patient.get("name")) or "Name not recorded",
        birth_date=_str(patient.get("birthDate")),
        gender=_str(patient.get("gender")),
        mrn=_mrn(patient.get("identifier")),
    )


def human_name(names: Any) -> str | None:
    """The best display name: official or usual first, else the first name given."""
    if not isinstance(names, list):
        return None
    candidates: list[Mapping[str, Any]] = [n for n in names if isinstance(n, Mapping)]
    candidates.sort(key=lambda n: {"official": 0, "usual": 1}.get(str(n.get("use")), 2))
    for name in candidates:
        if isinstance(text := name.get("text"), str) and text.strip():
            return text.strip()
        given = [g for g in name.get("given") or () if isinstance(g, str)]
        family = name.get("family")
        family = family if isinstance(family, str) else ""
        text = " ".join([*given, family]).strip()
        if text:
            return text
    return None


def encounter_summary(encounter: Mapping[str, Any]) -> EncounterSummary:
    """The visit type (text or first coding display) and its start date."""
    kind = None
    for concept in encounter.get("type") or ():
        if not isinstance(concept, Mapping):
            continue
        kind = _str(concept.get("text")) or next(
            (c["display"] for c in concept.get("coding") or () if isinstance(c, Mapping) and isinstance(c.get("display"), str)), None)
        if kind:
            break
    if kind is None and isinstance(encounter.get("class"), Mapping):
        kind = _str(encounter["class"].get("display"))
    period = encounter.get("period")
    start = _str(period.get("start")) if isinstance(period, Mapping) else None
    return EncounterSummary(type=kind, date=start[:10] if start else None)


def user_label(kind: str | None) -> str | None:
    """Plain words for who is using the app."""
    return USER_LABELS.get(kind or "")


def _mrn(identifiers: Any) -> str | None:
    """The value of the first identifier typed MR (medical record number)."""
    for ident in identifiers or ():
        if not isinstance(ident, Mapping):
            continue
        codings = (ident.get("type") or {}).get("coding") or () if isinstance(ident.get("type"), Mapping) else ()
        if any(isinstance(c, Mapping) and c.get("code") == "MR" for c in codings) and (value := _str(ident.get("value"))):
            return value
    return None


def _str(value: Any) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value.strip() else None
