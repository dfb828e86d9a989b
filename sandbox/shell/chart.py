"""Read-only views of one patient's record for the EHR shell; pure functions over store resources."""
from __future__ import annotations

from typing import Any, Protocol

ACTIVE_ENCOUNTER_ORDER = ("in-progress", "arrived", "triaged", "planned", "onleave", "finished")


class ResourceSource(Protocol):
    """The part of the FHIR store the shell reads."""

    def all(self, type_: str) -> list[dict[str, Any]]:
        """Every current resource of a type."""
        ...


def _about(resource: dict[str, Any], patient_id: str) -> bool:
    """Whether a resource's subject/patient is this patient."""
    ref = f"Patient/{patient_id}"
    for key in ("subject", "patient"):
        if (resource.get(key) or {}).get("reference") == ref:
            return True
    return False


def current_encounter(source: ResourceSource, patient_id: str) -> dict[str, Any] | None:
    """The visit an EHR launch should carry: in progress first, then upcoming, then the latest."""
    encounters = [e for e in source.all("Encounter") if _about(e, patient_id)]
    if not encounters:
        return None

    def rank(encounter: dict[str, Any]) -> tuple[int, str]:
        status = encounter.get("status", "")
        order = ACTIVE_ENCOUNTER_ORDER.index(status) if status in ACTIVE_ENCOUNTER_ORDER else len(ACTIVE_ENCOUNTER_ORDER)
        start = (encounter.get("period") or {}).get("start", "")
        return order, _invert(start)

    return sorted(encounters, key=rank)[0]


def _invert(text: str) -> str:
    """Sort key that orders ISO dates newest first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def coding_text(concept: dict[str, Any] | None) -> str:
    """Human text of a CodeableConcept."""
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""


def observation_value(observation: dict[str, Any]) -> str:
    """A short rendering of an Observation's value (or its components)."""
    if "valueQuantity" in observation:
        quantity = observation["valueQuantity"]
        return f"{quantity.get('value', '')} {quantity.get('unit', quantity.get('code', ''))}".strip()
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in observation:
            return str(observation[key])
    if "valueCodeableConcept" in observation:
        return coding_text(observation["valueCodeableConcept"])
    parts = [f"{coding_text(c.get('code'))}: {observation_value(c)}" for c in observation.get("component") or []]
    return "; ".join(parts)


def latest_observations(source: ResourceSource, patient_id: str, limit: int = 15) -> list[dict[str, str]]:
    """The patient's newest Observations, as display rows."""
    rows = []
    for obs in source.all("Observation"):
        if not _about(obs, patient_id):
            continue
        when = obs.get("effectiveDateTime") or obs.get("issued") or (obs.get("meta") or {}).get("lastUpdated", "")
        rows.append({"id": obs["id"], "when": when, "what": coding_text(obs.get("code")),
                     "value": observation_value(obs), "status": obs.get("status", ""),
                     "updated": (obs.get("meta") or {}).get("lastUpdated", "")})
    rows.sort(key=lambda r: (r["updated"], r["when"]), reverse=True)
    return rows[:limit]


def latest_responses(source: ResourceSource, patient_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The patient's newest QuestionnaireResponses, as display rows."""
    rows = []
    for qr in source.all("QuestionnaireResponse"):
        if not _about(qr, patient_id):
            continue
        rows.append({"id": qr["id"], "questionnaire": qr.get("questionnaire", ""), "status": qr.get("status", ""),
                     "authored": qr.get("authored", ""), "answers": answer_count(qr.get("item") or []),
                     "updated": (qr.get("meta") or {}).get("lastUpdated", "")})
    rows.sort(key=lambda r: (r["updated"], r["authored"]), reverse=True)
    return rows[:limit]


def active_flags(source: ResourceSource, patient_id: str) -> list[dict[str, str]]:
    """The patient's active Flags (chart alerts), newest first, as display rows."""
    rows = []
    for flag in source.all("Flag"):
        if not _about(flag, patient_id) or flag.get("status") != "active":
            continue
        rows.append({"id": flag["id"], "what": coding_text(flag.get("code")),
                     "since": (flag.get("period") or {}).get("start", ""),
                     "updated": (flag.get("meta") or {}).get("lastUpdated", "")})
    rows.sort(key=lambda r: (r["updated"], r["since"]), reverse=True)
    return rows


def answer_count(items: list[dict[str, Any]]) -> int:
    """How many questions a response answers, at any depth (groups and nested items included)."""
    total = 0
    for item in items:
        answers = item.get("answer") or []
        total += 1 if answers else 0
        total += answer_count(item.get("item") or [])
        for answer in answers:
            total += answer_count(answer.get("item") or [])
    return total


SDC_TASK_CODE = ("http://hl7.org/fhir/uv/sdc/CodeSystem/temp", "complete-questionnaire")


def _reference_text(reference: dict[str, Any] | None) -> str:
    """A Reference as the chart shows it: its display, else the reference itself."""
    if not isinstance(reference, dict):
        return ""
    return str(reference.get("display") or reference.get("reference") or "")


def _task_form(task: dict[str, Any]) -> str:
    """What a Task asks for: its description, else the Questionnaire canonical of its `questionnaire` input."""
    if task.get("description"):
        return str(task["description"])
    for item in task.get("input") or []:
        codes = {(c.get("system"), c.get("code")) for c in ((item.get("type") or {}).get("coding") or [])}
        if any(code == "questionnaire" for _, code in codes):
            return str(item.get("valueCanonical") or _reference_text(item.get("valueReference")))
    return coding_text(task.get("code"))


def tasks(source: ResourceSource, patient_id: str) -> list[dict[str, str]]:
    """The patient's Tasks (`Task.for`), newest first: what is asked, by whom, its status and due date."""
    ref = f"Patient/{patient_id}"
    rows = []
    for task in source.all("Task"):
        if (task.get("for") or {}).get("reference") != ref:
            continue
        codes = {(c.get("system"), c.get("code")) for c in ((task.get("code") or {}).get("coding") or [])}
        outputs = [_reference_text(o.get("valueReference")) for o in task.get("output") or [] if o.get("valueReference")]
        rows.append({"id": task["id"], "what": _task_form(task), "status": task.get("status", ""),
                     "intent": task.get("intent", ""), "questionnaire_task": SDC_TASK_CODE in codes,
                     "requester": _reference_text(task.get("requester")), "owner": _reference_text(task.get("owner")),
                     "due": (((task.get("restriction") or {}).get("period") or {}).get("end") or ""),
                     "authored": task.get("authoredOn", ""), "output": ", ".join(outputs),
                     "updated": (task.get("meta") or {}).get("lastUpdated", "")})
    rows.sort(key=lambda r: (r["updated"], r["authored"]), reverse=True)
    return rows


def questionnaires(source: ResourceSource) -> list[dict[str, str]]:
    """Questionnaires the chart can launch the app with (as fhirContext)."""
    return [{"id": q["id"], "title": q.get("title") or q.get("name") or q["id"], "url": q.get("url", "")}
            for q in source.all("Questionnaire")]
