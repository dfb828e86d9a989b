"""Who asked, in words: the requester's display name from its resource (pure), for the Tasks the app writes
and for Tasks other systems wrote with only a reference."""
from __future__ import annotations

import pytest

from smart_app.assignments.model import COMPLETE_QUESTIONNAIRE, SDC_TASK_CODE_SYSTEM, parse_task
from smart_app.assignments.names import display_name, human_name, with_requester_names

ISS = "https://ehr.example/fhir"
ORTIZ = {"resourceType": "Practitioner", "id": "ortiz",
         "name": [{"use": "official", "family": "Ortiz", "given": ["Samir"], "prefix": ["Dr"], "suffix": ["MD"]}]}


@pytest.mark.parametrize("names,expected", [
    ([{"family": "Ortiz", "given": ["Samir"], "prefix": ["Dr"]}], "Dr Samir Ortiz"),
    ([{"use": "old", "text": "Sam Ortiz"}, {"use": "official", "text": "Dr Samir Ortiz"}], "Dr Samir Ortiz"),
    ([{"family": "Ortiz"}], "Ortiz"),
    ([{"given": ["  "], "family": ""}], None),
    ("Dr Ortiz", None),
    (None, None),
])
def test_a_human_name_reads_as_a_person_is_addressed(names, expected):
    assert human_name(names) == expected


def test_a_practitioner_role_is_named_by_its_practitioner():
    role = {"resourceType": "PractitionerRole", "id": "r1", "practitioner": {"reference": "Practitioner/ortiz"}}
    assert display_name(role, {"Practitioner/ortiz": ORTIZ}) == "Dr Samir Ortiz"
    assert display_name(role) is None  # the Practitioner was not read
    assert display_name({**role, "practitioner": {"display": "Dr S. Ortiz"}}) == "Dr S. Ortiz"
    assert display_name({"resourceType": "Organization", "name": "Riverside Family Clinic"}) == "Riverside Family Clinic"
    assert display_name({"resourceType": "Observation"}) is None


def _task(task_id: str, requester: dict) -> dict:
    """An open SDC Task for patient p1 with this requester."""
    return {"resourceType": "Task", "id": task_id, "status": "requested", "intent": "order",
            "code": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": COMPLETE_QUESTIONNAIRE}]},
            "for": {"reference": "Patient/p1"}, "requester": requester}


def test_a_task_without_a_requester_display_is_named_from_the_included_requester():
    tasks = [parse_task(_task("a", {"reference": "Practitioner/ortiz"})),
             parse_task(_task("b", {"reference": "Practitioner/ortiz", "display": "Dr O."})),
             parse_task(_task("c", {"reference": "Practitioner/gone"})),
             parse_task(_task("d", {"reference": "https://elsewhere.example/fhir/Practitioner/ortiz"})),
             parse_task(_task("e", {"reference": f"{ISS}/Practitioner/ortiz"}))]
    named = with_requester_names(tasks, [ORTIZ], ISS)
    assert [t.requester_display for t in named] == ["Dr Samir Ortiz", "Dr O.", None, None, "Dr Samir Ortiz"]
