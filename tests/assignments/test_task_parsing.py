"""An SDC Task is read into typed fields; anything that is not a questionnaire Task is not."""
from __future__ import annotations

from smart_app.assignments.model import (OUTPUT_RESPONSE, SDC_TASK_CODE_SYSTEM, QuestionnaireCanonical,
                                         is_questionnaire_task, parse_task)
from smart_app.context import FhirReference

from .tasks import sdc_task


def test_every_field_the_app_uses_is_read_from_the_task():
    raw = sdc_task(owner="RelatedPerson/rp1", encounter={"reference": "Encounter/e1"},
                   basedOn=[{"reference": "Appointment/a1"}, {"display": "no reference"}],
                   description="Before your knee appointment",
                   output=[{"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": OUTPUT_RESPONSE}]},
                            "valueReference": {"reference": "QuestionnaireResponse/qr9"}}])
    task = parse_task(raw)
    assert task is not None
    assert (task.id, task.version_id, task.status) == ("t1", "3", "requested")
    assert task.for_patient == FhirReference("Patient", "p1")
    assert task.owner == FhirReference("RelatedPerson", "rp1")
    assert task.requester == FhirReference("Practitioner", "dr1")
    assert task.requester_display == "Dr Adeyemi"
    assert task.questionnaire == QuestionnaireCanonical("https://clinic.example/Questionnaire/intake", "2")
    assert task.questionnaire.text == "https://clinic.example/Questionnaire/intake|2"
    assert task.due_text == "2026-01-14"
    assert task.encounter == FhirReference("Encounter", "e1")
    assert task.based_on == (FhirReference("Appointment", "a1"),)
    assert task.output_response == FhirReference("QuestionnaireResponse", "qr9")
    assert task.description == "Before your knee appointment"
    assert task.reference == "Task/t1"


def test_a_canonical_without_version_has_no_version():
    task = parse_task(sdc_task(questionnaire="https://clinic.example/Questionnaire/intake"))
    assert task.questionnaire == QuestionnaireCanonical("https://clinic.example/Questionnaire/intake", None)
    assert task.questionnaire.text == "https://clinic.example/Questionnaire/intake"


def test_a_task_without_a_questionnaire_input_is_kept_with_none_so_it_is_never_dropped():
    task = parse_task(sdc_task(questionnaire=None))
    assert task is not None and task.questionnaire is None


def test_an_input_of_another_type_is_not_taken_for_the_questionnaire():
    raw = sdc_task(questionnaire=None, input=[{"type": {"text": "note"}, "valueCanonical": "https://x/Q"}])
    assert parse_task(raw).questionnaire is None


def test_other_tasks_and_other_resources_are_not_questionnaire_tasks():
    assert not is_questionnaire_task(sdc_task(code={"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code",
                                                                  "code": "change"}]}))
    assert not is_questionnaire_task({"resourceType": "Observation", "id": "o1"})
    assert not is_questionnaire_task(None)
    assert parse_task(sdc_task(code={"coding": [{"system": "http://other", "code": "complete-questionnaire"}]})) is None
    assert parse_task({**sdc_task(), "id": None}) is None
    assert parse_task({**sdc_task(), "status": 3}) is None


def test_malformed_fields_are_dropped_not_trusted():
    raw = sdc_task(requester=None, owner=None, restriction="soon", basedOn="Appointment/a1",
                   meta=[], input=[{"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": "questionnaire"}]},
                                    "valueCanonical": 42}])
    task = parse_task(raw)
    assert task is not None
    assert (task.version_id, task.requester, task.due_text, task.based_on, task.questionnaire) == \
        (None, None, None, (), None)
