"""The review's shortcut, count and duplicate hint, through the app against the sandbox (no JavaScript)."""
from __future__ import annotations

import re

from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import Reviewer, key_for, stored_reviews

_COUNT = re.compile(r'<p class="med-count"[^>]*>([^<]*)</p>')


def _count(body: str) -> str:
    """The "N of M medicines reviewed" line."""
    match = _COUNT.search(body)
    assert match, "the review page has no count"
    return match.group(1)


def test_all_as_prescribed_answers_every_medicine_then_exceptions_are_changed_and_sent(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    body, rows = reviewer.open()
    assert _count(body) == f"0 of {len(rows)} medicines reviewed"

    stopped = key_for(rows, "lisinopril")
    shortcut = reviewer.post({f"med.{stopped}.status": "not-taking", f"med.{stopped}.why": "cost"},
                             action="all-as-prescribed")
    page = shortcut.get_data(as_text=True)
    assert shortcut.status_code == 200 and "Please check" not in page
    assert _count(page) == f"{len(rows)} of {len(rows)} medicines reviewed"
    assert page.count('value="taking" checked') == len(rows) - 1
    assert re.search(rf'id="med-{stopped}-status-not-taking"[^>]*value="not-taking" checked', page)
    assert stored_reviews(e2e, PATIENT) == [] or all(r["status"] == "in-progress" for r in stored_reviews(e2e, PATIENT))

    # The shortcut's answers are the draft: "Continue" goes on to the check page with them.
    answers = {f"med.{key}.status": "taking" for key in rows.values()}
    answers.update({f"med.{stopped}.status": "not-taking", f"med.{stopped}.why": "cost"})
    assert reviewer.post(answers).status_code == 303
    check, _ = reviewer.check()
    assert "Not taking it" in check


def test_an_added_medicine_that_is_already_listed_gets_a_hint(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    _, rows = reviewer.open()
    listed = next(name for name in rows if "lisinopril" in name.lower())
    page = reviewer.post({"add.0.name": "Lisinopril 5mg"}, action="add-medicine").get_data(as_text=True)
    hint = re.search(r'<p class="med-duplicate-hint"[^>]*>([^<]*)</p>', page)
    assert hint and listed.split(" (")[0] in hint.group(1).replace("&#39;", "'")
    other = reviewer.post({"add.0.name": "Vitamin D3"}, action="add-medicine").get_data(as_text=True)
    assert "med-duplicate-hint" not in other
