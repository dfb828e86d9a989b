"""A draft whose EHR copy vanished is created again from the answers kept in the app.

The EHR lost the in-progress response: the versioned update is refused (412) and the re-read
finds nothing. The app saves the draft there again from what it kept, tells the person nothing
was lost, and later saves and the send go on as usual, with exactly one response stored.
"""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import SYSTEM, Browser, phq9_answers, stored

LOINC = "http://loinc.org"
PARTIAL = {k: v for k, v in phq9_answers([1] * 9).items() if k in ("q.phq9-q1.0", "q.phq9-q2.0")}


def in_progress(e2e) -> list[dict]:
    """The in-progress QuestionnaireResponses the sandbox holds."""
    return [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"]


def test_a_draft_whose_ehr_copy_vanished_is_saved_again_and_nothing_is_lost(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    first = browser.post_form("phq-9", PARTIAL, action="continue")
    assert "Draft saved to the chart" in first.get_data(as_text=True)
    [lost] = in_progress(e2e)
    e2e.sandbox.store.delete("QuestionnaireResponse", lost["id"])

    answers = {**PARTIAL, **{k: v for k, v in phq9_answers([2] * 9).items() if k == "q.phq9-q3.0"}}
    again = browser.post_form("phq-9", answers, action="continue")
    html = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "Nothing was lost" in html
    assert "changed somewhere else" not in html
    [recreated] = in_progress(e2e)
    assert recreated["id"] != lost["id"]
    assert recreated["identifier"]["value"] == lost["identifier"]["value"]  # the same submission
    assert [i["linkId"] for i in recreated["item"][0]["item"]][:3] == ["phq9-q1", "phq9-q2", "phq9-q3"]

    # The next save is an ordinary one, and the send completes that same response, once.
    later = browser.post_form("phq-9", answers, action="continue").get_data(as_text=True)
    assert "Draft saved to the chart" in later and "Nothing was lost" not in later
    sid = browser.fill_and_send("phq-9", phq9_answers([2] * 9))
    assert sid == recreated["identifier"]["value"]
    [completed] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert completed["id"] == recreated["id"] and completed["status"] == "completed"
    assert completed["identifier"]["system"] == SYSTEM


def test_a_server_that_purged_the_copy_answers_404_to_the_update_and_the_draft_is_created_again(client, launcher, fake_ehr):
    """Another server's semantics: the copy is purged, so the versioned PUT itself is 404, and so is the re-read."""
    import json

    from werkzeug import Request, Response

    from tests.fixtures.fake_ehr import token_response

    created: list[dict] = []

    def create(request: Request) -> Response:
        """Store the posted draft under a new id (version 1)."""
        resource = {**json.loads(request.get_data()), "id": f"qr-{len(created) + 1}", "meta": {"versionId": "1"}}
        created.append(resource)
        return Response(json.dumps(resource), status=201, content_type="application/fhir+json",
                        headers={"Location": f"{fake_ehr.base}/QuestionnaireResponse/{resource['id']}/_history/1",
                                 "ETag": 'W/"1"'})

    def gone(request: Request) -> Response:
        """Every update and read of a stored draft: nothing there any more."""
        outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
        return Response(json.dumps(outcome), status=404, content_type="application/fhir+json")

    fake_ehr.respond_with("/fhir/QuestionnaireResponse", create, method="POST")
    fake_ehr.respond_with("/fhir/QuestionnaireResponse/qr-1", gone, method="PUT")
    fake_ehr.respond_with("/fhir/QuestionnaireResponse/qr-1", gone, method="GET")
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1"))
    launcher.serve_patient("p1")
    browser = Browser(client, handle)
    assert "Draft saved to the chart" in browser.post_form("phq-9", PARTIAL, action="continue").get_data(as_text=True)
    again = browser.post_form("phq-9", PARTIAL, action="continue").get_data(as_text=True)
    assert "Nothing was lost" in again
    assert [r["id"] for r in created] == ["qr-1", "qr-2"]
    assert created[1]["identifier"] == created[0]["identifier"] and created[1]["status"] == "in-progress"
    methods = [(r.method, r.path) for r in fake_ehr.requests() if r.path.startswith("/fhir/QuestionnaireResponse/qr-1")]
    assert methods == [("PUT", "/fhir/QuestionnaireResponse/qr-1"), ("GET", "/fhir/QuestionnaireResponse/qr-1")]
