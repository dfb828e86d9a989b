"""The embedded store filled far past the old cache's 5,000-entry threshold loses nothing live.

Acceptance (issue 12): 50,000 launches and drafts, and unsent submissions among them, written
through the repository: the first live launch, draft and unsent submission are all still there.
"""
from __future__ import annotations

import time

from smart_app.delivery.outbox import new_item
from smart_app.delivery.rows import SubmissionRows
from tests.fixtures.store import open_store, sqlite_url

FILL = 25_000  # launches, and as many drafts: 50,000 rows
BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}


def _record(sid: str) -> dict:
    """A submission record as submission.py keeps it."""
    return {"item": new_item(sid, dict(BUNDLE), now=time.time()).to_dict(), "kind": "questionnaire", "label": ""}


def test_fifty_thousand_launches_and_drafts_lose_no_live_launch_draft_or_unsent_submission(tmp_path):
    store = open_store(sqlite_url(tmp_path))
    rows = SubmissionRows(store)
    store.put("launch", "first-launch", {"access_token": "t0"}, 1800)
    store.put("draft", "first-draft", {"submission_id": "s0"}, 30 * 24 * 3600)
    assert rows.insert(rows.key("p|first", "s0"), "p|first", "first-launch", _record("s0"), 30 * 24 * 3600)

    for i in range(FILL):
        store.put("launch", f"launch-{i}", {"access_token": f"t{i}"}, 1800)
        store.put("draft", f"draft-{i}", {"submission_id": f"d{i}"}, 30 * 24 * 3600)
        if i % 100 == 0:
            rows.insert(rows.key(f"p|{i}", f"s{i}"), f"p|{i}", f"launch-{i}", _record(f"s{i}"), 30 * 24 * 3600)

    assert store.get("launch", "first-launch") == {"access_token": "t0"}
    assert store.get("draft", "first-draft") == {"submission_id": "s0"}
    assert rows.load(rows.key("p|first", "s0"))["item"]["state"] == "pending"
    assert rows.counts() == {"pending": FILL // 100 + 1}
    assert store.get("launch", f"launch-{FILL - 1}") is not None and store.get("draft", "draft-0") is not None
    store.engine.dispose()
