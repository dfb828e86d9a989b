"""Pure builders of the write-back transaction: QuestionnaireResponse, Observations, Provenance.

Every entry is a conditional create keyed on a deterministic identifier derived from the
submission id, so a retried, re-posted or double-submitted bundle never duplicates data
(FHIR R4 conditional create https://hl7.org/fhir/R4/http.html#ccreate; transaction
https://hl7.org/fhir/R4/http.html#transaction). `send_submission` is the one call into
ehr/client.py: a transaction when the server declares one, else sequential conditional creates.
"""
from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from smart_app.ehr.client import FhirError, FhirErrorCode, WriteResult
from smart_app.ehr.tokens import token_query

PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
APP_DEVICE_ID = "app"
QR_TYPE = "QuestionnaireResponse"


# ---------------------------------------------------------------------------------------------
# Deterministic identifiers


def observation_identifier_value(submission_id: str, key: str) -> str:
    """Identifier value for an Observation of a submission, keyed by linkId or code."""
    return f"{submission_id}/obs/{key}"


def extracted_identifier_value(submission_id: str, key: str) -> str:
    """Identifier value for a resource of a submission's SDC template/definition extraction."""
    return f"{submission_id}/ext/{key}"


def provenance_tag_code(submission_id: str) -> str:
    """The meta.tag code that makes a submission's Provenance findable (R4 Provenance has no identifier)."""
    return f"{submission_id}/provenance"


def full_url_for(system: str, value: str) -> str:
    """A stable urn:uuid for an identifier: the same system|value always gives the same fullUrl."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{system}|{value}')}"


# ---------------------------------------------------------------------------------------------
# Building the bundle


def _same_reference(existing: Any, wanted: str) -> bool:
    """True when a Reference dict points at `wanted`."""
    return isinstance(existing, Mapping) and existing.get("reference") == wanted


def _bind_reference(resource: dict[str, Any], element: str, wanted: str | None, *, required: bool) -> None:
    """Set resource[element] to `wanted`, refusing to silently replace a different reference."""
    if wanted is None:
        if required:
            raise ValueError(f"{resource.get('resourceType')}.{element} is required")
        return
    current = resource.get(element)
    if current is not None and not _same_reference(current, wanted):
        # Subject and encounter come from the launch token only; a mismatch is a bug upstream.
        raise ValueError(f"{resource.get('resourceType')}.{element} does not match the launch")
    resource[element] = {"reference": wanted}


def _observation_key(observation: Mapping[str, Any]) -> str:
    """Natural key of an Observation within one submission: its code, plus its focus when present."""
    codings = (observation.get("code") or {}).get("coding") or []
    code = next((c.get("code") for c in codings if isinstance(c, Mapping) and c.get("code")), None)
    code = code or (observation.get("code") or {}).get("text")
    if not code:
        raise ValueError("an Observation needs a code (or a preset identifier) to be keyed")
    focus = [f.get("reference") for f in observation.get("focus") or [] if isinstance(f, Mapping)]
    return "/".join([code, *[f for f in focus if f]])


def _own_identifier(identifiers: Any, system: str) -> str | None:
    """The value of the identifier in our system, if the caller preset one."""
    items = [identifiers] if isinstance(identifiers, Mapping) else identifiers or []
    return next((i.get("value") for i in items if isinstance(i, Mapping) and i.get("system") == system), None)


def _observation_values(observations: list[dict[str, Any]], submission_id: str, system: str) -> list[str]:
    """Identifier values for each Observation: preset ones kept, others from code/focus, made unique."""
    prefix = observation_identifier_value(submission_id, "")
    values: list[str] = []
    seen: dict[str, int] = {}
    for obs in observations:
        preset = _own_identifier(obs.get("identifier"), system)
        if preset is not None:
            if not preset.startswith(prefix):
                raise ValueError("an Observation identifier belongs to another submission")
            value = preset
        else:
            value = observation_identifier_value(submission_id, _observation_key(obs))
        seen[value] = seen.get(value, 0) + 1
        # Same code twice without a focus (e.g. two free-text medicines): number them in order.
        values.append(value if seen[value] == 1 else f"{value}#{seen[value]}")
    if len(set(values)) != len(values):
        raise ValueError("Observation identifiers are not unique within the submission")
    return values


def _app_agent(app_device: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Provenance agent for the app, and what to contain: a contained Device or a reference."""
    if app_device.get("resourceType") == "Device":
        # Contained, so writing Provenance needs no Device write scope, which EHRs rarely grant.
        device = {**copy.deepcopy(dict(app_device)), "id": APP_DEVICE_ID}
        return {"reference": f"#{APP_DEVICE_ID}"}, [device]
    if isinstance(app_device.get("reference"), str):
        return {"reference": app_device["reference"]}, []
    raise ValueError("app_device must be a Device resource or a Reference")


def _agent(code: str, display: str, who: Mapping[str, Any]) -> dict[str, Any]:
    """One Provenance.agent with a provenance-participant-type code."""
    return {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": code, "display": display}]},
            "who": dict(who)}


def _entry(full_url: str, resource: dict[str, Any], if_none_exist: str) -> dict[str, Any]:
    """A transaction entry doing a conditional create."""
    return {"fullUrl": full_url, "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"], "ifNoneExist": if_none_exist}}


def build_submission_bundle(
    *,
    questionnaire_response: dict[str, Any],
    observations: list[dict[str, Any]],
    submission_id: str,
    identifier_system: str,
    patient_ref: str,
    encounter_ref: str | None,
    author_ref: str | None,
    app_device: dict[str, Any],
    recorded: str,
    extracted: Sequence[Mapping[str, Any]] = (),
    flags: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build the transaction Bundle (QR, Observations, extracted resources, Flags, Provenance); never mutates inputs.

    `extracted` holds {"resource": ..., "key": ...} from SDC template/definition extraction
    (see extracted_entries). `flags` are safety Flags (smart_app/safety/flags.py), each keyed by
    the rule that raised it.

    The same inputs always give the identical Bundle, so a retry is byte-for-byte the same request.
    """
    if not submission_id or not identifier_system:
        raise ValueError("submission_id and identifier_system are required")
    if questionnaire_response.get("resourceType") != QR_TYPE:
        raise ValueError("questionnaire_response must be a QuestionnaireResponse")

    qr = copy.deepcopy(questionnaire_response)
    preset = _own_identifier(qr.get("identifier"), identifier_system)
    if preset is not None and preset != submission_id:
        raise ValueError("the QuestionnaireResponse identifier belongs to another submission")
    qr.pop("id", None)
    qr["identifier"] = {"system": identifier_system, "value": submission_id}  # 0..1 in R4
    _bind_reference(qr, "subject", patient_ref, required=True)
    _bind_reference(qr, "encounter", encounter_ref, required=False)
    if author_ref and "author" not in qr:
        qr["author"] = {"reference": author_ref}
    qr_url = full_url_for(identifier_system, submission_id)
    entries = [_entry(qr_url, qr, token_query("identifier", identifier_system, submission_id))]

    obs_copies = [copy.deepcopy(o) for o in observations]
    for obs in obs_copies:
        if obs.get("resourceType") != "Observation":
            raise ValueError("observations must be Observation resources")
    for obs, value in zip(obs_copies, _observation_values(obs_copies, submission_id, identifier_system)):
        obs.pop("id", None)
        others = [i for i in obs.get("identifier") or [] if i.get("system") != identifier_system]
        obs["identifier"] = [{"system": identifier_system, "value": value}, *others]
        _bind_reference(obs, "subject", patient_ref, required=True)
        _bind_reference(obs, "encounter", encounter_ref, required=False)
        if author_ref and not obs.get("performer"):
            obs["performer"] = [{"reference": author_ref}]
        # Any QR link or URN the extractor left is a placeholder; the real one is this bundle's QR.
        kept = [d for d in obs.get("derivedFrom") or []
                if not (d.get("type") == QR_TYPE or str(d.get("reference", "")).startswith((QR_TYPE, "urn:")))]
        obs["derivedFrom"] = [{"reference": qr_url}, *kept]
        entries.append(_entry(full_url_for(identifier_system, value), obs,
                              token_query("identifier", identifier_system, value)))

    entries += extracted_entries(extracted, submission_id=submission_id, identifier_system=identifier_system,
                                 patient_ref=patient_ref, qr_url=qr_url)
    for flag in flags:
        entries.append(_flag_entry(flag, submission_id, identifier_system, patient_ref, encounter_ref, qr_url))

    who_app, contained = _app_agent(app_device)
    agents = [_agent("author", "Author", {"reference": author_ref})] if author_ref else []
    agents.append(_agent("assembler", "Assembler", who_app))
    tag = provenance_tag_code(submission_id)
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "meta": {"tag": [{"system": identifier_system, "code": tag}]},
        **({"contained": contained} if contained else {}),
        "target": [{"reference": e["fullUrl"]} for e in entries],
        "recorded": recorded,
        "activity": {"coding": [{"system": DATA_OPERATION, "code": "CREATE", "display": "create"}]},
        "agent": agents,
    }
    entries.append(_entry(full_url_for(identifier_system, tag), provenance,
                          token_query("_tag", identifier_system, tag)))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def flag_identifier_value(submission_id: str, rule_id: str) -> str:
    """Identifier value of the Flag a safety rule raised for a submission (one per rule)."""
    return f"{submission_id}/flag/{rule_id}"


def _flag_entry(flag: Mapping[str, Any], submission_id: str, system: str, patient_ref: str,
                encounter_ref: str | None, qr_url: str) -> dict[str, Any]:
    """A conditional create of one safety Flag, bound to the launch and pointing at this bundle's response."""
    resource = copy.deepcopy(dict(flag))
    if resource.get("resourceType") != "Flag":
        raise ValueError("flags must be Flag resources")
    codings = (resource.get("code") or {}).get("coding") or []
    key = next((c.get("code") for c in codings if isinstance(c, Mapping) and c.get("code")), None)
    if not key:
        raise ValueError("a Flag needs a coded rule to be keyed")
    resource.pop("id", None)
    value = flag_identifier_value(submission_id, key)
    resource["identifier"] = [{"system": system, "value": value}]
    _bind_reference(resource, "subject", patient_ref, required=True)
    _bind_reference(resource, "encounter", encounter_ref, required=False)
    # The builder's placeholder (or any response link) becomes this bundle's QuestionnaireResponse.
    for extension in resource.get("extension") or []:
        if isinstance(extension.get("valueReference"), Mapping):
            ref = str(extension["valueReference"].get("reference", ""))
            if ref.startswith(("urn:", QR_TYPE)):
                extension["valueReference"] = {"reference": qr_url}
    return _entry(full_url_for(system, value), resource, token_query("identifier", system, value))


def extracted_entries(extracted: Sequence[Mapping[str, Any]], *, submission_id: str, identifier_system: str,
                      patient_ref: str, qr_url: str) -> list[dict[str, Any]]:
    """Conditional-create entries for extracted resources, keyed `<submission>/ext/<key>`.

    The extractor already bound each resource to the launch's patient; a resource naming any
    other patient is refused here too (never written). Links to the response become this
    bundle's QR fullUrl, like the Observations' derivedFrom.
    """
    entries = []
    seen: set[str] = set()
    for item in extracted:
        resource = copy.deepcopy(dict(item["resource"]))
        key = str(item["key"])
        value = extracted_identifier_value(submission_id, key)
        if value in seen:
            raise ValueError("extracted resources need unique keys within a submission")
        seen.add(value)
        for element in ("subject", "patient", "for"):
            ref = resource.get(element)
            if isinstance(ref, Mapping) and ref.get("reference") not in (None, patient_ref):
                raise ValueError(f"{resource.get('resourceType')}.{element} does not match the launch")
        resource.pop("id", None)
        others = [i for i in resource.get("identifier") or [] if isinstance(i, Mapping) and i.get("system") != identifier_system]
        resource["identifier"] = [{"system": identifier_system, "value": value}, *others]
        resource = _link_response(resource, qr_url)
        entries.append(_entry(full_url_for(identifier_system, value), resource,
                              token_query("identifier", identifier_system, value)))
    return entries


def _link_response(resource: dict[str, Any], qr_url: str) -> dict[str, Any]:
    """Point derivedFrom / reasonReference placeholders (urn: or QuestionnaireResponse/...) at the bundle's QR."""
    def fix(refs: list[Any]) -> list[Any]:
        """Replace response links, keep the rest."""
        kept = [r for r in refs if not (isinstance(r, Mapping) and str(r.get("reference", "")).startswith((QR_TYPE, "urn:")))]
        return [{"reference": qr_url}, *kept]
    if "derivedFrom" in resource:
        resource["derivedFrom"] = fix(resource.get("derivedFrom") or [])
    if "reasonReference" in resource and resource.get("resourceType") == "Task":
        resource["reasonReference"] = {"reference": qr_url}
    return resource


# ---------------------------------------------------------------------------------------------
# Permissions


def _drop_references(value: Any, gone: set[str]) -> Any:
    """Remove list items that are References to `gone` fullUrls, anywhere in a resource."""
    if isinstance(value, list):
        return [_drop_references(v, gone) for v in value
                if not (isinstance(v, Mapping) and v.get("reference") in gone)]
    if isinstance(value, Mapping):
        return {k: _drop_references(v, gone) for k, v in value.items()}
    return value


def filter_by_permissions(bundle: Mapping[str, Any], can_write: Callable[[str], bool]) -> tuple[dict[str, Any], list[str]]:
    """Keep only entries whose type may be written; drop references to what was left out.

    Returns the reduced Bundle and the sorted resource types skipped, so the user can be told.
    A Provenance left with no targets is skipped too.
    """
    kept: list[dict[str, Any]] = []
    skipped: set[str] = set()
    gone: set[str] = set()
    for entry in bundle.get("entry") or []:
        resource_type = entry["resource"]["resourceType"]
        if can_write(resource_type):
            kept.append(copy.deepcopy(entry))
        else:
            skipped.add(resource_type)
            gone.add(entry["fullUrl"])
    if gone:
        kept = [{**e, "resource": _drop_references(e["resource"], gone)} for e in kept]
    final = []
    for entry in kept:
        resource = entry["resource"]
        if resource["resourceType"] == "Provenance" and not resource.get("target"):
            skipped.add("Provenance")
            continue
        final.append(entry)
    return {**copy.deepcopy(dict(bundle)), "entry": final}, sorted(skipped)


# ---------------------------------------------------------------------------------------------
# Sequential fallback


@dataclass(frozen=True)
class SequentialStep:
    """One conditional create (or, last, a versioned update) of the fallback path; its urn references
    are resolved just before sending."""

    full_url: str
    resource: dict[str, Any]
    if_none_exist: str | None
    method: str = "POST"
    if_match: str | None = None  # the version a PUT is guarded by (bare, not the W/"..." form)


def _urn_references(value: Any) -> set[str]:
    """Every urn:uuid reference inside a resource."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        ref = value.get("reference")
        if isinstance(ref, str) and ref.startswith("urn:uuid:"):
            found.add(ref)
        for v in value.values():
            found |= _urn_references(v)
    elif isinstance(value, list):
        for v in value:
            found |= _urn_references(v)
    return found


def _bare_version(if_match: str | None) -> str | None:
    """`W/"3"` -> `3` (the form FhirClient.update takes)."""
    if not if_match:
        return None
    return if_match.removeprefix("W/").strip('"') or None


def sequential_requests(bundle: Mapping[str, Any]) -> list[SequentialStep]:
    """Order a transaction's creates so each comes after the resources it references (stable); updates
    (PUT, e.g. an assigned Task completed) go last, after everything they may point at exists."""
    all_entries = list(bundle.get("entry") or [])
    for entry in all_entries:
        if (entry.get("request") or {}).get("method") not in ("POST", "PUT"):
            raise ValueError("the sequential fallback only handles creates and updates")
    entries = [e for e in all_entries if e["request"]["method"] == "POST"]
    updates = [SequentialStep(e["fullUrl"], copy.deepcopy(e["resource"]), None, "PUT",
                              _bare_version(e["request"].get("ifMatch")))
               for e in all_entries if e["request"]["method"] == "PUT"]
    urls = {e["fullUrl"] for e in entries}
    done: set[str] = set()
    ordered: list[SequentialStep] = []
    pending = entries
    while pending:
        ready = [e for e in pending if (_urn_references(e["resource"]) & urls) <= done]
        if not ready:
            raise ValueError("circular or unresolvable references in the bundle")
        for entry in ready:
            ordered.append(SequentialStep(entry["fullUrl"], copy.deepcopy(entry["resource"]),
                                          entry["request"].get("ifNoneExist")))
            done.add(entry["fullUrl"])
        pending = [e for e in pending if e["fullUrl"] not in done]
    return ordered + updates


def resolve_references(resource: Mapping[str, Any], created: Mapping[str, str]) -> dict[str, Any]:
    """Replace urn:uuid references with the `Type/id` the server gave them."""
    def walk(value: Any) -> Any:
        """Rewrite references recursively."""
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, Mapping):
            out = {k: walk(v) for k, v in value.items()}
            ref = out.get("reference")
            if isinstance(ref, str) and ref in created:
                out["reference"] = created[ref]
            return out
        return value

    return {k: walk(v) for k, v in resource.items()}


def response_from_sequential(steps: list[SequentialStep], results: list[WriteResult],
                             request_bundle: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction-response Bundle, in the request's entry order, from sequential create results."""
    by_url = {s.full_url: r for s, r in zip(steps, results)}
    entries = []
    for entry in request_bundle.get("entry") or []:
        result = by_url[entry["fullUrl"]]
        location = f"{result.reference}/_history/{result.version_id}" if result.version_id else result.reference
        response = {"status": f"{result.status} {'Created' if result.created else 'OK'}", "location": location}
        if result.last_modified:
            response["lastModified"] = result.last_modified
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


# ---------------------------------------------------------------------------------------------
# Receipt


@dataclass(frozen=True)
class ReceiptEntry:
    """What happened to one resource of a submission."""

    resource_type: str
    id: str | None
    version_id: str | None
    status: int | None
    # Saved by this send: created (201), or written by its PUT (a draft completed: 200). False only
    # when a conditional create matched a resource the EHR already held ("already there").
    created: bool

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form for the launch store."""
        return {"resource_type": self.resource_type, "id": self.id, "version_id": self.version_id,
                "status": self.status, "created": self.created}


@dataclass(frozen=True)
class Receipt:
    """What was sent and where it now lives, for the receipt page and the outbox."""

    entries: tuple[ReceiptEntry, ...]
    when: str | None

    @property
    def complete(self) -> bool:
        """True when every resource has a server id and a 2xx status."""
        return all(e.id and e.status and 200 <= e.status < 300 for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form for the launch store."""
        return {"entries": [e.to_dict() for e in self.entries], "when": self.when}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Receipt:
        """Inverse of to_dict."""
        return cls(tuple(ReceiptEntry(**e) for e in data.get("entries") or []), data.get("when"))


def _location_parts(location: str | None) -> tuple[str | None, str | None]:
    """(id, version id) from a Location such as `Type/id/_history/v` or an absolute URL."""
    if not location:
        return None, None
    parts = location.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        return parts[-3], parts[-1]
    return (parts[-1] if len(parts) >= 2 else None), None


def receipt_from_response(request_bundle: Mapping[str, Any], response_bundle: Mapping[str, Any]) -> Receipt:
    """Pair each request entry with its response entry (same order, per the transaction rules)."""
    requests_ = request_bundle.get("entry") or []
    responses = response_bundle.get("entry") or []
    if len(requests_) != len(responses):
        raise ValueError("response does not match the request bundle")
    entries = []
    when = None
    for req, res in zip(requests_, responses):
        response = res.get("response") or {}
        status_text = str(response.get("status") or "")
        status = int(status_text[:3]) if status_text[:3].isdigit() else None
        rid, version = _location_parts(response.get("location"))
        resource = res.get("resource") or {}
        rid = rid or resource.get("id")
        version = version or (resource.get("meta") or {}).get("versionId")
        saved = status == 201 or (status is not None and 200 <= status < 300
                                  and (req.get("request") or {}).get("method") == "PUT")
        entries.append(ReceiptEntry(req["resource"]["resourceType"], rid, version, status, saved))
        when = when or response.get("lastModified")
    if when is None:
        when = next((e["resource"].get("recorded") for e in requests_
                     if e["resource"]["resourceType"] == "Provenance"), None)
    return Receipt(tuple(entries), when)


# ---------------------------------------------------------------------------------------------
# Sending: the one call into ehr/client.py


class SubmissionClient(Protocol):
    """The part of FhirClient that sending a submission needs."""

    def supports_transaction(self) -> bool: ...
    def transaction(self, bundle: Mapping[str, Any]) -> dict[str, Any]: ...
    def create(self, resource: Mapping[str, Any], *, if_none_exist: str | None = None) -> WriteResult: ...
    def update(self, resource: Mapping[str, Any], *, if_match: str | None = None) -> WriteResult: ...


def send_submission(client: SubmissionClient, bundle: Mapping[str, Any]) -> Receipt:
    """Write a submission: one transaction if the server declares it, else ordered conditional creates.

    Raises FhirError; because every entry is conditional, the caller may simply send again later.
    Without transactions, updates (PUT) run last: a refused one leaves every create in place.
    """
    if client.supports_transaction():
        return receipt_from_response(bundle, client.transaction(bundle))
    steps = sequential_requests(bundle)
    created: dict[str, str] = {}
    results: list[WriteResult] = []
    for step in steps:
        resource = resolve_references(step.resource, created)
        if step.method == "PUT":
            result = client.update(resource, if_match=step.if_match)
        else:
            result = client.create(resource, if_none_exist=step.if_none_exist)
        if result.reference is None:
            raise FhirError(FhirErrorCode.BAD_RESPONSE, status=result.status, method=step.method,
                            resource_type=step.resource["resourceType"])
        created[step.full_url] = result.reference
        results.append(result)
    return receipt_from_response(bundle, response_from_sequential(steps, results, bundle))


def resource_types(bundle: Mapping[str, Any]) -> list[str]:
    """The resource types a bundle writes, in entry order (for the review page)."""
    return [e["resource"]["resourceType"] for e in bundle.get("entry") or []]


__all__ = [
    "Receipt", "ReceiptEntry", "SequentialStep", "build_submission_bundle", "extracted_entries",
    "filter_by_permissions", "flag_identifier_value", "full_url_for", "observation_identifier_value", "provenance_tag_code",
    "receipt_from_response", "resolve_references", "resource_types", "response_from_sequential",
    "send_submission", "sequential_requests",
]

