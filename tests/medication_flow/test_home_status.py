"""The home page tags each task with where it stands for this person: to do, in progress, completed."""
from __future__ import annotations

import re

from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import Reviewer
from tests.questionnaire_flow.flow import Browser, phq9_answers

TASK = re.compile(r'<li class="task[^"]*">(.*?)</li>', re.S)
TITLE = re.compile(r'class="task-title"[^>]*>([^<]+)<')
TAG = re.compile(r'<span class="status-tag ([a-z]+)">([^<]+)</span>')


def tags(body: str) -> dict[str, tuple[str, str] | None]:
    """Task title -> (tag class, tag words), or None for a task shown without a tag."""
    found: dict[str, tuple[str, str] | None] = {}
    for block in TASK.findall(body):
        title = TITLE.search(block)
        tag = TAG.search(block)
        assert title, block
        found[title.group(1).strip()] = (tag.group(1), tag.group(2)) if tag else None
    return found


def home_tags(e2e: E2E, handle: str) -> dict[str, tuple[str, str] | None]:
    """The tags on this launch's home page."""
    response = e2e.client.get(f"/l/{handle}/")
    assert response.status_code == 200
    return tags(response.get_data(as_text=True))


def test_the_medication_review_goes_from_to_do_to_in_progress_to_completed(e2e: E2E) -> None:
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    assert home_tags(e2e, handle)["Review your medicines"] == ("todo", "To do")

    reviewer = Reviewer(e2e, handle, e2e.client)
    _, rows = reviewer.open()
    assert home_tags(e2e, handle)["Review your medicines"] == ("todo", "To do")  # opening it saves nothing
    assert reviewer.post(reviewer.answers(rows), action="add-medicine").status_code == 200
    assert home_tags(e2e, handle)["Review your medicines"] == ("progress", "In progress")

    submission_id = reviewer.check()[1]
    assert reviewer.send(submission_id).status_code == 303
    assert home_tags(e2e, handle)["Review your medicines"] == ("done", "Completed")
    reviewer.open()  # looking at the sent review again does not make it "in progress"
    assert home_tags(e2e, handle)["Review your medicines"] == ("done", "Completed")


def test_the_medication_review_is_in_progress_while_a_send_is_pending(e2e: E2E) -> None:
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    reviewer = Reviewer(e2e, handle, e2e.client)
    submission_id = reviewer.prepare()
    e2e.sandbox.faults.fail_writes(10, status=503, retry_after=30)
    reviewer.send(submission_id)
    e2e.sandbox.faults.clear()
    assert home_tags(e2e, handle)["Review your medicines"] == ("progress", "In progress")


def test_questionnaire_tasks_carry_their_own_status(e2e: E2E) -> None:
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    before = home_tags(e2e, handle)
    assert before["Questionnaires to fill in"] == ("todo", "To do")
    browser = Browser(e2e.client, handle)
    browser.post_form("gad-7", {}, action="continue")
    assert home_tags(e2e, handle)["Questionnaires in progress"] == ("progress", "In progress")
    browser.fill_and_send("phq-9", phq9_answers([1, 2, 0, 1, 3, 0, 1, 2, 0]))
    assert home_tags(e2e, handle)["Completed questionnaires"] == ("done", "Completed")


def test_a_task_the_app_may_not_open_says_not_available(e2e: E2E) -> None:
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=["patient/MedicationRequest.rs"])
    assert home_tags(e2e, handle)["Review your medicines"] == ("unavailable", "Not available")
