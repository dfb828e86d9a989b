"""Pure: who asked, in words: the display name of a Task's requester (or of the clinician asking) from
the resource the reference points at.

A patient reads "Dr Samir Ortiz asked you to fill this in by ...", so a Task needs `requester.display`.
The app writes it on the Tasks it creates (from the clinician's own resource), and reads it for
Tasks other systems wrote without one from the resources the Task search included
(`_include=Task:requester`, FHIR R4 search https://hl7.org/fhir/R4/search.html#include).
Spec: FHIR R4 HumanName (text, else prefix + given + family), Practitioner, PractitionerRole
(`practitioner`), Organization (`name`). Nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

from smart_app.assignments.model import AssignedTask
from smart_app.context import FhirReference

PEOPLE = ("Practitioner", "Patient", "RelatedPerson")
# The care team's side: a grant to read one of these is what makes including a Task's requester worth asking for.
CARE_TEAM_TYPES = ("Practitioner", "PractitionerRole", "Organization")


def human_name(names: Any) -> str | None:
    """The name a person is addressed by: official or usual first; its text, else prefix, given and family."""
    if not isinstance(names, list):
        return None
    candidates = [n for n in names if isinstance(n, Mapping)]
    candidates.sort(key=lambda n: {"official": 0, "usual": 1}.get(str(n.get("use")), 2))
    for name in candidates:
        text = name.get("text")
        if isinstance(text, str) and text.strip():
            return text.strip()
        words = [*_strings(name.get("prefix")), *_strings(name.get("given")), *_strings([name.get("family")])]
        if words:
            return " ".join(words)
    return None


def display_name(resource: Any, related: Mapping[str, Mapping[str, Any]] | None = None) -> str | None:
    """The display name of a Practitioner, Patient, RelatedPerson, Organization or PractitionerRole.

    A PractitionerRole has no name of its own: its `practitioner.display`, else the name of the
    Practitioner it points at when `related` (resources by `Type/id`) holds it.
    """
    if not isinstance(resource, Mapping):
        return None
    kind = resource.get("resourceType")
    if kind in PEOPLE:
        return human_name(resource.get("name"))
    if kind == "Organization":
        name = resource.get("name")
        return name.strip() if isinstance(name, str) and name.strip() else None
    if kind == "PractitionerRole":
        practitioner = resource.get("practitioner")
        if not isinstance(practitioner, Mapping):
            return None
        display = practitioner.get("display")
        if isinstance(display, str) and display.strip():
            return display.strip()
        ref = FhirReference.parse(practitioner.get("reference"))
        return display_name((related or {}).get(ref.relative)) if ref and ref.resource_type == "Practitioner" else None
    return None


def by_reference(resources: Iterable[Any]) -> dict[str, Mapping[str, Any]]:
    """Resources keyed by `Type/id` (the form a relative reference takes)."""
    found: dict[str, Mapping[str, Any]] = {}
    for resource in resources:
        if isinstance(resource, Mapping) and isinstance(resource.get("resourceType"), str) \
                and isinstance(resource.get("id"), str):
            found.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    return found


def with_requester_names(tasks: Iterable[AssignedTask], included: Iterable[Any], iss: str) -> tuple[AssignedTask, ...]:
    """The Tasks, each without a `requester.display` given one from the included resource its requester
    names (on this server); a Task keeps its own display, and one whose requester was not included keeps none."""
    related = by_reference(included)
    named = []
    for task in tasks:
        ref = task.requester
        if task.requester_display is None and ref is not None and \
                (ref.base is None or ref.base.rstrip("/") == iss.rstrip("/")):
            name = display_name(related.get(ref.relative), related)
            task = replace(task, requester_display=name) if name else task
        named.append(task)
    return tuple(named)


def _strings(values: Any) -> list[str]:
    """The non-empty strings of a list, stripped."""
    return [v.strip() for v in values if isinstance(v, str) and v.strip()] if isinstance(values, list) else []
