"""After the Medication Review Questionnaire gets a new version, a review sent on the old one still counts."""
from __future__ import annotations

import re

import pytest

from smart_app.web import medications as views
from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import QUESTIONNAIRE_URL, Reviewer

REVIEW_TASK = re.compile(r'class="task-title"[^>]*>\s*Review your medicines\s*<.*?<span class="status-tag ([a-z]+)">', re.S)


def review_tag(e2e: E2E, handle: str) -> str:
    """The status tag class of the patient's medication review task on the home page."""
    match = REVIEW_TASK.search(e2e.client.get(f"/l/{handle}/").get_data(as_text=True))
    assert match, "no tagged medication review task"
    return match.group(1)


def test_a_review_sent_on_the_previous_version_is_still_completed(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    reviewer = Reviewer(e2e, handle, e2e.client)
    _, send = reviewer.review_and_send()
    assert send.status_code == 303
    assert review_tag(e2e, handle) == "done"
    # The next release ships a newer version of the questionnaire; the store still names the old one.
    monkeypatch.setattr(views, "questionnaire_canonical", lambda: f"{QUESTIONNAIRE_URL}|99.0.0")
    assert review_tag(e2e, handle) == "done"
