"""The Task bodies the patient's side writes: in progress once, completed with the response, never a finished one."""
from __future__ import annotations

import pytest

from smart_app.assignments.model import OUTPUT_RESPONSE, SDC_TASK_CODE_SYSTEM
from smart_app.assignments.updates import closed_elsewhere, completed, completed_by, in_progress, put_entry

from .tasks import sdc_task

SYSTEM = "http://app.example/sid"
WHEN = "2026-01-10T09:00:00Z"


def _complete(task, sid="s1"):
    return completed(task, response_reference="urn:uuid:qr", identifier_system=SYSTEM, submission_id=sid, when=WHEN)


def test_completed_names_the_response_keeps_everything_else_and_drops_server_fields():
    other = {"type": {"text": "note"}, "valueString": "kept"}
    old = {"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": OUTPUT_RESPONSE}]},
           "valueReference": {"reference": "QuestionnaireResponse/old"}}
    task = sdc_task(status="in-progress", output=[other, old], executionPeriod={"start": "2026-01-09T08:00:00Z"},
                    basedOn=[{"reference": "Appointment/a1"}])
    body = _complete(task)
    assert body["status"] == "completed" and "meta" not in body
    assert body["output"][0] == other and len(body["output"]) == 2
    assert body["output"][1]["valueReference"] == {"reference": "urn:uuid:qr", "type": "QuestionnaireResponse",
                                                   "identifier": {"system": SYSTEM, "value": "s1"}}
    assert body["executionPeriod"] == {"start": "2026-01-09T08:00:00Z", "end": WHEN}
    assert body["basedOn"] == task["basedOn"] and body["input"] == task["input"]
    assert task["status"] == "in-progress"  # the input is never changed


@pytest.mark.parametrize("status", ["cancelled", "rejected", "failed", "completed", "entered-in-error"])
def test_a_finished_task_is_never_completed_again(status):
    with pytest.raises(ValueError):
        _complete(sdc_task(status=status))


def test_completed_by_tells_our_commit_from_anyone_elses():
    ours = {**_complete(sdc_task()), "status": "completed"}
    assert completed_by(ours, SYSTEM, "s1") and not closed_elsewhere(ours, SYSTEM, "s1")
    assert not completed_by(ours, SYSTEM, "s2") and closed_elsewhere(ours, SYSTEM, "s2")
    assert closed_elsewhere(sdc_task(status="cancelled"), SYSTEM, "s1")
    assert not closed_elsewhere(sdc_task(status="in-progress"), SYSTEM, "s1")


def test_in_progress_only_moves_an_open_task_forward_once():
    body = in_progress(sdc_task(status="requested"), WHEN)
    assert body["status"] == "in-progress" and body["executionPeriod"] == {"start": WHEN} and "meta" not in body
    assert in_progress(sdc_task(status="in-progress"), WHEN) is None
    assert in_progress(sdc_task(status="cancelled"), WHEN) is None


def test_the_put_entry_is_guarded_by_the_version_read():
    entry = put_entry({"resourceType": "Task", "id": "t1"}, "7", "https://ehr.example/fhir/Task/t1")
    assert entry["request"] == {"method": "PUT", "url": "Task/t1", "ifMatch": 'W/"7"'}
