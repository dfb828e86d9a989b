"""Basic structural validation of incoming resources: 422 issues whose `expression` names the element.

Not a full profile validator: it checks what most often goes wrong in a client's write —
required elements, status codes, date formats, reference shapes and that local references
resolve — so the app can map each issue back to a form field.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from sandbox.fhir import search as fsearch
from sandbox.fhir.outcome import FhirError, issue

_DATETIME_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$")
_REF_RE = re.compile(r"^(#.*|urn:uuid:[0-9a-fA-F-]{36}|urn:oid:[0-9.]+|https?://\S+|[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}"
                     r"(/_history/[A-Za-z0-9\-.]{1,64})?)$")

# Required elements and allowed status codes per type (from the R4 resource definitions).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "Observation": ("status", "code"),
    "QuestionnaireResponse": ("status",),
    "Questionnaire": ("status",),
    "MedicationRequest": ("status", "intent", "subject"),
    "MedicationStatement": ("status", "subject"),
    "Condition": ("subject",),
    "AllergyIntolerance": ("patient",),
    "Encounter": ("status", "class"),
    "Appointment": ("status", "participant"),
    "Provenance": ("target", "recorded", "agent"),
    "RelatedPerson": ("patient",),
    "FamilyMemberHistory": ("status", "patient", "relationship"),
    "Task": ("status", "intent"),
}
_STATUS: dict[str, set[str]] = {
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                    "entered-in-error", "unknown"},
    "QuestionnaireResponse": {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
    "Questionnaire": {"draft", "active", "retired", "unknown"},
    "MedicationRequest": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped",
                          "draft", "unknown"},
    "MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
                            "unknown", "not-taken"},
    "FamilyMemberHistory": {"partial", "completed", "entered-in-error", "health-unknown"},
    "Task": {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
             "on-hold", "failed", "completed", "entered-in-error"},
}
_DATE_FIELDS = ("authored", "recorded", "effectiveDateTime", "issued", "authoredOn", "birthDate",
                "recordedDate", "onsetDateTime", "date", "start", "end", "valueDateTime")


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """Yield (expression, key, value) for every element below value."""
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if isinstance(child, list):
                for i, item in enumerate(child):
                    yield f"{child_path}[{i}]", key, item
                    if key != "contained":
                        yield from _walk(item, f"{child_path}[{i}]")
            else:
                yield child_path, key, child
                yield from _walk(child, child_path)


def _qr_items(items: list[Any], path: str) -> Iterator[dict[str, Any]]:
    """Yield issues for QuestionnaireResponse items lacking a linkId, recursing into answers."""
    for i, item in enumerate(items):
        here = f"{path}.item[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("linkId"), str) or not item["linkId"]:
            yield issue("item.linkId is required", code="required", expression=[f"{here}.linkId"])
            continue
        yield from _qr_items(item.get("item", []), here)
        for j, answer in enumerate(item.get("answer", [])):
            if not isinstance(answer, dict) or not any(k.startswith("value") for k in answer):
                yield issue("answer needs a value[x]", code="required", expression=[f"{here}.answer[{j}]"])
            else:
                yield from _qr_items(answer.get("item", []), f"{here}.answer[{j}]")


def resource_issues(resource: dict[str, Any], exists: Callable[[str, str], bool]) -> list[dict[str, Any]]:
    """Return the validation issues of one resource (empty when it passes)."""
    type_ = resource.get("resourceType", "")
    found: list[dict[str, Any]] = []
    for name in _REQUIRED.get(type_, ()):
        if resource.get(name) in (None, "", [], {}):
            found.append(issue(f"{type_}.{name} is required", code="required", expression=[f"{type_}.{name}"]))
    allowed = _STATUS.get(type_)
    status = resource.get("status")
    if allowed and status is not None and status not in allowed:
        found.append(issue(f"{status!r} is not a valid {type_}.status", code="code-invalid",
                           expression=[f"{type_}.status"]))
    if type_ == "Observation" and resource.get("code") is not None:
        code = resource["code"]
        if not isinstance(code, dict) or not (code.get("coding") or code.get("text")):
            found.append(issue("Observation.code needs a coding or text", code="required",
                               expression=["Observation.code"]))
    if type_ == "QuestionnaireResponse":
        found.extend(_qr_items(resource.get("item", []), type_))
    contained = {f"#{c.get('id')}" for c in resource.get("contained", []) if isinstance(c, dict)}
    for expression, key, value in _walk(resource, type_):
        if key in _DATE_FIELDS and isinstance(value, str) and not _DATETIME_RE.match(value):
            found.append(issue(f"{value!r} is not a valid date/dateTime", code="value", expression=[expression]))
        if key == "reference" and isinstance(value, str):
            if not _REF_RE.match(value):
                found.append(issue(f"malformed reference {value!r}", code="value", expression=[expression]))
            elif value.startswith("#") and value not in contained and value != "#":
                found.append(issue(f"contained resource {value} not found", code="not-found",
                                   expression=[expression]))
            elif value.startswith("urn:uuid:"):
                found.append(issue(f"unresolved reference {value}", code="not-found", expression=[expression]))
            else:
                parsed = fsearch.parse_reference(value) if not value.startswith("http") else None
                if parsed and parsed[0] and not exists(parsed[0], parsed[1]):
                    found.append(issue(f"{value} does not exist", code="not-found", expression=[expression]))
    return found


def validate(resource: dict[str, Any], exists: Callable[[str, str], bool]) -> None:
    """Raise a 422 FhirError listing every issue, when there is any."""
    found = resource_issues(resource, exists)
    if found:
        raise FhirError(422, found[0]["diagnostics"], issues=found)
