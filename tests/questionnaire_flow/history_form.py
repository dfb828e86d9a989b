"""A small pre-visit history form using SDC definition-based extraction (written for these tests).

Each repeating group extracts one resource per answered repetition: problems (Condition),
allergies (AllergyIntolerance), medicines (MedicationStatement) and family history
(FamilyMemberHistory); it also tries to file a problem under another patient and to extract an
Immunization, which the app must not do.
"""
from __future__ import annotations

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
SD = "http://hl7.org/fhir/StructureDefinition/"
SCT = "http://snomed.info/sct"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def _extract(resource_type: str, *fixed: tuple[str, str, object]) -> list[dict]:
    """definitionExtract for a type, plus fixed definitionExtractValues (path, value[x] name, value)."""
    out = [{"url": SDC + "sdc-questionnaire-definitionExtract",
            "extension": [{"url": "definition", "valueCanonical": SD + resource_type}]}]
    for path, key, value in fixed:
        out.append({"url": SDC + "sdc-questionnaire-definitionExtractValue",
                    "extension": [{"url": "definition", "valueUri": f"{SD}{resource_type}#{path}"},
                                  {"url": "fixed-value", key: value}]})
    return out


def _q(link_id: str, kind: str, text: str, definition: str | None = None, **more: object) -> dict:
    """One item."""
    return {"linkId": link_id, "type": kind, "text": text, **({"definition": definition} if definition else {}), **more}


def _options(*pairs: tuple[str, str], system: str = SCT) -> list[dict]:
    """answerOption Codings."""
    return [{"valueCoding": {"system": system, "code": c, "display": d}} for c, d in pairs]


HISTORY = {
    "resourceType": "Questionnaire", "id": "previsit-history", "url": "http://example.org/Questionnaire/previsit-history",
    "version": "1.0.0", "status": "active", "title": "Your health history",
    "item": [
        _q("problems", "group", "Health problems", repeats=True, extension=_extract(
            "Condition", ("Condition.subject.reference", "valueString", "Patient/pat-ben"),
            ("Condition.category", "valueCodeableConcept", {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]})),
           item=[_q("problem", "choice", "Problem", SD + "Condition#Condition.code",
                    answerOption=_options(("195967001", "Asthma"), ("44054006", "Diabetes type 2"))),
                 _q("since", "date", "Since when", SD + "Condition#Condition.onset[x]")]),
        _q("allergies", "group", "Allergies", repeats=True, extension=_extract(
            "AllergyIntolerance", ("AllergyIntolerance.category", "valueCode", "medication")),
           item=[_q("allergen", "string", "What are you allergic to?", SD + "AllergyIntolerance#AllergyIntolerance.code"),
                 _q("criticality", "choice", "How serious?", SD + "AllergyIntolerance#AllergyIntolerance.criticality",
                    answerValueSet="http://hl7.org/fhir/ValueSet/allergy-intolerance-criticality")]),
        _q("medicines", "group", "Medicines you take", repeats=True, extension=_extract(
            "MedicationStatement", ("MedicationStatement.status", "valueCode", "active")),
           item=[_q("medicine", "string", "Medicine", SD + "MedicationStatement#MedicationStatement.medication[x]:medicationCodeableConcept.text")]),
        _q("family", "group", "Family history", repeats=True, extension=_extract("FamilyMemberHistory"),
           item=[_q("relative", "choice", "Who", SD + "FamilyMemberHistory#FamilyMemberHistory.relationship",
                    answerValueSet="http://terminology.hl7.org/ValueSet/v3-FamilyMember"),
                 _q("family-condition", "string", "Condition", SD + "FamilyMemberHistory#FamilyMemberHistory.condition.code")]),
        _q("vaccine", "group", "Vaccines", extension=_extract("Immunization"),
           item=[_q("vaccine-name", "string", "Vaccine", SD + "Immunization#Immunization.vaccineCode")]),
    ],
}
