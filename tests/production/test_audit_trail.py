"""The audit trail of one real sandbox launch reads as a story, carries ids on every step, and holds no PHI."""
from __future__ import annotations

import json
import logging
import re
import time

import pytest

from smart_app.audit import events as audit
from smart_app.audit import story
from smart_app.cli import main
from smart_app.launch.records import read_launch, write_launch
from smart_app.launch.runtime import EXTENSION
from tests.fixtures.e2e import CLINICIAN, PATIENT
from tests.fixtures.fake_ehr import patient as fake_patient
from tests.fixtures.fake_ehr import token_response
from tests.questionnaire_flow.flow import Browser, csrf, intake_answers, phq9_answers

POINTS = [1, 2, 0, 3, 1, 0, 2, 1, 0]
REASON = "Knee pain after hiking Zebrafell"  # a free-text answer that must never reach the log
WEIGHT, SYSTOLIC = "93.7", "163"


@pytest.fixture
def audit_file(tmp_path):
    """Audit lines go to a file for this test, as `smart-app serve` configures them."""
    path = tmp_path / "audit.log"
    handler = audit.configure_log_file(path)
    yield path
    audit.logger.removeHandler(handler)
    handler.close()


def _force_refresh(app, handle: str) -> None:
    """Make the stored access token nearly expired, as if an hour had passed."""
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    record["expires_at"] = time.time() + 5
    write_launch(rt.store, handle, record, rt.idle_timeout)


def _people_words(sandbox) -> set[str]:
    """Every seeded person's name parts and birth date."""
    words: set[str] = set()
    for kind in ("Patient", "Practitioner", "RelatedPerson"):
        for person in sandbox.resources(kind):
            for name in person.get("name") or []:
                words.update(w for w in [name.get("family"), *(name.get("given") or [])] if w and len(w) > 2)
                if name.get("text"):
                    words.add(name["text"])
            if person.get("birthDate"):
                words.add(person["birthDate"])
    return words


def test_one_sandbox_launch_reads_as_a_story_without_phi(e2e, audit_file, capsys):
    audit.init_app(e2e.app)
    handle = e2e.launcher.ehr(patient=PATIENT)
    browser = Browser(e2e.client, handle)
    tokens = {read_launch(e2e.app.extensions[EXTENSION].store, handle)[k] for k in ("access_token", "refresh_token")}
    assert browser.get("").status_code == 200
    sid = browser.fill_and_send("phq-9", phq9_answers(POINTS))
    answers = {**intake_answers(weight=WEIGHT, systolic=SYSTOLIC), "q.reason.r": REASON}
    assert browser.post_form("previsit-intake", answers, action="save").status_code in (200, 303)
    assert browser.get("medications/").status_code == 200
    _force_refresh(e2e.app, handle)
    assert browser.get("").status_code == 200
    tokens |= {read_launch(e2e.app.extensions[EXTENSION].store, handle)[k] for k in ("access_token", "refresh_token")}
    home = browser.get("").get_data(as_text=True)
    assert e2e.client.post(f"/l/{handle}/end", data={"csrf_token": csrf(home)}).status_code == 200

    log = audit_file.read_text()
    events = list(story.read_events(log.splitlines()))
    names = [e["event"] for e in story.launch_trail(events, handle)]
    for step in ("launch.received", "authorize.redirect", "callback.ok", "fhir.read", "draft.saved",
                 "submission.sent", "fhir.write", "refresh.ok", "launch.end"):
        assert step in names, step
    assert names[:3] == ["launch.received", "authorize.redirect", "callback.ok"]

    # Every event after sign-in carries the full identity block and the schema's fixed fields.
    for item in story.launch_trail(events, handle):
        assert item["schema"] == 1 and item["time"].endswith("+00:00") and item["correlation_id"]
        if item["event"] not in ("launch.received", "authorize.redirect"):
            assert item["handle"] == handle
            assert item["iss"] == e2e.sandbox.fhir_base and item["client_id"] == "smart-previsit"
            assert item["fhir_user"] == CLINICIAN and item["patient"] == f"Patient/{PATIENT}"
    reads = [e for e in events if e["event"] == "fhir.read" and e.get("handle") == handle]
    assert any("Patient" in e["resource_types"] and e["count"] >= 1 for e in reads)
    [sent] = [e for e in events if e["event"] == "submission.sent" and e.get("submission_id") == sid]
    assert re.search(r"QuestionnaireResponse/[A-Za-z0-9.-]+", sent["resources"])

    # No PHI and no secrets anywhere in the whole log.
    forbidden = _people_words(e2e.sandbox) | tokens | {REASON, "Zebrafell"}
    forbidden |= {v for k, v in phq9_answers(POINTS).items()} | {v.split("|")[-1] for v in phq9_answers(POINTS).values()}
    forbidden |= {WEIGHT, SYSTOLIC}
    assert forbidden and all(len(w) >= 3 for w in forbidden)
    # Whole words only: a short number may legitimately sit inside a hex id or a timestamp's fraction.
    leaked = sorted(w for w in forbidden if re.search(rf"(?<![\w.:-]){re.escape(w)}(?![\w.])", log))
    assert leaked == []

    assert main(["audit", "--launch", handle, "--log", str(audit_file)]) == 0
    told = capsys.readouterr().out
    assert f"Launch {handle}" in told and f"patient:    Patient/{PATIENT}" in told
    assert "signed in; context resolved" in told and "sent to the EHR; stored QuestionnaireResponse/" in told
    assert "access token refreshed" in told and "launch ended (user)" in told
    assert told.index("launch requested") < told.index("signed in") < told.index("launch ended")


def test_audit_of_an_unknown_launch_says_so(tmp_path, capsys):
    log = tmp_path / "audit.log"
    log.write_text(json.dumps({"event": "launch.end", "handle": "someone-else", "ts": 1.0}) + "\n")
    assert main(["audit", "--launch", "not-there", "--log", str(log)]) == 1
    assert "no audit events for launch not-there" in capsys.readouterr().out


def test_outbound_fhir_requests_carry_our_own_correlation_id_not_the_incoming_one(make_app, fake_ehr, audit_log):
    from tests.fixtures.app import Launcher

    app = make_app()
    audit.init_app(app)
    client = app.test_client()
    handle, _ = Launcher(client, fake_ehr).ehr_launch(token=token_response(patient="p1"))
    fake_ehr.serve_resource(fake_patient("p1"))
    assert client.get(f"/l/{handle}/", headers={"X-Request-ID": "req-audit-0001"}).status_code == 200
    [read] = [json.loads(r.getMessage()) for r in audit_log.records
              if r.name == "smart_app.audit.events" and json.loads(r.getMessage())["event"] == "fhir.read"]
    assert read["request_id"] == "req-audit-0001" and read["handle"] == handle
    assert re.fullmatch(r"[0-9a-f]{16}", read["correlation_id"])
    fhir = [r for r in fake_ehr.requests() if r.path.startswith("/fhir/") and ".well-known" not in r.path]
    assert fhir and {r.headers.get("X-Request-ID") for r in fhir} == {read["correlation_id"]}


def test_event_drops_phi_keys_and_caps_lists():
    record = audit.event("x", handle="h", birthDate="1970-01-01", family="Doe", given="Jane", answer="yes",
                         text="free text", resource_types=[f"T{i}" for i in range(80)], patient_id="p9")
    dumped = json.dumps(record)
    assert "1970" not in dumped and "Doe" not in dumped and "Jane" not in dumped and "free text" not in dumped
    assert len(record["resource_types"]) == 50 and record["patient"] == "Patient/p9" and "patient_id" not in record


def test_the_audit_file_is_reopened_after_rotation(tmp_path):
    path = tmp_path / "audit.log"
    handler = audit.configure_log_file(path)
    try:
        audit.event("x.before", handle="h-rot")
        path.rename(tmp_path / "audit.log.1")  # what logrotate does
        audit.event("x.after", handle="h-rot")
    finally:
        audit.logger.removeHandler(handler)
        handler.close()
    assert [e["event"] for e in story.read_events((tmp_path / "audit.log.1").read_text().splitlines())] == ["x.before"]
    assert [e["event"] for e in story.read_events(path.read_text().splitlines())] == ["x.after"]


def test_the_fhir_read_summary_holds_when_the_fhir_log_is_silenced(make_app, fake_ehr, audit_log):
    """Operators may turn the FHIR client's log down; the audit summary does not depend on it."""
    from tests.fixtures.app import Launcher

    fhir_log = logging.getLogger("smart_app.ehr.client")
    level = fhir_log.level
    app = make_app()
    audit.init_app(app)
    fhir_log.setLevel(logging.ERROR)
    try:
        client = app.test_client()
        handle, _ = Launcher(client, fake_ehr).ehr_launch(token=token_response(patient="p1"))
        fake_ehr.serve_resource(fake_patient("p1"))
        assert client.get(f"/l/{handle}/").status_code == 200
    finally:
        fhir_log.setLevel(level)
    [read] = [json.loads(r.getMessage()) for r in audit_log.records
              if r.name == "smart_app.audit.events" and json.loads(r.getMessage())["event"] == "fhir.read"]
    assert read["handle"] == handle and read["count"] >= 1 and "Patient" in read["resource_types"]
