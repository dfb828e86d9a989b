"""The clinician's order: an SDC Task built to the profile, keyed so a double click makes one, and a cancel that changes only the status."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from smart_app.assignments.model import parse_task, visible_to
from smart_app.assignments.orders import (CANCEL_REASON, ORDER_IDENTIFIER_SYSTEM, CancelDecision, Order, cancelled,
                                          decide_cancel, due_before_visit, identifier_value, if_none_exist, new_task,
                                          open_order, visit_start)
from smart_app.assignments.model import QuestionnaireCanonical
from smart_app.context import FhirReference
from tests.assignments.tasks import ISS, sdc_task

NOW = "2026-01-12T10:30:00Z"
DOCTOR = FhirReference("Practitioner", "dr1", ISS)


def _order(**changes) -> Order:
    """An order for patient p1 to fill the clinic intake form before visit e1."""
    fields = dict(iss=ISS, patient_id="p1", questionnaire=QuestionnaireCanonical("https://clinic.example/Questionnaire/intake", "2"),
                  title="Clinic intake", requester=DOCTOR, requester_display="Dr Adeyemi", encounter_id="e1",
                  due="2026-01-15T09:00:00+00:00")
    fields.update(changes)
    return Order(**fields)


def _stored(task: dict, task_id: str, status: str | None = None) -> dict:
    """The Task as the EHR would return it after the create (id, version, maybe a later status)."""
    return {**task, "id": task_id, "meta": {**task["meta"], "versionId": "1"}, "status": status or task["status"]}


def test_the_new_task_follows_the_sdc_task_profile():
    order = _order()
    task = new_task(order, identifier_value(order, []), NOW)
    assert task["meta"]["profile"] == ["http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-task"]
    assert task["code"]["coding"][0]["system"] == "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
    assert task["code"]["coding"][0]["code"] == "complete-questionnaire"
    assert (task["status"], task["intent"]) == ("requested", "order")
    assert "focus" not in task  # sdc-t1: complete-questionnaire has no focus, and a questionnaire input
    [given] = task["input"]
    assert given["type"]["coding"][0]["code"] == "questionnaire"
    assert given["valueCanonical"] == "https://clinic.example/Questionnaire/intake|2"
    assert task["for"] == task["owner"] == {"reference": "Patient/p1"}
    assert task["requester"] == {"reference": "Practitioner/dr1", "display": "Dr Adeyemi"}  # relative: same server
    assert task["encounter"] == {"reference": "Encounter/e1"}
    assert task["restriction"] == {"period": {"end": "2026-01-15T09:00:00+00:00"}}
    assert task["authoredOn"] == NOW
    assert task["identifier"][0]["system"] == ORDER_IDENTIFIER_SYSTEM


def test_the_patient_side_reads_the_new_task_as_an_open_assignment_it_may_see():
    order = _order()
    parsed = parse_task(_stored(new_task(order, identifier_value(order, []), NOW), "t9"))
    assert parsed is not None and parsed.is_open
    assert parsed.questionnaire == order.questionnaire and parsed.due_text == order.due
    assert visible_to(parsed, patient_id="p1", user=FhirReference("Patient", "p1"), iss=ISS)


def test_a_task_without_visit_or_due_date_leaves_both_out():
    order = _order(encounter_id=None, due=None, requester_display=None)
    task = new_task(order, identifier_value(order, []), NOW)
    assert "encounter" not in task and "restriction" not in task
    assert task["requester"] == {"reference": "Practitioner/dr1"}


def test_a_requester_on_another_server_stays_absolute():
    task = new_task(_order(requester=FhirReference("Practitioner", "dr1", "https://other.example/fhir")), "x/0", NOW)
    assert task["requester"]["reference"] == "https://other.example/fhir/Practitioner/dr1"


def test_the_same_order_gets_the_same_identifier_so_a_double_click_makes_one_task():
    assert identifier_value(_order(), []) == identifier_value(_order(), [])
    assert identifier_value(_order(), []).endswith("/0")


@pytest.mark.parametrize("change", [
    {"patient_id": "p2"}, {"encounter_id": "e2"}, {"encounter_id": None},
    {"questionnaire": QuestionnaireCanonical("https://clinic.example/Questionnaire/intake", "3")},
    {"requester": FhirReference("Practitioner", "dr2")}, {"iss": "https://other.example/fhir"},
])
def test_a_different_patient_form_visit_or_requester_is_a_different_order(change):
    assert identifier_value(_order(**change), []) != identifier_value(_order(), [])


def test_the_display_and_due_date_do_not_change_the_order():
    assert identifier_value(_order(requester_display="Dr A", due="2026-02-01"), []) == identifier_value(_order(), [])


def test_asking_again_after_a_cancel_makes_a_new_task():
    order = _order()
    first = _stored(new_task(order, identifier_value(order, []), NOW), "t1", status="cancelled")
    assert open_order(order, [first]) is None
    again = identifier_value(order, [first])
    assert again.endswith("/1") and again != first["identifier"][0]["value"]


def test_an_open_task_for_the_same_order_means_already_asked():
    order = _order()
    first = _stored(new_task(order, identifier_value(order, []), NOW), "t1", status="in-progress")
    other_form = _order(questionnaire=QuestionnaireCanonical("https://clinic.example/Questionnaire/sleep"))
    other = _stored(new_task(other_form, identifier_value(other_form, []), NOW), "t2")
    found = open_order(order, [other, first])
    assert found is not None and found.id == "t1"
    assert open_order(order, [other]) is None


def test_tasks_others_made_without_our_identifier_do_not_count():
    assert identifier_value(_order(), [sdc_task("t5", status="cancelled")]).endswith("/0")


def test_the_conditional_create_query_escapes_the_identifier():
    assert if_none_exist("abc/0") == ("identifier=http://smart-previsit.example.org/fhir/sid/questionnaire-order|abc/0")
    assert if_none_exist("a|b").endswith("|a%5C%7Cb")  # a | inside the value is escaped, then encoded


@pytest.mark.parametrize("task,user,expected", [
    (sdc_task(status="requested"), DOCTOR, CancelDecision.CANCEL),
    (sdc_task(status="in-progress"), FhirReference("Practitioner", "dr1"), CancelDecision.CANCEL),
    (sdc_task(status="completed"), DOCTOR, CancelDecision.ALREADY_COMPLETED),
    (sdc_task(status="cancelled"), DOCTOR, CancelDecision.ALREADY_CLOSED),
    (sdc_task(status="entered-in-error"), DOCTOR, CancelDecision.ALREADY_CLOSED),
    (sdc_task(status="requested"), FhirReference("Practitioner", "dr2"), CancelDecision.NOT_REQUESTER),
    (sdc_task(status="requested"), None, CancelDecision.NOT_REQUESTER),
    (sdc_task(status="requested", requester=None), DOCTOR, CancelDecision.NOT_REQUESTER),
    (sdc_task(status="requested", patient="p2"), DOCTOR, CancelDecision.NOT_THIS_PATIENT),
    ({**sdc_task(), "code": {"text": "Call the patient"}}, DOCTOR, CancelDecision.NOT_A_FORM_REQUEST),
])
def test_only_the_requester_may_cancel_an_unfinished_form_request_for_this_patient(task, user, expected):
    assert decide_cancel(task, patient_id="p1", user=user, iss=ISS) is expected


def test_a_cancel_changes_only_the_status_its_reason_and_last_modified():
    task = sdc_task(status="in-progress")
    result = cancelled(task, NOW)
    assert result["status"] == "cancelled"
    assert result["statusReason"] == {"text": CANCEL_REASON}
    assert result["lastModified"] == NOW
    assert {k: v for k, v in result.items() if k not in ("status", "statusReason", "lastModified")} == \
        {k: v for k, v in task.items() if k not in ("status", "lastModified")}
    assert task["status"] == "in-progress"  # the Task as read is left alone


@pytest.mark.parametrize("resource,expected", [
    ({"resourceType": "Encounter", "period": {"start": "2026-01-15T09:00:00+01:00"}}, "2026-01-15T09:00:00+01:00"),
    ({"resourceType": "Appointment", "start": "2026-01-16T08:30:00Z"}, "2026-01-16T08:30:00Z"),
    ({"resourceType": "Encounter", "period": {}}, None),
    (None, None),
])
def test_the_due_date_comes_from_the_visit_start_as_written(resource, expected):
    assert visit_start(resource) == expected


@pytest.mark.parametrize("start,expected", [
    ("2026-01-15T09:00:00+01:00", "2026-01-15T09:00:00+01:00"),  # ahead: due when the visit begins
    ("2026-01-12T10:29:00Z", "2026-01-12"),                      # begun a minute ago: due by the end of today
    ("2026-01-10", "2026-01-12"),
    (None, None),
])
def test_a_form_asked_for_a_visit_is_due_at_its_start_or_today_once_it_has_begun(start, expected):
    now = datetime(2026, 1, 12, 10, 30, tzinfo=timezone.utc)
    visit = {"resourceType": "Encounter", "period": {"start": start} if start else {}}
    assert due_before_visit(visit, now) == expected
