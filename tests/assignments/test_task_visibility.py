"""Only open Tasks for this patient, owned by nobody, the patient or the signed-in person, are shown."""
from __future__ import annotations

import pytest

from smart_app.assignments.model import assigned_tasks, parse_task, visible_to
from smart_app.context import FhirReference

from .tasks import ISS, sdc_task

PATIENT = FhirReference("Patient", "p1")
PROXY = FhirReference("RelatedPerson", "rp1")


def shown(raw, user=PATIENT):
    return visible_to(parse_task(raw), patient_id="p1", user=user, iss=ISS)


@pytest.mark.parametrize("status", ["requested", "received", "accepted", "in-progress"])
def test_open_statuses_are_shown(status):
    assert shown(sdc_task(status=status))


@pytest.mark.parametrize("status", ["cancelled", "rejected", "failed", "completed", "entered-in-error",
                                    "draft", "on-hold", "ready"])
def test_closed_statuses_are_never_shown(status):
    assert not shown(sdc_task(status=status))


def test_another_patients_task_is_never_shown():
    assert not shown(sdc_task(patient="p2"))
    assert not shown(sdc_task(patient="p2"), user=FhirReference("RelatedPerson", "rp1"))


def test_a_task_for_this_patient_on_another_server_is_not_shown():
    assert not shown(sdc_task(**{"for": {"reference": "https://other.example/fhir/Patient/p1"}}))
    assert shown(sdc_task(**{"for": {"reference": f"{ISS}/Patient/p1"}}))


@pytest.mark.parametrize("owner", [None, "Patient/p1", f"{ISS}/Patient/p1"])
def test_a_task_owned_by_nobody_or_the_patient_is_shown(owner):
    assert shown(sdc_task(owner=owner))
    assert shown(sdc_task(owner=owner), user=PROXY)


def test_a_proxy_sees_tasks_owned_by_them_and_the_patient_sees_them_too():
    assert shown(sdc_task(owner="RelatedPerson/rp1"), user=PROXY)
    assert not shown(sdc_task(owner="RelatedPerson/rp2"), user=PROXY)
    assert not shown(sdc_task(owner="RelatedPerson/rp1"), user=PATIENT)


def test_a_task_owned_by_a_clinician_is_not_the_patients_to_do():
    assert not shown(sdc_task(owner="Practitioner/dr1"))
    assert not shown(sdc_task(owner="Practitioner/dr1"), user=None)


def test_the_list_keeps_visible_tasks_once_earliest_due_first():
    resources = [sdc_task("late", due="2026-02-01"), sdc_task("none", due=None), sdc_task("early", due="2026-01-10"),
                 sdc_task("early", due="2026-01-10"), sdc_task("gone", status="cancelled"),
                 sdc_task("other", patient="p2"), {"resourceType": "OperationOutcome"}]
    tasks = assigned_tasks(resources, patient_id="p1", user=PATIENT, iss=ISS)
    assert [t.id for t in tasks] == ["early", "late", "none"]
