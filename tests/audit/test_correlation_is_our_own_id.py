"""Each request is correlated by an id we generate; a client's X-Request-ID is recorded beside it, never used as a key."""
from __future__ import annotations

import json
import re

from smart_app.audit import events as audit
from tests.fixtures.fake_ehr import patient as fake_patient
from tests.fixtures.fake_ehr import token_response


def _reads(audit_log) -> list[dict]:
    """The fhir.read summaries logged so far."""
    found = [json.loads(r.getMessage()) for r in audit_log.records if r.name == "smart_app.audit.events"]
    return [e for e in found if e["event"] == "fhir.read"]


def test_two_requests_with_the_same_x_request_id_keep_their_own_ids_and_counts(make_app, fake_ehr, audit_log):
    from tests.fixtures.app import Launcher

    app = make_app()
    client = app.test_client()
    handle, _ = Launcher(client, fake_ehr).ehr_launch(token=token_response(patient="p1"))
    fake_ehr.serve_resource(fake_patient("p1"))
    before = len(fake_ehr.requests())
    assert client.get(f"/l/{handle}/", headers={"X-Request-ID": "same-id-0001"}).status_code == 200
    first_exchanges = len(fake_ehr.requests()) - before
    assert client.get(f"/l/{handle}/", headers={"X-Request-ID": "same-id-0001"}).status_code == 200
    first, second = _reads(audit_log)[-2:]
    assert first["request_id"] == second["request_id"] == "same-id-0001"
    assert first["correlation_id"] != second["correlation_id"]
    assert "same-id-0001" not in (first["correlation_id"], second["correlation_id"])
    # Counts are per request: the second request's tally does not include the first one's exchanges.
    assert first["count"] == first_exchanges and second["count"] <= first_exchanges


def test_a_malformed_x_request_id_is_not_recorded(make_app, fake_ehr, audit_log):
    from tests.fixtures.app import Launcher

    app = make_app()
    client = app.test_client()
    handle, _ = Launcher(client, fake_ehr).ehr_launch(token=token_response(patient="p1"))
    fake_ehr.serve_resource(fake_patient("p1"))
    assert client.get(f"/l/{handle}/", headers={"X-Request-ID": "bad id\twith {json}"}).status_code == 200
    [read] = _reads(audit_log)[-1:]
    assert "request_id" not in read and re.fullmatch(r"[0-9a-f]{16}", read["correlation_id"])


def test_every_request_gets_a_fresh_id_even_without_a_header(make_app):
    app = make_app()
    ids = []
    for _ in range(3):
        with app.test_request_context("/"):
            app.preprocess_request()
            ids.append(audit.event("x.probe")["correlation_id"])
    assert len(set(ids)) == 3
