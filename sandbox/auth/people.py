"""Who can sign in to the sandbox: its Practitioners, Patients and RelatedPersons, read from the store."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

SIGN_IN_TYPES = ("Practitioner", "Patient", "RelatedPerson")


class ResourceSource(Protocol):
    """The part of the FHIR store the directory reads."""

    def all(self, type_: str) -> list[dict[str, Any]]:
        """Every current resource of a type."""
        ...


@dataclass(frozen=True)
class Person:
    """One sign-in identity and, for patients and caregivers, the patient they act for."""

    ref: str                      # "Practitioner/p1", "Patient/pat-1", "RelatedPerson/rp-1"
    display: str
    patient: str | None = None    # Patient id in context after a patient-facing login
    birth_date: str | None = None
    gender: str | None = None

    @property
    def kind(self) -> str:
        """The resource type of the identity."""
        return self.ref.split("/", 1)[0]

    @property
    def id(self) -> str:
        """The resource id."""
        return self.ref.split("/", 1)[1]

    def age(self, today: date | None = None) -> int | None:
        """Age in whole years, when a birth date is known."""
        if not self.birth_date or len(self.birth_date) < 10:
            return None
        born = date.fromisoformat(self.birth_date[:10])
        today = today or date.today()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def human_name(resource: dict[str, Any]) -> str:
    """'Given Family' from a FHIR resource's first usable name."""
    for name in resource.get("name") or []:
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        text = " ".join(p for p in parts if p)
        if text:
            return text
    return f"{resource.get('resourceType', '?')}/{resource.get('id', '?')}"


def _patient_of(related: dict[str, Any]) -> str | None:
    """The Patient id a RelatedPerson acts for."""
    reference = (related.get("patient") or {}).get("reference", "")
    if reference.startswith("Patient/"):
        return reference.split("/", 1)[1]
    return None


def to_person(resource: dict[str, Any]) -> Person:
    """A sign-in identity from a Practitioner, Patient or RelatedPerson resource."""
    kind, rid = resource["resourceType"], resource["id"]
    patient = rid if kind == "Patient" else _patient_of(resource) if kind == "RelatedPerson" else None
    return Person(
        ref=f"{kind}/{rid}",
        display=human_name(resource),
        patient=patient,
        birth_date=resource.get("birthDate"),
        gender=resource.get("gender"),
    )


def people(source: ResourceSource, kind: str) -> list[Person]:
    """Every active resource of one type as an identity, ordered by id."""
    return [to_person(r) for r in source.all(kind) if r.get("active", True) is not False]


def _seed_logins() -> tuple[Any, ...]:
    """The seed's declared logins (sandbox.seed.PEOPLE), or none when there is no seed module."""
    try:
        from sandbox.seed import PEOPLE
    except ImportError:
        return ()
    return tuple(PEOPLE)


def sign_in_people(source: ResourceSource) -> list[Person]:
    """Who may sign in: the seed's declared logins that exist in the store, else every identity there."""
    stored = {p.ref: p for kind in SIGN_IN_TYPES for p in people(source, kind)}
    declared = [stored[login.fhir_user] for login in _seed_logins() if login.fhir_user in stored]
    return declared or list(stored.values())


def find(source: ResourceSource, ref: str | None) -> Person | None:
    """The sign-in identity with this reference, if it may sign in."""
    return next((p for p in sign_in_people(source) if p.ref == ref), None) if ref else None


def find_patient(source: ResourceSource, patient_id: str | None) -> Person | None:
    """The Patient with this id (any patient, for pickers and charts)."""
    return next((p for p in people(source, "Patient") if p.id == patient_id), None) if patient_id else None


def pickable_patients(source: ResourceSource, person: Person) -> list[Person]:
    """The patients this person may open: any for a practitioner, their linked patient for a
    caregiver (an active RelatedPerson), only themselves for a patient."""
    if person.kind == "Practitioner":
        return people(source, "Patient")
    if person.kind in ("Patient", "RelatedPerson") and person.patient:
        linked = find_patient(source, person.patient)
        return [linked] if linked else []
    return []


def may_open(source: ResourceSource, person: Person, patient_id: str | None) -> bool:
    """Whether this person may open the record of patient_id."""
    return any(p.id == patient_id for p in pickable_patients(source, person))


def default_clinician(source: ResourceSource) -> Person | None:
    """The clinician signed in to the EHR shell by default (the seed's DEFAULT_CLINICIAN when present)."""
    default_id: str | None
    try:
        from sandbox.seed import DEFAULT_CLINICIAN as default_id
    except ImportError:
        default_id = None
    clinicians = [p for p in sign_in_people(source) if p.kind == "Practitioner"]
    return next((p for p in clinicians if p.ref == default_id), clinicians[0] if clinicians else None)
