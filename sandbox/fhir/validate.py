"""Validation of incoming resources, in two layers.

Structure (400, https://hl7.org/fhir/R4/http.html#2.21.0.13): fhirclient's R4 models in strict
mode judge elements, cardinality, types and primitive formats, as a real server's parser would;
each issue's `expression` names the element (e.g. `QuestionnaireResponse.item[0].linkId`).
Business rules (422): status codes, answers without a value, reference shapes and that local
references resolve, so the app can map each issue back to a form field.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from sandbox.fhir import search as fsearch
from sandbox.fhir.outcome import FhirError, issue

_REF_RE = re.compile(r"^(#.*|urn:uuid:[0-9a-fA-F-]{36}|urn:oid:[0-9.]+|https?://\S+|[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}"
                     r"(/_history/[A-Za-z0-9\-.]{1,64})?)$")
# fhirclient's messages for a leaf problem, and the OperationOutcome issue code each becomes.
_LEAF_MESSAGES = (
    (re.compile(r'^Non-optional property "(?P<name>\w+)"'), "required", "is required"),
    (re.compile(r'^Superfluous entry "(?P<name>[^"]+)"'), "structure", "is not an element of this type"),
    (re.compile(r'^Wrong type .*? for (?:list )?property "(?P<name>\w+)"'), "structure", "has the wrong JSON type"),
)

# Allowed status codes per type (from the R4 resource definitions; the models do not check codes).
_STATUS: dict[str, set[str]] = {
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                    "entered-in-error", "unknown"},
    "QuestionnaireResponse": {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
    "Questionnaire": {"draft", "active", "retired", "unknown"},
    "MedicationRequest": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped",
                          "draft", "unknown"},
    "MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
                            "unknown", "not-taken"},
    "Flag": {"active", "inactive", "entered-in-error"},
    "FamilyMemberHistory": {"partial", "completed", "entered-in-error", "health-unknown"},
    "Task": {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
             "on-hold", "failed", "completed", "entered-in-error"},
}


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
    """Yield issues for QuestionnaireResponse answers without a value, recursing into items and answers."""
    for i, item in enumerate(items):
        here = f"{path}.item[{i}]"
        if not isinstance(item, dict):
            continue  # the structure check reports it
        yield from _qr_items(item.get("item", []), here)
        for j, answer in enumerate(item.get("answer", [])):
            if not isinstance(answer, dict) or not any(k.startswith("value") for k in answer):
                yield issue("answer needs a value[x]", code="required", expression=[f"{here}.answer[{j}]"])
            else:
                yield from _qr_items(answer.get("item", []), f"{here}.answer[{j}]")


def structure_issues(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The R4 structure problems of one resource (empty when fhirclient's strict model accepts it)."""
    type_ = resource.get("resourceType")
    if not isinstance(type_, str):
        return [issue("resourceType is missing", code="required", expression=["resourceType"])]
    model = FHIRElementFactory.instantiate(type_, None)
    if getattr(model, "resource_type", None) != type_ or type_ in ("Element", "Resource", "DomainResource"):
        return [issue(f"unknown resourceType {type_!r}", code="not-supported", expression=["resourceType"])]
    try:
        FHIRElementFactory.instantiate(type_, resource)
    except FHIRValidationError as error:
        return list(_leaves(error, type_))
    except (TypeError, ValueError) as error:
        return [issue(f"{type_}: {error}", code="value", expression=[type_])]
    return []


def _leaves(error: BaseException, path: str) -> Iterator[dict[str, Any]]:
    """Flatten fhirclient's nested errors into issues whose expression is FHIRPath (`item[0].linkId`)."""
    if isinstance(error, FHIRValidationError):
        here = path
        for part in (error.path or "").split(".") if error.path else ():
            here += f"[{part}]" if part.isdigit() else "." + part.removesuffix("_fhir")
        for child in error.errors:
            yield from _leaves(child, here)
        return
    message = str(error.args[0]) if error.args else str(error)
    for pattern, code, words in _LEAF_MESSAGES:
        match = pattern.match(message)
        if match:
            name = match["name"].removesuffix("_fhir")
            where = path if path.endswith("." + name) else f"{path}.{name}"
            yield issue(f"{where} {words}", code=code, expression=[where])
            return
    yield issue(f"{path}: {message}" if message else f"{path} is not a valid value", code="value", expression=[path])


def resource_issues(resource: dict[str, Any], exists: Callable[[str, str], bool]) -> list[dict[str, Any]]:
    """The business-rule issues of one structurally valid resource (empty when it passes)."""
    type_ = resource.get("resourceType", "")
    found: list[dict[str, Any]] = []
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


def problem(resource: dict[str, Any], exists: Callable[[str, str], bool]) -> FhirError | None:
    """The error an incoming resource earns: 400 for its structure, else 422 for business rules, else None."""
    structure = structure_issues(resource)
    if structure:
        return FhirError(400, structure[0]["diagnostics"], issues=structure)
    found = resource_issues(resource, exists)
    if found:
        return FhirError(422, found[0]["diagnostics"], issues=found)
    return None


def validate(resource: dict[str, Any], exists: Callable[[str, str], bool]) -> None:
    """Raise the resource's FhirError (400 structure, 422 business rules), when it has one."""
    error = problem(resource, exists)
    if error is not None:
        raise error
