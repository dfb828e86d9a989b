"""Retention: the purge job deletes only what is past its own time and says what it purged (ids only)."""
from __future__ import annotations

import json
import logging
import time

from smart_app import create_app
from smart_app.delivery import drafts
from smart_app.delivery.outbox import new_item
from smart_app.delivery.retention import purge
from smart_app.launch.runtime import runtime
from smart_app.delivery.rows import rows
from tests.fixtures.app import registration

DAY = 24 * 3600


def _record(sid: str) -> dict:
    """A pending submission record."""
    return {"item": new_item(sid, {"resourceType": "Bundle", "type": "transaction", "entry": []},
                             now=time.time()).to_dict(), "kind": "questionnaire"}


def test_purge_removes_expired_rows_keeps_live_ones_and_reports_ids_only(tmp_path, client_key_paths, caplog):
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "s",
                      "REGISTRATION": registration("http://127.0.0.1:9/fhir"), **client_key_paths})
    with app.app_context():
        store = runtime().store
        store.put(drafts.NAMESPACE, "old-draft", {"canonical": "c", "submission_id": "sid-old-draft"}, 3600)
        store.put(drafts.NAMESPACE, "new-draft", {"canonical": "c", "submission_id": "sid-new-draft"}, 40 * DAY)
        store.put("launch", "old-launch", {"access_token": "secret-token"}, 60)
        rows().insert(rows().key("p", "sid-old"), "p", "h", _record("sid-old"), 3600)
        rows().insert(rows().key("p", "sid-live"), "p", "h", _record("sid-live"), 40 * DAY)

    report = purge(app, now=time.time() + 31 * DAY)

    assert report.draft_submission_ids == ("sid-old-draft",)
    assert report.submission_ids == ("sid-old",)
    assert report.records == {"draft": 1, "launch": 1}
    with app.app_context():
        store = runtime().store
        assert store.get(drafts.NAMESPACE, "new-draft") is not None
        assert rows().load(rows().key("p", "sid-live")) is not None and rows().load(rows().key("p", "sid-old")) is None
    [line] = [json.loads(r.getMessage()) for r in caplog.records
              if r.name == "smart_app.audit.events" and "retention.purged" in r.getMessage()]
    assert line["submissions"] == "sid-old" and line["drafts"] == "sid-old-draft"
    assert "secret-token" not in json.dumps(line)
    app.extensions["smart_launch"].store.engine.dispose()
