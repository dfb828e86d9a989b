"""Search results (MedicationRequest, MedicationStatement, _include'd resources) -> review rows.

Medications are resolved from the resources already fetched (codeable concept, contained
``#id``, or an ``_include``d Medication); this module never fetches anything.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Iterable

from ._json import arr, obj, objs, text
from .dosage import describe_dosages
from .model import RXNORM, Coding, MedicationList, MedicationRow, SourceRef

UNKNOWN_MEDICINE = "Unknown medicine"

# Fetched resources by (resourceType, id), to resolve references without a request.
Index = dict[tuple[Any, Any], dict[str, Any]]

# https://hl7.org/fhir/R4/valueset-medicationrequest-status.html and -intent.html
_REQUEST_CURRENT = {"active", "on-hold"}
_REQUEST_PAST = {"completed", "stopped"}
_REQUEST_INTENTS = {"order", "plan"}
# https://hl7.org/fhir/R4/valueset-medication-statement-status.html
_STATEMENT_PAST = {"not-taken", "stopped", "completed"}
_STATEMENT_CURRENT = {"active", "intended", "on-hold", "unknown"}

def N_(text: str) -> str:
    """Mark text for the catalog; pages translate it where it is shown."""
    return text


_STATUS_NOTES = {
    "on-hold": N_("On hold"),
    "not-taken": N_("Not taken"),
    "stopped": N_("Stopped"),
    "completed": N_("Finished"),
}


def build_medication_list(resources: Iterable[dict[str, Any]]) -> MedicationList:
    """Turn one (possibly paged and merged) search result into current and past rows."""
    unique = _dedupe(resources)
    index: Index = {(r.get("resourceType"), r.get("id")): r for r in unique}
    rows: list[MedicationRow] = []
    for resource in unique:
        kind = resource.get("resourceType")
        if kind == "MedicationRequest":
            row = _request_row(resource, index)
        elif kind == "MedicationStatement":
            row = _statement_row(resource, index)
        else:
            continue
        if row is not None:
            rows.append(row)
    merged = _assign_keys(_merge_by_rxnorm(rows))
    ordered = sorted(merged, key=lambda r: (r.name.casefold(), r.key))
    return MedicationList(
        current=[r for r in ordered if r.is_current],
        past=[r for r in ordered if not r.is_current],
    )


def review_rows(resources: Iterable[dict[str, Any]]) -> list[MedicationRow]:
    """The current medicines the patient is asked about, one row per medicine."""
    return build_medication_list(resources).current


def past_rows(resources: Iterable[dict[str, Any]]) -> list[MedicationRow]:
    """Medicines recorded as stopped, finished or not taken, shown apart from current ones."""
    return build_medication_list(resources).past


def _dedupe(resources: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats that paging produces (the same resource, or an include, on two pages)."""
    seen: set[tuple[Any, Any]] = set()
    out: list[dict[str, Any]] = []
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        if not isinstance(resource.get("resourceType"), str) or not isinstance(resource.get("id"), (str, type(None))):
            continue
        ident = (resource["resourceType"], resource.get("id"))
        if ident[1] is not None and ident in seen:
            continue
        seen.add(ident)
        out.append(resource)
    return out


def _request_row(resource: dict[str, Any], index: Index) -> MedicationRow | None:
    """A row for a MedicationRequest we show, or None for ones we leave out."""
    status = text(resource.get("status"))
    if text(resource.get("intent")) not in _REQUEST_INTENTS:
        return None
    if status not in _REQUEST_CURRENT | _REQUEST_PAST:
        return None
    reported = resource.get("reportedBoolean") is True or bool(obj(resource.get("reportedReference")))
    dosage = describe_dosages(arr(resource.get("dosageInstruction")))
    source = SourceRef("MedicationRequest", str(resource.get("id")), status, reported, dosage)
    name, code, unresolved = _resolve_medication(resource, index)
    return MedicationRow(
        key="",
        name=name,
        code=code,
        dosage=dosage,
        sources=(source,),
        prescriber=_prescriber(resource, index, reported),
        start=_date_part(resource.get("authoredOn")),
        reason=_reason(resource),
        unresolved=unresolved,
        is_current=status in _REQUEST_CURRENT,
        status_note=_STATUS_NOTES.get(status),
    )


def _statement_row(resource: dict[str, Any], index: Index) -> MedicationRow | None:
    """A row for a MedicationStatement; entered-in-error ones are never shown."""
    status = text(resource.get("status"))
    if status not in _STATEMENT_CURRENT | _STATEMENT_PAST:
        return None
    dosage = describe_dosages(arr(resource.get("dosage")))
    source = SourceRef("MedicationStatement", str(resource.get("id")), status, True, dosage)
    name, code, unresolved = _resolve_medication(resource, index)
    effective = resource.get("effectiveDateTime") or obj(resource.get("effectivePeriod")).get("start")
    return MedicationRow(
        key="",
        name=name,
        code=code,
        dosage=dosage,
        sources=(source,),
        start=_date_part(effective),
        reason=_reason(resource),
        unresolved=unresolved,
        is_current=status in _STATEMENT_CURRENT,
        status_note=_STATUS_NOTES.get(status),
    )


def _resolve_medication(resource: dict[str, Any], index: Index) -> tuple[str, Coding | None, bool]:
    """Name, code and an "unresolved" flag from medication[x], without any fetch."""
    concept = obj(resource.get("medicationCodeableConcept"))
    if concept:
        return _name_of(concept), _code_of(concept), False
    reference = obj(resource.get("medicationReference"))
    target = text(reference.get("reference"))
    medication = None
    if target.startswith("#"):
        medication = next(
            (c for c in objs(resource.get("contained")) if c.get("resourceType") == "Medication" and c.get("id") == target[1:]),
            None,
        )
    elif target:
        medication = _lookup(target, "Medication", index)
    display = text(reference.get("display"))
    if medication is None:
        return display or UNKNOWN_MEDICINE, None, True
    concept = obj(medication.get("code"))
    name = _name_of(concept)
    if name == UNKNOWN_MEDICINE and display:
        name = display
    return name, _code_of(concept), False


def _lookup(reference: str, resource_type: str, index: Index) -> dict[str, Any] | None:
    """Find a referenced resource among the fetched ones by its last two path segments."""
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != resource_type:
        return None
    return index.get((resource_type, parts[-1]))


def _name_of(concept: dict[str, Any]) -> str:
    """The coding display, falling back to code.text, then to the RxNorm display."""
    codings = objs(concept.get("coding"))
    if codings and text(codings[0].get("display")):
        return text(codings[0]["display"])
    if text(concept.get("text")):
        return text(concept["text"])
    for coding in codings:
        if coding.get("system") == RXNORM and text(coding.get("display")):
            return text(coding["display"])
    for coding in codings:
        if text(coding.get("display")):
            return text(coding["display"])
    return UNKNOWN_MEDICINE


def _code_of(concept: dict[str, Any]) -> Coding | None:
    """The RxNorm coding when there is one, else the first coding with a code."""
    codings = [c for c in objs(concept.get("coding")) if text(c.get("code"))]
    chosen = next((c for c in codings if c.get("system") == RXNORM), codings[0] if codings else None)
    if chosen is None:
        return None
    system = text(chosen.get("system")) or None
    return Coding(system, text(chosen.get("code")), text(chosen.get("display")) or text(concept.get("text")) or None)


def _prescriber(resource: dict[str, Any], index: Index, reported: bool) -> str | None:
    """Requester display, else the included Practitioner's name; none for self-reported entries."""
    requester = obj(resource.get("requester"))
    target = text(requester.get("reference"))
    if reported and target.startswith(("Patient/", "RelatedPerson/")):
        return None
    if text(requester.get("display")):
        return text(requester["display"])
    for kind in ("Practitioner", "PractitionerRole", "Organization"):
        found = _lookup(target, kind, index) if target else None
        if found:
            return _person_name(found)
    return None


def _person_name(resource: dict[str, Any]) -> str | None:
    """A readable name from a Practitioner (HumanName) or an Organization."""
    if isinstance(resource.get("name"), str):
        return text(resource["name"]) or None
    for name in objs(resource.get("name")):
        if text(name.get("text")):
            return text(name["text"])
        words = [*arr(name.get("prefix")), *arr(name.get("given")), name.get("family")]
        joined = " ".join(text(w) for w in words if text(w))
        if joined:
            return joined
    return None


def _reason(resource: dict[str, Any]) -> str | None:
    """Reason text from reasonCode (text or display) and reasonReference displays."""
    reasons: list[str] = []
    for concept in objs(resource.get("reasonCode")):
        reason = text(concept.get("text"))
        if not reason:
            reason = next((text(c.get("display")) for c in objs(concept.get("coding")) if text(c.get("display"))), "")
        if reason:
            reasons.append(reason)
    for ref in objs(resource.get("reasonReference")):
        if text(ref.get("display")):
            reasons.append(text(ref["display"]))
    return ", ".join(dict.fromkeys(reasons)) or None


def _date_part(value: Any) -> str | None:
    """The date part of a FHIR date or dateTime."""
    return text(value).split("T")[0] or None


def _merge_by_rxnorm(rows: list[MedicationRow]) -> list[MedicationRow]:
    """One row per RxNorm code, keeping every source; rows without RxNorm stay as they are."""
    groups: dict[str, list[MedicationRow]] = {}
    out: list[MedicationRow | str] = []
    for row in rows:
        if row.rxnorm is None:
            out.append(row)
            continue
        if row.rxnorm not in groups:
            groups[row.rxnorm] = []
            out.append(row.rxnorm)
        groups[row.rxnorm].append(row)
    return [_combine(groups[item]) if isinstance(item, str) else item for item in out]


def _source_rank(row: MedicationRow) -> tuple[int, int, str]:
    """Current before past, prescriptions before statements, then by id, for a stable merge."""
    first = row.sources[0]
    return (0 if row.is_current else 1, 0 if first.resource_type == "MedicationRequest" else 1, first.id)


def _combine(rows: list[MedicationRow]) -> MedicationRow:
    """Merge rows for the same medicine; the leading row gives name and wording."""
    if len(rows) == 1:
        return rows[0]
    rows = sorted(rows, key=_source_rank)
    lead = rows[0]
    return MedicationRow(
        key="",
        name=lead.name,
        code=lead.code,
        dosage=next((r.dosage for r in rows if r.dosage), ""),
        sources=tuple(s for r in rows for s in r.sources),
        prescriber=next((r.prescriber for r in rows if r.prescriber), None),
        start=next((r.start for r in rows if r.start), None),
        reason=next((r.reason for r in rows if r.reason), None),
        unresolved=all(r.unresolved for r in rows),
        is_current=any(r.is_current for r in rows),
        status_note=lead.status_note,
    )


def _assign_keys(rows: list[MedicationRow]) -> list[MedicationRow]:
    """Give each row a stable, form-safe key derived from its leading source record."""
    used: set[str] = set()
    out: list[MedicationRow] = []
    for row in rows:
        first = row.sources[0]
        prefix = "rx" if first.resource_type == "MedicationRequest" else "st"
        # Dots separate parts of field names (med.<key>.status), so they cannot appear in a key.
        base = prefix + "-" + re.sub(r"[^A-Za-z0-9-]", "_", first.id)
        key, n = base, 2
        while key in used:
            key, n = f"{base}-{n}", n + 1
        used.add(key)
        out.append(replace(row, key=key))
    return out

