"""Deterministic synthetic data for the sandbox EHR, and the logins that go with it.

Ids are fixed (`Patient/pat-ana`, `Practitioner/prac-lee`, ...) so the EHR shell and tests can
name them. Clinical dates are offsets from a "today" (the current UTC date unless given),
so a visit is always upcoming; the same `today` always yields identical resources.

Run: python -m sandbox.seed --db PATH --reset [--today YYYY-MM-DD] [--questionnaires DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from sandbox.fhir.store import FhirStore

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.99999.1"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Login:
    """A person who can sign in to the sandbox, and the patient they act for (if any)."""

    username: str
    fhir_user: str              # "Practitioner/prac-lee", "Patient/pat-ana", "RelatedPerson/rp-marta"
    display: str
    role: str                   # "clinician" | "patient" | "proxy"
    patient: str | None = None  # id of the Patient in context for patient and proxy logins


# Everyone who can log in: the auth server's login pages and pickers read this.
PEOPLE: tuple[Login, ...] = (
    Login("dr.lee", "Practitioner/prac-lee", "Dr. Morgan Lee", "clinician"),
    Login("dr.ortiz", "Practitioner/prac-ortiz", "Dr. Samir Ortiz", "clinician"),
    Login("nurse.kim", "Practitioner/prac-kim", "Jordan Kim, RN", "clinician"),
    Login("ana", "Patient/pat-ana", "Ana Pereira", "patient", "pat-ana"),
    Login("ben", "Patient/pat-ben", "Benjamin Okafor", "patient", "pat-ben"),
    Login("chloe", "Patient/pat-chloe", "Chloé Martin", "patient", "pat-chloe"),
    Login("dev", "Patient/pat-dev", "Devendra Rao", "patient", "pat-dev"),
    Login("fatima", "Patient/pat-fatima", "Fatima Haddad", "patient", "pat-fatima"),
    Login("sam", "Patient/pat-sam", "Sam Rivera", "patient", "pat-sam"),
    Login("marta", "RelatedPerson/rp-marta", "Marta Novak (parent of Eli Novak)", "proxy", "pat-eli"),
)
DEFAULT_CLINICIAN = "Practitioner/prac-lee"
PATIENT_IDS: tuple[str, ...] = ("pat-ana", "pat-ben", "pat-chloe", "pat-dev", "pat-eli", "pat-fatima", "pat-sam")
CHILD_ID = "pat-eli"
PARENT_ID = "rp-marta"


@dataclass
class SeedSummary:
    """What a seed run stored."""

    today: str
    counts: dict[str, int] = field(default_factory=dict)
    questionnaires: list[str] = field(default_factory=list)  # canonical url|version of each seeded one
    skipped: list[str] = field(default_factory=list)          # questionnaire files that could not be read


# ----------------------------------------------------------------------------- helpers

def _cc(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code, "display": display}]}
    concept["text"] = text or display
    return concept


def _ref(target: str, display: str | None = None) -> dict[str, Any]:
    """A Reference, with display when useful."""
    ref: dict[str, Any] = {"reference": target}
    if display:
        ref["display"] = display
    return ref


class _Clock:
    """Dates relative to a fixed 'today'."""

    def __init__(self, today: date) -> None:
        """Anchor every offset on today."""
        self.today = today

    def day(self, offset: int) -> str:
        """A FHIR date `offset` days from today."""
        return (self.today + timedelta(days=offset)).isoformat()

    def at(self, offset: int, hhmm: str = "09:30") -> str:
        """A FHIR dateTime (UTC) `offset` days from today at hh:mm."""
        return f"{self.day(offset)}T{hhmm}:00Z"


# RxNorm clinical drugs used below: key -> (code, display).
DRUGS: dict[str, tuple[str, str]] = {
    "lisinopril": ("314076", "lisinopril 10 MG Oral Tablet"),
    "amlodipine": ("197361", "amlodipine 5 MG Oral Tablet"),
    "metformin": ("861007", "metformin hydrochloride 500 MG Oral Tablet"),
    "atorvastatin": ("617310", "atorvastatin 20 MG Oral Tablet"),
    "aspirin": ("243670", "aspirin 81 MG Oral Tablet"),
    "acetaminophen": ("198440", "acetaminophen 500 MG Oral Tablet"),
    "albuterol": ("745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"),
    "fluticasone": ("895994", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler"),
    "warfarin": ("855332", "warfarin sodium 5 MG Oral Tablet"),
    "furosemide": ("310429", "furosemide 20 MG Oral Tablet"),
    "carvedilol": ("200031", "carvedilol 6.25 MG Oral Tablet"),
    "levothyroxine": ("966222", "levothyroxine sodium 0.05 MG Oral Tablet"),
    "sertraline": ("312940", "sertraline 50 MG Oral Tablet"),
    "losartan": ("979485", "losartan potassium 50 MG Oral Tablet"),
    "hydrochlorothiazide": ("310798", "hydrochlorothiazide 25 MG Oral Tablet"),
    "gabapentin": ("310431", "gabapentin 300 MG Oral Capsule"),
    "cetirizine": ("1014676", "cetirizine hydrochloride 10 MG Oral Tablet"),
    "ibuprofen": ("310965", "ibuprofen 200 MG Oral Tablet"),
    "amoxicillin": ("308182", "amoxicillin 250 MG Oral Capsule"),
    "fluoxetine": ("310384", "fluoxetine 20 MG Oral Capsule"),
}
# Drugs stored as shared Medication resources (referenced by MedicationRequest.medicationReference).
SHARED_MEDICATIONS = ("metformin", "atorvastatin", "losartan", "fluticasone", "warfarin", "acetaminophen")

ORAL = _cc(SNOMED, "26643006", "Oral route", "by mouth")
INHALED = _cc(SNOMED, "447694001", "Respiratory tract route", "inhaled")
TABLET = {"system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}
PUFF = {"system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "PUFF"}


def _dose(value: float, unit: str, form: dict[str, str]) -> list[dict[str, Any]]:
    """A doseAndRate list with one ordered dose."""
    return [{"type": _cc("http://terminology.hl7.org/CodeSystem/dose-rate-type", "ordered", "Ordered"),
             "doseQuantity": {"value": value, "unit": unit, **form}}]


def _timing(frequency: int, period: float = 1, unit: str = "d", **extra: Any) -> dict[str, Any]:
    """A Timing with a repeat of frequency per period."""
    return {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit, **extra}}


# Dosage instructions: some only text, some structured only, some both, some as-needed.
DOSAGES: dict[str, list[dict[str, Any]]] = {
    "daily_tab": [{"sequence": 1, "text": "Take 1 tablet by mouth once daily", "timing": _timing(1),
                   "route": ORAL, "doseAndRate": _dose(1, "tablet", TABLET)}],
    "bid_meals": [{"sequence": 1, "timing": _timing(2, when=["CM"]), "route": ORAL,
                   "doseAndRate": _dose(1, "tablet", TABLET),
                   "additionalInstruction": [_cc(SNOMED, "311504000", "With or after food")]}],
    "bedtime_text": [{"text": "Take 1 tablet by mouth at bedtime"}],
    "daily_text": [{"text": "1 tablet daily"}],
    "prn_pain": [{"sequence": 1, "text": "Take 1 to 2 tablets every 6 hours as needed for pain; no more than 6 tablets a day",
                  "timing": _timing(1, 6, "h"), "asNeededCodeableConcept": _cc(SNOMED, "22253000", "Pain"),
                  "route": ORAL,
                  "doseAndRate": [{"doseRange": {"low": {"value": 1, "unit": "tablet", **TABLET},
                                                 "high": {"value": 2, "unit": "tablet", **TABLET}}}],
                  "maxDosePerPeriod": {"numerator": {"value": 6, "unit": "tablet"},
                                       "denominator": {"value": 1, "unit": "day", "system": UCUM, "code": "d"}}}],
    "morning_empty": [{"sequence": 1, "timing": _timing(1, timeOfDay=["07:00:00"]), "route": ORAL,
                       "doseAndRate": _dose(1, "tablet", TABLET),
                       "patientInstruction": "Take on an empty stomach, 30 minutes before breakfast"}],
    "prn_wheeze": [{"sequence": 1, "text": "Inhale 2 puffs every 4 hours as needed for wheezing",
                    "timing": _timing(1, 4, "h"), "asNeededCodeableConcept": _cc(SNOMED, "56018004", "Wheezing"),
                    "route": INHALED, "doseAndRate": _dose(2, "puff", PUFF)}],
    "bid_inhaled": [{"sequence": 1, "timing": _timing(2), "route": INHALED, "doseAndRate": _dose(2, "puff", PUFF)}],
    "bid_tab": [{"sequence": 1, "text": "Take 1 tablet by mouth twice daily", "timing": _timing(2),
                 "route": ORAL, "doseAndRate": _dose(1, "tablet", TABLET)}],
    "warfarin_text": [{"text": "5 mg on Monday, Wednesday and Friday; 2.5 mg (half tablet) on other days. "
                               "Dose adjusted by the anticoagulation clinic."}],
    "tid_course": [{"sequence": 1, "text": "Take 1 capsule by mouth three times daily for 10 days",
                    "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d",
                                          "boundsDuration": {"value": 10, "unit": "days", "system": UCUM,
                                                             "code": "d"}}},
                    "route": ORAL, "doseAndRate": _dose(1, "capsule", {"system": TABLET["system"], "code": "CAP"})}],
    "prn_boolean": [{"text": "1 tablet as needed", "asNeededBoolean": True, "route": ORAL}],
    "child_daily": [{"sequence": 1, "text": "Half a tablet (5 mg) by mouth once daily in the evening",
                     "timing": _timing(1, when=["EVE"]), "route": ORAL, "doseAndRate": _dose(0.5, "tablet", TABLET)}],
}


@dataclass(frozen=True)
class _Rx:
    """One MedicationRequest to seed: drug, how the medication is expressed, dosage and status."""

    drug: str
    form: str          # "cc" (medicationCodeableConcept) | "contained" | "ref" (Medication resource)
    dosage: str
    status: str = "active"
    reported: bool = False
    started: int = -200  # days from today


@dataclass(frozen=True)
class _Person:
    """Demographics and clinical story of one synthetic patient."""

    id: str
    family: str
    given: tuple[str, ...]
    gender: str
    birth: str               # fixed date, or "age:N" for an age kept constant relative to today
    mrn: str
    phone: str
    city: str
    visit: str               # "in-progress" | "planned"
    visit_offset: int        # days from today
    reason: tuple[str, str]  # SNOMED code, display
    conditions: tuple[tuple[str, str], ...]
    allergies: tuple[tuple[str, str, str, str], ...]  # (code, display, category, criticality)
    meds: tuple[_Rx, ...]
    vitals: tuple[tuple[float, float, int, int], ...]  # (weight kg, height cm, systolic, diastolic), oldest first
    clinician: str = "prac-lee"
    # BCP-47 tag and name of each language spoken, the preferred one first (Patient.communication).
    languages: tuple[tuple[str, str], ...] = (("en-US", "English (United States)"),)


PERSONS: tuple[_Person, ...] = (
    _Person("pat-ana", "Pereira", ("Ana", "Lúcia"), "female", "1958-03-14", "MRN-100001", "555-0101", "Springfield",
            "in-progress", 0, ("390906007", "Follow-up encounter"),
            (("38341003", "Hypertensive disorder"), ("44054006", "Diabetes mellitus type 2"),
             ("40930008", "Hypothyroidism")),
            (("764146007", "Penicillin", "medication", "high"),),
            (_Rx("lisinopril", "cc", "daily_tab", started=-720), _Rx("metformin", "ref", "bid_meals", started=-900),
             _Rx("atorvastatin", "ref", "bedtime_text", started=-600), _Rx("aspirin", "cc", "daily_text", reported=True),
             _Rx("acetaminophen", "contained", "prn_pain", started=-60), _Rx("amlodipine", "contained", "daily_tab", started=-90),
             _Rx("levothyroxine", "cc", "morning_empty", started=-1500), _Rx("gabapentin", "cc", "bedtime_text", status="on-hold"),
             _Rx("ibuprofen", "cc", "prn_boolean", reported=True, started=-30)),
            ((71.2, 162.0, 148, 92), (70.1, 162.0, 142, 88), (69.0, 161.5, 134, 84))),
    _Person("pat-ben", "Okafor", ("Benjamin",), "male", "1981-07-02", "MRN-100002", "555-0102", "Riverside",
            "planned", 3, ("185349003", "Encounter for check up"),
            (("38341003", "Hypertensive disorder"), ("35489007", "Depressive disorder")),
            (),
            (_Rx("losartan", "ref", "daily_tab"), _Rx("hydrochlorothiazide", "cc", "daily_text"),
             _Rx("sertraline", "contained", "daily_tab", started=-120), _Rx("ibuprofen", "cc", "prn_pain", reported=True)),
            ((96.0, 181.0, 146, 94), (94.5, 181.0, 138, 88))),
    _Person("pat-chloe", "Martin", ("Chloé",), "female", "1997-11-20", "MRN-100003", "555-0103", "Lakeside",
            "planned", 7, ("185349003", "Encounter for check up"),
            (("195967001", "Asthma"),),
            (("716186003", "No known allergy", "medication", "low"),),
            (_Rx("albuterol", "cc", "prn_wheeze"), _Rx("fluticasone", "ref", "bid_inhaled"),
             _Rx("cetirizine", "cc", "daily_text", reported=True)),
            ((58.0, 168.0, 112, 72), (58.4, 168.0, 110, 70))),
    _Person("pat-dev", "Rao", ("Devendra",), "male", "1944-01-09", "MRN-100004", "555-0104", "Springfield",
            "planned", 1, ("390906007", "Follow-up encounter"),
            (("84114007", "Heart failure"), ("49436004", "Atrial fibrillation")),
            (("387406002", "Sulfonamide", "medication", "high"), ("256277009", "Grass pollen", "environment", "low")),
            (_Rx("warfarin", "ref", "warfarin_text", started=-400), _Rx("furosemide", "cc", "daily_tab"),
             _Rx("carvedilol", "contained", "bid_tab"), _Rx("atorvastatin", "ref", "bedtime_text"),
             _Rx("aspirin", "cc", "daily_text", status="on-hold")),
            ((78.0, 172.0, 128, 78), (80.5, 172.0, 132, 80), (82.1, 171.5, 136, 82)),
            languages=(("es-US", "Spanish (United States)"), ("en-US", "English (United States)"))),
    _Person("pat-eli", "Novak", ("Eli",), "male", "age:8", "MRN-100005", "555-0105", "Riverside",
            "planned", 2, ("410620009", "Well child visit"),
            (("195967001", "Asthma"), ("61582004", "Allergic rhinitis")),
            (("91935009", "Peanut", "food", "high"),),
            (_Rx("albuterol", "cc", "prn_wheeze"), _Rx("fluticasone", "ref", "bid_inhaled"),
             _Rx("cetirizine", "contained", "child_daily")),
            ((23.5, 121.0, 98, 60), (25.2, 125.5, 100, 62), (26.4, 128.0, 102, 64)), "prac-ortiz"),
    _Person("pat-fatima", "Haddad", ("Fatima",), "female", "1990-04-25", "MRN-100006", "555-0106", "Hillview",
            "planned", 5, ("185349003", "Encounter for check up"),
            (("40930008", "Hypothyroidism"), ("197480006", "Anxiety disorder")),
            (("111088007", "Latex", "environment", "low"),),
            (_Rx("levothyroxine", "cc", "morning_empty"), _Rx("fluoxetine", "contained", "daily_text"),
             _Rx("acetaminophen", "ref", "prn_pain", reported=True)),
            ((64.0, 165.0, 118, 76), (63.2, 165.0, 116, 74))),
    _Person("pat-sam", "Rivera", ("Sam",), "other", "2003-09-30", "MRN-100007", "555-0107", "Lakeside",
            "planned", 4, ("390906007", "Follow-up encounter"),
            (("43878008", "Streptococcal sore throat"),),
            (),
            (_Rx("amoxicillin", "cc", "tid_course", started=-5), _Rx("acetaminophen", "contained", "prn_pain")),
            ((70.0, 176.0, 120, 78),), "prac-ortiz"),
)


# ----------------------------------------------------------------------------- builders

def _directory(clock: _Clock) -> Iterator[dict[str, Any]]:
    """The organisation and its practitioners."""
    yield {"resourceType": "Organization", "id": "org-riverside", "active": True, "name": "Riverside Family Clinic",
           "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5.99999.2", "value": "ORG-001"}],
           "telecom": [{"system": "phone", "value": "555-0100"}],
           "address": [{"line": ["100 River Road"], "city": "Riverside", "postalCode": "00001"}]}
    staff = (("prac-lee", "Lee", "Morgan", "Dr.", "1234567893", "MD"),
             ("prac-ortiz", "Ortiz", "Samir", "Dr.", "1245319599", "MD"),
             ("prac-kim", "Kim", "Jordan", None, "1679576722", "RN"))
    for pid, family, given, prefix, npi, qual in staff:
        name: dict[str, Any] = {"use": "official", "family": family, "given": [given]}
        if prefix:
            name["prefix"] = [prefix]
        name["suffix"] = [qual]
        yield {"resourceType": "Practitioner", "id": pid, "active": True, "name": [name],
               "identifier": [{"system": NPI_SYSTEM, "value": npi}],
               "telecom": [{"system": "email", "value": f"{given.lower()}.{family.lower()}@riverside.example.org"}],
               "qualification": [{"code": _cc("http://terminology.hl7.org/CodeSystem/v2-0360", qual,
                                              "Doctor of Medicine" if qual == "MD" else "Registered Nurse")}]}


def _value_sets() -> Iterator[dict[str, Any]]:
    """Value sets real forms use by canonical (not contained), so ValueSet/$expand has something to expand.

    patient-contactrelationship: FHIR R4 (4.0.1), CC0; used by the SDC extraction examples
    (extract-complex-template, extract-complex-defn3). Its R4 compose includes all of HL7 v2
    table 0131; the codes are listed here so this small server can expand it.
    """
    system = "http://terminology.hl7.org/CodeSystem/v2-0131"
    codes = (("BP", "Billing contact person"), ("CP", "Contact person"), ("EP", "Emergency contact person"),
             ("PR", "Person preparing referral"), ("E", "Employer"), ("C", "Emergency Contact"),
             ("F", "Federal Agency"), ("I", "Insurance Company"), ("N", "Next-of-Kin"), ("S", "State Agency"),
             ("U", "Unknown"))
    yield {"resourceType": "ValueSet", "id": "patient-contactrelationship",
           "url": "http://hl7.org/fhir/ValueSet/patient-contactrelationship", "version": "4.0.1",
           "name": "PatientContactRelationship", "title": "Patient Contact Relationship", "status": "active",
           "compose": {"include": [{"system": system,
                                    "concept": [{"code": code, "display": display} for code, display in codes]}]}}


def _birth_date(person: _Person, clock: _Clock) -> str:
    """A fixed birth date, or one that keeps the person at a constant age relative to today."""
    if person.birth.startswith("age:"):
        years = int(person.birth[4:])
        return f"{clock.today.year - years}-01-17"
    return person.birth


def _patient(person: _Person, clock: _Clock) -> dict[str, Any]:
    """The Patient resource with an MRN identifier (type MR)."""
    return {
        "resourceType": "Patient", "id": person.id, "active": True,
        "identifier": [{"use": "usual",
                        "type": _cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number",
                                    "MRN"),
                        "system": MRN_SYSTEM, "value": person.mrn}],
        "name": [{"use": "official", "family": person.family, "given": list(person.given)}],
        "gender": person.gender,
        "birthDate": _birth_date(person, clock),
        "telecom": [{"system": "phone", "value": person.phone, "use": "home"}],
        "address": [{"use": "home", "line": [f"{10 + PATIENT_IDS.index(person.id) * 7} Elm Street"],
                     "city": person.city, "postalCode": "00002", "country": "US"}],
        "communication": [{"language": _cc("urn:ietf:bcp:47", tag, name), **({"preferred": True} if index == 0 else {})}
                          for index, (tag, name) in enumerate(person.languages)],
        "generalPractitioner": [_ref(f"Practitioner/{person.clinician}")],
        "managingOrganization": _ref("Organization/org-riverside", "Riverside Family Clinic"),
    }


def _parent(clock: _Clock) -> dict[str, Any]:
    """Eli's mother, who logs in to the portal on Eli's behalf."""
    return {"resourceType": "RelatedPerson", "id": PARENT_ID, "active": True,
            "patient": _ref(f"Patient/{CHILD_ID}", "Eli Novak"),
            "relationship": [_cc("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "MTH", "mother")],
            "name": [{"use": "official", "family": "Novak", "given": ["Marta"]}],
            "gender": "female", "birthDate": f"{clock.today.year - 38}-06-02",
            "telecom": [{"system": "phone", "value": "555-0115"}]}


def _visits(person: _Person, clock: _Clock) -> Iterator[dict[str, Any]]:
    """A past finished encounter, the upcoming or current visit and its appointment."""
    pid, prac = person.id, f"Practitioner/{person.clinician}"
    slug = pid.removeprefix("pat-")
    amb = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"}
    yield {"resourceType": "Encounter", "id": f"enc-{slug}-past", "status": "finished", "class": amb,
           "type": [_cc(SNOMED, "185349003", "Encounter for check up")],
           "subject": _ref(f"Patient/{pid}"), "participant": [{"individual": _ref(prac)}],
           "period": {"start": clock.at(-180, "10:00"), "end": clock.at(-180, "10:30")},
           "serviceProvider": _ref("Organization/org-riverside")}
    start = clock.at(person.visit_offset, "14:00" if person.visit == "planned" else "09:00")
    end = clock.at(person.visit_offset, "14:30" if person.visit == "planned" else "09:30")
    yield {"resourceType": "Appointment", "id": f"appt-{slug}",
           "status": "arrived" if person.visit == "in-progress" else "booked",
           "serviceType": [_cc(SNOMED, "394802001", "General medicine")],
           "reasonCode": [_cc(SNOMED, *person.reason)],
           "description": "Pre-visit questionnaires and medication review requested",
           "start": start, "end": end, "minutesDuration": 30, "created": clock.at(-14, "08:00"),
           "participant": [{"actor": _ref(f"Patient/{pid}"), "status": "accepted", "required": "required"},
                           {"actor": _ref(prac, CLINICIAN_NAMES.get(person.clinician)), "status": "accepted",
                            "required": "required"}]}
    encounter = {"resourceType": "Encounter", "id": f"enc-{slug}-visit", "status": person.visit, "class": amb,
                 "type": [_cc(SNOMED, *person.reason)],
                 "subject": _ref(f"Patient/{pid}"), "participant": [{"individual": _ref(prac)}],
                 "appointment": [_ref(f"Appointment/appt-{slug}")],
                 "period": {"start": start} if person.visit == "in-progress" else {"start": start, "end": end},
                 "serviceProvider": _ref("Organization/org-riverside")}
    yield encounter


CLINICIAN_NAMES = {"prac-lee": "Dr Morgan Lee", "prac-ortiz": "Dr Samir Ortiz"}
SDC_TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
CLINIC_FORMS = "http://riverside.example.org/fhir/Questionnaire"
LIBRARY = "http://smart-previsit.example.org/fhir/Questionnaire"


def clinic_questionnaires() -> Iterator[dict[str, Any]]:
    """The clinic's own forms: not in the app's library, so only a Task (or the EHR) offers them."""
    yield {"resourceType": "Questionnaire", "id": "q-sore-throat", "url": f"{CLINIC_FORMS}/sore-throat-follow-up",
           "version": "2", "name": "SoreThroatFollowUp", "title": "Sore throat follow-up", "status": "active",
           "subjectType": ["Patient"], "publisher": "Riverside Family Clinic",
           "item": [{"linkId": "better", "text": "Is your throat better since you started the antibiotic?",
                     "type": "choice", "required": True,
                     "answerOption": [{"valueCoding": {"code": "better", "display": "Better"}},
                                      {"valueCoding": {"code": "same", "display": "About the same"}},
                                      {"valueCoding": {"code": "worse", "display": "Worse"}}]},
                    {"linkId": "doses-missed", "text": "How many doses have you missed?", "type": "integer"},
                    {"linkId": "notes", "text": "Anything else you want us to know?", "type": "text"}]}
    # Version 1 is retired: a Task naming version 2 must find version 2, not this one.
    yield {"resourceType": "Questionnaire", "id": "q-sore-throat-v1", "url": f"{CLINIC_FORMS}/sore-throat-follow-up",
           "version": "1", "name": "SoreThroatFollowUp", "title": "Sore throat follow-up (old)", "status": "retired",
           "item": [{"linkId": "old", "text": "Old question", "type": "string"}]}
    yield {"resourceType": "Questionnaire", "id": "q-child-asthma", "url": f"{CLINIC_FORMS}/child-asthma-check",
           "version": "1", "name": "ChildAsthmaCheck", "title": "Child asthma check", "status": "active",
           "subjectType": ["Patient"], "publisher": "Riverside Family Clinic",
           "item": [{"linkId": "night-cough", "text": "In the last 4 weeks, how many nights did the child cough or wheeze?",
                     "type": "integer", "required": True},
                    {"linkId": "reliever", "text": "Does the child use the reliever inhaler more than twice a week?",
                     "type": "boolean", "required": True}]}


def _task(tid: str, patient: str, canonical: str, *, status: str = "requested", requester: str = "prac-ortiz",
          owner: str | None = None, due: str | None = None, appointment: str | None = None,
          encounter: str | None = None, authored: str, description: str | None = None) -> dict[str, Any]:
    """An SDC Task asking the patient (or their proxy) to complete a Questionnaire."""
    task: dict[str, Any] = {
        "resourceType": "Task", "id": tid,
        "meta": {"profile": ["http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-task"]},
        "status": status, "intent": "order",
        "code": {"coding": [{"system": SDC_TEMP, "code": "complete-questionnaire"}]},
        "for": _ref(f"Patient/{patient}"), "authoredOn": authored,
        "requester": _ref(f"Practitioner/{requester}", CLINICIAN_NAMES[requester]),
        "owner": _ref(owner or f"Patient/{patient}"),
        "input": [{"type": {"coding": [{"system": SDC_TEMP, "code": "questionnaire"}]}, "valueCanonical": canonical}],
    }
    if description:
        task["description"] = description
    if due:
        task["restriction"] = {"period": {"end": due}}
    if appointment:
        task["basedOn"] = [_ref(f"Appointment/{appointment}")]
    if encounter:
        task["encounter"] = _ref(f"Encounter/{encounter}")
    return task


def _assigned_forms(clock: _Clock) -> Iterator[dict[str, Any]]:
    """SDC Tasks: Sam has a clinic form for his visit, an overdue PHQ-9, a cancelled GAD-7 and one whose
    form the EHR no longer has; Eli's mother (his proxy) owns a clinic form for his visit."""
    sam = next(p for p in PERSONS if p.id == "pat-sam")
    eli = next(p for p in PERSONS if p.id == CHILD_ID)
    yield _task("task-sam-throat", "pat-sam", f"{CLINIC_FORMS}/sore-throat-follow-up|2",
                due=clock.day(sam.visit_offset - 1), appointment="appt-sam", encounter="enc-sam-visit",
                authored=clock.at(-2, "10:00"), description="Sore throat follow-up")
    yield _task("task-sam-phq9", "pat-sam", f"{LIBRARY}/phq-9|1.0.0", due=clock.day(-2),
                authored=clock.at(-20, "10:00"), description="Mood questionnaire")
    yield _task("task-sam-gad7", "pat-sam", f"{LIBRARY}/gad-7|1.0.0", status="cancelled",
                authored=clock.at(-20, "10:05"))
    yield _task("task-sam-retired", "pat-sam", f"{CLINIC_FORMS}/diet-diary|1", due=clock.day(sam.visit_offset),
                authored=clock.at(-3, "10:00"), description="Diet diary")
    yield _task("task-eli-asthma", CHILD_ID, f"{CLINIC_FORMS}/child-asthma-check|1", owner=f"RelatedPerson/{PARENT_ID}",
                due=clock.day(eli.visit_offset), appointment="appt-eli", authored=clock.at(-1, "16:00"),
                description="Child asthma check")


def _medication(key: str, rid: str) -> dict[str, Any]:
    """A Medication resource (shared or contained) for an RxNorm drug."""
    code, display = DRUGS[key]
    form = "Metered dose inhaler" if "Inhaler" in display else ("Oral capsule" if "Capsule" in display else "Oral tablet")
    form_code = {"Metered dose inhaler": "420317006", "Oral capsule": "385049006", "Oral tablet": "421026006"}[form]
    return {"resourceType": "Medication", "id": rid, "code": _cc(RXNORM, code, display), "status": "active",
            "form": _cc(SNOMED, form_code, form)}


def _shared_medications() -> Iterator[dict[str, Any]]:
    """Medication resources that MedicationRequests reference."""
    for key in SHARED_MEDICATIONS:
        yield _medication(key, f"med-{key}")


def _med_requests(person: _Person, clock: _Clock) -> Iterator[dict[str, Any]]:
    """MedicationRequests mixing codeable concept, contained and referenced Medication."""
    slug = person.id.removeprefix("pat-")
    for n, rx in enumerate(person.meds, start=1):
        code, display = DRUGS[rx.drug]
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest", "id": f"mr-{slug}-{n}", "status": rx.status, "intent": "order",
            "category": [_cc("http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                             "community", "Community")],
            "subject": _ref(f"Patient/{person.id}"),
            "authoredOn": clock.day(rx.started),
            "dosageInstruction": json.loads(json.dumps(DOSAGES[rx.dosage])),
        }
        if rx.form == "cc":
            request["medicationCodeableConcept"] = _cc(RXNORM, code, display)
        elif rx.form == "contained":
            request["contained"] = [_medication(rx.drug, "med")]
            request["medicationReference"] = _ref("#med", display)
        else:
            if rx.drug not in SHARED_MEDICATIONS:
                raise ValueError(f"{rx.drug} is not a shared Medication")
            request["medicationReference"] = _ref(f"Medication/med-{rx.drug}", display)
        if rx.reported:
            request["reportedBoolean"] = True
            request["intent"] = "plan"
        else:
            request["requester"] = _ref(f"Practitioner/{person.clinician}")
            request["dispenseRequest"] = {"numberOfRepeatsAllowed": 3, "expectedSupplyDuration": {
                "value": 30, "unit": "days", "system": UCUM, "code": "d"}}
        if rx.status == "on-hold":
            request["statusReason"] = _cc("http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason",
                                          "salg", "Surgery")
            request["note"] = [{"text": "Paused before a planned procedure"}]
        yield request


def _med_statements(clock: _Clock) -> Iterator[dict[str, Any]]:
    """Patient-reported MedicationStatements: active, stopped, not-taken and entered-in-error."""
    def statement(rid: str, pid: str, drug: str, status: str, **extra: Any) -> dict[str, Any]:
        """One MedicationStatement reported by the patient (or their parent)."""
        code, display = DRUGS[drug]
        return {"resourceType": "MedicationStatement", "id": rid, "status": status,
                "medicationCodeableConcept": _cc(RXNORM, code, display), "subject": _ref(f"Patient/{pid}"),
                "dateAsserted": clock.day(-20), "informationSource": _ref(f"Patient/{pid}"), **extra}
    yield statement("ms-ana-1", "pat-ana", "ibuprofen", "stopped", effectivePeriod={
        "start": clock.day(-200), "end": clock.day(-40)},
        statusReason=[_cc(SNOMED, "266721009", "Absent response to treatment")],
        dosage=[{"text": "200 mg when needed for knee pain"}])
    yield statement("ms-ana-2", "pat-ana", "warfarin", "entered-in-error", effectiveDateTime=clock.day(-45),
                    note=[{"text": "Recorded on the wrong patient"}])
    yield statement("ms-ben-1", "pat-ben", "amlodipine", "not-taken", effectiveDateTime=clock.day(-10),
                    statusReason=[_cc(SNOMED, "62014003", "Adverse reaction to drug")],
                    note=[{"text": "Stopped taking it because of ankle swelling"}])
    yield statement("ms-dev-1", "pat-dev", "acetaminophen", "active", effectivePeriod={"start": clock.day(-90)},
                    dosage=[{"text": "500 mg at night for back pain", "asNeededBoolean": True}])
    yield statement("ms-eli-1", "pat-eli", "ibuprofen", "completed", effectivePeriod={
        "start": clock.day(-30), "end": clock.day(-27)}, informationSource=_ref(f"RelatedPerson/{PARENT_ID}"),
        dosage=[{"text": "Children's ibuprofen for a fever, three days"}])


def _problems(person: _Person, clock: _Clock) -> Iterator[dict[str, Any]]:
    """Conditions and AllergyIntolerances."""
    slug = person.id.removeprefix("pat-")
    for n, (code, display) in enumerate(person.conditions, start=1):
        yield {"resourceType": "Condition", "id": f"cond-{slug}-{n}",
               "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
               "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                         "confirmed", "Confirmed"),
               "category": [_cc("http://terminology.hl7.org/CodeSystem/condition-category",
                                "problem-list-item", "Problem List Item")],
               "code": _cc(SNOMED, code, display), "subject": _ref(f"Patient/{person.id}"),
               "onsetDateTime": clock.day(-400 * n), "recordedDate": clock.day(-380 * n),
               "recorder": _ref(f"Practitioner/{person.clinician}")}
    for n, (code, display, category, criticality) in enumerate(person.allergies, start=1):
        allergy: dict[str, Any] = {
            "resourceType": "AllergyIntolerance", "id": f"allergy-{slug}-{n}",
            "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                  "active", "Active"),
            "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                      "confirmed", "Confirmed"),
            "type": "allergy", "category": [category], "criticality": criticality,
            "code": _cc(SNOMED, code, display), "patient": _ref(f"Patient/{person.id}"),
            "recordedDate": clock.day(-500),
        }
        if code != "716186003":
            allergy["reaction"] = [{"manifestation": [_cc(SNOMED, "247472004", "Hives")], "severity": "moderate"}]
        yield allergy


def _vitals(person: _Person, clock: _Clock) -> Iterator[dict[str, Any]]:
    """Weight, height and blood-pressure Observations at several dates, oldest first."""
    slug = person.id.removeprefix("pat-")
    category = [_cc("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")]
    offsets = [-360, -180, -30][-len(person.vitals):]
    for n, ((weight, height, systolic, diastolic), offset) in enumerate(zip(person.vitals, offsets), start=1):
        when = clock.at(offset, "10:05")
        base = {"resourceType": "Observation", "status": "final", "category": category,
                "subject": _ref(f"Patient/{person.id}"), "effectiveDateTime": when,
                "performer": [_ref("Practitioner/prac-kim")]}
        yield {**base, "id": f"obs-{slug}-weight-{n}", "code": _cc(LOINC, "29463-7", "Body weight"),
               "valueQuantity": {"value": weight, "unit": "kg", "system": UCUM, "code": "kg"}}
        yield {**base, "id": f"obs-{slug}-height-{n}", "code": _cc(LOINC, "8302-2", "Body height"),
               "valueQuantity": {"value": height, "unit": "cm", "system": UCUM, "code": "cm"}}
        yield {**base, "id": f"obs-{slug}-bp-{n}",
               "code": _cc(LOINC, "85354-9", "Blood pressure panel with all children optional"),
               "component": [
                   {"code": _cc(LOINC, "8480-6", "Systolic blood pressure"),
                    "valueQuantity": {"value": systolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
                   {"code": _cc(LOINC, "8462-4", "Diastolic blood pressure"),
                    "valueQuantity": {"value": diastolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}]}


def default_questionnaire_dir() -> Path | None:
    """Where the app's bundled Questionnaires live, found without importing the app."""
    spec = importlib.util.find_spec("smart_app")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "forms" / "library"


def _questionnaires(directory: Path | None, summary: SeedSummary) -> Iterator[dict[str, Any]]:
    """Every readable Questionnaire JSON file in the directory, in file-name order."""
    if directory is None or not directory.is_dir():
        return
    for path in sorted(directory.glob("*.json")):
        try:
            resource = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary.skipped.append(path.name)
            continue
        if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
            summary.skipped.append(path.name)
            continue
        resource.setdefault("id", path.stem)
        resource.pop("meta", None)
        summary.questionnaires.append(f"{resource.get('url', '')}|{resource.get('version', '')}")
        yield resource


def bundled_questionnaires(directory: Path | None = None) -> list[dict[str, Any]]:
    """The app's bundled Questionnaires as the seed stores them (ids from file names, no meta)."""
    directory = directory if directory is not None else default_questionnaire_dir()
    return list(_questionnaires(directory, SeedSummary(today=datetime.now(timezone.utc).date().isoformat())))


def build_resources(today: date, questionnaire_dir: Path | None = None,
                    summary: SeedSummary | None = None) -> list[dict[str, Any]]:
    """Return every seed resource, in an order where references point backwards."""
    clock = _Clock(today)
    summary = summary or SeedSummary(today=today.isoformat())
    out: list[dict[str, Any]] = [*_directory(clock), *_shared_medications(), *_value_sets()]
    for person in PERSONS:
        out.append(_patient(person, clock))
    out.append(_parent(clock))
    for person in PERSONS:
        out += [*_visits(person, clock), *_problems(person, clock), *_med_requests(person, clock),
                *_vitals(person, clock)]
    out += list(_med_statements(clock))
    out += [*clinic_questionnaires(), *_assigned_forms(clock)]
    out += list(_questionnaires(questionnaire_dir, summary))
    stamp = f"{clock.day(-1)}T08:00:00.000Z"
    for resource in out:
        resource["meta"] = {**resource.get("meta", {}), "lastUpdated": stamp}
    return out


def seed(store: FhirStore, *, questionnaire_dir: Path | None = None, today: date | None = None,
         reset: bool = False) -> SeedSummary:
    """Store the synthetic data set (after wiping the store when reset) in one transaction."""
    today = today or datetime.now(timezone.utc).date()
    summary = SeedSummary(today=today.isoformat())
    qdir = questionnaire_dir if questionnaire_dir is not None else default_questionnaire_dir()
    resources = build_resources(today, qdir, summary)
    with store.transaction():
        if reset:
            store.reset()
        for resource in resources:
            store.create(resource, keep_meta=True)
            summary.counts[resource["resourceType"]] = summary.counts.get(resource["resourceType"], 0) + 1
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line: seed a sandbox database."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLite file to seed")
    parser.add_argument("--reset", action="store_true", help="wipe the database first")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="anchor date (YYYY-MM-DD)")
    parser.add_argument("--questionnaires", type=Path, default=None, help="folder of Questionnaire JSON files")
    args = parser.parse_args(argv)
    store = FhirStore(args.db)
    try:
        if not args.reset and store.types():
            print(f"{args.db} already holds data; pass --reset to restore the seed", file=sys.stderr)
            return 2
        summary = seed(store, questionnaire_dir=args.questionnaires, today=args.today, reset=args.reset)
    finally:
        store.close()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    print(f"seeded {args.db} for {summary.today}: {counts}")
    for name in summary.skipped:
        print(f"skipped unreadable questionnaire file {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
