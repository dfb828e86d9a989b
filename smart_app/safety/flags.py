"""Pure builder of the FHIR Flag a fired rule leaves in the chart (R4 https://hl7.org/fhir/R4/flag.html).

R4 Flag has no element pointing at the record behind it, so the QuestionnaireResponse is
referenced with the core extension `flag-detail` ("points to the ... record that provides
additional supporting information about this flag"). The reference starts as a placeholder
that the write-back layer replaces with the response's fullUrl in the same transaction;
subject, encounter and the deterministic identifier are bound there too, like every other entry.
"""
from __future__ import annotations

from typing import Any

from .evaluate import Finding

FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
RULE_SYSTEM = "http://smart-previsit.example.org/fhir/CodeSystem/safety-rule"
RESPONSE_PLACEHOLDER = "urn:smart-previsit:questionnaire-response"


def flag_text(finding: Finding) -> str:
    """What the chart shows: the rule, then each question with its answer."""
    details = "; ".join(f"{m.question}: {m.answer}" for m in finding.matches)
    return f"{finding.rule.title}. {details}" if details else finding.rule.title


def build_flag(finding: Finding, *, start: str) -> dict[str, Any]:
    """An active Flag for one finding, starting when the answers were given."""
    rule = finding.rule
    return {
        "resourceType": "Flag",
        "extension": [{"url": FLAG_DETAIL, "valueReference": {"reference": RESPONSE_PLACEHOLDER}}],
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": rule.flag_category}]}],
        "code": {"coding": [{"system": RULE_SYSTEM, "code": rule.id, "display": rule.title}],
                 "text": flag_text(finding)},
        "period": {"start": start},
    }


def build_flags(findings: list[Finding], *, start: str) -> list[dict[str, Any]]:
    """One Flag per fired rule, in the findings' order."""
    return [build_flag(f, start=start) for f in findings]


def rule_id_of(flag: dict[str, Any]) -> str | None:
    """The rule a Flag of ours was raised by (None for anyone else's Flag)."""
    codings = (flag.get("code") or {}).get("coding") or []
    return next((c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == RULE_SYSTEM), None)
