"""One structured audit line per launch step, with ids and never secrets or names."""
from __future__ import annotations

import json

from smart_app.audit import events as audit
from tests.fixtures.fake_ehr import token_response


def _events(caplog):
    """Parsed audit events."""
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "smart_app.audit.events"]


def test_launch_steps_are_audited_with_ids(client, launcher, fake_ehr, audit_log):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", expires_in=30))
    fake_ehr.serve_token_once(token_response(access_token="at-2"))
    launcher.serve_patient("p1")
    client.get(f"/l/{handle}/")
    events = _events(audit_log)
    names = [e["event"] for e in events]
    assert names[:3] == ["launch.received", "authorize.redirect", "callback.ok"]
    assert "refresh.ok" in names
    for event in events:
        assert event["iss"] == fake_ehr.base
        assert event["client_id"] == "previsit-test"
        assert event["correlation_id"]
    assert {e["handle"] for e in events if e["event"] in ("callback.ok", "refresh.ok")} == {handle}


def test_audit_drops_secret_keys_and_truncates():
    record = audit.event("x", access_token="SECRET", refresh_token="SECRET", code="SECRET", name="Jane Doe",
                         handle="h1", note="a" * 500)
    assert "SECRET" not in json.dumps(record) and "Jane" not in json.dumps(record)
    assert record["handle"] == "h1" and len(record["note"]) == 200


def test_failed_callback_is_audited_with_reason(client, audit_log):
    client.get("/callback", query_string={"state": "nope", "code": "c"})
    [event] = [e for e in _events(audit_log) if e["event"] == "callback.failed"]
    assert event["error_code"] == "INVALID_STATE"
