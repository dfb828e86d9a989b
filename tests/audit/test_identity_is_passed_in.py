"""Audit reads nothing: an event carries the identity its caller passes or binds, never one looked up in the store."""
from __future__ import annotations

from smart_app.audit import events as audit
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from tests.fixtures.fake_ehr import token_response


def test_an_event_naming_only_a_stored_launch_gets_no_identity_looked_up(make_app, fake_ehr):
    from tests.fixtures.app import Launcher

    app = make_app()
    handle, _ = Launcher(app.test_client(), fake_ehr).ehr_launch(token=token_response(patient="p1"))
    with app.test_request_context("/"):
        assert read_launch(app.extensions[EXTENSION].store, handle) is not None  # the record is there to read
        record = audit.event("x.only_handle", handle=handle)
    assert record["handle"] == handle
    assert not {"iss", "client_id", "fhir_user", "patient"} & set(record)


def test_a_bound_identity_fills_events_of_the_same_launch_only(make_app):
    app = make_app()
    with app.test_request_context("/"):
        audit.bind_identity({"handle": "h1", "iss": "https://ehr.example/fhir", "client_id": "c1",
                             "fhir_user": "Practitioner/9", "patient_id": "p1", "correlation_id": "ignored"})
        mine = audit.event("x.mine", handle="h1")
        other = audit.event("x.other", handle="h2")
    assert (mine["iss"], mine["client_id"], mine["fhir_user"], mine["patient"]) == (
        "https://ehr.example/fhir", "c1", "Practitioner/9", "Patient/p1")
    assert not {"iss", "client_id", "fhir_user", "patient"} & set(other)


def test_what_the_caller_passes_wins_over_what_was_bound(make_app):
    app = make_app()
    with app.test_request_context("/"):
        audit.bind_identity({"handle": "h1", "iss": "https://bound.example/fhir"})
        record = audit.event("x.passed", handle="h1", iss="https://passed.example/fhir")
    assert record["iss"] == "https://passed.example/fhir"


def test_a_launch_page_binds_its_launch_identity(client, launcher, fake_ehr, audit_log):
    import json

    handle, _ = launcher.ehr_launch(token=token_response(patient="p1"))
    launcher.serve_patient("p1")
    assert client.get(f"/l/{handle}/").status_code == 200
    reads = [json.loads(r.getMessage()) for r in audit_log.records if r.name == "smart_app.audit.events"]
    [summary] = [e for e in reads if e["event"] == "fhir.read"][-1:]
    assert summary["handle"] == handle and summary["iss"] == fake_ehr.base and summary["patient"] == "Patient/p1"
